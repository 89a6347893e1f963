import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
@testable import RNNRTGraph
import RNNRTCheckpoints
import RNNRTCore

/// Every operator, fed seeded random inputs of the wrong rank, shape, size or element type (scalars,
/// empty tensors, mismatched kinds), either runs or throws `RNNRTError`, in float32 and in float64; none traps. A trap would end the
/// test process.
@Suite struct HostileInputTests {
    static let cases = Fixture.folders(in: "onnx/ops").map { "onnx/ops/\($0)" }
        + Fixture.folders(in: "onnx/quant_ops").map { "onnx/quant_ops/\($0)" }
        + ["onnx/node/test_lstm_with_peepholes", "onnx/node/test_gru_seq_length", "onnx/node/test_simple_rnn_batchwise"]

    @Test(arguments: cases)
    func wrongInputsNeverTrap(_ folder: String) throws {
        let dir = Fixture.url(folder)
        let spec = try ONNXCase.load(dir)
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx")))
        var rng = SeededGenerator(seed: UInt64(folder.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let originals = try spec.inputs.indices.map { try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("inputs/\($0).npy"))) }
        for _ in 0..<(Int(ProcessInfo.processInfo.environment["RNNRT_FUZZ_ITERATIONS"] ?? "") ?? 12) {
            var feeds: [String: GraphTensor] = [:]
            for (k, name) in spec.inputs.enumerated() {
                feeds[name] = Int.random(in: 0..<3, using: &rng) == 0 ? originals[k] : Self.random(&rng)
            }
            do { _ = try plan.run(feeds) } catch is RNNRTError {}
            do { _ = try plan.runFloat64(feeds.mapValues(GraphTensor64.init)) } catch is RNNRTError {}
        }
    }

    /// Models with random byte edits (attributes, shapes, types, node wiring) that still decode are planned
    /// and run on the fixture's inputs: each step either works or throws `RNNRTError`.
    @Test(arguments: ["onnx/ops/slice_negative", "onnx/ops/conv1d_groups2_bias", "onnx/ops/loop_trip_count_scan",
                      "onnx/ops/convtranspose2d_strides_pads_output_padding", "onnx/ops/convtranspose1d_output_shape_same_upper",
                      "onnx/ops/gather_axis1", "onnx/ops/reducemean_axes_keepdims", "onnx/ops/split_opset18_input",
                      "onnx/node/test_lstm_with_peepholes", "onnx/node/test_gru_seq_length", "onnx/spec/gru_seq_lens_bidirectional",
                      "onnx/quant_ops/qlinearconv_uint8_bias", "onnx/quant_ops/dynamicquantizelstm_bidirectional_per_channel",
                      "onnx/quant_ops/quantizelinear_per_axis_int8", "onnx/quant_ops/matmulintegertofloat_per_column",
                      "examples/tagger.onnx"])
    func mutatedModelsNeverTrap(_ folder: String) throws {
        var feeds: [String: GraphTensor] = [:]
        let original: [UInt8]
        if folder.hasSuffix(".onnx") {
            original = [UInt8](try Data(contentsOf: Fixture.url(folder)))
            feeds["ids"] = try GraphTensor(try NPY.read(contentsOf: Fixture.url("examples/ids.npy")))
        } else {
            let dir = Fixture.url(folder)
            let spec = try ONNXCase.load(dir)
            original = [UInt8](try Data(contentsOf: dir.appendingPathComponent("model.onnx")))
            feeds = try spec.feeds(in: dir)
        }
        var rng = SeededGenerator(seed: UInt64(original.count))
        let rounds = Int(ProcessInfo.processInfo.environment["RNNRT_FUZZ_ITERATIONS"] ?? "") ?? 150
        for _ in 0..<rounds {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF][Int.random(in: 0..<6, using: &rng)]
            }
            do {
                let plan = try Plan(model: try ONNXModelFile.decode(bytes, modelDirectory: nil))
                do { _ = try plan.runFloat64(feeds.mapValues(GraphTensor64.init)) } catch is RNNRTError {}
                _ = try plan.run(feeds)
            } catch is RNNRTError {}
        }
    }

    /// A tensor of random rank (0–4), extents (0–5) and element kind, values including negatives and
    /// large magnitudes.
    static func random(_ rng: inout SeededGenerator) -> GraphTensor {
        let rank = Int.random(in: 0...4, using: &rng)
        let shape = (0..<rank).map { _ in Int.random(in: 0...5, using: &rng) }
        let n = shape.reduce(1, *)
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: return GraphTensor(shape: shape, floats: (0..<n).map { _ in Float.random(in: -100...100, using: &rng) })
        case 1: return GraphTensor(shape: shape, ints: (0..<n).map { _ in Int64.random(in: -6...6, using: &rng) })
        default: return GraphTensor(shape: shape, bools: (0..<n).map { _ in Bool.random(using: &rng) })
        }
    }
}

/// Inputs a fuzzer or a malformed model can give that once trapped or tried to allocate without bound: each is
/// refused with `RNNRTError` or computed.
extension HostileInputTests {
    static func single(_ node: GraphNode, inputs: [String], initializers: [(String, StoredTensor)] = [], opset: Int64 = 17) throws -> Plan {
        try Plan(graph: Graph(nodes: [node], initializers: initializers, inputs: inputs.map { GraphValueInfo(name: $0) },
                              outputs: node.outputs.map { GraphValueInfo(name: $0) }), opset: opset)
    }

    @Test func sliceNamingAnAxisTwiceIsRefused() throws {
        let plan = try HostileInputTests.single(GraphNode(opType: "Slice", inputs: ["x", "s", "e", "a"], outputs: ["y"]),
                                                inputs: ["x", "s", "e", "a"])
        let feeds = ["x": GraphTensor(shape: [10], floats: (0..<10).map(Float.init)),
                     "s": GraphTensor(shape: [2], ints: [5, 5]), "e": GraphTensor(shape: [2], ints: [10, 10]),
                     "a": GraphTensor(shape: [2], ints: [0, -1])]
        #expect(throws: RNNRTError.self) { try plan.run(feeds) }
        // A step far longer than the axis on an outer axis: one position, no overflowing stride.
        let huge = ["x": GraphTensor(shape: [3, 2], floats: (0..<6).map(Float.init)),
                    "s": GraphTensor(shape: [1], ints: [2]), "e": GraphTensor(shape: [1], ints: [-10]),
                    "a": GraphTensor(shape: [1], ints: [0])]
        let plan2 = try HostileInputTests.single(GraphNode(opType: "Slice", inputs: ["x", "s", "e", "a", "p"], outputs: ["y"]),
                                                 inputs: ["x", "s", "e", "a", "p"])
        var feeds2 = huge
        feeds2["p"] = GraphTensor(shape: [1], ints: [-(1 << 62)])
        #expect(try plan2.run(feeds2)[0].tensor == GraphTensor(shape: [1, 2], floats: [4, 5]))
    }

