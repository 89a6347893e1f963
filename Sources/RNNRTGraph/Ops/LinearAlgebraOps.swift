import RNNRTCore
import RNNRTKernels

/// Matrix products (`MatMul`, `Gemm`) on `RNNRTKernels.sgemm`, or on a `WeightMatrix` bound at load when the right
/// operand is a constant (the usual case: a linear layer's weights); convolution is `ConvOp`.
enum LinearAlgebraOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["MatMul"] = matmul
        r["Gemm"] = { try GemmOp(context: $0) }
        r["Conv"] = { try ConvOp(context: $0) }
    }

    /// `MatMul`; a constant 2-D B is bound once, at load, as the weight matrix Bᵀ.
    static func matmul(_ ctx: OperatorContext) throws -> GraphOperator {
        guard let b = ctx.constantInput(1), b.rank == 2, case .float(let values) = b.elements else {
            return ClosureOperator { inputs in
                [try matmul(try Check.input(inputs, 0, "A"), try Check.input(inputs, 1, "B"))]
            }
        }
        let weights = try ctx.prepared.matrix(for: b, form: "Bᵀ") { try constantOperand(transposing: Tensor(shape: b.shape, scalars: values)) }
        return ClosureOperator { inputs in
            [try multiply(try Check.input(inputs, 0, "A"), by: weights, "MatMul")]
        }
    }

    static func constantOperand(transposing b: Tensor) throws -> WeightMatrix {
        let w = try transpose2D(b)
        return WeightMatrix(weights: w.scalars, rows: w.shape[0], cols: w.shape[1], layout: .constantOperand)
    }

    /// `A [..., k] · Wᵀ`: every row of A (all leading axes flattened) times the bound weight matrix; a 1-D A gives
    /// a 1-D result.
    static func multiply(_ aT: GraphTensor, by weights: WeightMatrix, _ what: String) throws -> GraphTensor {
        let a = try aT.floats("\(what) A")
        guard aT.rank >= 1, aT.shape[aT.rank - 1] == weights.k else {
            throw RNNRTError(.shapeMismatch, "\(what): A \(aT.shape.shapeDescription) must end in \(weights.k) (B is \(weights.k)×\(weights.n))")
        }
        let rows = weights.k == 0 ? aT.shape.dropLast().reduce(1, *) : a.count / weights.k
        let n = weights.n
        let out = outputFloats(try Check.elementCount(aT.shape.dropLast() + [n], "\(what) output")) { buffer in
            if weights.k == 0 {
                buffer.update(repeating: 0)
            } else if rows > 0 {
                a.withUnsafeBufferPointer { pa in
                    weights.multiply(m: rows, a: pa.baseAddress!, lda: weights.k, c: buffer.baseAddress!, ldc: n, accumulate: false)
                }
            }
        }
        return GraphTensor(shape: aT.shape.dropLast() + [n], floats: out)
    }

    /// The transpose of a matrix; `.shapeMismatch` for any other rank.
    static func transpose2D(_ t: Tensor) throws -> Tensor {
        guard t.rank == 2 else { throw RNNRTError(.shapeMismatch, "expected a matrix to transpose, got shape \(t.shape.shapeDescription)") }
        let r = t.shape[0], c = t.shape[1]
        var out = [Float](repeating: 0, count: t.count)
        for i in 0..<r { for j in 0..<c { out[j * r + i] = t.scalars[i * c + j] } }
        return Tensor(shape: [c, r], scalars: out)
    }

    /// NumPy `matmul`: 1-D operands are promoted and the added axis removed; batch axes broadcast.
    static func matmul(_ aT: GraphTensor, _ bT: GraphTensor) throws -> GraphTensor {
        let a = try aT.floats("MatMul A"), b = try bT.floats("MatMul B")
        guard aT.rank >= 1, bT.rank >= 1 else { throw RNNRTError(.shapeMismatch, "MatMul operands must have rank ≥ 1") }
        let aShape = aT.rank == 1 ? [1, aT.shape[0]] : aT.shape
        let bShape = bT.rank == 1 ? [bT.shape[0], 1] : bT.shape
        let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1]
        let k2 = bShape[bShape.count - 2], n = bShape[bShape.count - 1]
        guard k == k2 else {
            throw RNNRTError(.shapeMismatch, "MatMul: \(aT.shape.shapeDescription) × \(bT.shape.shapeDescription): inner sizes \(k) and \(k2) differ")
        }
        let batchA = Array(aShape.dropLast(2)), batchB = Array(bShape.dropLast(2))
        let batch = try broadcastShape(batchA, batchB)
        let count = batch.reduce(1, *)
        _ = try Check.elementCount(batch + [m, n], "MatMul output")
        let ia = broadcastIndices(from: batchA, to: batch), ib = broadcastIndices(from: batchB, to: batch)
        let out = outputFloats(count * m * n) { pc in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard let ap = pa.baseAddress, let bp = pb.baseAddress, let cp = pc.baseAddress, m > 0, n > 0, k > 0 else {
                        pc.update(repeating: 0)
                        return
                    }
                    if batchB.reduce(1, *) == 1 && ia == nil {
                        // All batches of A share B: one product of [(batch·m) × k] · [k × n].
                        sgemm(m: count * m, n: n, k: k, a: ap, lda: k, b: bp, ldb: n, c: cp, ldc: n, accumulate: false)
                        return
                    }
                    for i in 0..<count {
                        sgemm(m: m, n: n, k: k, a: ap + (ia?[i] ?? i) * m * k, lda: k, b: bp + (ib?[i] ?? i) * k * n, ldb: n,
                              c: cp + i * m * n, ldc: n, accumulate: false)
                    }
                }
            }
        }
        var shape = batch + [m, n]
        if aT.rank == 1 { shape.remove(at: shape.count - 2) }
        if bT.rank == 1 { shape.removeLast() }
        return GraphTensor(shape: shape, floats: out)
    }
}

