import RNNRTGraph

/// Writes a checkpoint's recurrent module as an ONNX model that computes exactly what PyTorch computes.
///
/// Graph: input `input` (`[seq, batch, input_size]`, or `[batch, seq, input_size]` for batch_first),
/// optional `h0`/`c0` (`[layers·D, batch, H_out]` / `[layers·D, batch, H]`; omitted → zeros), outputs
/// `output`, `h_n` and (LSTM) `c_n` with PyTorch's shapes; sequence and batch axes are dynamic. Each layer
/// is one ONNX `LSTM`/`GRU`/`RNN` node with PyTorch's weights reordered to ONNX's gate order (LSTM i,f,g,o
/// → i,o,f,c; GRU r,z,n → z,r,h; GRU `linear_before_reset=1`). An LSTM with `proj_size`, which no ONNX
/// operator expresses, is written per layer and direction as a `Loop` over time whose body computes the
/// PyTorch cell with its projection; its initializers keep PyTorch's names, so it converts back exactly.
/// A cell (`nn.LSTMCell`, ...) is written as the one-layer module it runs as: one recurrent node; the
/// metadata names the cell, so `ONNXImport` gives back the cell's parameter names.
package enum ONNXExport {
    package static let opset: Int64 = 17
    /// Metadata keys rnnrt writes (and reads back in `ONNXImport`).
    package static let moduleKey = "rnnrt.torch_module"
    package static let batchFirstKey = "rnnrt.batch_first"

    /// The ONNX model of the module under `prefix` in `stateDict`.
    package static func model(for module: RecurrentModule, stateDict: StateDict) throws -> GraphModel {
        let config = module.configuration
        var b = GraphBuilder()
        let d = config.directionCount, layers = config.numLayers, stack = layers * d
        let hOut = config.outputSize, hid = config.hiddenSize
        func param(_ role: TorchParameterNames.Role, _ layer: Int, _ reverse: Bool) throws -> StoredTensor? {
            let name = module.prefix + TorchParameterNames.name(role, layer: layer, reverse: reverse, cell: config.isCell)
            guard let t = stateDict[name] else { return nil }
            return StoredTensor(try t.floatTensor())
        }

        let seq = RNNRTGraph.GraphDimension.symbolic("seq"), batch = RNNRTGraph.GraphDimension.symbolic("batch")
        b.input("input", config.batchFirst ? [batch, seq, .fixed(config.inputSize)] : [seq, batch, .fixed(config.inputSize)])
        // h0/c0: graph inputs with zero defaults of batch 1, broadcast to the batch (so they may be omitted).
        b.input("h0", [.fixed(stack), batch, .fixed(hOut)], default: StoredTensor(Tensor(repeating: 0, shape: [stack, 1, hOut])))
        if config.kind == .lstm {
            b.input("c0", [.fixed(stack), batch, .fixed(hid)], default: StoredTensor(Tensor(repeating: 0, shape: [stack, 1, hid])))
        }
        var x = config.batchFirst ? b.node("Transpose", ["input"], attributes: ["perm": .ints([1, 0, 2])]) : "input"
        let shapeX = b.node("Shape", [x])
        let nDim = b.node("Slice", [shapeX, b.ints([1]), b.ints([2]), b.ints([0])])
        let tScalar = b.node("Gather", [shapeX, b.scalar(0)], attributes: ["axis": .int(0)])
        let h0 = b.node("Expand", ["h0", b.node("Concat", [b.ints([stack]), nDim, b.ints([hOut])], attributes: ["axis": .int(0)])])
        let c0 = config.kind == .lstm
            ? b.node("Expand", ["c0", b.node("Concat", [b.ints([stack]), nDim, b.ints([hid])], attributes: ["axis": .int(0)])]) : ""

        var hFinals: [String] = [], cFinals: [String] = []
        for layer in 0..<layers {
            let hSlice = b.node("Slice", [h0, b.ints([layer * d]), b.ints([(layer + 1) * d]), b.ints([0])])
            let cSlice = config.kind == .lstm ? b.node("Slice", [c0, b.ints([layer * d]), b.ints([(layer + 1) * d]), b.ints([0])]) : ""
            if config.projSize > 0 {
                var ys: [String] = []
                for direction in 0..<d {
                    let reverse = direction == 1
                    var weights: [String] = []
                    for role in [TorchParameterNames.Role.weightIH, .weightHH, .biasIH, .biasHH, .weightHR] {
                        let name = TorchParameterNames.name(role, layer: layer, reverse: reverse)
                        if let t = try param(role, layer, reverse) { b.initializer(name, t); weights.append(name) } else { weights.append("") }
                    }
                    let hD = b.node("Gather", [hSlice, b.scalar(direction)], attributes: ["axis": .int(0)])
                    let cD = b.node("Gather", [cSlice, b.scalar(direction)], attributes: ["axis": .int(0)])
                    let body = projectedLSTMBody(x: x, t: tScalar, weights: weights, reverse: reverse, hidden: hid)
                    let outs = b.nodeOutputs("Loop", [tScalar, "", hD, cD], count: 3, attributes: ["body": .graph(body)])
                    var y = outs[2]  // [T, N, P], in iteration order
                    if reverse {
                        y = b.node("Slice", [y, b.ints([-1]), b.ints([Int.min]), b.ints([0]), b.ints([-1])])
                    }
                    ys.append(y)
                    hFinals.append(b.node("Unsqueeze", [outs[0], b.ints([0])]))
                    cFinals.append(b.node("Unsqueeze", [outs[1], b.ints([0])]))
                }
                x = d == 1 ? ys[0] : b.node("Concat", ys, attributes: ["axis": .int(2)])
                continue
            }
            // One ONNX recurrent node: W [D, G·H, I], R [D, G·H, H], B [D, 2·G·H], blocks in ONNX order.
            let perm = config.kind.torchBlocksInONNXOrder
            var w: [Float] = [], r: [Float] = [], bias: [Float] = []
            var inputWidth = 0
            for direction in 0..<d {
                let reverse = direction == 1
                guard let wih = try param(.weightIH, layer, reverse), let whh = try param(.weightHH, layer, reverse) else {
                    throw RNNRTError(.binding, "layer \(layer) weights are missing")
                }
                inputWidth = wih.shape[1]
                w += reorderedBlocks(try wih.floatTensor().scalars[...], perm, blockSize: hid * inputWidth)
                r += reorderedBlocks(try whh.floatTensor().scalars[...], perm, blockSize: hid * hid)
                if config.bias, let bih = try param(.biasIH, layer, reverse), let bhh = try param(.biasHH, layer, reverse) {
                    bias += reorderedBlocks(try bih.floatTensor().scalars[...], perm, blockSize: hid) + reorderedBlocks(try bhh.floatTensor().scalars[...], perm, blockSize: hid)
                }
            }
            let g = config.kind.gateCount
            let wName = b.initializer("W_l\(layer)", StoredTensor(Tensor(shape: [d, g * hid, inputWidth], scalars: w)))
            let rName = b.initializer("R_l\(layer)", StoredTensor(Tensor(shape: [d, g * hid, hid], scalars: r)))
            let bName = config.bias ? b.initializer("B_l\(layer)", StoredTensor(Tensor(shape: [d, 2 * g * hid], scalars: bias))) : ""
            var attributes: [String: GraphAttribute] = ["hidden_size": .int(Int64(hid)),
                                                   "direction": .string(d == 2 ? "bidirectional" : "forward")]
            if config.kind == .gru { attributes["linear_before_reset"] = .int(1) }
            if config.kind == .rnn {
                attributes["activations"] = .strings([String](repeating: config.nonlinearity == .relu ? "Relu" : "Tanh", count: d))
            }
            var inputs = [x, wName, rName, bName, "", hSlice]
            if config.kind == .lstm { inputs.append(cSlice) }
            let outs = b.nodeOutputs(config.kind.rawValue, inputs, count: config.kind == .lstm ? 3 : 2, attributes: attributes)
            // Y [T, D, N, H] → [T, N, D·H].
            let transposed = b.node("Transpose", [outs[0]], attributes: ["perm": .ints([0, 2, 1, 3])])
            x = b.node("Reshape", [transposed, b.ints([0, 0, -1])])
            hFinals.append(outs[1])
            if config.kind == .lstm { cFinals.append(outs[2]) }
        }
        let output = config.batchFirst ? b.node("Transpose", [x], attributes: ["perm": .ints([1, 0, 2])]) : x
        b.output(b.node("Identity", [output], named: "output"), "output",
                 config.batchFirst ? [batch, seq, .fixed(d * hOut)] : [seq, batch, .fixed(d * hOut)])
        b.output(b.node(hFinals.count == 1 ? "Identity" : "Concat", hFinals, named: "h_n",
                        attributes: hFinals.count == 1 ? [:] : ["axis": .int(0)]), "h_n", [.fixed(stack), batch, .fixed(hOut)])
        if config.kind == .lstm {
            b.output(b.node(cFinals.count == 1 ? "Identity" : "Concat", cFinals, named: "c_n",
                            attributes: cFinals.count == 1 ? [:] : ["axis": .int(0)]), "c_n", [.fixed(stack), batch, .fixed(hid)])
        }
        var graph = b.graph
        graph.name = "rnnrt_" + config.kind.rawValue.lowercased()
        return GraphModel(irVersion: 8, opsetImports: ["": opset], producerName: "rnnrt", producerVersion: "1",
                     graph: graph, metadata: [(moduleKey, config.torchDescription), (batchFirstKey, config.batchFirst ? "1" : "0")])
    }

    /// The Loop body of one direction of a projected LSTM layer (PyTorch's equations, PyTorch's gate order):
    /// inputs (i, cond, h [N,P], c [N,H]); outputs (cond, h', c', h' as scan output).
    private static func projectedLSTMBody(x: String, t: String, weights: [String], reverse: Bool, hidden: Int) -> Graph {
        var b = GraphBuilder(prefix: "body_")
        let i = "i", h = "h", c = "c"
        var step = i
        if reverse { step = b.node("Sub", [b.node("Sub", [t, b.scalar(1)]), i]) }
        let xt = b.node("Gather", [x, step], attributes: ["axis": .int(0)])
        let gx = b.node("Gemm", [xt, weights[0]] + (weights[2].isEmpty ? [] : [weights[2]]), attributes: ["transB": .int(1)])
        let gh = b.node("Gemm", [h, weights[1]] + (weights[3].isEmpty ? [] : [weights[3]]), attributes: ["transB": .int(1)])
        let gates = b.node("Add", [gx, gh])
        let parts = b.nodeOutputs("Split", [gates, b.ints([hidden, hidden, hidden, hidden])], count: 4, attributes: ["axis": .int(1)])
        let ig = b.node("Sigmoid", [parts[0]]), fg = b.node("Sigmoid", [parts[1]])
        let gg = b.node("Tanh", [parts[2]]), og = b.node("Sigmoid", [parts[3]])
        let cNew = b.node("Add", [b.node("Mul", [fg, c]), b.node("Mul", [ig, gg])], named: "c_out")
        let hFull = b.node("Mul", [og, b.node("Tanh", [cNew])])
        let hNew = b.node("Gemm", [hFull, weights[4]], named: "h_out", attributes: ["transB": .int(1)])
        let hScan = b.node("Identity", [hNew], named: "h_scan")
        let condOut = b.node("Identity", ["cond"], named: "cond_out")
        var g = b.graph
        g.name = "lstm_projection_step"
        g.inputs = [GraphValueInfo(name: i, elementType: 7, shape: []), GraphValueInfo(name: "cond", elementType: 9, shape: []),
                    GraphValueInfo(name: h, elementType: 1, shape: nil), GraphValueInfo(name: c, elementType: 1, shape: nil)]
        g.outputs = [GraphValueInfo(name: condOut, elementType: 9, shape: []), GraphValueInfo(name: hNew, elementType: 1),
                     GraphValueInfo(name: cNew, elementType: 1), GraphValueInfo(name: hScan, elementType: 1)]
        return g
    }

}