    @Test func convolutionShapesFromAHostileModelAreRefused() throws {
        let conv = GraphNode(opType: "Conv", inputs: ["x", "w"], outputs: ["y"])
        let plan = try HostileInputTests.single(conv, inputs: ["x", "w"])
        // An empty batch with a large spatial extent: an empty output, nothing sized by the extent; past
        // ElementCount.maximum, the empty input is refused.
        let empty = try plan.run(["x": GraphTensor(shape: [0, 1, 1 << 24], floats: []),
                                  "w": GraphTensor(shape: [1, 1, 3], floats: [1, 2, 3])])
        #expect(empty[0].tensor.shape == [0, 1, (1 << 24) - 2])
        #expect(throws: RNNRTError.self) {
            try plan.run(["x": GraphTensor(shape: [0, 1, 1 << 40], floats: []), "w": GraphTensor(shape: [1, 1, 3], floats: [1, 2, 3])])
        }
        // Spatial extents whose product overflows.
        #expect(throws: RNNRTError.self) {
            try plan.run(["x": GraphTensor(shape: [0, 1, 1 << 32, 1 << 32], floats: []),
                          "w": GraphTensor(shape: [1, 1, 1, 1], floats: [1])])
        }
        // An empty W with a huge group, at load.
        let grouped = GraphNode(opType: "Conv", inputs: ["x", "w"], outputs: ["y"], attributes: ["group": .int(1 << 40)])
        #expect(throws: RNNRTError.self) {
            try HostileInputTests.single(grouped, inputs: ["x"],
                                         initializers: [("w", try StoredTensor(shape: [0, 1, 1], floats: []))])
        }
    }
}

/// Einsum equations and operands a malformed model can give: refused with `RNNRTError`, at load when the equation
/// alone shows it.
extension HostileInputTests {
    static func einsum(_ equation: String, operands: Int) throws -> Plan {
        let names = (0..<operands).map { "x\($0)" }
        return try single(GraphNode(opType: "Einsum", inputs: names, outputs: ["y"], attributes: ["equation": .string(equation)]),
                          inputs: names)
    }

    @Test func badEinsumEquationsAreRefusedAtLoad() throws {
        for (equation, operands) in [("ij,jk->ii", 2), ("ij->k", 1), ("i1->i", 1), ("...i...->i", 1), ("ij,jk", 1),
                                     ("a->b->c", 1), ("", 1), ("i.j->i", 1), ("ij,jk->ik", 3), ("...->......", 1)] {
            #expect(throws: RNNRTError.self, "\(equation)") { try HostileInputTests.einsum(equation, operands: operands) }
        }
    }

    @Test func einsumOperandsThatDoNotFitAreRefused() throws {
        let matrix = GraphTensor(shape: [3, 4], floats: (0..<12).map(Float.init))
        let square = GraphTensor(shape: [3, 3], floats: (0..<9).map(Float.init))
        let refused: [(String, [GraphTensor])] = [
            ("ij,jk->ik", [matrix, matrix]),  // inner sizes 4 and 3
            ("ii->i", [matrix]),  // a diagonal of unequal axes
            ("ijk->i", [matrix]),  // rank 2 for three letters
            ("...ij->ij", [GraphTensor(shape: [2, 3, 3], floats: [Float](repeating: 1, count: 18))]),  // '...' dropped
            ("ij->i", [GraphTensor(shape: [3, 4], ints: [Int64](repeating: 1, count: 12))]),  // not float
            ("ijk->k", [GraphTensor(shape: [1 << 40, 1 << 40, 0], floats: [])]),  // extents whose product overflows
        ]
        for (equation, operands) in refused {
            let plan = try HostileInputTests.einsum(equation, operands: operands.count)
            let feeds = Dictionary(uniqueKeysWithValues: operands.enumerated().map { ("x\($0.offset)", $0.element) })
            #expect(throws: RNNRTError.self, "\(equation)") { try plan.run(feeds) }
        }
        #expect(try HostileInputTests.einsum("ii", operands: 1).run(["x0": square])[0].tensor
                == GraphTensor(shape: [], floats: [12]))
        // Empty operands with huge extents: an empty output whose non-zero extents multiply past Int (any product of
        // its axes an operator after it took would overflow) or past ElementCount.maximum, refused by name.
        let empty = try HostileInputTests.einsum("ij,kl->ijkl", operands: 2)
        #expect(throws: RNNRTError.self) {
            try empty.run(["x0": GraphTensor(shape: [1 << 40, 0], floats: []), "x1": GraphTensor(shape: [0, 1 << 40], floats: [])])
        }
        #expect(try empty.run(["x0": GraphTensor(shape: [1 << 10, 0], floats: []), "x1": GraphTensor(shape: [0, 1 << 10], floats: [])])[0]
                .tensor.shape == [1 << 10, 0, 0, 1 << 10])
    }
}

/// Pooling attributes and inputs a malformed model can give: refused with `RNNRTError`.
extension HostileInputTests {
    static func pool(_ op: String, _ attributes: [String: GraphAttribute], outputs: [String] = ["y"]) throws -> Plan {
        try single(GraphNode(opType: op, inputs: ["x"], outputs: outputs, attributes: attributes), inputs: ["x"])
    }

    @Test func badPoolingAttributesAreRefusedAtLoad() throws {
        let refused: [(String, [String: GraphAttribute])] = [
            ("MaxPool", [:]),  // no kernel_shape
            ("MaxPool", ["kernel_shape": .ints([0])]),
            ("MaxPool", ["kernel_shape": .ints([2, 2, 2, 2])]),
            ("AveragePool", ["kernel_shape": .ints([2]), "strides": .ints([0])]),
            ("AveragePool", ["kernel_shape": .ints([2]), "pads": .ints([1])]),
            ("AveragePool", ["kernel_shape": .ints([2]), "pads": .ints([-1, 0])]),
            ("MaxPool", ["kernel_shape": .ints([2]), "dilations": .ints([1 << 40])]),
            ("MaxPool", ["kernel_shape": .ints([2]), "auto_pad": .string("SAME")]),
        ]
        for (op, attributes) in refused {
            #expect(throws: RNNRTError.self, "\(op) \(attributes)") { try HostileInputTests.pool(op, attributes) }
        }
        #expect(throws: RNNRTError.self) {
            try HostileInputTests.pool("MaxPool", ["kernel_shape": .ints([2])], outputs: ["y", "indices"])
        }
    }

    @Test func poolingInputsThatDoNotFitAreRefused() throws {
        let plan = try HostileInputTests.pool("MaxPool", ["kernel_shape": .ints([3])])
        #expect(throws: RNNRTError.self) { try plan.run(["x": GraphTensor(shape: [1, 1, 2], floats: [1, 2])]) }
        #expect(throws: RNNRTError.self) { try plan.run(["x": GraphTensor(shape: [1, 4], floats: [1, 2, 3, 4])]) }
        #expect(throws: RNNRTError.self) { try plan.run(["x": GraphTensor(shape: [1, 1, 4], ints: [1, 2, 3, 4])]) }
        // No planes and a large extent: an empty output, nothing sized by the extent (past ElementCount.maximum: refused).
        let empty = try plan.run(["x": GraphTensor(shape: [0, 1, 1 << 24], floats: [])])
        #expect(empty[0].tensor.shape == [0, 1, (1 << 24) - 2])
        #expect(throws: RNNRTError.self) { try plan.run(["x": GraphTensor(shape: [0, 1, 1 << 40], floats: [])]) }
        let global = try HostileInputTests.pool("GlobalAveragePool", [:])
        #expect(throws: RNNRTError.self) { try global.run(["x": GraphTensor(shape: [3], floats: [1, 2, 3])]) }
    }
}

