import RNNRTCore

/// Products of 8-bit operands accumulated in int32: `MatMulInteger`, `QLinearMatMul` and the `com.microsoft`
/// `MatMulIntegerToFloat` and `DynamicQuantizeMatMul`. Each subtracts the zero points (A's per tensor, B's per
/// tensor or per column), multiplies with NumPy `matmul` broadcasting, and accumulates exactly in int32 (wrapping
/// as onnxruntime's kernels do should a sum ever overflow); the float forms scale the accumulators as onnxruntime
/// does (`acc · (a_scale · b_scale) + bias`, or requantized with `a_scale · b_scale / y_scale`).
enum IntegerMatMul {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["MatMulInteger"] = matMulInteger
        r["QLinearMatMul"] = qlinearMatMul
    }

    static func registerMicrosoft(_ r: inout [String: OperatorBuilder]) {
        r["MatMulIntegerToFloat"] = matMulIntegerToFloat
        r["DynamicQuantizeMatMul"] = dynamicQuantizeMatMul
    }

    static func matMulInteger(_ ctx: OperatorContext) throws -> GraphOperator {
        MatMulIntegerOp(label: ctx.node.label, prepared: try prepared(ctx, b: 1, zeroPoint: 3))
    }

    static func qlinearMatMul(_ ctx: OperatorContext) throws -> GraphOperator {
        let label = ctx.node.label, b = try prepared(ctx, b: 3, zeroPoint: 5)
        return ClosureOperator(boundInputs: b == nil ? [] : [3]) { inputs in [try qlinearMatMul(inputs, b, label)] }
    }

    static func matMulIntegerToFloat(_ ctx: OperatorContext) throws -> GraphOperator {
        let label = ctx.node.label, b = try prepared(ctx, b: 1, zeroPoint: 5)
        return ClosureOperator(boundInputs: b == nil ? [] : [1]) { inputs in [try matMulIntegerToFloat(inputs, b, label)] }
    }

    static func dynamicQuantizeMatMul(_ ctx: OperatorContext) throws -> GraphOperator {
        let label = ctx.node.label, b = try prepared(ctx, b: 1, zeroPoint: 3)
        return ClosureOperator(boundInputs: b == nil ? [] : [1]) { inputs in [try dynamicQuantizeMatMul(inputs, b, label)] }
    }

    /// B as `IntegerWeights`, when it is a 2-D constant whose zero point (if any) is a constant too.
    static func prepared(_ ctx: OperatorContext, b index: Int, zeroPoint zIndex: Int) throws -> IntegerWeights? {
        guard ctx.hasInput(zIndex) == (ctx.constantInput(zIndex) != nil), let b = try ctx.eightBitInput(index, "B"), b.rank == 2 else {
            return nil
        }
        let zT = ctx.constantInput(zIndex), label = ctx.node.label
        try b.checkZeroPoint(zT, "B", label)
        let zeros = try zT.map { try Quantization.perColumn(try Quantization.integers($0, "B zero point", label), $0, n: b.shape[1], "B zero point", label) }
        return try IntegerWeights(b, zeroPoints: zeros ?? [Int32](repeating: 0, count: b.shape[1]), label)
    }

    /// The int32 accumulators of `(A − aZero) · (B − bZero[column])` with NumPy `matmul` shapes, on the float kernels
    /// when B is `prepared` (a 2-D constant), else in integers.
    static func accumulate(_ aT: GraphTensor, aZero: Int32, _ bT: GraphTensor?, bZero: GraphTensor?, prepared: IntegerWeights?,
                           _ label: String) throws -> (shape: [Int], acc: [Int32], n: Int) {
        try accumulate(.values(aT), aZero: aZero, bT, bZero: bZero, prepared: prepared, label)
    }

    /// `accumulate` with A as an `IntegerOperand`.
    /// `bT` is B's input, read only when B is not `prepared` (a plan passes nil for a B bound at load).
    static func accumulate(_ operand: IntegerOperand, aZero: Int32, _ bT: GraphTensor?, bZero: GraphTensor?,
                           prepared: IntegerWeights?, _ label: String) throws -> (shape: [Int], acc: [Int32], n: Int) {
        guard let prepared else {
            guard let bT else { throw RNNRTError(.invalidArgument, "\(label): required input B is missing") }
            let aT = try operand.tensor(label)
            return try product(a: try Quantization.integers(aT, "A", label), aShape: aT.shape, aZero: aZero,
                               b: try operandB(bT, zeroPoint: bZero, label), bShape: bT.shape, bZero: bZero, label)
        }
        let (k, n) = (prepared.k, prepared.n), aShape = operand.shape
        guard let last = aShape.last, last == k else {
            throw RNNRTError(.shapeMismatch, "\(label): A \(aShape.shapeDescription) × B [\(k), \(n)]: A's last axis must be \(k)")
        }
        let rows = aShape.dropLast().reduce(1, *)
        let shape = aShape.count == 1 ? [n] : Array(aShape.dropLast()) + [n]
        let count = try Check.elementCount(shape, "\(label) output")
        guard count > 0, k > 0 else { return (shape, [Int32](repeating: 0, count: count), n) }
        let acc = try operand.withShiftedFloats(shift: aZero, "A", label) { a in
            outputArray(count) { (c: UnsafeMutableBufferPointer<Int32>) in
                prepared.multiply(m: rows, a: a.baseAddress!, lda: k, aOffset: operand.integerType == .int8 ? aZero + 128 : aZero,
                                  into: c.baseAddress!)
            }
        }
        return (shape, acc, n)
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

    /// A's scalar zero point (0 when absent), checked to be of A's type.
    static func zeroPointA(_ aT: GraphTensor, _ zT: GraphTensor?, _ label: String) throws -> Int32 {
        try zeroPointA(aT.integerType, zT, label)
    }

    /// A's scalar zero point (0 when absent), checked to be of A's type `type`.
    static func zeroPointA(_ type: DType, _ zT: GraphTensor?, _ label: String) throws -> Int32 {
        guard let zT else { return 0 }
        let zp = try Quantization.zeroPoints(zT, "A zero point", label)
        guard zp.type == type else { throw RNNRTError(.invalidArgument, "\(label): A is \(type.rawValue) but its zero point is \(zp.type.rawValue)") }
        return try Quantization.scalar(zp.values, zT, "A zero point", label)
    }

    /// B's values, its zero point checked to be of B's type.
    static func operandB(_ bT: GraphTensor, zeroPoint zT: GraphTensor?, _ label: String) throws -> [Int32] {
        let b = try Quantization.integers(bT, "B", label)
        if let zT, zT.integerType != bT.integerType {
            throw RNNRTError(.invalidArgument, "\(label): B is \(bT.integerType.rawValue) but its zero point is \(zT.typeName)")
        }
        return b
    }

    static func qlinearMatMul(_ inputs: [GraphTensor?], _ prepared: IntegerWeights?, _ label: String) throws -> GraphTensor {
        let aT = try Check.input(inputs, 0, "a"), bT = inputs.count > 3 ? inputs[3] : nil
        let aScaleT = try Check.input(inputs, 1, "a_scale"), bScaleT = try Check.input(inputs, 4, "b_scale")
        let yScaleT = try Check.input(inputs, 6, "y_scale"), yZeroT = try Check.input(inputs, 7, "y_zero_point")
        let aZero = try zeroPointA(aT, try Check.input(inputs, 2, "a_zero_point"), label)
        let bZero = try Check.input(inputs, 5, "b_zero_point")
        let aScale = try Quantization.scalar(try Quantization.scales(aScaleT, "a_scale", label), aScaleT, "a_scale", label)
        let yScale = try Quantization.scalar(try Quantization.scales(yScaleT, "y_scale", label), yScaleT, "y_scale", label)
        let yZero = try Quantization.zeroPoints(yZeroT, "y_zero_point", label)
        let zero = try Quantization.scalar(yZero.values, yZeroT, "y_zero_point", label)
        let p = try accumulate(aT, aZero: aZero, bT, bZero: bZero, prepared: prepared, label)
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
        let n = p.n
        let bias = try bT.map { t -> [Float] in
            let v = try t.floats("\(label) bias")
            guard t.rank == 1, v.count == n else { throw RNNRTError(.shapeMismatch, "\(label): bias must be 1-D of \(n), got \(t.shape.shapeDescription)") }
            return v
        } ?? [Float](repeating: 0, count: n)
        let out = outputFloats(p.acc.count) { y in
            p.acc.withUnsafeBufferPointer { acc in
                for row in 0..<(n == 0 ? 0 : acc.count / n) {
                    for j in 0..<n { y[row * n + j] = Float(acc[row * n + j]) * multipliers[j] + bias[j] }
                }
            }
        }
        return GraphTensor(shape: p.shape, floats: out)
    }

    static func matMulIntegerToFloat(_ inputs: [GraphTensor?], _ prepared: IntegerWeights?, _ label: String) throws -> GraphTensor {
        let aT = try Check.input(inputs, 0, "A"), bT = inputs.count > 1 ? inputs[1] : nil
        let aScaleT = try Check.input(inputs, 2, "a_scale"), bScaleT = try Check.input(inputs, 3, "b_scale")
        let aZero = try zeroPointA(aT, inputs.count > 4 ? inputs[4] : nil, label)
        let bZero = inputs.count > 5 ? inputs[5] : nil
        let aScale = try Quantization.scalar(try Quantization.scales(aScaleT, "a_scale", label), aScaleT, "a_scale", label)
        let p = try accumulate(aT, aZero: aZero, bT, bZero: bZero, prepared: prepared, label)
        let bScales = try Quantization.perColumn(try Quantization.scales(bScaleT, "b_scale", label), bScaleT, n: p.n, "b_scale", label)
        return try scaled(p, multipliers: bScales.map { aScale * $0 }, bias: inputs.count > 6 ? inputs[6] : nil, label)
    }

    static func dynamicQuantizeMatMul(_ inputs: [GraphTensor?], _ prepared: IntegerWeights?, _ label: String) throws -> GraphTensor {
        let xT = try Check.input(inputs, 0, "A"), bT = inputs.count > 1 ? inputs[1] : nil
        let bScaleT = try Check.input(inputs, 2, "b_scale")
        let x = try xT.floats("\(label) A")
        var a = [Int64](repeating: 0, count: x.count)
        let (aScale, aZero) = x.withUnsafeBufferPointer { xp in
            a.withUnsafeMutableBufferPointer { Quantization.quantizeDynamically(xp, into: $0) }
        }
        let aT = GraphTensor(shape: xT.shape, ints: a, type: .uint8)
        let bZero = inputs.count > 3 ? inputs[3] : nil
        let p = try accumulate(aT, aZero: aZero, bT, bZero: bZero, prepared: prepared, label)
        let bScales = try Quantization.perColumn(try Quantization.scales(bScaleT, "b_scale", label), bScaleT, n: p.n, "b_scale", label)
        return try scaled(p, multipliers: bScales.map { aScale * $0 }, bias: inputs.count > 4 ? inputs[4] : nil, label)
    }
}

/// `MatMulInteger`: the int32 accumulators of `(A − aZero) · (B − bZero)`.
struct MatMulIntegerOp: IntegerAccumulating {
    let label: String
    /// B bound at load, when it is a 2-D constant.
    let prepared: IntegerWeights?

    var boundInputs: [Int] { prepared == nil ? [] : [1] }

    var returnsAccumulators: Bool { true }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let (shape, acc) = try accumulators(inputs)
        return [GraphTensor(shape: shape, ints: IntegerWeights.widened(acc), type: .int32)]
    }

    func accumulators(_ aT: IntegerOperand, _ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32]) {
        let bT = inputs.count > 1 ? inputs[1] : nil
        let aZero = try IntegerMatMul.zeroPointA(aT.integerType, inputs.count > 2 ? inputs[2] : nil, label)
        let p = try IntegerMatMul.accumulate(aT, aZero: aZero, bT, bZero: inputs.count > 3 ? inputs[3] : nil,
                                             prepared: prepared, label)
        return (p.shape, p.acc)
    }
}
