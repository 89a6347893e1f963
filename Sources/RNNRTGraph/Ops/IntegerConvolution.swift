import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// `ConvInteger` and `QLinearConv` (1-D to 3-D, groups, strides, dilations, pads, `auto_pad`), on the shapes of
/// `ConvGeometry`: per item and group, `acc [M/group × positions] = (W − wZero) · patches`, where each patch value is
/// `x − xZero` (0 in the padding, which holds the zero point), accumulated exactly in int32. `ConvInteger` returns the
/// accumulators; `QLinearConv` adds its int32 bias and requantizes with `x_scale · w_scale[m] / y_scale`.
///
/// With a constant W (and zero point), the accumulators come from float convolutions (`ExactIntegerConv`); otherwise
/// from an integer product per item and group.
struct IntegerConvOp: IntegerAccumulating {
    let label: String
    let quantizedOutput: Bool
    let group: Int
    let strides: [Int]?
    let dilations: [Int]?
    let pads: [Int]?
    let autoPad: String
    /// The convolution on the float kernels, when W and its zero point are constants.
    let exact: ExactIntegerConv?

    init(context ctx: OperatorContext, quantizedOutput: Bool) throws {
        let node = ctx.node
        label = node.label
        self.quantizedOutput = quantizedOutput
        let g = try node.int("group", default: 1)
        guard g >= 1, g <= 1 << 24 else { throw RNNRTError(.malformed, "\(node.label): group must be from 1 to 2^24, found \(g)") }
        group = Int(g)
        strides = try node.ints("strides")?.map { Int(clamping: $0) }
        dilations = try node.ints("dilations")?.map { Int(clamping: $0) }
        pads = try node.ints("pads")?.map { Int(clamping: $0) }
        autoPad = try node.string("auto_pad", default: "NOTSET")
        guard ["NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else {
            throw RNNRTError(.malformed, "\(node.label): auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, found '\(autoPad)'")
        }
        weightIndex = quantizedOutput ? 3 : 1
        let zIndex = quantizedOutput ? 5 : 3
        if ctx.hasInput(zIndex) == (ctx.constantInput(zIndex) != nil), let w = try ctx.eightBitInput(weightIndex, "w") {
            exact = try ExactIntegerConv(ctx, weights: w, zeroPoint: ctx.constantInput(zIndex), group: group)
        } else {
            exact = nil
        }
    }

    /// W's position among the inputs.
    private let weightIndex: Int

    var boundInputs: [Int] { exact == nil ? [] : [weightIndex] }

