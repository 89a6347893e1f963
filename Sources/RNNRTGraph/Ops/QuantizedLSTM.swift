import RNNRTCore
import RNNRTKernels

/// `com.microsoft.DynamicQuantizeLSTM`: the ONNX LSTM (gates `i, o, f, c`) whose W `[D, input, 4H]` and R
/// `[D, H, 4H]` are 8-bit with scales and zero points per direction (`[D]`) or per gate row (`[D, 4H]`), computed as
/// onnxruntime's CPU kernel does. Per direction, the whole input `X` is quantized to uint8 once over its own range
/// (`Quantization.dynamicParameters`) and multiplied by W in int32, scaled by `x_scale · w_scale`; at every step the
/// hidden state of the whole batch is quantized the same way over its own range, multiplied by R in int32 and added
/// scaled by `h_scale · r_scale`; then peepholes, the bias `Wb + Rb`, `clip`, and the gate functions in float. The
/// int32 products run exactly on the float kernels (`IntegerWeights`), bound once at load when W, R and their scales
/// and zero points are constants.
///
/// onnxruntime splits the batch into one chunk per thread, each quantizing its own rows' hidden state, when the batch
/// has at least 2 rows and H ≤ 256 (or more than 4 rows); this operator quantizes the whole batch together, as
/// onnxruntime does with one intra-op thread. Gate functions other than the defaults, `input_forget` and
/// `sequence_lens` shorter than the sequence are refused.
struct QuantizedLSTMOp: GraphOperator {
    let label: String
    let hiddenSize: Int?
    let directions: Int
    let reverseOnly: Bool
    let clip: Float?
    /// Per direction, W and R with their column scales, when they are constants.
    private(set) var bound: [DirectionWeights]? = nil

    init(context ctx: OperatorContext) throws {
        let node = ctx.node
        label = node.label
        let hidden = try node.int("hidden_size", default: 0)
        hiddenSize = hidden > 0 && hidden <= 1 << 24 ? Int(hidden) : nil
        let direction = try node.string("direction", default: "forward")
        guard ["forward", "reverse", "bidirectional"].contains(direction) else {
            throw RNNRTError(.malformed, "\(label): direction must be forward, reverse or bidirectional, found '\(direction)'")
        }
        directions = direction == "bidirectional" ? 2 : 1
        reverseOnly = direction == "reverse"
        clip = try node.optionalFloat("clip")
        if let clip, !(clip > 0) { throw RNNRTError(.malformed, "\(label): clip must be positive, found \(clip)") }
        let names = try node.strings("activations")?.map { $0.lowercased() } ?? []
        guard names.isEmpty || names == Array([[String]](repeating: ["sigmoid", "tanh", "tanh"], count: names.count / 3).joined()) else {
            throw RNNRTError(.unsupported, "\(label): activations \(names) are not supported (Sigmoid, Tanh, Tanh are)")
        }
        guard try node.int("input_forget", default: 0) == 0 else { throw RNNRTError(.unsupported, "\(label): input_forget is not supported") }
        let scales = [8, 9, 10, 11].compactMap { ctx.constantInput($0) }
        if scales.count == 4, let w = try ctx.eightBitInput(1, "W"), let r = try ctx.eightBitInput(2, "R") {
            bound = try directionWeights(w, r, scales)
        }
    }

    var boundInputs: [Int] { bound == nil ? [] : [1, 2] }

    /// One direction's quantized weights `[K × 4H]` (zero points subtracted) and per-column scales.
    struct QuantizedWeights {
        let product: IntegerWeights
        let scales: [Float]
    }

    /// One direction's W and R.
    struct DirectionWeights {
        let w: QuantizedWeights
        let r: QuantizedWeights
    }