/// Normalization inputs that do not fit: refused with `RNNRTError`.
extension HostileInputTests {
    @Test func normalizationInputsThatDoNotFitAreRefused() throws {
        #expect(throws: RNNRTError.self) {
            try HostileInputTests.single(GraphNode(opType: "GroupNormalization", inputs: ["x", "s", "b"], outputs: ["y"],
                                              attributes: ["num_groups": .int(0)]), inputs: ["x", "s", "b"], opset: 21)
        }
        let group = try HostileInputTests.single(GraphNode(opType: "GroupNormalization", inputs: ["x", "s", "b"], outputs: ["y"],
                                                      attributes: ["num_groups": .int(2)]), inputs: ["x", "s", "b"], opset: 21)
        let instance = try HostileInputTests.single(GraphNode(opType: "InstanceNormalization", inputs: ["x", "s", "b"], outputs: ["y"]),
                                                    inputs: ["x", "s", "b"])
        func feeds(_ x: [Int], _ s: Int) -> [String: GraphTensor] {
            let n = x.checkedElementCount() ?? 0
            return ["x": GraphTensor(shape: x, floats: [Float](repeating: 1, count: n)),
                    "s": GraphTensor(shape: [s], floats: [Float](repeating: 1, count: s)),
                    "b": GraphTensor(shape: [s], floats: [Float](repeating: 0, count: s))]
        }
        #expect(throws: RNNRTError.self) { try group.run(feeds([1, 3, 4], 3)) }  // 3 channels in 2 groups
        #expect(throws: RNNRTError.self) { try group.run(feeds([1, 4, 4], 2)) }  // opset 21: one per channel
        #expect(throws: RNNRTError.self) { try group.run(feeds([4], 4)) }
        #expect(throws: RNNRTError.self) { try instance.run(feeds([1, 3, 4], 2)) }
        #expect(throws: RNNRTError.self) { try instance.run(feeds([], 1)) }
        var ints = feeds([1, 2, 2], 2)
        ints["x"] = GraphTensor(shape: [1, 2, 2], ints: [1, 2, 3, 4])
        #expect(throws: RNNRTError.self) { try instance.run(ints) }
        #expect(try instance.run(feeds([0, 2, 1 << 24], 2))[0].tensor.shape == [0, 2, 1 << 24])
        #expect(throws: RNNRTError.self) { try instance.run(feeds([0, 2, 1 << 40], 2)) }
    }
}

/// Indices out of range, shapes that do not fit and sizes a hostile model asks for, for the indexing operators:
/// refused with `RNNRTError`.
extension HostileInputTests {
    static func run(_ op: String, _ feeds: [(String, GraphTensor)], attributes: [String: GraphAttribute] = [:],
                    outputs: [String] = ["y"], opset: Int64 = 18) throws -> [GraphTensor] {
        let names = feeds.map(\.0)
        let plan = try single(GraphNode(opType: op, inputs: names, outputs: outputs, attributes: attributes), inputs: names, opset: opset)
        return try plan.run(Dictionary(uniqueKeysWithValues: feeds)).map(\.tensor)
    }

    @Test func indexingOperatorsRefuseWhatDoesNotFit() throws {
        let m = GraphTensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        let i = { (shape: [Int], v: [Int64]) in GraphTensor(shape: shape, ints: v) }
        let refused: [(String, [(String, GraphTensor)], [String: GraphAttribute])] = [
            ("GatherElements", [("d", m), ("i", i([2, 1], [0, 2]))], [:]),  // 2 is past axis 0
            ("GatherElements", [("d", m), ("i", i([3, 1], [0, 0, 0]))], ["axis": .int(1)]),  // 3 rows of 2
            ("GatherElements", [("d", m), ("i", i([2], [0, 0]))], [:]),  // rank 1 for rank 2
            ("ScatterND", [("d", m), ("i", i([1, 1], [2])), ("u", GraphTensor(shape: [1, 3], floats: [0, 0, 0]))], [:]),
            ("ScatterND", [("d", m), ("i", i([1, 3], [0, 0, 0])), ("u", GraphTensor(shape: [1], floats: [0]))], [:]),
            ("ScatterND", [("d", m), ("i", i([1, 1], [0])), ("u", GraphTensor(shape: [1, 2], floats: [0, 0]))], [:]),
            ("ScatterND", [("d", m), ("i", i([1, 1], [0])), ("u", GraphTensor(shape: [1, 3], ints: [0, 0, 0]))], [:]),
            ("Trilu", [("x", GraphTensor(shape: [3], floats: [1, 2, 3]))], [:]),
            ("Trilu", [("x", m), ("k", i([2], [1, 2]))], [:]),
            ("OneHot", [("i", i([2], [0, 1])), ("d", i([], [0])), ("v", GraphTensor(shape: [2], floats: [0, 1]))], [:]),
            ("OneHot", [("i", i([2], [0, 1])), ("d", i([], [1 << 40])), ("v", GraphTensor(shape: [2], floats: [0, 1]))], [:]),
            ("OneHot", [("i", i([2], [0, 1])), ("d", i([], [3])), ("v", GraphTensor(shape: [3], floats: [0, 1, 2]))], [:]),
            ("OneHot", [("i", i([2], [0, 1])), ("d", i([], [3])), ("v", GraphTensor(shape: [2], floats: [0, 1]))], ["axis": .int(2)]),
            ("TopK", [("x", m), ("k", i([1], [4]))], [:]),
            ("TopK", [("x", m), ("k", i([1], [-1]))], [:]),
            ("TopK", [("x", m), ("k", i([1], [1]))], ["axis": .int(2)]),
            ("TopK", [("x", GraphTensor(shape: [2], bools: [true, false])), ("k", i([1], [1]))], [:]),
            // Extents whose product overflows, with no elements.
            ("GatherElements", [("d", GraphTensor(shape: [1 << 40, 1 << 40, 0], floats: [])), ("i", i([0, 0, 0], []))], [:]),
        ]
        for (op, feeds, attributes) in refused {
            let outputs = op == "TopK" ? ["v", "j"] : ["y"]
            #expect(throws: RNNRTError.self, "\(op) \(feeds.map { $0.1.shape })") {
                try HostileInputTests.run(op, feeds, attributes: attributes, outputs: outputs)
            }
        }
        #expect(throws: RNNRTError.self) {
            try HostileInputTests.single(GraphNode(opType: "ScatterND", inputs: ["d", "i", "u"], outputs: ["y"],
                                              attributes: ["reduction": .string("sub")]), inputs: ["d", "i", "u"])
        }
        // TopK on NaN: a total order (NaN above every number), no trap.
        let nan = try HostileInputTests.run("TopK", [("x", GraphTensor(shape: [4], floats: [1, .nan, 3, .nan])), ("k", i([1], [3]))],
                                            outputs: ["v", "j"])
        #expect(nan[1] == GraphTensor(shape: [3], ints: [1, 3, 2]))
    }
}