    var returnsAccumulators: Bool { !quantizedOutput }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let (shape, acc, geometry) = try convolve(inputs)
        guard quantizedOutput else { return [GraphTensor(shape: shape, ints: IntegerWeights.widened(acc), type: .int32)] }
        return [try requantize(acc, inputs, geometry, shape)]
    }

    func accumulators(_ x: IntegerOperand, _ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32]) {
        let (shape, acc, _) = try convolve(x, inputs)
        return (shape, acc)
    }

    /// The int32 accumulators `[N, M, spatial...]` and the geometry they were computed on.
    private func convolve(_ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32], geometry: ConvGeometry) {
        try convolve(.values(try Check.input(inputs, 0, "x")), inputs)
    }

    /// `convolve` with `xT` as x.
    private func convolve(_ xT: IntegerOperand, _ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32], geometry: ConvGeometry) {
        let q = quantizedOutput
        let xZeroT = q ? try Check.input(inputs, 2, "x_zero_point") : (inputs.count > 2 ? inputs[2] : nil)
        let wZeroT = q ? try Check.input(inputs, 5, "w_zero_point") : (inputs.count > 3 ? inputs[3] : nil)
        let xZero = try IntegerMatMul.zeroPointA(xT.integerType, xZeroT, label)
        // W is read only when it was not bound at load (a plan passes nil then).
        func w() throws -> GraphTensor { try Check.input(inputs, weightIndex, "w") }
        let wShape = try exact?.weightShape ?? w().shape
        guard wShape.count >= 3, wShape[0] >= group, wShape[0] % group == 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): w \(wShape.shapeDescription) must be [M, C/group, kernel...] with M a multiple of group \(group)")
        }
        let geometry = try ConvGeometry(input: xT.shape, weights: wShape, group: group, strides: strides,
                                        dilations: dilations, pads: pads, autoPad: autoPad)
        let m = geometry.outChannels
        let acc = try exact?.accumulate(xT, zeroPoint: xZero, geometry, label)
            ?? accumulate(try xT.tensor(label), xZero: xZero, try w(), wZeroT, geometry)
        return ([geometry.batch, m] + geometry.outSize, acc, geometry)
    }

    /// The int32 accumulators `[N, M, positions]`, in integers.
    private func accumulate(_ xT: GraphTensor, xZero: Int32, _ wT: GraphTensor, _ wZeroT: GraphTensor?, _ geo: ConvGeometry) throws -> [Int32] {
        let m = geo.outChannels, perGroup = m / group, width = geo.patchWidth, positions = geo.positions
        let patchCount = width.multipliedReportingOverflow(by: positions)
        guard !patchCount.overflow, patchCount.partialValue <= 1 << 28 else {
            throw RNNRTError(.invalidArgument, "\(label): \(width) patch values at \(positions) positions is too large")
        }
        let x = try Quantization.integers(xT, "x", label), w = try IntegerMatMul.operandB(wT, zeroPoint: wZeroT, label)
        let wZeros = try wZeroT.map { try Quantization.perColumn(try Quantization.integers($0, "w zero point", label), $0, n: m, "w zero point", label) }
            ?? [Int32](repeating: 0, count: m)
        let shiftedW = w.enumerated().map { $1 &- wZeros[$0 / width] }
        var acc = [Int32](repeating: 0, count: geo.batch * m * positions)
        var patches = [Int32](repeating: 0, count: width * positions)
        for b in 0..<geo.batch {
            for g in 0..<group {
                gather(x, xZero: xZero, item: b, group: g, geo, into: &patches)
                shiftedW.withUnsafeBufferPointer { wp in
                    patches.withUnsafeBufferPointer { pp in
                        acc.withUnsafeMutableBufferPointer { cp in
                            IntegerMatMul.gemm(m: perGroup, n: positions, k: width, a: wp.baseAddress! + g * perGroup * width,
                                               b: pp.baseAddress!, c: cp.baseAddress! + (b * m + g * perGroup) * positions)
                        }
                    }
                }
            }
        }
        return acc
    }

    /// The patch matrix `[C/group · kernel × positions]` of one item and group: `x − xZero`, 0 in the padding.
    private func gather(_ x: [Int32], xZero: Int32, item b: Int, group g: Int, _ geo: ConvGeometry, into patches: inout [Int32]) {
        let k = geo.kernelExtent, o = geo.outExtent, positions = geo.positions
        var row = 0
        for ci in 0..<geo.channelsPerGroup {
            let channel = (b * geo.inChannels + g * geo.channelsPerGroup + ci) * geo.inPositions
            for k0 in 0..<k[0] { for k1 in 0..<k[1] { for k2 in 0..<k[2] {
                var column = row * positions
                for o0 in 0..<o[0] {
                    let p0 = geo.tap(0, o0, k0)
                    for o1 in 0..<o[1] {
                        let p1 = geo.tap(1, o1, k1)
                        for o2 in 0..<o[2] {
                            let p2 = geo.tap(2, o2, k2)
                            patches[column] = p0 < 0 || p1 < 0 || p2 < 0
                                ? 0 : x[channel + (p0 * geo.inExtent[1] + p1) * geo.inExtent[2] + p2] &- xZero
                            column += 1
                        }
                    }
                }
                row += 1
            } } }
        }
    }

    /// QLinearConv's output: `acc + bias[m]` scaled by `x_scale · w_scale[m] / y_scale`, rounded, plus y's zero point.
    private func requantize(_ acc: [Int32], _ inputs: [GraphTensor?], _ geo: ConvGeometry, _ shape: [Int]) throws -> GraphTensor {
        let m = geo.outChannels, positions = geo.positions
        let xScaleT = try Check.input(inputs, 1, "x_scale"), wScaleT = try Check.input(inputs, 4, "w_scale")
        let yScaleT = try Check.input(inputs, 6, "y_scale"), yZeroT = try Check.input(inputs, 7, "y_zero_point")
        let xScale = try Quantization.scalar(try Quantization.scales(xScaleT, "x_scale", label), xScaleT, "x_scale", label)
        let wScales = try Quantization.perColumn(try Quantization.scales(wScaleT, "w_scale", label), wScaleT, n: m, "w_scale", label)
        let yScale = try Quantization.scalar(try Quantization.scales(yScaleT, "y_scale", label), yScaleT, "y_scale", label)
        let yZero = try Quantization.zeroPoints(yZeroT, "y_zero_point", label)
        let zero = try Quantization.scalar(yZero.values, yZeroT, "y_zero_point", label)
        let bias = try (inputs.count > 8 ? inputs[8] : nil).map { t -> [Int32] in
            let v = try Quantization.integers(t, "B", label, allowing: [.int32])
            guard t.rank == 1, v.count == m else { throw RNNRTError(.shapeMismatch, "\(label): B must be 1-D of \(m), got \(t.shape.shapeDescription)") }
            return v
        } ?? [Int32](repeating: 0, count: m)
        let multipliers = wScales.map { xScale * $0 / yScale }
        let range = Quantization.range(of: yZero.type)!
        var out = [Int64](repeating: 0, count: acc.count)
        for i in acc.indices {
            let channel = (i / positions) % m
            out[i] = Int64(Quantization.requantize(acc[i] &+ bias[channel], multiplier: multipliers[channel], zeroPoint: zero, range: range))
        }
        return GraphTensor(shape: shape, ints: out, type: yZero.type)
    }
}

