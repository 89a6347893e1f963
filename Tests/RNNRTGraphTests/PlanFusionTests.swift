import Foundation
import Synchronization
import Testing
import RNNRTTestSupport
import RNNRTONNX
import RNNRTCheckpoints
@testable import RNNRTGraph
import RNNRTCore

/// `Plan.fuse`: a recurrent node's Y read only by a Transpose is written already permuted, with the same values.
@Suite struct PlanFusionTests {
    /// Both PyTorch exporters' bidirectional layers (LSTM → Transpose → Reshape) are fused, one per layer;
    /// ONNXConformanceTests checks their outputs against PyTorch.
    @Test(arguments: ["onnx/torch/ts14_lstm_2layer_bidirectional", "onnx/torch/ts14_gru_2layer_bidirectional_batch_first",
                      "onnx/torch/dynamo18_lstm_2layer_bidirectional", "onnx/torch/dynamo19_gru_2layer_bidirectional_batch_first"])
    func exportedBidirectionalLayersAreFused(_ folder: String) throws {
        let model = try ONNXModelFile.read(contentsOf: Fixture.url(folder).appendingPathComponent("model.onnx"))
        let plan = try Plan(model: model)
        let recurrent = plan.steps.filter { ["LSTM", "GRU", "RNN"].contains($0.node.opType) }.count
        #expect(recurrent == 2)
        #expect(plan.fusions.count == recurrent, "\(plan.fusions)")
    }

    /// A recurrent node → Transpose(perm) graph gives exactly what the same graph gives unfused (Y also a graph
    /// output, so it keeps its ONNX layout and the Transpose runs), for every layout, direction and perm kind.
    @Test(arguments: [(0, "forward"), (0, "bidirectional"), (1, "bidirectional"), (1, "reverse")])
    func fusedEqualsUnfused(layout: Int, direction: String) throws {
        var rng = SeededGenerator(seed: 7)
        let d = direction == "bidirectional" ? 2 : 1, hidden = 5, inputs = 3, steps = 4, batch = 2
        func random(_ shape: [Int]) -> Tensor { .random(shape, using: &rng) }
        let w = random([d, 4 * hidden, inputs]), r = random([d, 4 * hidden, hidden]), b = random([d, 8 * hidden])
        let x = random(layout == 1 ? [batch, steps, inputs] : [steps, batch, inputs])
        for perm: [Int64]? in [[0, 2, 1, 3], [1, 0, 2, 3], [2, 3, 0, 1], [3, 1, 0, 2], nil] {
            func run(keepingY: Bool) throws -> (Plan, GraphTensor) {
                let lstm = GraphNode(opType: "LSTM", inputs: ["X", "W", "R", "B"], outputs: ["Y", "Y_h"],
                                attributes: ["hidden_size": .int(Int64(hidden)), "direction": .string(direction),
                                             "layout": .int(Int64(layout))])
                let transpose = GraphNode(opType: "Transpose", inputs: ["Y"], outputs: ["Z"],
                                     attributes: perm.map { ["perm": .ints($0)] } ?? [:])
                let graph = Graph(nodes: [lstm, transpose],
                                  initializers: [("W", .init(w)), ("R", .init(r)), ("B", .init(b))],
                                  inputs: [GraphValueInfo(name: "X")],
                                  outputs: [GraphValueInfo(name: "Z")] + (keepingY ? [GraphValueInfo(name: "Y")] : []))
                let plan = try Plan(graph: graph, opset: 17)
                return (plan, try plan.run(["X": GraphTensor(x)])[0].tensor)
            }
            let (fusedPlan, fused) = try run(keepingY: false)
            let (plainPlan, plain) = try run(keepingY: true)
            #expect(fusedPlan.fusions.count == 1)
            #expect(plainPlan.fusions.isEmpty)
            #expect(fused == plain, "perm \(perm.map { "\($0)" } ?? "reversed")")
        }
    }
}

