import RNNRTCore

/// The float64 forms of `LinearAlgebraOps`' products: `MatMul` and `Gemm`, with plain loops.
extension Float64Ops {
    static func registerLinearAlgebra(_ r: inout [String: Operator]) {
        r["MatMul"] = matmul
        r["Gemm"] = gemm
    }

    static func matmul(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        [try matmul(try input(args, 0, "A"), try input(args, 1, "B"))]
    }

    static func gemm(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let alpha = Double(try ctx.node.float("alpha", default: 1)), beta = Double(try ctx.node.float("beta", default: 1))
        let transA = try ctx.node.int("transA", default: 0) != 0, transB = try ctx.node.int("transB", default: 0) != 0
        let aT = try input(args, 0, "A"), bT = try input(args, 1, "B")
        guard aT.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm A must be 2-D, got \(aT.shape.shapeDescription)") }
        guard bT.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm B must be 2-D, got \(bT.shape.shapeDescription)") }
        let a = aT.numericValues, b = bT.numericValues
        let m = transA ? aT.shape[1] : aT.shape[0], k = transA ? aT.shape[0] : aT.shape[1]
        let kB = transB ? bT.shape[1] : bT.shape[0], n = transB ? bT.shape[0] : bT.shape[1]
        guard k == kB else {
            throw RNNRTError(.shapeMismatch, "Gemm: A is \(m)×\(k) but B is \(kB)×\(n) (after transA=\(transA), transB=\(transB))")
        }
        let count = try Check.elementCount([m, n], "Gemm output")
        var y = [Double](repeating: 0, count: count)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    sum += a[transA ? p * m + i : i * k + p] * b[transB ? j * k + p : p * n + j]
                }
                y[i * n + j] = alpha * sum
            }
        }
        if let cT = optional(args, 2), beta != 0 {
            guard try broadcastShape([m, n], cT.shape) == [m, n] else {
                throw RNNRTError(.shapeMismatch, "Gemm C \(cT.shape.shapeDescription) does not broadcast to [\(m), \(n)]")
            }
            let c = cT.numericValues
            forEachBroadcast([m, n], [m, n], cT.shape) { i, _, jc, _ in y[i] += beta * c[jc] }
        }
        return [GraphTensor64(shape: [m, n], doubles: y)]
    }

    /// NumPy `matmul` in float64: 1-D operands promoted and the added axis removed; batch axes broadcast.
    static func matmul(_ aT: GraphTensor64, _ bT: GraphTensor64) throws -> GraphTensor64 {
        guard aT.rank >= 1, bT.rank >= 1 else { throw RNNRTError(.shapeMismatch, "MatMul operands must have rank ≥ 1") }
        let a = aT.numericValues, b = bT.numericValues
        let aShape = aT.rank == 1 ? [1, aT.shape[0]] : aT.shape
        let bShape = bT.rank == 1 ? [bT.shape[0], 1] : bT.shape
        let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1]
        let k2 = bShape[bShape.count - 2], n = bShape[bShape.count - 1]
        guard k == k2 else {
            throw RNNRTError(.shapeMismatch, "MatMul: \(aT.shape.shapeDescription) × \(bT.shape.shapeDescription): inner sizes \(k) and \(k2) differ")
        }
        let batchA = Array(aShape.dropLast(2)), batchB = Array(bShape.dropLast(2))
        let batch = try broadcastShape(batchA, batchB)
        let count = try Check.elementCount(batch + [m, n], "MatMul output")
        var out = [Double](repeating: 0, count: count)
        forEachBroadcast(batch, batchA, batchB) { index, ia, ib, _ in
            let aBase = ia * m * k, bBase = ib * k * n, cBase = index * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += a[aBase + i * k + p] * b[bBase + p * n + j] }
                    out[cBase + i * n + j] = sum
                }
            }
        }
        var shape = batch + [m, n]
        if aT.rank == 1 { shape.remove(at: shape.count - 2) }
        if bT.rank == 1 { shape.removeLast() }
        return GraphTensor64(shape: shape, doubles: out)
    }
}
