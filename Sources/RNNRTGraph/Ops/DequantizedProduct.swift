import RNNRTCore

/// An operator whose result is the int32 accumulators of an integer product (`ConvInteger`, `MatMulInteger`).
protocol IntegerAccumulating: GraphOperator {
    /// Whether `run` returns `accumulators` as an int32 tensor (and nothing else).
    var returnsAccumulators: Bool { get }
    /// The accumulators and their shape, from the operator's inputs.
    func accumulators(_ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32])
    /// The accumulators with `x` as the left operand (in place of input 0).
    func accumulators(_ x: IntegerOperand, _ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32])
}

extension IntegerAccumulating {
    func accumulators(_ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32]) {
        try accumulators(.values(try Check.input(inputs, 0, "x")), inputs)
    }
}

/// The dequantizing chain onnxruntime's quantizer writes after an integer product, as one step:
/// `Mul(Cast<float>(Add(product, addend)), scale)` (or without the `Add`), where the addend is the bias quantized
/// at run time and the scale the product of the operands' scales.
///
/// The result is the chain's, bit for bit: each accumulator plus its addend in Int64, converted to float once, times
/// its scale, in one pass over the accumulators (the chain made an Int64 tensor of the accumulators, one of the sums
/// and a float one of the sums before the float product). When the addend or the scale does not broadcast into the
/// accumulators' shape (or is not of the kind the chain's fast form assumes), the chain's own operators run.
struct DequantizedProductOp: GraphOperator {
    let product: any IntegerAccumulating
    /// How many inputs the product takes (they come first); then the addend, if there is an `Add`, then the scale.
    let productInputs: Int
    /// The chain's own steps, for the inputs the one-pass form does not take. `addFirst`/`mulFirst`: whether the
    /// product's value is the first operand of the `Add`/`Mul`.
    let add: (op: GraphOperator, productFirst: Bool)?
    let cast: GraphOperator
    let mul: (op: GraphOperator, productFirst: Bool)

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let own = Array(inputs.prefix(productInputs))
        let addend = add == nil ? nil : try Check.input(inputs, productInputs, "addend")
        let scale = try Check.input(inputs, productInputs + (add == nil ? 0 : 1), "scale")
        let (shape, acc) = try product.accumulators(own)
        if let out = onePass(acc, shape, addend: addend, scale: scale) { return [GraphTensor(shape: shape, floats: out)] }
        var value = GraphTensor(shape: shape, ints: IntegerWeights.widened(acc), type: .int32)
        if let add, let addend { value = try add.op.run(add.productFirst ? [value, addend] : [addend, value])[0] }
        value = try cast.run([value])[0]
        return try mul.op.run(mul.productFirst ? [value, scale] : [scale, value])
    }

    /// `Float(acc + addend) · scale` broadcast over `shape`, when both operands broadcast into it (an integer addend,
    /// a float scale); nil otherwise.
    private func onePass(_ acc: [Int32], _ shape: [Int], addend: GraphTensor?, scale: GraphTensor) -> [Float]? {
        guard case .float(let s) = scale.elements, (try? broadcastShape(shape, scale.shape)) == shape else { return nil }
        var sums: (values: [Int64], shape: [Int])?
        if let addend {
            guard case .int(let q) = addend.elements, (try? broadcastShape(shape, addend.shape)) == shape else { return nil }
            sums = (q, addend.shape)
        }
        return outputFloats(acc.count) { out in
            guard let o = out.baseAddress else { return }
            acc.withUnsafeBufferPointer { a in
                guard let a = a.baseAddress else { return }
                if let sums {
                    sums.values.withUnsafeBufferPointer { q in Self.add(a, q.baseAddress!, shape, sums.shape, into: o) }
                } else {
                    for k in 0..<acc.count { o[k] = Float(Int64(a[k])) }
                }
            }
            s.withUnsafeBufferPointer { sp in Self.scale(o, by: sp.baseAddress!, shape, scale.shape) }
        }
    }

    /// `o = Float(a + q)`, `q` of `qShape` broadcast over `shape`.
    private static func add(_ a: UnsafePointer<Int32>, _ q: UnsafePointer<Int64>, _ shape: [Int], _ qShape: [Int],
                            into o: UnsafeMutablePointer<Float>) {
        broadcastRuns(shape, qShape, to: shape) { at, i, j, count, _, sj in
            let (a, o) = (a + i, o + at)
            if sj == 0, q[j].magnitude <= 1 << 52 {
                // Int32 + v is exact in Double for |v| ≤ 2^52, so one rounding to Float gives Float(Int64 sum); the
                // Double form vectorizes, the Int64 one converts element by element.
                let v = Double(q[j])
                for k in 0..<count { o[k] = Float(Double(a[k]) + v) }
            } else if sj == 0 {
                let v = q[j]
                for k in 0..<count { o[k] = Float(Int64(a[k]) &+ v) }
            } else {
                for k in 0..<count { o[k] = Float(Int64(a[k]) &+ q[j + k * sj]) }
            }
        }
    }

    /// `o *= scale`, `scale` of `sShape` broadcast over `shape`.
    private static func scale(_ o: UnsafeMutablePointer<Float>, by scale: UnsafePointer<Float>, _ shape: [Int], _ sShape: [Int]) {
        broadcastRuns(shape, sShape, to: shape) { at, _, j, count, _, sj in
            let o = o + at
            if sj == 0 {
                let v = scale[j]
                for k in 0..<count { o[k] *= v }
            } else {
                for k in 0..<count { o[k] *= scale[j + k * sj] }
            }
        }
    }
}