    /// Every direction's W and R from the inputs W, R and `t`: W_scale, W_zero_point, R_scale, R_zero_point.
    func directionWeights(_ wT: EightBitTensor, _ rT: EightBitTensor, _ t: [GraphTensor]) throws -> [DirectionWeights] {
        guard wT.rank == 3, rT.rank == 3, rT.shape[1] > 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): W and R must be [D, input, 4·hidden] and [D, hidden, 4·hidden], got \(wT.shape.shapeDescription) and \(rT.shape.shapeDescription)")
        }
        let (inputSize, h) = (wT.shape[1], rT.shape[1])
        if let hiddenSize, hiddenSize != h { throw RNNRTError(.shapeMismatch, "\(label): hidden_size is \(hiddenSize) but R is \(rT.shape.shapeDescription)") }
        return try (0..<directions).map { d in
            DirectionWeights(w: try weights(wT, scale: t[0], zeroPoint: t[1], k: inputSize, h: h, d: d, "W"),
                             r: try weights(rT, scale: t[2], zeroPoint: t[3], k: h, h: h, d: d, "R"))
        }
    }

    /// Direction `d`'s slice of W or R `[D, K, 4H]` with its scale and zero point `[D]` or `[D, 4H]`.
    func weights(_ t: EightBitTensor, scale sT: GraphTensor, zeroPoint zT: GraphTensor, k: Int, h: Int, d: Int, _ what: String) throws -> QuantizedWeights {
        let n = 4 * h
        guard t.shape == [directions, k, n] else {
            throw RNNRTError(.shapeMismatch, "\(label): \(what) must be [\(directions), \(k), \(n)], got \(t.shape.shapeDescription)")
        }
        try t.checkZeroPoint(zT, what, label)
        let scales = try Quantization.scales(sT, "\(what)_scale", label)
        let zeros = try Quantization.integers(zT, "\(what)_zero_point", label)
        let perDirection = sT.shape == [directions], perRow = sT.shape == [directions, n]
        guard perDirection || perRow, zT.shape == sT.shape else {
            throw RNNRTError(.shapeMismatch, "\(label): \(what)_scale \(sT.shape.shapeDescription) and \(what)_zero_point \(zT.shape.shapeDescription) must both be [\(directions)] or [\(directions), \(n)]")
        }
        let columnScales = perDirection ? [Float](repeating: scales[d], count: n) : Array(scales[(d * n)..<((d + 1) * n)])
        let columnZeros = perDirection ? [Int32](repeating: zeros[d], count: n) : Array(zeros[(d * n)..<((d + 1) * n)])
        let product = try IntegerWeights(t, at: d * k * n, k: k, n: n, zeroPoints: columnZeros, label)
        return QuantizedWeights(product: product, scales: columnScales)
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        func input(_ i: Int) -> GraphTensor? { i < inputs.count ? inputs[i] : nil }
        let xT = try Check.input(inputs, 0, "X")
        guard xT.rank == 3 else {
            throw RNNRTError(.shapeMismatch, "\(label): X must be [seq_length, batch, input_size], got \(xT.shape.shapeDescription)")
        }
        // W and R are read only when they were not bound at load (a plan passes nil then).
        let all = try bound ?? directionWeights(
            try EightBitTensor(try Check.input(inputs, 1, "W"), "W", label), try EightBitTensor(try Check.input(inputs, 2, "R"), "R", label),
            try [8, 9, 10, 11].map { try Check.input(inputs, $0, "the scales and zero points of W and R") })
        let (steps, batch, inputSize) = (xT.shape[0], xT.shape[1], xT.shape[2]), h = all[0].r.product.k
        guard all[0].w.product.k == inputSize else {
            throw RNNRTError(.shapeMismatch, "\(label): X \(xT.shape.shapeDescription) does not match W [\(directions), \(all[0].w.product.k), \(4 * h)]")
        }
        let x = try xT.floats("X")
        guard steps > 0, batch > 0 else {
            return [GraphTensor(shape: [steps, directions, batch, h], floats: []),
                    GraphTensor(shape: [directions, batch, h], floats: []), GraphTensor(shape: [directions, batch, h], floats: [])]
        }
        try checkLengths(input(4), steps: steps, batch: batch)
        let stateShape = [directions, batch, h]
        let h0 = try state(input(5), "initial_h", stateShape), c0 = try state(input(6), "initial_c", stateShape)
        let bias = try vector(input(3), "B", count: 8 * h), peepholes = try vector(input(7), "P", count: 3 * h)
        var y = [Float](repeating: 0, count: try Check.elementCount([steps, directions, batch, h], "\(label) Y"))
        _ = try Check.elementCount([steps, batch, 4 * h], "\(label) gates")
        let limits = RunLimits.current ?? RunLimits()
        // Steps between two checks of the time limit and the cancellation: about 2^22 multiply-adds.
        let chunk = limits.stops ? max(1, (1 << 22) / max(1, batch * 4 * h * h)) : steps
        var hFinal = [Float](repeating: 0, count: directions * batch * h), cFinal = hFinal
        try withTemporaryFloats(x.count + steps * batch * 4 * h) { scratch in
            let quantizedX = scratch.baseAddress!, gates = quantizedX + x.count
            let xQuantization = x.withUnsafeBufferPointer { Quantization.quantizeDynamically($0, shiftedInto: quantizedX) }
            for d in 0..<directions {
                let (w, r) = (all[d].w, all[d].r)
                project(quantizedX, xQuantization, w, rows: steps * batch, into: gates)
                var cell = Cell(h: h, batch: batch, bias: bias.map { directionBias($0, d: d, h: h) },
                                peepholes: peepholes.map { Array($0[(d * 3 * h)..<((d + 1) * 3 * h)]) }, clip: clip)
                cell.hidden = Array(h0[(d * batch * h)..<((d + 1) * batch * h)])
                cell.memory = Array(c0[(d * batch * h)..<((d + 1) * batch * h)])
                let backward = reverseOnly || d == 1
                for s in 0..<steps {
                    if s % chunk == 0 { try limits.check("before step \(s) of \(steps)\(directions == 2 ? (d == 1 ? " (reverse)" : " (forward)") : "")") }
                    let t = backward ? steps - 1 - s : s
                    try cell.step(inputGates: gates + t * batch * 4 * h, recurrent: r)
                    let base = (t * directions + d) * batch * h
                    for i in 0..<(batch * h) { y[base + i] = cell.hidden[i] }
                }
                for i in 0..<(batch * h) {
                    hFinal[d * batch * h + i] = cell.hidden[i]
                    cFinal[d * batch * h + i] = cell.memory[i]
                }
            }
        }
        return [GraphTensor(shape: [steps, directions, batch, h], floats: y),
                GraphTensor(shape: stateShape, floats: hFinal), GraphTensor(shape: stateShape, floats: cFinal)]
    }

    /// `X · W` for every step and row (X quantized and shifted), scaled by `x_scale · w_scale`: `[rows × 4H]`.
    private func project(_ x: UnsafePointer<Float>, _ quantization: (scale: Float, zeroPoint: Int32), _ w: QuantizedWeights,
                         rows: Int, into gates: UnsafeMutablePointer<Float>) {
        let n = w.product.n, scale = quantization.scale
        w.product.multiply(m: rows, a: x, lda: w.product.k, aOffset: quantization.zeroPoint, into: gates)
        w.scales.withUnsafeBufferPointer { s in
            for row in 0..<rows { for j in 0..<n { gates[row * n + j] *= scale * s[j] } }
        }
    }

    /// `Wb + Rb` of direction `d`, `[4H]`.
    private func directionBias(_ b: [Float], d: Int, h: Int) -> [Float] {
        (0..<(4 * h)).map { b[d * 8 * h + $0] + b[d * 8 * h + 4 * h + $0] }
    }

    private func checkLengths(_ s: GraphTensor?, steps: Int, batch: Int) throws {
        guard let s else { return }
        let values = try s.ints("sequence_lens")
        guard s.shape == [batch] else { throw RNNRTError(.shapeMismatch, "\(label): sequence_lens must be [\(batch)], got \(s.shape.shapeDescription)") }
        guard values.allSatisfy({ $0 == Int64(steps) }) else {
            throw RNNRTError(.unsupported, "\(label): sequence_lens shorter than the sequence (\(steps)) are not supported")
        }
    }

    private func state(_ t: GraphTensor?, _ name: String, _ shape: [Int]) throws -> [Float] {
        guard let t else { return [Float](repeating: 0, count: shape.reduce(1, *)) }
        guard t.shape == shape else { throw RNNRTError(.shapeMismatch, "\(label): \(name) must be \(shape.shapeDescription), got \(t.shape.shapeDescription)") }
        return try t.floats(name)
    }

    private func vector(_ t: GraphTensor?, _ name: String, count: Int) throws -> [Float]? {
        guard let t else { return nil }
        guard t.shape == [directions, count] else { throw RNNRTError(.shapeMismatch, "\(label): \(name) must be [\(directions), \(count)], got \(t.shape.shapeDescription)") }
        return try t.floats(name)
    }
}