/// A small helper for writing graphs: unique value names, int64 constants as initializers.
struct GraphBuilder {
    var graph = Graph()
    private var counter = 0
    private let prefix: String

    init(prefix: String = "") { self.prefix = prefix }

    private mutating func fresh(_ hint: String) -> String {
        counter += 1
        return "\(prefix)\(hint)_\(counter)"
    }

    mutating func input(_ name: String, _ shape: [RNNRTGraph.GraphDimension], default value: StoredTensor? = nil) {
        graph.inputs.append(GraphValueInfo(name: name, elementType: 1, shape: shape))
        if let value { initializer(name, value) }
    }

    mutating func output(_ value: String, _ name: String, _ shape: [RNNRTGraph.GraphDimension]) {
        graph.outputs.append(GraphValueInfo(name: name, elementType: 1, shape: shape))
    }

    @discardableResult
    mutating func initializer(_ name: String, _ tensor: StoredTensor) -> String {
        graph.initializers[name] = tensor
        graph.initializerNames.append(name)
        return name
    }

    /// A 1-D int64 constant.
    mutating func ints(_ values: [Int]) -> String {
        let bytes = values.map { Int64($0) }.withUnsafeBytes { Array($0) }
        let name = fresh("const")
        if let t = try? StoredTensor(dtype: .int64, shape: [values.count], bytes: bytes) { initializer(name, t) }
        return name
    }

    /// A 0-d int64 constant.
    mutating func scalar(_ value: Int) -> String {
        let name = fresh("scalar")
        if let t = try? StoredTensor(dtype: .int64, shape: [], bytes: withUnsafeBytes(of: Int64(value)) { Array($0) }) {
            initializer(name, t)
        }
        return name
    }

    mutating func node(_ op: String, _ inputs: [String], named: String? = nil, attributes: [String: GraphAttribute] = [:]) -> String {
        nodeOutputs(op, inputs, count: 1, named: named, attributes: attributes)[0]
    }

    mutating func nodeOutputs(_ op: String, _ inputs: [String], count: Int, named: String? = nil,
                              attributes: [String: GraphAttribute] = [:]) -> [String] {
        let base = named ?? fresh(op.lowercased())
        let outputs = count == 1 ? [base] : (0..<count).map { "\(base)_\($0)" }
        graph.nodes.append(GraphNode(name: fresh("node_" + op.lowercased()), opType: op, inputs: inputs, outputs: outputs,
                                attributes: attributes))
        return outputs
    }
}
