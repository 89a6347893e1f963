import RNNRTCore

/// Products of 8-bit operands accumulated in int32: `MatMulInteger`, `QLinearMatMul` and the `com.microsoft`
/// `MatMulIntegerToFloat` and `DynamicQuantizeMatMul`. Each subtracts the zero points (A's per tensor, B's per
/// tensor or per column), multiplies with NumPy `matmul` broadcasting, and accumulates exactly in int32 (wrapping
/// as onnxruntime's kernels do should a sum ever overflow); the float forms scale the accumulators as onnxruntime
/// does (`acc · (a_scale · b_scale) + bias`, or requantized with `a_scale · b_scale / y_scale`).
enum IntegerMatMul {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["MatMulInteger"] = { ctx in
            let label = ctx.node.label
            return ClosureOperator { inputs in [try matMulInteger(inputs, label)] }
        }
        r["QLinearMatMul"] = { ctx in
            let label = ctx.node.label
            return ClosureOperator { inputs in [try qlinearMatMul(inputs, label)] }
        }
    }

    static func registerMicrosoft(_ r: inout [String: OperatorBuilder]) {
        r["MatMulIntegerToFloat"] = { ctx in
            let label = ctx.node.label
            return ClosureOperator { inputs in [try matMulIntegerToFloat(inputs, label)] }
        }
        r["DynamicQuantizeMatMul"] = { ctx in
            let label = ctx.node.label
            return ClosureOperator { inputs in [try dynamicQuantizeMatMul(inputs, label)] }
        }
    }

    /// `(A − aZero) · (B − bZero[column])` for A `[..., m, k]` and B `[..., k, n]` (1-D operands promoted), in int32.
    static func product(a: [Int32], aShape: [Int], aZero: Int32, b: [Int32], bShape bOriginal: [Int], bZero: GraphTensor?,
                        _ label: String) throws -> (shape: [Int], acc: [Int32], n: Int) {
        guard !aShape.isEmpty, !bOriginal.isEmpty else { throw RNNRTError(.shapeMismatch, "\(label): operands must have rank ≥ 1") }
        let aFull = aShape.count == 1 ? [1, aShape[0]] : aShape
        let bFull = bOriginal.count == 1 ? [bOriginal[0], 1] : bOriginal
        let m = aFull[aFull.count - 2], k = aFull[aFull.count - 1], k2 = bFull[bFull.count - 2], n = bFull[bFull.count - 1]
        guard k == k2 else {
            throw RNNRTError(.shapeMismatch, "\(label): A \(aShape.shapeDescription) × B \(bOriginal.shapeDescription): inner sizes \(k) and \(k2) differ")
        }
        let bZeros = try bZero.map { try Quantization.perColumn(try Quantization.integers($0, "B zero point", label), $0, n: n, "B zero point", label) }
        let batchA = Array(aFull.dropLast(2)), batchB = Array(bFull.dropLast(2))
        let batch = try broadcastShape(batchA, batchB)
        let count = try Check.elementCount(batch + [m, n], "\(label) output")
        let ia = broadcastIndices(from: batchA, to: batch), ib = broadcastIndices(from: batchB, to: batch)
        let shiftedA = a.map { $0 &- aZero }
        let shiftedB = bZeros.map { z in b.enumerated().map { $1 &- z[$0 % n] } } ?? b
        var acc = [Int32](repeating: 0, count: count)
        shiftedA.withUnsafeBufferPointer { pa in
            shiftedB.withUnsafeBufferPointer { pb in
                acc.withUnsafeMutableBufferPointer { pc in
                    guard let ap = pa.baseAddress, let bp = pb.baseAddress, let cp = pc.baseAddress, m > 0, n > 0, k > 0 else { return }
                    for i in 0..<(count / (m * n)) {
                        gemm(m: m, n: n, k: k, a: ap + (ia?[i] ?? i) * m * k, b: bp + (ib?[i] ?? i) * k * n, c: cp + i * m * n)
                    }
                }
            }
        }
        var shape = batch + [m, n]
        if aShape.count == 1 { shape.remove(at: shape.count - 2) }
        if bOriginal.count == 1 { shape.removeLast() }
        return (shape, acc, n)
    }

    /// `C[m×n] = A[m×k] · B[k×n]` in int32, wrapping.
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, c: UnsafeMutablePointer<Int32>) {
        for i in 0..<m {
            let row = c + i * n
            row.update(repeating: 0, count: n)
            for p in 0..<k {
                let av = a[i * k + p]
                if av == 0 { continue }
                let bRow = b + p * n
                for j in 0..<n { row[j] = row[j] &+ av &* bRow[j] }
            }
        }
    }

    /// A's values and scalar zero point (0 when absent), of one 8-bit type.
    static func operandA(_ aT: GraphTensor, zeroPoint zT: GraphTensor?, _ label: String) throws -> ([Int32], Int32) {
        let a = try Quantization.integers(aT, "A", label)
        guard let zT else { return (a, 0) }
        let zp = try Quantization.zeroPoints(zT, "A zero point", label)
        guard zp.type == aT.integerType else { throw RNNRTError(.invalidArgument, "\(label): A is \(aT.integerType.rawValue) but its zero point is \(zp.type.rawValue)") }
        return (a, try Quantization.scalar(zp.values, zT, "A zero point", label))
    }

    /// B's values, its zero point checked to be of B's type.
    static func operandB(_ bT: GraphTensor, zeroPoint zT: GraphTensor?, _ label: String) throws -> [Int32] {
        let b = try Quantization.integers(bT, "B", label)
        if let zT, zT.integerType != bT.integerType {
            throw RNNRTError(.invalidArgument, "\(label): B is \(bT.integerType.rawValue) but its zero point is \(zT.typeName)")
        }
        return b
    }

    static func matMulInteger(_ inputs: [GraphTensor?], _ label: String) throws -> GraphTensor {
        let aT = try Check.input(inputs, 0, "A"), bT = try Check.input(inputs, 1, "B")
        let (a, aZero) = try operandA(aT, zeroPoint: inputs.count > 2 ? inputs[2] : nil, label)
        let bZero = inputs.count > 3 ? inputs[3] : nil
        let b = try operandB(bT, zeroPoint: bZero, label)
        let p = try product(a: a, aShape: aT.shape, aZero: aZero, b: b, bShape: bT.shape, bZero: bZero, label)
        return GraphTensor(shape: p.shape, ints: p.acc.map(Int64.init), type: .int32)
    }

    static func qlinearMatMul(_ inputs: [GraphTensor?], _ label: String) throws -> GraphTensor {
        let aT = try Check.input(inputs, 0, "a"), bT = try Check.input(inputs, 3, "b")
        let aScaleT = try Check.input(inputs, 1, "a_scale"), bScaleT = try Check.input(inputs, 4, "b_scale")
        let yScaleT = try Check.input(inputs, 6, "y_scale"), yZeroT = try Check.input(inputs, 7, "y_zero_point")
        let (a, aZero) = try operandA(aT, zeroPoint: try Check.input(inputs, 2, "a_zero_point"), label)
        let bZero = try Check.input(inputs, 5, "b_zero_point")
        let b = try operandB(bT, zeroPoint: bZero, label)
        let aScale = try Quantization.scalar(try Quantization.scales(aScaleT, "a_scale", label), aScaleT, "a_scale", label)
        let yScale = try Quantization.scalar(try Quantization.scales(yScaleT, "y_scale", label), yScaleT, "y_scale", label)
        let yZero = try Quantization.zeroPoints(yZeroT, "y_zero_point", label)
        let zero = try Quantization.scalar(yZero.values, yZeroT, "y_zero_point", label)
        let p = try product(a: a, aShape: aT.shape, aZero: aZero, b: b, bShape: bT.shape, bZero: bZero, label)
        let bScales = try Quantization.perColumn(try Quantization.scales(bScaleT, "b_scale", label), bScaleT, n: p.n, "b_scale", label)
        let multipliers = bScales.map { aScale * $0 / yScale }
        let range = Quantization.range(of: yZero.type)!
        var out = [Int64](repeating: 0, count: p.acc.count)
        for i in p.acc.indices {
            out[i] = Int64(Quantization.requantize(p.acc[i], multiplier: multipliers[i % p.n], zeroPoint: zero, range: range))
        }
        return GraphTensor(shape: p.shape, ints: out, type: yZero.type)
    }

    /// `acc · multiplier[column] + bias[column]` as floats.
    static func scaled(_ p: (shape: [Int], acc: [Int32], n: Int), multipliers: [Float], bias bT: GraphTensor?, _ label: String) throws -> GraphTensor {
        let bias = try bT.map { t -> [Float] in
            let v = try t.floats("\(label) bias")
            guard t.rank == 1, v.count == p.n else { throw RNNRTError(.shapeMismatch, "\(label): bias must be 1-D of \(p.n), got \(t.shape.shapeDescription)") }
            return v
        }
        let out = outputFloats(p.acc.count) { y in
            for i in p.acc.indices {
                let v = Float(p.acc[i]) * multipliers[i % p.n]
                y[i] = bias.map { v + $0[i % p.n] } ?? v
            }
        }
        return GraphTensor(shape: p.shape, floats: out)
    }

    static func matMulIntegerToFloat(_ inputs: [GraphTensor?], _ label: String) throws -> GraphTensor {
        let aT = try Check.input(inputs, 0, "A"), bT = try Check.input(inputs, 1, "B")
        let aScaleT = try Check.input(inputs, 2, "a_scale"), bScaleT = try Check.input(inputs, 3, "b_scale")
        let (a, aZero) = try operandA(aT, zeroPoint: inputs.count > 4 ? inputs[4] : nil, label)
        let bZero = inputs.count > 5 ? inputs[5] : nil
        let b = try operandB(bT, zeroPoint: bZero, label)
        let aScale = try Quantization.scalar(try Quantization.scales(aScaleT, "a_scale", label), aScaleT, "a_scale", label)
        let p = try product(a: a, aShape: aT.shape, aZero: aZero, b: b, bShape: bT.shape, bZero: bZero, label)
        let bScales = try Quantization.perColumn(try Quantization.scales(bScaleT, "b_scale", label), bScaleT, n: p.n, "b_scale", label)
        return try scaled(p, multipliers: bScales.map { aScale * $0 }, bias: inputs.count > 6 ? inputs[6] : nil, label)
    }

    static func dynamicQuantizeMatMul(_ inputs: [GraphTensor?], _ label: String) throws -> GraphTensor {
        let aT = try Check.input(inputs, 0, "A"), bT = try Check.input(inputs, 1, "B")
        let bScaleT = try Check.input(inputs, 2, "b_scale")
        let x = try aT.floats("\(label) A")
        var a = [Int32](repeating: 0, count: x.count)
        let (aScale, aZero) = x.withUnsafeBufferPointer { xp in
            a.withUnsafeMutableBufferPointer { Quantization.quantizeDynamically(xp, into: $0) }
        }
        let bZero = inputs.count > 3 ? inputs[3] : nil
        let b = try operandB(bT, zeroPoint: bZero, label)
        let p = try product(a: a, aShape: aT.shape, aZero: aZero, b: b, bShape: bT.shape, bZero: bZero, label)
        let bScales = try Quantization.perColumn(try Quantization.scales(bScaleT, "b_scale", label), bScaleT, n: p.n, "b_scale", label)
        return try scaled(p, multipliers: bScales.map { aScale * $0 }, bias: inputs.count > 4 ? inputs[4] : nil, label)
    }
}