extension PlanFusionTests {
    /// A graph that gives Y and Y_h one name (not valid ONNX, and not refused) is not fused, so the Transpose still
    /// reads what the unfused plan reads.
    @Test func outputsNamedAlikeAreNotFused() throws {
        let hidden = 2
        let w = Tensor(repeating: 0.1, shape: [1, 4 * hidden, 3]), r = Tensor(repeating: 0.2, shape: [1, 4 * hidden, hidden])
        let lstm = GraphNode(opType: "LSTM", inputs: ["X", "W", "R"], outputs: ["A", "A"],
                        attributes: ["hidden_size": .int(Int64(hidden))])
        let transpose = GraphNode(opType: "Transpose", inputs: ["A"], outputs: ["Z"])
        let graph = Graph(nodes: [lstm, transpose], initializers: [("W", .init(w)), ("R", .init(r))],
                          inputs: [GraphValueInfo(name: "X")], outputs: [GraphValueInfo(name: "Z")])
        let plan = try Plan(graph: graph, opset: 17)
        #expect(plan.fusions.isEmpty)
        let z = try plan.run(["X": GraphTensor(Tensor(repeating: 1, shape: [4, 2, 3]))])[0].tensor
        #expect(z.shape == [hidden, 2, 1])  // Y_h [1, 2, 2] reversed
    }
}

/// Activations fused into the step before them; ONNXConformanceTests checks these graphs' outputs against onnxruntime.
extension PlanFusionTests {
    static func plan(_ folder: String) throws -> Plan {
        try Plan(model: try ONNXModelFile.read(contentsOf: Fixture.url("onnx/graphs/\(folder)").appendingPathComponent("model.onnx")))
    }

    @Test func convolutionTakesTheActivationAfterIt() throws {
        let relu = try PlanFusionTests.plan("conv_relu")
        #expect(relu.steps.map(\.node.opType) == ["Conv"])
        #expect((relu.steps[0].op as? ConvOp)?.activation == .relu)
        // Mul(c, Sigmoid(c)) becomes one SiLU step, which the Conv then takes.
        let silu = try PlanFusionTests.plan("conv_silu")
        #expect(silu.steps.map(\.node.opType) == ["Conv"], "\(silu.fusions)")
        #expect((silu.steps[0].op as? ConvOp)?.activation == .silu)
        #expect(silu.fusions.count == 2)
    }

    /// A residual Add after a Conv is fused into it, and the activation after the Add too (in that order); an addend
    /// computed after the Conv is not.
    @Test func convolutionTakesAResidualAdd() throws {
        let residual = try PlanFusionTests.plan("conv_add_residual_relu")
        #expect(residual.steps.map(\.node.opType) == ["Conv"], "\(residual.fusions)")
        let conv = try #require(residual.steps[0].op as? ConvOp)
        #expect(conv.addsInput && conv.activation == .relu)
        let later = try PlanFusionTests.plan("conv_add_computed_later")
        #expect(later.steps.map(\.node.opType) == ["Conv", "Sigmoid", "Add"])
        let broadcast = try PlanFusionTests.plan("conv_add_broadcast")
        #expect(broadcast.steps.map(\.node.opType) == ["Conv"])
    }

    /// A per-channel Mul and Add after a Conv (an exported batch normalization) go into its weights and bias, and the
    /// Relu after them into the Conv; after a residual Add they stay (ONNXConformanceTests checks the outputs).
    @Test func convolutionTakesAScaleAndAShift() throws {
        let folded = try PlanFusionTests.plan("conv_batchnorm_folded")
        #expect(folded.steps.map(\.node.opType) == ["Conv"], "\(folded.fusions)")
        #expect((folded.steps[0].op as? ConvOp)?.activation == .relu)
        let scalar = try PlanFusionTests.plan("conv_scalar_scale_no_bias")
        #expect(scalar.steps.map(\.node.opType) == ["Conv"], "\(scalar.fusions)")
        let residual = try PlanFusionTests.plan("channel_affine_after_residual")
        #expect(residual.steps.map(\.node.opType) == ["Conv", "Conv", "Mul", "Add", "Mul"], "\(residual.fusions)")
    }