/// ONNX `Gemm`: `Y = alpha · A′ · B′ + beta · C` with `A′`, `B′` optionally transposed and `C` broadcast to
/// `[m, n]`. A constant `B` is bound at load as the weight matrix `B′ᵀ` (with `transB = 1`, B as stored).
struct GemmOp: GraphOperator {
    let alpha: Float
    let beta: Float
    let transA: Bool
    let transB: Bool
    let weights: WeightMatrix?

    init(context ctx: OperatorContext) throws {
        alpha = try ctx.node.float("alpha", default: 1)
        beta = try ctx.node.float("beta", default: 1)
        transA = try ctx.node.int("transA", default: 0) != 0
        let transB = try ctx.node.int("transB", default: 0) != 0
        self.transB = transB
        weights = try ctx.constantInput(1).map { b in
            guard b.rank == 2 else { throw RNNRTError(.shapeMismatch, "\(ctx.node.label): B must be 2-D, got \(b.shape.shapeDescription)") }
            let t = try b.tensor("Gemm B")
            if transB {
                return ctx.prepared.matrix(for: b, form: "B") {
                    WeightMatrix(weights: t.scalars, rows: t.shape[0], cols: t.shape[1], layout: .constantOperand)
                }
            }
            return try ctx.prepared.matrix(for: b, form: "Bᵀ") { try LinearAlgebraOps.constantOperand(transposing: t) }
        }
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        var a = try Check.input(inputs, 0, "A").tensor("Gemm A")
        guard a.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm A must be 2-D, got \(a.shape.shapeDescription)") }
        if transA { a = try LinearAlgebraOps.transpose2D(a) }
        let m = a.shape[0], k = a.shape[1]
        var product: GraphTensor
        if let weights {
            guard weights.k == k else {
                throw RNNRTError(.shapeMismatch, "Gemm: A is \(m)×\(k) but B gives \(weights.k)×\(weights.n) (after transA=\(transA), transB=\(transB))")
            }
            product = try LinearAlgebraOps.multiply(GraphTensor(a), by: weights, "Gemm")
        } else {
            let raw = try Check.input(inputs, 1, "B").tensor("Gemm B")
            guard raw.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm B must be 2-D, got \(raw.shape.shapeDescription)") }
            let b = transB ? try LinearAlgebraOps.transpose2D(raw) : raw
            guard b.shape[0] == k else {
                throw RNNRTError(.shapeMismatch, "Gemm: A is \(m)×\(k) but B is \(b.shape[0])×\(b.shape[1]) (after transA=\(transA), transB=\(transB))")
            }
            let out = outputFloats(try Check.elementCount([m, b.shape[1]], "Gemm output")) { c in
                c.update(repeating: 0)
                a.scalars.withUnsafeBufferPointer { pa in
                    b.scalars.withUnsafeBufferPointer { pb in
                        guard m > 0, k > 0, b.shape[1] > 0 else { return }
                        sgemm(m: m, n: b.shape[1], k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: b.shape[1],
                              c: c.baseAddress!, ldc: b.shape[1], accumulate: false)
                    }
                }
            }
            product = GraphTensor(shape: [m, b.shape[1]], floats: out)
        }
        let c = inputs.count > 2 && beta != 0 ? inputs[2] : nil
        guard alpha != 1 || c != nil, case .float(var y) = product.elements else { return [product] }
        product.elements = .float([])
        let n = product.shape[1]
        if let c {
            let values = try c.floats("Gemm C")
            if c.count == n && c.rank <= 2 && (c.rank < 2 || c.shape[0] == 1) {
                // A bias row: the usual C.
                for i in 0..<m { for j in 0..<n { y[i * n + j] = alpha * y[i * n + j] + beta * values[j] } }
            } else {
                guard try broadcastShape([m, n], c.shape) == [m, n] else {
                    throw RNNRTError(.shapeMismatch, "Gemm C \(c.shape.shapeDescription) does not broadcast to [\(m), \(n)]")
                }
                let picks = broadcastIndices(from: c.shape, to: [m, n])
                for i in y.indices { y[i] = alpha * y[i] + beta * values[picks?[i] ?? i] }
            }
        } else {
            for i in y.indices { y[i] *= alpha }
        }
        return [GraphTensor(shape: [m, n], floats: y)]
    }
}
