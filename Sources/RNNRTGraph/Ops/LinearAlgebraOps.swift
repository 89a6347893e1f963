import RNNRTCore
import RNNRTKernels

/// Matrix products (`MatMul`, `Gemm`) and convolution (`Conv`, 1-D and 2-D, grouped, dilated, strided),
/// all on `RNNRTKernels.sgemm`.
enum LinearAlgebraOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["MatMul"] = { _ in ClosureOperator { inputs in
            [try matmul(try Check.input(inputs, 0, "A"), try Check.input(inputs, 1, "B"))]
        } }
        r["Gemm"] = { ctx in
            let alpha = try ctx.node.float("alpha", default: 1), beta = try ctx.node.float("beta", default: 1)
            let transA = try ctx.node.int("transA", default: 0) != 0, transB = try ctx.node.int("transB", default: 0) != 0
            // A constant B is laid out [k × n] once, at load.
            let packedB = try ctx.constantInput(1).map { b -> Tensor in
                let t = try b.tensor("Gemm B")
                return transB ? transpose2D(t) : t
            }
            return ClosureOperator { inputs in
                var a = try Check.input(inputs, 0, "A").tensor("Gemm A")
                guard a.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm A must be 2-D, got \(a.shape.shapeDescription)") }
                if transA { a = transpose2D(a) }
                let b: Tensor
                if let packedB { b = packedB } else {
                    let raw = try Check.input(inputs, 1, "B").tensor("Gemm B")
                    guard raw.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm B must be 2-D, got \(raw.shape.shapeDescription)") }
                    b = transB ? transpose2D(raw) : raw
                }
                let m = a.shape[0], k = a.shape[1], n = b.shape[1]
                guard b.shape[0] == k else {
                    throw RNNRTError(.shapeMismatch, "Gemm: A is \(m)×\(k) but B is \(b.shape[0])×\(n) (after transA=\(transA), transB=\(transB))")
                }
                // Y = alpha · A·B + beta · C (C broadcast to [m, n]).
                var out = [Float](repeating: 0, count: m * n)
                multiply(a.scalars, b.scalars, into: &out, m: m, k: k, n: n, accumulate: false)
                if alpha != 1 { out = out.map { $0 * alpha } }
                if inputs.count > 2, let c = inputs[2], beta != 0 {
                    let (sum, shape) = try broadcastMap(out, [m, n], try c.floats("Gemm C"), c.shape) { $0 + beta * $1 }
                    guard shape == [m, n] else { throw RNNRTError(.shapeMismatch, "Gemm C \(c.shape.shapeDescription) does not broadcast to [\(m), \(n)]") }
                    out = sum
                }
                return [GraphTensor(shape: [m, n], floats: out)]
            }
        }
        r["Conv"] = { ctx in
            let node = ctx.node
            let group = Int(try node.int("group", default: 1))
            let strides = try node.ints("strides")?.map { Int($0) }
            let dilations = try node.ints("dilations")?.map { Int($0) }
            let pads = try node.ints("pads")?.map { Int($0) }
            let autoPad = try node.string("auto_pad", default: "NOTSET")
            guard group >= 1 else { throw RNNRTError(.malformed, "\(node.label): group must be ≥ 1") }
            return ClosureOperator { inputs in
                [try conv(try Check.input(inputs, 0, "X"), try Check.input(inputs, 1, "W"), inputs.count > 2 ? inputs[2] : nil,
                          group: group, strides: strides, dilations: dilations, pads: pads, autoPad: autoPad)]
            }
        }
    }

    /// `C[m×n] (+)= A[m×k] · B[k×n]`, row-major.
    static func multiply(_ a: [Float], _ b: [Float], into c: inout [Float], m: Int, k: Int, n: Int, accumulate: Bool) {
        guard m > 0, n > 0 else { return }
        if k == 0 { if !accumulate { for i in 0..<c.count { c[i] = 0 } }; return }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let ap = pa.baseAddress, let bp = pb.baseAddress, let cp = pc.baseAddress else { return }
                    sgemm(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: n, c: cp, ldc: n, accumulate: accumulate)
                }
            }
        }
    }

    static func transpose2D(_ t: Tensor) -> Tensor {
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
        let ia = broadcastIndices(from: batchA, to: batch), ib = broadcastIndices(from: batchB, to: batch)
        var out = [Float](repeating: 0, count: count * m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    guard let ap = pa.baseAddress, let bp = pb.baseAddress, let cp = pc.baseAddress, m > 0, n > 0, k > 0 else { return }
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

    /// N-D convolution (1-D and 2-D in practice) by im2col + sgemm per group and batch item.
    static func conv(_ xT: GraphTensor, _ wT: GraphTensor, _ bias: GraphTensor?, group: Int, strides: [Int]?,
                     dilations: [Int]?, pads: [Int]?, autoPad: String) throws -> GraphTensor {
        let x = try xT.floats("Conv X"), w = try wT.floats("Conv W")
        guard xT.rank >= 3, wT.rank == xT.rank else {
            throw RNNRTError(.shapeMismatch, "Conv: X \(xT.shape.shapeDescription) and W \(wT.shape.shapeDescription) must both be [N, C, spatial...] / [M, C/group, kernel...]")
        }
        let spatial = xT.rank - 2
        let n = xT.shape[0], c = xT.shape[1], mOut = wT.shape[0], cPerGroup = wT.shape[1]
        guard c == cPerGroup * group, mOut % group == 0 else {
            throw RNNRTError(.shapeMismatch, "Conv: X has \(c) channels but W expects \(cPerGroup) × group \(group)")
        }
        let inSize = Array(xT.shape[2...]), kSize = Array(wT.shape[2...])
        let stride = strides ?? [Int](repeating: 1, count: spatial)
        let dilation = dilations ?? [Int](repeating: 1, count: spatial)
        guard stride.count == spatial, dilation.count == spatial, stride.allSatisfy({ $0 > 0 }), dilation.allSatisfy({ $0 > 0 }) else {
            throw RNNRTError(.invalidArgument, "Conv strides/dilations must have \(spatial) positive entries")
        }
        var padBegin = [Int](repeating: 0, count: spatial), padEnd = padBegin
        if let pads, autoPad == "NOTSET" || autoPad.isEmpty {
            guard pads.count == 2 * spatial else { throw RNNRTError(.invalidArgument, "Conv pads must have \(2 * spatial) entries") }
            padBegin = Array(pads[..<spatial]); padEnd = Array(pads[spatial...])
        } else if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
            for i in 0..<spatial {
                let out = (inSize[i] + stride[i] - 1) / stride[i]
                let total = max(0, (out - 1) * stride[i] + (kSize[i] - 1) * dilation[i] + 1 - inSize[i])
                padBegin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                padEnd[i] = total - padBegin[i]
            }
        }
        var outSize: [Int] = []
        for i in 0..<spatial {
            let span: Int = inSize[i] + padBegin[i] + padEnd[i] - (kSize[i] - 1) * dilation[i] - 1
            outSize.append(span / stride[i] + 1)
        }
        guard outSize.allSatisfy({ $0 > 0 }) else {
            throw RNNRTError(.shapeMismatch, "Conv output would be empty: input \(inSize), kernel \(kSize)")
        }
        let outCount = outSize.reduce(1, *), kCount = kSize.reduce(1, *), inCount = inSize.reduce(1, *)
        let mPerGroup = mOut / group
        let rows = cPerGroup * kCount
        var out = [Float](repeating: 0, count: n * mOut * outCount)
        var columns = [Float](repeating: 0, count: rows * outCount)
        let inStrides = inSize.strides, outStrides = outSize.strides, kStrides = kSize.strides
        for b in 0..<n {
            for g in 0..<group {
                // im2col: columns[(ci·K + kk) × outCount + o] = x[b, g·C' + ci, o·s − p + kk·d].
                for ci in 0..<cPerGroup {
                    let channel = (b * c + g * cPerGroup + ci) * inCount
                    for kk in 0..<kCount {
                        let row = (ci * kCount + kk) * outCount
                        for o in 0..<outCount {
                            var offset = 0, inside = true
                            for i in 0..<spatial {
                                let oi = (o / outStrides[i]) % outSize[i], ki = (kk / kStrides[i]) % kSize[i]
                                let pos = oi * stride[i] - padBegin[i] + ki * dilation[i]
                                if pos < 0 || pos >= inSize[i] { inside = false; break }
                                offset += pos * inStrides[i]
                            }
                            columns[row + o] = inside ? x[channel + offset] : 0
                        }
                    }
                }
                let wGroup = Array(w[(g * mPerGroup * rows)..<((g + 1) * mPerGroup * rows)])
                var result = [Float](repeating: 0, count: mPerGroup * outCount)
                multiply(wGroup, columns, into: &result, m: mPerGroup, k: rows, n: outCount, accumulate: false)
                let base = (b * mOut + g * mPerGroup) * outCount
                for i in 0..<result.count { out[base + i] = result[i] }
            }
        }
        if let bias {
            let bv = try bias.floats("Conv B")
            guard bv.count == mOut else { throw RNNRTError(.shapeMismatch, "Conv B has \(bv.count) values for \(mOut) output channels") }
            for b in 0..<n { for m in 0..<mOut { for o in 0..<outCount { out[(b * mOut + m) * outCount + o] += bv[m] } } }
        }
        return GraphTensor(shape: [n, mOut] + outSize, floats: out)
    }
}