/// Resize attributes rnnrt does not implement, and scales or sizes that do not fit: refused with `RNNRTError`.
extension HostileInputTests {
    @Test func resizeRefusesWhatItCannotDo() throws {
        let node = { (attributes: [String: GraphAttribute]) in
            GraphNode(opType: "Resize", inputs: ["x", "", "s", "z"], outputs: ["y"], attributes: attributes)
        }
        for attributes: [String: GraphAttribute] in [["mode": .string("cubic")], ["antialias": .int(1)],
                                                ["coordinate_transformation_mode": .string("tf_crop_and_resize")],
                                                ["nearest_mode": .string("nearest")],
                                                ["keep_aspect_ratio_policy": .string("fill")]] {
            #expect(throws: RNNRTError.self, "\(attributes)") {
                try HostileInputTests.single(node(attributes), inputs: ["x", "s", "z"], opset: 19)
            }
        }
        let plan = try HostileInputTests.single(node(["mode": .string("linear")]), inputs: ["x", "s", "z"], opset: 19)
        let x = GraphTensor(shape: [1, 1, 2, 2], floats: [1, 2, 3, 4])
        let none = GraphTensor(shape: [0], floats: [])
        let noSizes = GraphTensor(shape: [0], ints: [])
        let refused: [(GraphTensor, GraphTensor, GraphTensor)] = [
            (x, none, noSizes),  // neither scales nor sizes
            (x, GraphTensor(shape: [2], floats: [2, 2]), noSizes),  // 2 scales for rank 4
            (x, GraphTensor(shape: [4], floats: [1, 1, 0, 2]), noSizes),
            (x, GraphTensor(shape: [4], floats: [1, 1, .infinity, 2]), noSizes),
            (x, GraphTensor(shape: [4], floats: [1, 1, 1e20, 2]), noSizes),
            (x, none, GraphTensor(shape: [4], ints: [1, 1, -1, 2])),
            (x, none, GraphTensor(shape: [4], ints: [1 << 20, 1 << 20, 1 << 20, 2])),
            (GraphTensor(shape: [1, 1, 0, 2], floats: []), none, GraphTensor(shape: [4], ints: [1, 1, 3, 2])),
            (GraphTensor(shape: [1, 1, 2, 2], ints: [1, 2, 3, 4]), GraphTensor(shape: [4], floats: [1, 1, 2, 2]), noSizes),
        ]
        for (input, scales, sizes) in refused {
            #expect(throws: RNNRTError.self, "\(input.shape) \(scales) \(sizes)") {
                try plan.run(["x": input, "s": scales, "z": sizes])
            }
        }
    }

    /// Scales that make one axis empty and another 2.6·10^10 long (an ONNX model fuzz-onnx made): refused at once,
    /// without making a source index for each of the long axis's positions.
    @Test func resizeToAnEmptyOutputWithAHugeAxis() throws {
        let x = GraphTensor(shape: [3, 2, 3, 3], floats: [Float](repeating: 1, count: 54))
        let scales: [Float] = [1, 6.1e-5, 8.59e9, Float(bitPattern: 0x1_0000)]  // the last one subnormal, 9.2e-41
        let upsample = try HostileInputTests.single(
            GraphNode(opType: "Upsample", inputs: ["x"], outputs: ["y"], attributes: ["mode": .string("nearest"), "scales": .floats(scales)]),
            inputs: ["x"], opset: 7)
        #expect(throws: RNNRTError.self) { try upsample.run(["x": x]) }
        let resize = try HostileInputTests.single(
            GraphNode(opType: "Resize", inputs: ["x", "", "s"], outputs: ["y"], attributes: ["mode": .string("linear")]),
            inputs: ["x", "s"], opset: 19)
        #expect(throws: RNNRTError.self) { try resize.run(["x": x, "s": GraphTensor(shape: [4], floats: scales)]) }
    }

    /// A nearest `Upsample` that grows one outer axis by 10^5 (10^6 in the model a fuzzer found, which took 21 s under
    /// AddressSanitizer copying one element at a time): axes are resized from the least growth to the most, and the
    /// result is the same as resizing one axis at a time in any order.
    @Test func upsamplingOneAxisByAHugeScale() throws {
        let x = GraphTensor(shape: [3, 2, 3, 2], floats: (0..<36).map { Float($0 % 7) * 0.25 - 0.5 })
        let scales: [Float] = [105_398, 0.86328125, 2, 1.50146484375]
        func upsample(_ x: GraphTensor, _ scales: [Float]) throws -> GraphTensor {
            let plan = try HostileInputTests.single(
                GraphNode(opType: "Upsample", inputs: ["x"], outputs: ["y"], attributes: ["mode": .string("nearest"), "scales": .floats(scales)]),
                inputs: ["x"], opset: 7)
            return try plan.run(["x": x], options: RunOptions(memoryLimit: 256 << 20))[0].tensor
        }
        let whole = try upsample(x, scales)
        #expect(whole.shape == [316_194, 1, 6, 3])
        var oneAtATime = x
        for axis in [0, 1, 2, 3] {
            var single: [Float] = [1, 1, 1, 1]
            single[axis] = scales[axis]
            oneAtATime = try upsample(oneAtATime, single)
        }
        #expect(whole.shape == oneAtATime.shape)
        #expect(try whole.floats("y") == oneAtATime.floats("y"))
    }
}

/// Quantized operators given wrong element types, zero, negative or NaN scales, zero points of the wrong shape or
/// type, and sizes that overflow: each throws `RNNRTError` naming the node, at load or at run time.
@Suite struct HostileQuantizedInputTests {
    static func u8(_ shape: [Int], _ v: [Int64]) -> GraphTensor { GraphTensor(shape: shape, ints: v, type: .uint8) }
    static func i8(_ shape: [Int], _ v: [Int64]) -> GraphTensor { GraphTensor(shape: shape, ints: v, type: .int8) }
    static func f(_ shape: [Int], _ v: [Float]) -> GraphTensor { GraphTensor(shape: shape, floats: v) }