/// A convolution of 8-bit operands with a constant W, computed exactly from `W − wZero` bound at load:
///
/// - with the AVX2 kernels and a 1-D or 2-D kernel, as int16 rows (padded to an even width) multiplied by each item's
///   and group's patches of `x − xZero` packed in pairs (`rnnrt_pack_conv_pairs`, 0 in the padding, which holds the zero
///   point) with `IntegerKernels.pairs`, which sums in int32;
/// - otherwise on the float convolution kernels: `W − wZero` as float weights and the input as `x − xZero` floats. As
///   in `IntegerWeights`, each input value's magnitude is at most 255 and the input channels are split into chunks
///   whose patch width keeps the magnitudes of one output's terms summing to at most 2^24, so every float partial sum
///   is an exact integer; the chunks' sums are added in int32. Winograd's transforms are not used (they are not exact).
///   A grouped convolution whose patch is too wide for one chunk is left to the integer form (nil).
struct ExactIntegerConv {
    /// W's shape `[M, C/group, kernel...]`.
    let weightShape: [Int]
    /// The int16 form: W's rows `[M × paddedWidth]`.
    private let pairedRows: [Int16]?
    /// `C/group · kernel`, and that rounded up to even.
    private let width: Int
    private let paddedWidth: Int
    /// The float form: per chunk of input channels, its range and the float convolution of its weights.
    private let chunks: [(channels: Range<Int>, op: ConvOp)]

    init?(_ ctx: OperatorContext, weights wT: EightBitTensor, zeroPoint zT: GraphTensor?, group: Int) throws {
        let label = ctx.node.label
        try wT.checkZeroPoint(zT, "w", label)
        guard wT.rank >= 3, wT.count > 0, wT.shape[0] >= group, wT.shape[0] % group == 0 else { return nil }
        weightShape = wT.shape
        let w = wT.values
        let m = wT.shape[0], channels = wT.shape[1], taps = wT.shape.dropFirst(2).reduce(1, *)
        let zeros = try zT.map { try Quantization.perColumn(try Quantization.integers($0, "w zero point", label), $0, n: m, "w zero point", label) }
            ?? [Int32](repeating: 0, count: m)
        let perOutput = channels * taps
        width = perOutput
        paddedWidth = (perOutput + 1) / 2 * 2
        if KernelSet.avx2 && wT.rank <= 4 {
            let padded = paddedWidth
            pairedRows = [Int16](unsafeUninitializedCapacity: m * padded) { out, initialized in
                for o in 0..<m {
                    for i in 0..<padded { out[o * padded + i] = i < perOutput ? Int16(w[o * perOutput + i] &- zeros[o]) : 0 }
                }
                initialized = m * padded
            }
            chunks = []
            return
        }
        pairedRows = nil
        let shifted = w.indices.map { Float(w[$0] &- zeros[$0 / perOutput]) }
        let largest = shifted.reduce(Float(0)) { max($0, abs($1)) }
        let rows = IntegerWeights.blockRows(largest: Int(largest))
        let chunkChannels = group == 1 ? rows / taps : (perOutput <= rows ? channels : 0)
        guard chunkChannels > 0 else { return nil }
        chunks = try stride(from: 0, to: channels, by: chunkChannels).map { first in
            let range = first..<min(channels, first + chunkChannels)
            let values = range.count == channels ? shifted : (0..<m).flatMap { o in
                shifted[(o * perOutput + range.lowerBound * taps)..<(o * perOutput + range.upperBound * taps)]
            }
            var node = ctx.node
            node.inputs = ["x", "w"]
            let shape = [m, range.count] + Array(wT.shape.dropFirst(2))
            let context = OperatorContext(node: node, opset: ctx.opset) { $0 == "w" ? GraphTensor(shape: shape, floats: values) : nil }
            return (range, try ConvOp(context: context, winogradAllowed: false))
        }
    }