    /// Two products by one weight initializer share the matrix packed from it.
    @Test func productsShareTheirWeightMatrix() throws {
        let plan = try PlanFusionTests.plan("gemm_shared_weights")
        let gemms = plan.steps.compactMap { $0.op as? GemmOp }
        #expect(gemms.count == 2)
        let first = try #require(gemms.first?.weights), second = try #require(gemms.last?.weights)
        #expect(first.sharesStorage(with: second))
    }

    @Test func anOutputWithTwoReadersIsNotFused() throws {
        let plan = try PlanFusionTests.plan("conv_sigmoid_two_readers")
        #expect(plan.steps.map(\.node.opType) == ["Conv", "Sigmoid", "Add"])
        #expect(plan.fusions.isEmpty)
    }

    @Test func sigmoidTimesItsInputIsOneStep() throws {
        let plan = try PlanFusionTests.plan("silu_long")
        #expect(plan.steps.count == 1)
        #expect((plan.steps[0].op as? ActivationOp)?.function == .silu)
    }

    /// The branches' recurrent weights are Unsqueezes of the enclosing graph's initializers: folded in the branch
    /// plans at load, so each branch is one bound recurrent node and a Squeeze, and the If passes them only `X`.
    @Test func branchesFoldTheEnclosingGraphsConstants() throws {
        let plan = try PlanFusionTests.plan("if_recurrent_outer_constants_true")
        let branch = try #require(plan.steps.first?.op as? IfOp)
        #expect(plan.steps.first?.inputs.count == 2)  // cond, X
        for body in [branch.thenBranch, branch.elseBranch] {
            #expect(body.steps.map(\.node.opType).filter { $0 != "Squeeze" }.count == 1)
            let recurrent = try #require(body.steps.first { $0.op is RecurrentOp }?.op as? RecurrentOp)
            #expect(recurrent.bound != nil)
        }
    }
}

/// `Plan.run(_:profile:)` records each node once per run, the nodes of an `If` branch under the `If`'s label.
@Suite struct PlanProfileTests {
    @Test func branchNodesAreRecordedUnderTheirIf() throws {
        let folder = Fixture.url("onnx/graphs/if_recurrent_outer_constants_false")
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: folder.appendingPathComponent("model.onnx")))
        let feeds = ["cond": try GraphTensor(try NPY.read(contentsOf: folder.appendingPathComponent("inputs/0.npy"))),
                     "X": try GraphTensor(try NPY.read(contentsOf: folder.appendingPathComponent("inputs/1.npy")))]
        let profile = PlanProfile()
        let profiled = try plan.run(feeds, profile: profile)
        _ = try plan.run(feeds, profile: profile)
        let plain = try plan.run(feeds)
        #expect(profiled.map { $0.tensor } == plain.map { $0.tensor })
        #expect(profile.runs == 2)
        #expect(profile.nodes.map(\.opType) == ["If", "GRU", "Squeeze"])
        #expect(profile.nodes.allSatisfy { $0.calls == 2 && $0.seconds >= 0 })
        #expect(profile.nodes[1].path.hasPrefix("If node ") && profile.nodes[1].path.contains(" › GRU node "))
        #expect(Set(profile.operatorTotals.map(\.opType)) == ["If", "GRU", "Squeeze"])
    }
}

/// A steady-state call computes into the buffers of the calls before it (`FloatArena`): after two calls, a call makes
/// new float buffers for the outputs it returns alone, computes no float value outside the arena, and leaves the
/// arena holding what it held.
@Suite struct FloatArenaTests {
    static let graphs = ["onnx/torch", "onnx/ops", "onnx/graphs", "onnx/spec", "onnx/node"].flatMap { source in
        Fixture.folders(in: source).map { "\(source)/\($0)" }
    }

