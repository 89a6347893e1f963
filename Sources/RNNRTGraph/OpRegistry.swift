import RNNRTLayers

/// Every operator the executor runs, by ONNX `op_type`: one table for the default domain and one for the
/// `com.microsoft` operators onnxruntime's quantization tools write, each filled by one `register` function per
/// operator family.
enum OpRegistry {
    /// The builder of `node`'s operator in its domain (`""`/`ai.onnx` or `com.microsoft`), nil when rnnrt has none.
    static func builder(for node: GraphNode) -> OperatorBuilder? {
        switch node.domain {
        case "", "ai.onnx": return standard[node.opType]
        case "com.microsoft": return microsoft[node.opType]
        default: return nil
        }
    }

    /// The `com.microsoft` operators (onnxruntime's contrib operators) rnnrt runs.
    static let microsoft: [String: OperatorBuilder] = {
        var r: [String: OperatorBuilder] = [:]
        IntegerMatMul.registerMicrosoft(&r)
        r["DynamicQuantizeLSTM"] = { try QuantizedLSTMOp(context: $0) }
        return r
    }()

    static let standard: [String: OperatorBuilder] = {
        var r: [String: OperatorBuilder] = [:]
        UnaryOps.register(&r)
        ArithmeticOps.register(&r)
        LogicOps.register(&r)
        CastOps.register(&r)
        ShapeOps.register(&r)
        LinearAlgebraOps.register(&r)
        ReductionOps.register(&r)
        ControlFlowOps.register(&r)
        r["Einsum"] = { try EinsumOp(context: $0) }
        r["ConvTranspose"] = { try ConvTransposeOp(context: $0) }
        PoolingOps.register(&r)
        NormalizationOps.register(&r)
        IndexingOps.register(&r)
        r["Resize"] = { try ResizeOp(context: $0, upsample: false) }
        r["Upsample"] = { try ResizeOp(context: $0, upsample: true) }
        r["LSTM"] = { try RecurrentOp(kind: .lstm, context: $0) }
        r["GRU"] = { try RecurrentOp(kind: .gru, context: $0) }
        r["RNN"] = { try RecurrentOp(kind: .rnn, context: $0) }
        QuantizationOps.register(&r)
        IntegerMatMul.register(&r)
        r["ConvInteger"] = { try IntegerConvOp(context: $0, quantizedOutput: false) }
        r["QLinearConv"] = { try IntegerConvOp(context: $0, quantizedOutput: true) }
        return r
    }()
}