    /// The int32 accumulators `[N, M, positions]` of x (8-bit, `[N, C, spatial...]`, of `geometry`) minus `zeroPoint`.
    func accumulate(_ xT: IntegerOperand, zeroPoint: Int32, _ geometry: ConvGeometry, _ label: String) throws -> [Int32] {
        guard let pairedRows else { return try accumulateInFloats(xT, zeroPoint: zeroPoint, label) }
        let geo = geometry, positions = geo.positions, m = geo.outChannels, group = geo.inChannels / max(geo.channelsPerGroup, 1)
        let perGroup = m / max(group, 1)
        guard geo.patchWidth == width else {
            throw RNNRTError(.shapeMismatch, "\(label): x \(xT.shape.shapeDescription) does not match W's \(width) patch values")
        }
        let x16 = try xT.shiftedInt16(shift: zeroPoint, "x", label)
        let count = try Check.elementCount([geo.batch, m, positions], "\(label) output")
        guard positions > 0, perGroup > 0 else { return [Int32](repeating: 0, count: count) }
        _ = try Check.elementCount([width + 1, positions + 16], "\(label) patches")
        // Every accumulator and every packed value (padding lanes included) is written below.
        var acc = [Int32](unsafeUninitializedCapacity: count) { $1 = count }
        let packedCount = Int(rnnrt_pairs_packed_count(width, positions))
        var patches = [Int16](unsafeUninitializedCapacity: packedCount + 2 * positions) { $1 = packedCount + 2 * positions }
        let channelSize = geo.inPositions
        x16.withUnsafeBufferPointer { x in
            pairedRows.withUnsafeBufferPointer { w in
                patches.withUnsafeMutableBufferPointer { p in
                    acc.withUnsafeMutableBufferPointer { c in
                        for b in 0..<geo.batch {
                            for g in 0..<group {
                                rnnrt_pack_conv_pairs(x.baseAddress! + (b * geo.inChannels + g * geo.channelsPerGroup) * channelSize,
                                                      geo.channelsPerGroup, geo.inExtent[1], geo.inExtent[2],
                                                      geo.kernelExtent[1], geo.kernelExtent[2], geo.stride[1], geo.stride[2],
                                                      geo.dilation[1], geo.dilation[2], geo.padBegin[1], geo.padBegin[2],
                                                      geo.outExtent[1], geo.outExtent[2], p.baseAddress!,
                                                      p.baseAddress! + packedCount)
                                IntegerKernels.pairs(perGroup, positions, width, w.baseAddress! + g * perGroup * paddedWidth,
                                                       paddedWidth, p.baseAddress!, c.baseAddress! + (b * m + g * perGroup) * positions,
                                                       positions)
                            }
                        }
                    }
                }
            }
        }
        return acc
    }

    /// The float form's accumulators.
    private func accumulateInFloats(_ xT: IntegerOperand, zeroPoint: Int32, _ label: String) throws -> [Int32] {
        guard xT.shape.count >= 3 else {
            throw RNNRTError(.shapeMismatch, "\(label): x must be [N, C, spatial...], got \(xT.shape.shapeDescription)")
        }
        let (batch, channels) = (xT.shape[0], xT.shape[1]), plane = xT.shape.dropFirst(2).reduce(1, *)
        // Chunks split the channels of one group (there is more than one only with one group): the whole input otherwise.
        guard chunks.count == 1 || chunks.last?.channels.upperBound == channels else {
            throw RNNRTError(.shapeMismatch, "\(label): x \(xT.shape.shapeDescription) has \(channels) channels, W \(chunks.last?.channels.upperBound ?? 0)")
        }
        return try xT.withShiftedFloats(shift: zeroPoint, "x", label) { x in
            var acc: [Int32] = []
            for (index, chunk) in chunks.enumerated() {
                let input = chunks.count == 1 ? Array(x) : (0..<batch).flatMap { b in
                    x[((b * channels + chunk.channels.lowerBound) * plane)..<((b * channels + chunk.channels.upperBound) * plane)]
                }
                let count = chunks.count == 1 ? channels : chunk.channels.count
                let sums = try chunk.op.run([GraphTensor(shape: [batch, count] + xT.shape.dropFirst(2), floats: input)])[0]
                let values = sums.floatsUnchecked
                if index == 0 { acc = [Int32](repeating: 0, count: values.count) }
                guard !values.isEmpty else { continue }
                values.withUnsafeBufferPointer { v in
                    acc.withUnsafeMutableBufferPointer { rnnrt_add_exact_integers(v.baseAddress!, $0.baseAddress!, v.count, index == 0 ? 1 : 0) }
                }
                recycleIntermediate(sums)
            }
            return acc
        }
    }
}