/// One direction's LSTM state over the batch, stepped with a quantized recurrent product.
private struct Cell {
    let h: Int
    let batch: Int
    /// `Wb + Rb` in gate order `i, o, f, c`.
    let bias: [Float]?
    /// `P` in order `i, o, f`.
    let peepholes: [Float]?
    let clip: Float?
    var hidden: [Float] = []
    var memory: [Float] = []
    /// The quantized hidden state and the step's gates, reused from step to step.
    private var quantized: [Float]
    private var gates: [Float]

    init(h: Int, batch: Int, bias: [Float]?, peepholes: [Float]?, clip: Float?) {
        self.h = h
        self.batch = batch
        self.bias = bias
        self.peepholes = peepholes
        self.clip = clip
        quantized = [Float](repeating: 0, count: batch * h)
        gates = [Float](repeating: 0, count: batch * 4 * h)
    }

    /// One step: the hidden state quantized over its range, times R, scaled and added to the step's input gates.
    mutating func step(inputGates: UnsafePointer<Float>, recurrent r: QuantizedLSTMOp.QuantizedWeights) throws {
        let n = 4 * h
        let (scale, zeroPoint) = hidden.withUnsafeBufferPointer { hp in
            quantized.withUnsafeMutableBufferPointer { Quantization.quantizeDynamically(hp, shiftedInto: $0.baseAddress!) }
        }
        quantized.withUnsafeBufferPointer { q in
            gates.withUnsafeMutableBufferPointer { g in
                r.product.multiply(m: batch, a: q.baseAddress!, lda: h, aOffset: zeroPoint, into: g.baseAddress!)
                r.scales.withUnsafeBufferPointer { s in
                    for row in 0..<batch {
                        for j in 0..<n { g[row * n + j] = inputGates[row * n + j] + g[row * n + j] * (scale * s[j]) }
                    }
                }
            }
        }
        for row in 0..<batch { update(row: row) }
    }