    /// Runs one node named `bad` over `inputs` (all graph inputs) and returns the error it throws.
    static func error(_ op: String, domain: String = "", opset: Int64 = 13, attributes: [String: GraphAttribute] = [:],
                      _ inputs: [(String, GraphTensor?)], outputs: Int = 1) -> RNNRTError? {
        let given = inputs.compactMap { name, t in t.map { (name, $0) } }
        let node = GraphNode(name: "bad", opType: op, domain: domain, inputs: inputs.map { $0.1 == nil ? "" : $0.0 },
                        outputs: (0..<outputs).map { "y\($0)" }, attributes: attributes)
        let graph = Graph(nodes: [node], inputs: given.map { GraphValueInfo(name: $0.0) }, outputs: [GraphValueInfo(name: "y0")])
        do {
            let plan = try Plan(graph: graph, opset: opset)
            _ = try plan.run(Dictionary(given, uniquingKeysWith: { a, _ in a }))
            return nil
        } catch let e as RNNRTError {
            return e
        } catch {
            return RNNRTError(.io, "unexpected \(error)")
        }
    }

    static func expectNamed(_ e: RNNRTError?, _ kind: RNNRTError.Kind, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectRNNRTError(e, kind, containing: ["'bad'", words], in: .description, sourceLocation: sourceLocation)
    }

    @Test func badScales() {
        let x = Self.f([2, 2], [1, 2, 3, 4])
        for scale: Float in [0, -0.5, .nan, .infinity] {
            Self.expectNamed(Self.error("QuantizeLinear", [("x", x), ("s", Self.f([], [scale])), ("z", Self.u8([], [3]))]),
                             .invalidArgument, "finite positive")
            Self.expectNamed(Self.error("DequantizeLinear", [("x", Self.u8([2], [1, 2])), ("s", Self.f([], [scale]))]),
                             .invalidArgument, "finite positive")
            Self.expectNamed(Self.error("QLinearMatMul", [("a", Self.u8([1, 1], [1])), ("as", Self.f([], [0.1])), ("az", Self.u8([], [0])),
                                                          ("b", Self.u8([1, 1], [1])), ("bs", Self.f([], [0.1])), ("bz", Self.u8([], [0])),
                                                          ("ys", Self.f([], [scale])), ("yz", Self.u8([], [0]))]),
                             .invalidArgument, "finite positive")
        }
    }

    @Test func wrongElementTypes() {
        Self.expectNamed(Self.error("DequantizeLinear", [("x", Self.f([2], [1, 2])), ("s", Self.f([], [0.1]))]), .invalidArgument, "uint8, int8 or int32")
        Self.expectNamed(Self.error("QuantizeLinear", [("x", Self.u8([2], [1, 2])), ("s", Self.f([], [0.1]))]), .invalidArgument, "float")
        Self.expectNamed(Self.error("QuantizeLinear", [("x", Self.f([1], [1])), ("s", Self.f([], [0.1])), ("z", GraphTensor(shape: [], ints: [0]))]),
                         .invalidArgument, "uint8 or int8")
        Self.expectNamed(Self.error("MatMulInteger", [("a", Self.f([1, 1], [1])), ("b", Self.u8([1, 1], [1]))]), .invalidArgument, "A must be")
        Self.expectNamed(Self.error("MatMulInteger", [("a", Self.u8([1, 1], [1])), ("b", Self.u8([1, 1], [1])), ("az", Self.i8([], [0]))]),
                         .invalidArgument, "zero point")
        Self.expectNamed(Self.error("MatMulInteger", [("a", Self.u8([1, 1], [1])), ("b", Self.u8([1, 1], [1])), ("az", Self.u8([], [0])), ("bz", Self.i8([], [0]))]),
                         .invalidArgument, "zero point")
        Self.expectNamed(Self.error("DequantizeLinear", [("x", Self.u8([2], [1, 2])), ("s", Self.f([], [0.1])), ("z", Self.i8([], [0]))]),
                         .invalidArgument, "zero point")
        Self.expectNamed(Self.error("DequantizeLinear", [("x", GraphTensor(shape: [1], ints: [5], type: .int32)), ("s", Self.f([], [0.1])),
                                                         ("z", GraphTensor(shape: [], ints: [1], type: .int32))]), .invalidArgument, "int32")
        Self.expectNamed(Self.error("DynamicQuantizeMatMul", domain: "com.microsoft", [("a", Self.u8([1, 1], [1])), ("b", Self.i8([1, 1], [1])), ("s", Self.f([], [1]))]),
                         .invalidArgument, "float")
        Self.expectNamed(Self.error("QuantizeLinear", opset: 21, attributes: ["output_dtype": .int(4)], [("x", Self.f([1], [1])), ("s", Self.f([], [1]))]),
                         .unsupported, "output_dtype")
    }

    @Test func mismatchedZeroPointsAndScales() {
        let x = Self.f([2, 3], [1, 2, 3, 4, 5, 6])
        Self.expectNamed(Self.error("QuantizeLinear", [("x", x), ("s", Self.f([3], [1, 1, 1])), ("z", Self.u8([2], [0, 0]))]),
                         .shapeMismatch, "zero point")
        Self.expectNamed(Self.error("QuantizeLinear", [("x", x), ("s", Self.f([2], [1, 1])), ("z", Self.u8([2], [0, 0]))]),
                         .shapeMismatch, "2 scales for axis 1")
        Self.expectNamed(Self.error("QuantizeLinear", opset: 10, [("x", x), ("s", Self.f([3], [1, 1, 1]))]), .invalidArgument, "before opset 13")
        Self.expectNamed(Self.error("MatMulInteger", [("a", Self.u8([1, 2], [1, 2])), ("b", Self.u8([2, 3], [1, 2, 3, 4, 5, 6])), ("az", Self.u8([], [0])),
                                                      ("bz", Self.u8([2], [0, 0]))]), .invalidArgument, "one per column")
        Self.expectNamed(Self.error("MatMulInteger", [("a", Self.u8([1, 2], [1, 2])), ("b", Self.u8([3, 1], [1, 2, 3]))]), .shapeMismatch, "inner sizes")
        Self.expectNamed(Self.error("MatMulIntegerToFloat", domain: "com.microsoft",
                                    [("a", Self.u8([1, 2], [1, 2])), ("b", Self.u8([2, 2], [1, 2, 3, 4])), ("as", Self.f([2], [1, 1])), ("bs", Self.f([], [1]))]),
                         .invalidArgument, "scalar")
        let lstm: [(String, GraphTensor?)] = [
            ("x", Self.f([1, 1, 1], [0.5])), ("w", Self.i8([1, 1, 4], [1, 2, 3, 4])), ("r", Self.i8([1, 1, 4], [1, 2, 3, 4])),
            ("b", nil), ("l", nil), ("h", nil), ("c", nil), ("p", nil),
            ("ws", Self.f([1, 3], [1, 1, 1])), ("wz", Self.i8([1, 3], [0, 0, 0])), ("rs", Self.f([1], [1])), ("rz", Self.i8([1], [0]))]
        Self.expectNamed(Self.error("DynamicQuantizeLSTM", domain: "com.microsoft", attributes: ["hidden_size": .int(1)], lstm, outputs: 3),
                         .shapeMismatch, "W_scale")
    }