    @Test(arguments: graphs)
    func steadyStateCallsReuseTheirBuffers(_ folder: String) throws {
        let dir = Fixture.url(folder)
        let spec = try ONNXCase.load(dir)
        guard spec.expect_failure != true else { return }
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx")))
        let feeds = try spec.feeds(in: dir)
        let first = try plan.run(feeds)
        _ = try plan.run(feeds)
        let made = plan.arenas.buffersMade, foreign = plan.arenas.foreignBuffers, held = plan.arenas.floatsHeld
        let outputs = try plan.run(feeds)
        // The same results, bit for bit (NaN included).
        func bits(_ t: GraphTensor) -> [UInt32] { t.floatsUnchecked.map(\.bitPattern) }
        #expect(outputs.map { bits($0.tensor) } == first.map { bits($0.tensor) })
        #expect(outputs.map { $0.tensor.shape } == first.map { $0.tensor.shape })
        let returned = outputs.filter { if case .float(let v) = $0.tensor.elements { return !v.isEmpty } else { return false } }.count
        #expect(plan.arenas.buffersMade - made <= returned, "\(folder): \(plan.arenas.buffersMade - made) buffers made")
        #expect(plan.arenas.foreignBuffers == foreign, "values computed outside the arena by \(plan.arenas.foreignOperators.sorted())")
        #expect(plan.arenas.floatsHeld == held)
    }

    /// Threads running one plan at once each compute into an arena of their own: every result equals one thread's.
    @Test func threadsSharingAPlanGetTheirOwnArenas() throws {
        let dir = Fixture.url("onnx/graphs/conv_silu")
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx")))
        let x = try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("inputs/0.npy")))
        let expected = try plan.run(["X": x])[0].tensor.floatsUnchecked.map(\.bitPattern)
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 {
                let got = (try? plan.run(["X": x]))?.first?.tensor.floatsUnchecked.map(\.bitPattern)
                if got != expected { mismatches.withLock { $0 += 1 } }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }
}