    /// The gate functions of one row: `i, o, f` sigmoid, `c` tanh, with peepholes, bias and clip; each gate's block
    /// of pre-activations completed first, then its function applied to the whole block.
    private mutating func update(row: Int) {
        let base = row * h, g = row * 4 * h, (bias, peepholes, clip, h) = (self.bias, self.peepholes, self.clip, self.h)
        gates.withUnsafeMutableBufferPointer { gp in
            memory.withUnsafeMutableBufferPointer { cp in
                hidden.withUnsafeMutableBufferPointer { hp in
                    let pre = gp.baseAddress! + g, cell = cp.baseAddress! + base, out = hp.baseAddress! + base
                    // Block `gate` of the row (0 i, 1 o, 2 f, 3 c) plus bias, its peephole times `state`, clipped.
                    func complete(_ gate: Int, peephole: Int?, state: UnsafePointer<Float>) {
                        let block = pre + gate * h
                        for j in 0..<h {
                            var v = block[j]
                            if let peepholes, let peephole { v += peepholes[peephole * h + j] * state[j] }
                            if let bias { v += bias[gate * h + j] }
                            if let clip { v = Swift.max(-clip, Swift.min(clip, v)) }
                            block[j] = v
                        }
                    }
                    complete(0, peephole: 0, state: cell)
                    complete(2, peephole: 2, state: cell)
                    complete(3, peephole: nil, state: cell)
                    ActivationFunction.sigmoid.apply(pre, pre, count: h)
                    ActivationFunction.sigmoid.apply(pre + 2 * h, pre + 2 * h, count: h)
                    ActivationFunction.tanh.apply(pre + 3 * h, pre + 3 * h, count: h)
                    for j in 0..<h { cell[j] = cell[j] * pre[2 * h + j] + pre[j] * pre[3 * h + j] }
                    complete(1, peephole: 1, state: cell)
                    ActivationFunction.sigmoid.apply(pre + h, pre + h, count: h)
                    ActivationFunction.tanh.apply(cell, out, count: h)
                    for j in 0..<h { out[j] *= pre[h + j] }
                }
            }
        }
    }

}