    @Test func overflowingSizes() {
        let x = Self.u8([1, 1, 2, 2], [1, 2, 3, 4])
        let w = Self.u8([1, 1, 1, 1], [1])
        Self.expectNamed(Self.error("ConvInteger", attributes: ["pads": .ints([1 << 24, 1 << 24, 1 << 24, 1 << 24])], [("x", x), ("w", w)]),
                         .invalidArgument, "too large")
        Self.expectNamed(Self.error("ConvInteger", attributes: ["group": .int(Int64.max)], [("x", x), ("w", w)]), .malformed, "group")
        Self.expectNamed(Self.error("ConvInteger", attributes: ["group": .int(2)], [("x", x), ("w", w)]), .shapeMismatch, "group")
        Self.expectNamed(Self.error("DynamicQuantizeLSTM", domain: "com.microsoft", attributes: ["direction": .string("sideways")], [("x", Self.f([1], [1]))], outputs: 3),
                         .malformed, "direction")
    }

    @Test func unknownOperatorsOfTheMicrosoftDomainAreRefused() {
        // Refused at load with every unsupported operator type listed (by type, not by node).
        expectRNNRTError(Self.error("QuantizeLinear", domain: "com.microsoft", [("x", Self.f([1], [1]))]), .unsupported,
                         containing: ["com.microsoft.QuantizeLinear (1 node)"])
    }
}

/// ConvTranspose attributes and shapes a malformed model can give: refused with `RNNRTError` naming the node (at load
/// when the attributes alone show it), never a trap or an unbounded allocation.
extension HostileInputTests {
    static func convTranspose(_ attributes: [String: GraphAttribute], x: [Int], w: [Int], bias: Int? = nil) throws -> [GraphTensor] {
        let names = bias == nil ? ["x", "w"] : ["x", "w", "b"]
        let node = GraphNode(name: "up", opType: "ConvTranspose", inputs: names, outputs: ["y"], attributes: attributes)
        let plan = try single(node, inputs: names)
        var feeds = ["x": GraphTensor(shape: x, floats: [Float](repeating: 1, count: x.reduce(1, *))),
                     "w": GraphTensor(shape: w, floats: [Float](repeating: 1, count: w.reduce(1, *)))]
        if let bias { feeds["b"] = GraphTensor(shape: [bias], floats: [Float](repeating: 1, count: bias)) }
        return try plan.run(feeds).map(\.tensor)
    }

    static func expectRefused(_ attributes: [String: GraphAttribute], x: [Int] = [1, 2, 5], w: [Int] = [2, 3, 3], bias: Int? = nil,
                              _ kind: RNNRTError.Kind, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectRNNRTError(kind, containing: [words, "up"], "ConvTranspose \(attributes) on X \(x), W \(w)", sourceLocation: sourceLocation) {
            try convTranspose(attributes, x: x, w: w, bias: bias)
        }
    }

    @Test func convTransposeAttributesOutOfRangeAreRefused() {
        Self.expectRefused(["strides": .ints([1 << 40])], .invalidArgument, "strides")
        Self.expectRefused(["strides": .ints([0])], .invalidArgument, "strides")
        Self.expectRefused(["strides": .ints([2, 2])], .invalidArgument, "strides")
        Self.expectRefused(["dilations": .ints([Int64.max])], .invalidArgument, "dilations")
        Self.expectRefused(["pads": .ints([-1, 0])], .invalidArgument, "pads")
        Self.expectRefused(["pads": .ints([Int64.min, Int64.max])], .invalidArgument, "pads")
        Self.expectRefused(["pads": .ints([1 << 24, 1 << 24])], .shapeMismatch, "empty")
        Self.expectRefused(["output_padding": .ints([Int64.max])], .invalidArgument, "output_padding")
        Self.expectRefused(["output_padding": .ints([-3])], .invalidArgument, "output_padding")
        Self.expectRefused(["output_shape": .ints([1 << 40])], .invalidArgument, "output_shape")
        Self.expectRefused(["output_shape": .ints([0])], .invalidArgument, "output_shape")
        Self.expectRefused(["output_shape": .ints([4, 4])], .invalidArgument, "output_shape")
        Self.expectRefused(["kernel_shape": .ints([4])], .shapeMismatch, "kernel_shape")
    }

    @Test func convTransposeOutputsTooLargeAreRefused() {
        // Each factor in range, the product far past any memory.
        Self.expectRefused(["strides": .ints([1 << 24, 1 << 24]), "dilations": .ints([1 << 24, 1 << 24])],
                           x: [1, 1, 1 << 6, 1 << 6], w: [1, 1, 1 << 4, 1 << 4], .invalidArgument, "too large")
        Self.expectRefused(["output_shape": .ints([1 << 32, 1 << 32])], x: [1, 1, 2, 2], w: [1, 1, 1, 1], .invalidArgument, "too large")
        Self.expectRefused(["auto_pad": .string("SAME_UPPER"), "strides": .ints([1 << 24, 1 << 24, 1 << 24])],
                           x: [1, 1, 4, 4, 4], w: [1, 1, 1 << 8, 1, 1], .invalidArgument, "too large")
        // An empty batch does not lift the bound on the spatial extents.
        Self.expectRefused(["strides": .ints([1 << 24, 1 << 24])], x: [0, 1, 1 << 13, 1 << 13], w: [1, 1, 1, 1],
                           .invalidArgument, "too large")
    }

    @Test func convTransposeWeightsThatDoNotFitAreRefused() {
        Self.expectRefused([:], w: [3, 3, 3], .shapeMismatch, "channels")
        Self.expectRefused([:], w: [2, 3], .shapeMismatch, "W")
        Self.expectRefused([:], w: [2, 3, 3, 3], .shapeMismatch, "W")
        Self.expectRefused([:], w: [2, 0, 3], .shapeMismatch, "W")
        Self.expectRefused(["group": .int(2)], x: [1, 3, 5], w: [3, 1, 3], .shapeMismatch, "group")
        Self.expectRefused(["group": .int(4)], x: [1, 2, 5], w: [2, 1, 3], .shapeMismatch, "group")
        Self.expectRefused([:], bias: 2, .shapeMismatch, "B")
        Self.expectRefused([:], x: [1, 2, 0], .invalidArgument, "input extent")
        Self.expectRefused([:], x: [1, 2, 5, 5, 5, 5], w: [2, 1, 1, 1, 1, 1], .shapeMismatch, "W")
    }