extension PlanFusionTests {
    /// A recurrence unrolled step by step: each step's input projection `Gemm(X[t], W, C)` reads only the input, so the
    /// three run as one product; the recurrent `Gemm(h, R)`s each read the previous step's result and stay apart. The
    /// outputs are those of the same arithmetic written out here.
    @Test func unrolledInputProjectionsRunAsOneProduct() throws {
        var rng = SeededGenerator(seed: 11)
        let steps = 3, k = 4, n = 5
        func random(_ shape: [Int]) -> Tensor { .random(shape, using: &rng) }
        let w = random([n, k]), r = random([n, n]), c = random([n]), x = random([steps, 1, k]), h0 = random([1, n])
        var nodes: [GraphNode] = [], previous = "h0"
        for t in 0..<steps {
            nodes.append(GraphNode(opType: "Constant", inputs: [], outputs: ["i\(t)"],
                              attributes: ["value": .tensor(try StoredTensor(dtype: .int64, shape: [], bytes: withUnsafeBytes(of: Int64(t).littleEndian, Array.init)))]))
            nodes.append(GraphNode(opType: "Gather", inputs: ["X", "i\(t)"], outputs: ["x\(t)"]))
            nodes.append(GraphNode(opType: "Gemm", inputs: ["x\(t)", "W", "C"], outputs: ["p\(t)"], attributes: ["transB": .int(1)]))
            nodes.append(GraphNode(opType: "Gemm", inputs: [previous, "R"], outputs: ["q\(t)"], attributes: ["transB": .int(1)]))
            nodes.append(GraphNode(opType: "Add", inputs: ["p\(t)", "q\(t)"], outputs: ["s\(t)"]))
            nodes.append(GraphNode(opType: "Tanh", inputs: ["s\(t)"], outputs: ["h\(t + 1)"]))
            previous = "h\(t + 1)"
        }
        let graph = Graph(nodes: nodes, initializers: [("W", .init(w)), ("R", .init(r)), ("C", .init(c))],
                          inputs: [GraphValueInfo(name: "X"), GraphValueInfo(name: "h0")], outputs: [GraphValueInfo(name: previous)])
        let plan = try Plan(graph: graph, opset: 17)
        #expect(plan.fusions.filter { $0.contains("sharing one weight") }.count == 1, "\(plan.fusions)")
        #expect(plan.steps.filter { $0.op is SharedWeightProducts }.count == 1)
        let result = try plan.run(["X": GraphTensor(x), "h0": GraphTensor(h0)])[0].tensor.floats("h")
        var h = h0.scalars
        for t in 0..<steps {
            h = (0..<n).map { j in
                let p = (0..<k).reduce(Float(0)) { $0 + x.scalars[t * k + $1] * w.scalars[j * k + $1] } + c.scalars[j]
                let q = (0..<n).reduce(Float(0)) { $0 + h[$1] * r.scalars[j * n + $1] }
                return tanhf(p + q)
            }
        }
        for (ours, expected) in zip(result, h) { #expect(abs(ours - expected) <= 1e-6 + 1e-5 * abs(expected)) }
    }
}

extension PlanFusionTests {
    /// An integer product's dequantizing chain (`[Add →] Cast → Mul`, as onnxruntime's quantizer writes it) run as
    /// one step gives exactly what the unfused steps give (the product's accumulators also a graph output keep them
    /// apart), for `ConvInteger` and `MatMulInteger`, with an addend per channel, a scalar one, none, and one that
    /// broadcasts the result to a larger shape (where the chain's own operators run).
    @Test(arguments: [("ConvInteger", [1, 4, 1, 1]), ("ConvInteger", [1]), ("ConvInteger", nil), ("ConvInteger", [2, 4, 1, 1]),
                      ("MatMulInteger", [4]), ("MatMulInteger", nil), ("MatMulInteger", [2, 3, 4])])
    func dequantizedProductsEqualTheirChains(_ product: String, addendShape: [Int]?) throws {
        var rng = SeededGenerator(seed: 11)
        let conv = product == "ConvInteger"
        let xShape = conv ? [1, 3, 5, 6] : [3, 7], wShape = conv ? [4, 3, 3, 3] : [7, 4]
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        let w = try StoredTensor(dtype: .uint8, shape: wShape, bytes: bytes(wShape.reduce(1, *)))
        let wZero = try StoredTensor(dtype: .uint8, shape: [], bytes: [131])
        let x = GraphTensor(shape: xShape, ints: bytes(xShape.reduce(1, *)).map { Int64($0) }, type: .uint8)
        let xZero = GraphTensor(shape: [], ints: [117], type: .uint8)
        let addend = addendShape.map { GraphTensor(shape: $0, ints: (0..<$0.reduce(1, *)).map { _ in Int64.random(in: -5000...5000, using: &rng) }, type: .int32) }
        let scale = GraphTensor(shape: [], floats: [0.00123])
        func run(keepingAccumulators: Bool) throws -> (Plan, GraphTensor) {
            var nodes = [GraphNode(opType: product, inputs: ["x", "w", "x_zero", "w_zero"], outputs: ["acc"],
                              attributes: conv ? ["pads": .ints([1, 1, 1, 1])] : [:])]
            if addend != nil { nodes.append(GraphNode(opType: "Add", inputs: ["q", "acc"], outputs: ["sum"])) }
            nodes.append(GraphNode(opType: "Cast", inputs: [addend != nil ? "sum" : "acc"], outputs: ["floats"], attributes: ["to": .int(1)]))
            nodes.append(GraphNode(opType: "Mul", inputs: ["floats", "scale"], outputs: ["y"]))
            let graph = Graph(nodes: nodes, initializers: [("w", w), ("w_zero", wZero)],
                              inputs: [GraphValueInfo(name: "x"), GraphValueInfo(name: "x_zero"), GraphValueInfo(name: "q"), GraphValueInfo(name: "scale")],
                              outputs: [GraphValueInfo(name: "y")] + (keepingAccumulators ? [GraphValueInfo(name: "acc")] : []))
            let plan = try Plan(graph: graph, opset: 17)
            var feeds = ["x": x, "x_zero": xZero, "scale": scale]
            feeds["q"] = addend
            return (plan, try plan.run(feeds)[0].tensor)
        }
        let (fusedPlan, fused) = try run(keepingAccumulators: false)
        let (plainPlan, plain) = try run(keepingAccumulators: true)
        #expect(fusedPlan.fusions.count == 1 && fusedPlan.steps.count == 1, "\(fusedPlan.fusions)")
        #expect(plainPlan.fusions.isEmpty)
        #expect(fused.shape == plain.shape && fused == plain)
    }
}

extension PlanFusionTests {
    /// `DynamicQuantizeLinear → ConvInteger/MatMulInteger → Add → Cast → Mul` (onnxruntime's dynamic quantization of a
    /// layer) gives exactly the same output with the product quantizing its float input as it reads it, the
    /// dequantizing chain fused, both, or neither (the quantized tensor or the accumulators also graph outputs keep
    /// the steps apart), the input's zero point the product subtracts being the quantizer's or another.
    @Test(arguments: ["ConvInteger", "MatMulInteger"], [true, false])
    func dynamicallyQuantizedProductsEqualTheirSteps(_ product: String, ownZeroPoint: Bool) throws {
        var rng = SeededGenerator(seed: 5)
        let conv = product == "ConvInteger"
        let xShape = conv ? [2, 3, 5, 4] : [3, 9], wShape = conv ? [6, 3, 3, 3] : [9, 6]
        let w = try StoredTensor(dtype: .uint8, shape: wShape, bytes: (0..<wShape.reduce(1, *)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let wZero = try StoredTensor(dtype: .uint8, shape: [], bytes: [119])
        let otherZero = try StoredTensor(dtype: .uint8, shape: [], bytes: [3])
        let q = GraphTensor(shape: conv ? [1, 6, 1, 1] : [6], ints: (0..<6).map { _ in Int64.random(in: -900...900, using: &rng) }, type: .int32)
        let x = GraphTensor(Tensor.random(xShape, using: &rng))
        func run(keeping kept: [String]) throws -> (Plan, GraphTensor) {
            let nodes = [
                GraphNode(opType: "DynamicQuantizeLinear", inputs: ["x"], outputs: ["xq", "x_scale", "x_zero"]),
                GraphNode(opType: product, inputs: ["xq", "w", ownZeroPoint ? "x_zero" : "other_zero", "w_zero"], outputs: ["acc"],
                          attributes: conv ? ["strides": .ints([2, 1])] : [:]),
                GraphNode(opType: "Add", inputs: ["acc", "q"], outputs: ["sum"]),
                GraphNode(opType: "Cast", inputs: ["sum"], outputs: ["floats"], attributes: ["to": .int(1)]),
                GraphNode(opType: "Mul", inputs: ["x_scale", "floats"], outputs: ["y"]),
            ]
            let graph = Graph(nodes: nodes, initializers: [("w", w), ("w_zero", wZero), ("other_zero", otherZero)],
                              inputs: [GraphValueInfo(name: "x"), GraphValueInfo(name: "q")],
                              outputs: [GraphValueInfo(name: "y")] + kept.map { GraphValueInfo(name: $0) })
            let plan = try Plan(graph: graph, opset: 17)
            return (plan, try plan.run(["x": x, "q": q])[0].tensor)
        }
        let (plain, expected) = try run(keeping: ["xq", "acc"])
        #expect(plain.fusions.isEmpty)
        for kept in [[], ["xq"], ["acc"]] {
            let (plan, y) = try run(keeping: kept)
            #expect(plan.fusions.count == 2 - kept.count, "\(plan.fusions)")
            #expect(y == expected, "keeping \(kept)")
        }
    }
}
