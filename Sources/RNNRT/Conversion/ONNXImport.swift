import Foundation

/// Recovers a PyTorch recurrent module's state dict from an ONNX model: each `LSTM`/`GRU`/`RNN` node (in
/// graph order) is one layer; its W, R, B are reordered back to PyTorch's gate order and split into
/// `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` (and `_reverse` for direction 1).
/// Graphs rnnrt wrote for LSTMs with `proj_size` keep PyTorch's tensors under their own names and are read
/// back from those; graphs rnnrt wrote for a cell (metadata `rnnrt.torch_module` = `nn.LSTMCell(…)`, ...)
/// give back the cell's names (`weight_ih`, ...).
package enum ONNXImport {
    /// The state dict (PyTorch names, no prefix, float32) and the module configuration to construct.
    /// - Throws: `.unsupported` for nodes PyTorch cannot express (peepholes, clip, input_forget, custom
    ///   activations, GRU `linear_before_reset=0`, computed weights) or graphs with no recurrent layer;
    ///   `.binding` when the layers do not stack into one module.
    package static func stateDict(from model: GraphModel) throws -> (StateDict, RecurrentConfiguration) {
        let graph = model.graph
        var constants = graph.initializers
        for node in graph.nodes where node.opType == "Constant" {
            if case .tensor(let t)? = node.attributes["value"], let out = node.outputs.first { constants[out] = t }
        }
        let recurrent = graph.nodes.filter { ["LSTM", "GRU", "RNN"].contains($0.opType) && ($0.domain.isEmpty || $0.domain == "ai.onnx") }
        let metadata = Dictionary(model.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        var batchFirst = metadata[ONNXExport.batchFirstKey] == "1"

        var tensors: [(String, StoredTensor)] = []
        var nonlinearity: Nonlinearity = .tanh
        if recurrent.isEmpty {
            // rnnrt's own export of a projected LSTM: PyTorch-named initializers.
            for name in graph.initializerNames where TorchParameterNames.parse(name) != nil {
                if let t = graph.initializers[name] { tensors.append((name, t)) }
            }
            guard !tensors.isEmpty else {
                throw RNNRTError(.unsupported, "the model has no LSTM, GRU or RNN node (nor PyTorch-named recurrent weights) to convert")
            }
        } else {
            let kind = recurrent[0].opType
            guard recurrent.allSatisfy({ $0.opType == kind }) else {
                throw RNNRTError(.binding, "the model mixes recurrent node types (\(recurrent.map(\.opType).joined(separator: ", "))); rnnrt converts one stacked module")
            }
            for (layer, node) in recurrent.enumerated() {
                let (layerTensors, relu) = try withContext("converting \(node.label) (layer \(layer))") {
                    try convert(node, layer: layer, constants: constants)
                }
                tensors += layerTensors
                if relu { nonlinearity = .relu }
                if layer == 0, metadata[ONNXExport.batchFirstKey] == nil {
                    batchFirst = isBatchFirst(node.inputs.first ?? "", graph)
                }
            }
        }
        if let cell = metadata[ONNXExport.moduleKey].flatMap(cellKind), recurrent.count == 1, recurrent[0].opType == cell.rawValue {
            tensors = try cellTensors(tensors)
        }
        let stateDict = try StateDict(tensors, format: "ONNX")
        let config = try RecurrentConfiguration.infer(from: stateDict, nonlinearity: nonlinearity, batchFirst: batchFirst)
        return (stateDict, config)
    }

    /// The kind of cell a module description names (`nn.LSTMCell(3, 5)` → `.lstm`), or nil for a module.
    static func cellKind(_ description: String) -> RecurrentKind? {
        RecurrentKind.allCases.first { description.hasPrefix("nn.\($0.rawValue)Cell(") }
    }

    /// One forward layer's tensors (`weight_ih_l0`, ...) under a cell's names (`weight_ih`, ...).
    private static func cellTensors(_ tensors: [(String, StoredTensor)]) throws -> [(String, StoredTensor)] {
        try tensors.map { name, tensor in
            guard let parsed = TorchParameterNames.parse(name), parsed.layer == 0, !parsed.reverse else {
                throw RNNRTError(.binding, "the metadata names a cell, but the graph holds '\(name)', which no cell has")
            }
            return (parsed.role.rawValue, tensor)
        }
    }

    private static func convert(_ node: GraphNode, layer: Int, constants: [String: StoredTensor]) throws -> ([(String, StoredTensor)], Bool) {
        let kind: RecurrentKind = node.opType == "LSTM" ? .lstm : (node.opType == "GRU" ? .gru : .rnn)
        func constant(_ index: Int, _ name: String) throws -> StoredTensor? {
            guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
            guard let t = constants[node.inputs[index]] else {
                throw RNNRTError(.unsupported, "input \(name) ('\(node.inputs[index])') is computed by the graph, not stored; rnnrt converts stored weights")
            }
            return t
        }
        for unsupported in ["clip", "input_forget"] where node.attributes[unsupported] != nil {
            if unsupported == "input_forget", (try? node.int("input_forget", default: 0)) == 0 { continue }
            throw RNNRTError(.unsupported, "attribute \(unsupported) has no PyTorch equivalent")
        }
        if try constant(7, "P") != nil { throw RNNRTError(.unsupported, "peepholes (input P) have no PyTorch equivalent") }
        if kind == .gru, try node.int("linear_before_reset", default: 0) == 0 {
            throw RNNRTError(.unsupported, "GRU with linear_before_reset=0 has no PyTorch equivalent (nn.GRU applies the reset gate after the recurrent product)")
        }
        if try node.int("layout", default: 0) != 0 { throw RNNRTError(.unsupported, "layout=1 nodes are not converted; export with layout 0") }
        let direction = try node.string("direction", default: "forward")
        guard direction != "reverse" else { throw RNNRTError(.unsupported, "a reverse-only node has no PyTorch equivalent") }
        let activations = (try node.strings("activations") ?? []).map { $0.lowercased() }
        var relu = false
        switch kind {
        case .lstm:
            let pytorch = ["sigmoid", "tanh", "tanh"]
            let matches = activations.isEmpty || (activations.count % 3 == 0
                && stride(from: 0, to: activations.count, by: 3).allSatisfy { Array(activations[$0..<($0 + 3)]) == pytorch })
            guard matches else {
                throw RNNRTError(.unsupported, "LSTM activations \(activations) have no PyTorch equivalent (Sigmoid, Tanh, Tanh)")
            }
        case .gru:
            guard activations.isEmpty || stride(from: 0, to: activations.count, by: 2).allSatisfy({ $0 + 1 < activations.count && activations[$0] == "sigmoid" && activations[$0 + 1] == "tanh" }) else {
                throw RNNRTError(.unsupported, "GRU activations \(activations) have no PyTorch equivalent (Sigmoid, Tanh)")
            }
        case .rnn:
            guard Set(activations).count <= 1, activations.allSatisfy({ $0 == "tanh" || $0 == "relu" }) else {
                throw RNNRTError(.unsupported, "RNN activations \(activations) have no PyTorch equivalent (one of Tanh, Relu)")
            }
            relu = activations.first == "relu"
        }
        guard let wT = try constant(1, "W"), let rT = try constant(2, "R") else {
            throw RNNRTError(.malformed, "W and R are required")
        }
        let g = kind.gateCount, d = direction == "bidirectional" ? 2 : 1
        guard rT.shape.count == 3, rT.shape[0] == d, rT.shape[2] > 0, rT.shape[1] == g * rT.shape[2],
              wT.shape.count == 3, wT.shape[0] == d, wT.shape[1] == rT.shape[1] else {
            throw RNNRTError(.shapeMismatch, "W \(wT.shape.shapeDescription) and R \(rT.shape.shapeDescription) do not describe a \(d)-direction \(kind.rawValue)")
        }
        let h = rT.shape[2], inputWidth = wT.shape[2]
        let w = try wT.floatTensor().scalars, r = try rT.floatTensor().scalars
        let b = try constant(3, "B").map { try $0.floatTensor().scalars }
        if let b, b.count != d * 2 * g * h { throw RNNRTError(.shapeMismatch, "B has \(b.count) values, expected \(d * 2 * g * h)") }
        let perm = kind.onnxBlocksInTorchOrder
        var out: [(String, StoredTensor)] = []
        for dir in 0..<d {
            let reverse = dir == 1
            func name(_ role: TorchParameterNames.Role) -> String { TorchParameterNames.name(role, layer: layer, reverse: reverse) }
            let wd = Array(w[(dir * g * h * inputWidth)..<((dir + 1) * g * h * inputWidth)])
            let rd = Array(r[(dir * g * h * h)..<((dir + 1) * g * h * h)])
            out.append((name(.weightIH), StoredTensor(Tensor(shape: [g * h, inputWidth], scalars: reorderedBlocks(wd[...], perm, blockSize: h * inputWidth)))))
            out.append((name(.weightHH), StoredTensor(Tensor(shape: [g * h, h], scalars: reorderedBlocks(rd[...], perm, blockSize: h * h)))))
            if let b {
                let base = dir * 2 * g * h
                out.append((name(.biasIH), StoredTensor(Tensor(shape: [g * h], scalars: reorderedBlocks(b[base..<(base + g * h)], perm, blockSize: h)))))
                out.append((name(.biasHH), StoredTensor(Tensor(shape: [g * h], scalars: reorderedBlocks(b[(base + g * h)..<(base + 2 * g * h)], perm, blockSize: h)))))
            }
        }
        return (out, relu)
    }

    /// Whether the value feeding the first layer is a graph input transposed with perm [1, 0, 2] (how both
    /// PyTorch exporters write batch_first).
    private static func isBatchFirst(_ value: String, _ graph: Graph) -> Bool {
        guard let producer = graph.nodes.first(where: { $0.outputs.contains(value) }), producer.opType == "Transpose",
              case .ints(let perm)? = producer.attributes["perm"], perm == [1, 0, 2] else { return false }
        return true
    }
}