    @Test func convTransposeAttributesAreCheckedAtLoad() throws {
        for attributes: [String: GraphAttribute] in [["group": .int(0)], ["group": .int(1 << 40)], ["auto_pad": .string("SAME")]] {
            let node = GraphNode(name: "up", opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"], attributes: attributes)
            #expect(throws: RNNRTError.self) { try HostileInputTests.single(node, inputs: ["x", "w"]) }
        }
        // A constant W that cannot be [C, M/group, kernel...].
        for shape in [[3, 1, 2], [0, 1, 1], [2, 1]] {
            let node = GraphNode(name: "up", opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"], attributes: ["group": .int(2)])
            let w = try StoredTensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *)))
            #expect(throws: RNNRTError.self) { try HostileInputTests.single(node, inputs: ["x"], initializers: [("w", w)]) }
        }
        // An empty batch: an empty output of the computed shape.
        let empty = try Self.convTranspose(["strides": .ints([3])], x: [0, 2, 5], w: [2, 3, 3])
        #expect(empty[0].shape == [0, 3, 15])
    }
}

/// Sizes a small model can declare that once trapped on overflow, allocated without bound or ran for ever: each is
/// refused with `RNNRTError` naming the node and the dimensions, at load or at run time.
@Suite struct HostileSizeTests {
    static func int64s(_ values: [Int64]) throws -> StoredTensor {
        try StoredTensor(dtype: .int64, shape: [values.count], bytes: GraphTensor.bytes(values, as: .int64))
    }

    /// The error of loading and running one node named `bad` (inputs `runtime` fed, `constants` as initializers).
    static func error(_ op: String, attributes: [String: GraphAttribute] = [:], inputs: [String], outputs: Int = 1,
                      runtime: [String: GraphTensor] = [:], constants: [(String, StoredTensor)] = [], opset: Int64 = 17) -> RNNRTError? {
        let node = GraphNode(name: "bad", opType: op, inputs: inputs, outputs: (0..<outputs).map { "y\($0)" }, attributes: attributes)
        let graph = Graph(nodes: [node], initializers: constants, inputs: runtime.keys.sorted().map { GraphValueInfo(name: $0) },
                          outputs: [GraphValueInfo(name: "y0")])
        do {
            _ = try Plan(graph: graph, opset: opset).run(runtime)
            return nil
        } catch let e as RNNRTError {
            return e
        } catch {
            return RNNRTError(.io, "unexpected \(error)")
        }
    }

    static func expect(_ e: RNNRTError?, _ kind: RNNRTError.Kind, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        expectRNNRTError(e, kind, containing: ["'bad'"] + words, in: .description, sourceLocation: sourceLocation)
    }

    @Test func reshapeTargetsWhoseProductOverflows() throws {
        let target: [Int64] = [1 << 62, 4, -1]
        let x = GraphTensor(shape: [2], floats: [1, 2])
        // At run time, and with both inputs constant (folded at load, left to run time when folding fails).
        Self.expect(Self.error("Reshape", inputs: ["x", "s"], runtime: ["x": x, "s": GraphTensor(shape: [3], ints: target)]),
                    .invalidArgument, ["Reshape target [4611686018427387904, 4, -1]"])
        Self.expect(Self.error("Reshape", inputs: ["x", "s"], constants: [("x", try StoredTensor(shape: [2], floats: [1, 2])),
                                                                        ("s", try Self.int64s(target))]),
                    .invalidArgument, ["Reshape target [4611686018427387904, 4, -1]"])
        Self.expect(Self.error("Reshape", inputs: ["x", "s"], runtime: ["x": x, "s": GraphTensor(shape: [2], ints: [1 << 62, 8])]),
                    .invalidArgument, ["[4611686018427387904, 8]"])
    }

    @Test func gemmWithATransposedConstantBThatIsNotAMatrix() throws {
        let a = GraphTensor(shape: [1, 3], floats: [1, 2, 3])
        for shape in [[3], [1, 3, 1], []] {
            let b = try StoredTensor(shape: shape, floats: [Float](repeating: 1, count: shape.reduce(1, *)))
            Self.expect(Self.error("Gemm", attributes: ["transB": .int(1)], inputs: ["a", "b"], runtime: ["a": a], constants: [("b", b)]),
                        .shapeMismatch, ["B must be 2-D", shape.shapeDescription])
            Self.expect(Self.error("Gemm", attributes: ["transA": .int(1)], inputs: ["a", "b"],
                                   runtime: ["a": GraphTensor(shape: shape, floats: [Float](repeating: 1, count: shape.reduce(1, *))),
                                             "b": GraphTensor(shape: [1, 1], floats: [1])]),
                        .shapeMismatch, [shape.shapeDescription])
        }
    }

    @Test func constantOfShapeIsNotFoldedPastTheFoldLimitNorRunPastTheMaximum() throws {
        // 2^32 bools: more than any one tensor may have, refused at run time and never allocated at load.
        Self.expect(Self.error("ConstantOfShape", inputs: ["s"], constants: [("s", try Self.int64s([1 << 16, 1 << 16]))]),
                    .invalidArgument, ["[65536, 65536]", "more than the \(ElementCount.maximum)"])
        // Within the maximum but past what folding creates from a small input: left to run time.
        let node = GraphNode(name: "bad", opType: "ConstantOfShape", inputs: ["s"], outputs: ["y0"])
        let graph = Graph(nodes: [node], initializers: [("s", try Self.int64s([Int64(Plan.foldLimit) + 1]))],
                          outputs: [GraphValueInfo(name: "y0")])
        #expect(try Plan(graph: graph, opset: 17).steps.map(\.node.name) == ["bad"])
        let small = Graph(nodes: [node], initializers: [("s", try Self.int64s([4]))], outputs: [GraphValueInfo(name: "y0")])
        #expect(try Plan(graph: small, opset: 17).steps.isEmpty)
    }

    /// A `Loop` of `tripCount` iterations whose body passes its condition on.
    static func loop(tripCount: Int64) throws -> RNNRTError? {
        let body = Graph(nodes: [GraphNode(opType: "Identity", inputs: ["c"], outputs: ["c_out"]),
                                 GraphNode(opType: "Identity", inputs: ["i"], outputs: ["i_out"])],
                         inputs: [GraphValueInfo(name: "i"), GraphValueInfo(name: "c")], outputs: [GraphValueInfo(name: "c_out"), GraphValueInfo(name: "i_out")])
        let m = try StoredTensor(dtype: .int64, shape: [], bytes: GraphTensor.bytes([tripCount], as: .int64))
        return Self.error("Loop", attributes: ["body": .graph(body)], inputs: ["m", ""], constants: [("m", m)])
    }

    @Test func loopTripCountsBeyondTheIterationBudget() throws {
        let start = ContinuousClock.now
        Self.expect(try Self.loop(tripCount: 550_000_000_000), .invalidArgument, ["550000000000", "\(ControlFlowOps.maxIterations)"])
        #expect(ContinuousClock.now - start < .seconds(5))
        let three = try Self.loop(tripCount: 3)
        #expect(three == nil, "\(String(describing: three))")
    }

