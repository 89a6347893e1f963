import RNNRTLayers

/// Every operator the executor runs, by ONNX `op_type` (default domain): one table, filled by one
/// `register` function per operator family.
enum OpRegistry {
    static let standard: [String: OperatorBuilder] = {
        var r: [String: OperatorBuilder] = [:]
        ElementwiseOps.register(&r)
        ShapeOps.register(&r)
        LinearAlgebraOps.register(&r)
        ReductionOps.register(&r)
        ControlFlowOps.register(&r)
        r["Einsum"] = { try EinsumOp(context: $0) }
        PoolingOps.register(&r)
        NormalizationOps.register(&r)
        IndexingOps.register(&r)
        r["Resize"] = { try ResizeOp(context: $0, upsample: false) }
        r["Upsample"] = { try ResizeOp(context: $0, upsample: true) }
        r["LSTM"] = { try RecurrentOp(kind: .lstm, context: $0) }
        r["GRU"] = { try RecurrentOp(kind: .gru, context: $0) }
        r["RNN"] = { try RecurrentOp(kind: .rnn, context: $0) }
        return r
    }()
}