    @Test func createdShapesThatOverflowOrExceedTheMaximum() throws {
        let x = GraphTensor(shape: [2, 1], floats: [1, 2])
        let ints = { (v: [Int64]) in GraphTensor(shape: [v.count], ints: v) }
        let column = [Float](repeating: 1, count: 1 << 20)
        Self.expect(Self.error("Add", inputs: ["a", "b"], runtime: ["a": GraphTensor(shape: [1 << 20, 1], floats: column),
                                                                      "b": GraphTensor(shape: [1, 1 << 20], floats: column)]),
                    .invalidArgument, ["[1048576, 1]", "[1, 1048576]"])
        Self.expect(Self.error("Expand", inputs: ["x", "s"], runtime: ["x": x, "s": ints([2, 1 << 40])]), .invalidArgument, ["[2, 1099511627776]"])
        Self.expect(Self.error("Tile", inputs: ["x", "r"], runtime: ["x": x, "r": ints([1 << 62, 4])]), .invalidArgument, ["Tile", "[2, 1]"])
        Self.expect(Self.error("Pad", inputs: ["x", "p"], runtime: ["x": x, "p": ints([Int64.max, 0, 1, 0])]), .invalidArgument, ["Pad", "[2, 1]"])
        Self.expect(Self.error("Range", inputs: ["a", "b", "d"], runtime: ["a": GraphTensor(shape: [], ints: [0]),
                                                                           "b": GraphTensor(shape: [], ints: [1 << 40]),
                                                                           "d": GraphTensor(shape: [], ints: [1])]),
                    .invalidArgument, ["Range"])
        #expect(Self.error("Range", inputs: ["a", "b", "d"], runtime: ["a": GraphTensor(shape: [], ints: [.max]),
                                                                       "b": GraphTensor(shape: [], ints: [.min]),
                                                                       "d": GraphTensor(shape: [], ints: [1])]) == nil)
        // Empty inputs whose joined extents pass what rnnrt steps through.
        let empty = GraphTensor(shape: [0, ElementCount.maximum], floats: [])
        Self.expect(Self.error("Concat", attributes: ["axis": .int(1)], inputs: ["a", "b"], runtime: ["a": empty, "b": empty]),
                    .invalidArgument, ["Concat"])
        Self.expect(Self.error("Split", inputs: ["x", "s"], outputs: 2, runtime: ["x": x, "s": ints([.max, 3])]),
                    .shapeMismatch, ["Split sizes"])
    }

    /// Expand, Where and integer arithmetic broadcast by strides (no index array per output element, which made a
    /// 24 KB model's Expand to [1, 2, 83886079] take 2 GB): the values are those of the index-by-index definition.
    @Test func broadcastingByStridesKeepsTheValues() throws {
        let x = GraphTensor(shape: [3, 1, 2], floats: [1, 2, 3, 4, 5, 6])
        let expanded = try HostileInputTests.run("Expand", [("x", x), ("s", GraphTensor(shape: [4], ints: [2, 3, 2, 2]))])[0]
        let row = [Float](arrayLiteral: 1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6)
        #expect(expanded == GraphTensor(shape: [2, 3, 2, 2], floats: row + row))
        let cond = GraphTensor(shape: [2, 1], bools: [true, false])
        let picked = try HostileInputTests.run("Where", [("c", cond), ("a", GraphTensor(shape: [3], floats: [1, 2, 3])),
                                                         ("b", GraphTensor(shape: [2, 1], floats: [-1, -2]))])[0]
        #expect(picked == GraphTensor(shape: [2, 3], floats: [1, 2, 3, -2, -2, -2]))
        let sum = try HostileInputTests.run("Add", [("a", GraphTensor(shape: [2, 1, 2], ints: [1, 2, 3, 4])),
                                                    ("b", GraphTensor(shape: [3, 1], ints: [10, 20, 30]))])[0]
        #expect(sum == GraphTensor(shape: [2, 3, 2], ints: [11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34]))
    }

    @Test func inputsWhoseShapeAndElementsDisagreeAreRefused() {
        // More elements than the shape says, and extents whose product overflows when the zero is left out.
        let more = Self.error("Relu", inputs: ["x"], runtime: ["x": GraphTensor(shape: [2], floats: [1, 2, 3])])
        #expect(more?.kind == .invalidArgument && more?.message == "input 'x' has shape [2] but 3 elements", "\(String(describing: more))")
        let e = Self.error("Relu", inputs: ["x"], runtime: ["x": GraphTensor(shape: [0, 1 << 40, 1 << 40], floats: [])])
        #expect(e?.description.contains("[0, 1099511627776, 1099511627776]") == true, "\(String(describing: e))")
        // Empty, with extents beside the zero that multiply past what rnnrt steps through.
        let huge = Self.error("Relu", inputs: ["x"], runtime: ["x": GraphTensor(shape: [1 << 40, 0], floats: [])])
        #expect(huge?.message == "input 'x' is empty but its other extents [1099511627776, 0] multiply to 1099511627776, more than the \(ElementCount.maximum) rnnrt steps through",
                "\(String(describing: huge))")
    }
}

/// Empty tensors with a large extent beside the zero (`[2^16, 0]`, `[0, 2^16]`, ...): no element to compute, so every
/// operator finishes at once, computing or refusing; none loops for ever over the extents of the other axes, nor sizes
/// an output by them past `ElementCount.maximum` (a reduction over the empty axis). Larger extents are refused when
/// the tensor is given (`inputsWhoseShapeAndElementsDisagreeAreRefused`).
extension HostileInputTests {
    /// `shape` made empty with a large extent: the first axis 2^16 and the last 0, or the other way round.
    static func emptyHuge(_ t: GraphTensor, hugeFirst: Bool) -> GraphTensor? {
        guard t.rank >= 2 else { return nil }
        var shape = t.shape
        shape[0] = hugeFirst ? 1 << 16 : 0
        shape[t.rank - 1] = hugeFirst ? 0 : 1 << 16
        switch t.elements {
        case .float: return GraphTensor(shape: shape, floats: [])
        case .int: return GraphTensor(shape: shape, ints: [])
        case .bool: return GraphTensor(shape: shape, bools: [])
        }
    }

    @Test(arguments: cases)
    func emptyInputsWithHugeExtentsFinishAtOnce(_ folder: String) throws {
        let dir = Fixture.url(folder)
        let spec = try ONNXCase.load(dir)
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx")))
        let originals = try spec.inputs.indices.map { try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("inputs/\($0).npy"))) }
        for hugeFirst in [true, false] {
            for k in originals.indices {
                guard let empty = Self.emptyHuge(originals[k], hugeFirst: hugeFirst) else { continue }
                var feeds = Dictionary(uniqueKeysWithValues: zip(spec.inputs, originals))
                feeds[spec.inputs[k]] = empty
                let start = ContinuousClock.now
                do { _ = try plan.run(feeds) } catch is RNNRTError {}
                do { _ = try plan.runFloat64(feeds.mapValues(GraphTensor64.init)) } catch is RNNRTError {}
                #expect(ContinuousClock.now - start < .seconds(10), "input \(k) as \(empty.shape)")
            }
        }
    }
}
