import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// ONNX `ConvTranspose` (1-D, 2-D and 3-D; groups, strides, dilations, pads, `output_padding`, `output_shape`,
/// `auto_pad`) as a matrix product followed by a scatter-add (col2im):
///
/// per item and group, `cols [M/group·K × positions] = W_gᵀ [M/group·K × C/group] · X_g [C/group × positions]`, a
/// block of input positions at a time (whole lines of the last axis when they fit, else parts of one line), then each
/// row `(m, tap)` of `cols` is added into output channel `m` at `i · stride + tap · dilation − padBegin`, over the
/// input range each tap keeps inside the output (computed once per tap). The output starts as the bias.
///
/// `W_gᵀ` is the product's left operand: with the AVX2 kernels read as row slivers (`rnnrt_conv_product_avx2`, the
/// input channels read in place), else by `sgemm`; both are made once at load when `W` is a constant.
struct ConvTransposeOp: GraphOperator {
    let attributes: ConvTransposeAttributes
    /// `W`'s shape and its groups' left operands, when `W` is a constant.
    let weightShape: [Int]?
    let weights: [ConvTransposeWeights]?
    /// A constant `W` with one input channel per group, as stored: `[C, M/group, kernel...]`.
    let depthwise: [Float]?
    /// `B`, when it is a constant.
    let bias: [Float]?

    /// Floats of the product's result per block of input positions (1 MB): the weights are read once per block.
    static let blockFloats = 1 << 18
    /// Input positions per block from which the weights' rows count no more (up to `wideBlockFloats` in all).
    static let minimumColumns = 64
    static let wideBlockFloats = 1 << 22

    init(context ctx: OperatorContext) throws {
        attributes = try ConvTransposeAttributes(ctx.node)
        if let w = ctx.constantInput(1) {
            weightShape = w.shape
            let values = try w.floats("ConvTranspose W")
            weights = try ConvTransposeWeights.groups(values, shape: w.shape, attributes)
            depthwise = w.shape.first == attributes.group ? values : nil
        } else {
            weightShape = nil
            weights = nil
            depthwise = nil
        }
        bias = try ctx.constantInput(2).map { try $0.floats("ConvTranspose B") }
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let xT = try Check.input(inputs, 0, "X")
        let x = try xT.floats("ConvTranspose X")
        let (wShape, groups) = try weightsForRun(inputs)
        let geo = try ConvTransposeGeometry(input: xT.shape, weights: wShape, attributes)
        let b = try bias ?? (inputs.count > 2 ? inputs[2] : nil).map { try $0.floats("ConvTranspose B") }
        if let b, b.count != geo.outChannels {
            throw RNNRTError(.shapeMismatch, "\(attributes.label): B has \(b.count) values for \(geo.outChannels) output channels")
        }
        let count = geo.batch * geo.outChannels * geo.outPositions
        try Check.reserve(count, "\(attributes.label): output \(([geo.batch, geo.outChannels] + geo.outSize).shapeDescription)")
        if KernelSet.avx2, let depthwise, let lines = geo.alongLines {
            let out = outputFloats(count) { y in
                guard count > 0 else { return }
                x.withUnsafeBufferPointer { alongLines(geo, lines, x: $0.baseAddress!, weights: depthwise, bias: b, into: y.baseAddress!) }
            }
            return [GraphTensor(shape: [geo.batch, geo.outChannels] + geo.outSize, floats: out)]
        }
        let out = outputFloats(count) { y in
            guard count > 0 else { return }
            fillBias(b, geo, into: y.baseAddress!)
            x.withUnsafeBufferPointer { accumulate(geo, x: $0.baseAddress!, groups, into: y.baseAddress!) }
        }
        return [GraphTensor(shape: [geo.batch, geo.outChannels] + geo.outSize, floats: out)]
    }

    /// `W`'s shape and its groups' left operands: the constant's, else made from input 1.
    private func weightsForRun(_ inputs: [GraphTensor?]) throws -> ([Int], [ConvTransposeWeights]) {
        if let weightShape, let weights { return (weightShape, weights) }
        let wT = try Check.input(inputs, 1, "W")
        return (wT.shape, try ConvTransposeWeights.groups(try wT.floats("ConvTranspose W"), shape: wT.shape, attributes))
    }

    /// One input channel per group and a kernel along the line: each item's channels as long lines
    /// (`rnnrt_conv_transpose_depthwise_lines_avx2`), the bias and products summed as `accumulate` sums them.
    private func alongLines(_ geo: ConvTransposeGeometry, _ lines: (lines: Int, taps: Int, stride: Int, padBefore: Int),
                            x: UnsafePointer<Float>, weights: [Float], bias: [Float]?, into y: UnsafeMutablePointer<Float>) {
        let inFloats = geo.inChannels * geo.inPositions, outFloats = geo.outChannels * geo.outPositions
        withTemporaryFloats(geo.inPositions + 2 * Int(RNNRT_DEPTHWISE_LINES_SLACK)) { scratch in
            weights.withUnsafeBufferPointer { w in
                let run = { (bias: UnsafePointer<Float>?) in
                    for b in 0..<geo.batch {
                        rnnrt_conv_transpose_depthwise_lines_avx2(geo.outChannels, geo.outPerGroup, lines.taps,
                                                                  w.baseAddress!, x + b * inFloats, lines.lines,
                                                                  geo.inExtent[2], lines.stride, lines.padBefore, bias,
                                                                  y + b * outFloats, scratch.baseAddress!)
                    }
                }
                if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
            }
        }
    }

    /// Every output channel set to its bias (zero without one).
    private func fillBias(_ bias: [Float]?, _ geo: ConvTransposeGeometry, into y: UnsafeMutablePointer<Float>) {
        let plane = geo.outPositions
        for b in 0..<geo.batch {
            for m in 0..<geo.outChannels {
                (y + (b * geo.outChannels + m) * plane).update(repeating: bias?[m] ?? 0, count: plane)
            }
        }
    }

    /// Every item's and group's products, block by block of input positions, added into `y`.
    private func accumulate(_ geo: ConvTransposeGeometry, x: UnsafePointer<Float>, _ groups: [ConvTransposeWeights],
                            into y: UnsafeMutablePointer<Float>) {
        guard geo.inPositions > 0 else { return }
        let rows = geo.productRows
        let wanted = max(ConvTransposeOp.blockFloats / rows, min(ConvTransposeOp.minimumColumns, ConvTransposeOp.wideBlockFloats / rows))
        let blocks = ColumnBlocks(geo, columns: max(1, min(geo.inPositions, wanted)))
        let offsets = (0..<geo.inPerGroup).map { $0 * geo.inPositions }
        let reach = (0..<3).map { geo.reach($0) }
        withTemporaryFloats(rows * blocks.columns) { scratch in
            let cols = scratch.baseAddress!
            for b in 0..<geo.batch {
                for g in 0..<geo.group {
                    let xg = x + (b * geo.inChannels + g * geo.inPerGroup) * geo.inPositions
                    let yg = y + (b * geo.outChannels + g * geo.outPerGroup) * geo.outPositions
                    blocks.forEach { block in
                        groups[g].product(xg + block.start, columns: block.count, ldx: geo.inPositions, offsets: offsets, into: cols)
                        ConvTransposeOp.scatter(geo, block, reach, from: cols, into: yg)
                    }
                }
            }
        }
    }

    /// A block's product rows `(m, tap)` added into the group's output channels `y`.
    private static func scatter(_ geo: ConvTransposeGeometry, _ block: ColumnBlock, _ reach: [[TapReach]],
                                from cols: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        var row = cols
        for m in 0..<geo.outPerGroup {
            let channel = y + m * geo.outPositions
            for a in reach[0] {
                for c in reach[1] {
                    for e in reach[2] {
                        addTap(geo, block, (a, c, e), from: row, into: channel)
                        row += block.count
                    }
                }
            }
        }
    }

    /// One tap's row of a block added into one output channel, line by line of the block.
    private static func addTap(_ geo: ConvTransposeGeometry, _ block: ColumnBlock, _ tap: (TapReach, TapReach, TapReach),
                               from row: UnsafePointer<Float>, into channel: UnsafeMutablePointer<Float>) {
        let (a, c, e) = tap
        let lo = max(e.inputs.lowerBound, block.cols.lowerBound), hi = min(e.inputs.upperBound, block.cols.upperBound)
        guard lo < hi else { return }
        let (in1, out1, out2) = (geo.inExtent[1], geo.outExtent[1], geo.outExtent[2])
        let (s0, s1, s2) = (geo.stride[0], geo.stride[1], geo.stride[2])
        var i0 = block.lines.lowerBound / in1, i1 = block.lines.lowerBound % in1
        var source = row + (lo - block.cols.lowerBound)
        for _ in block.lines {
            if a.inputs.contains(i0) && c.inputs.contains(i1) {
                let line = channel + ((i0 * s0 + a.offset) * out1 + i1 * s1 + c.offset) * out2 + e.offset
                addLine(source, count: hi - lo, into: line + lo * s2, stride: s2)
            }
            source += block.cols.count
            i1 += 1
            if i1 == in1 { i1 = 0; i0 += 1 }
        }
    }

    /// `into[j · stride] += source[j]` for `j < count`.
    @inline(__always)
    private static func addLine(_ source: UnsafePointer<Float>, count: Int, into: UnsafeMutablePointer<Float>, stride: Int) {
        if stride == 1 {
            for j in 0..<count { into[j] += source[j] }
        } else {
            var p = into
            for j in 0..<count {
                p.pointee += source[j]
                p += stride
            }
        }
    }
}

typealias TapReach = (inputs: Range<Int>, offset: Int)

/// One group's weights as the left operand of its product: `W_gᵀ [M/group·K × C/group]` row-major, and with the AVX2
/// kernels as a `WeightMatrix` over the same floats, whose row slivers (made on first use) the product reads.
struct ConvTransposeWeights: Sendable {
    let rows: Int
    let cols: Int
    let transposed: [Float]
    let matrix: WeightMatrix?

    /// Each group's left operand from `W [C, M/group, kernel...]`, after checking that the shape can be one.
    static func groups(_ w: [Float], shape: [Int], _ attributes: ConvTransposeAttributes) throws -> [ConvTransposeWeights] {
        let group = attributes.group
        guard shape.count >= 3, shape.count <= 5, let count = shape.checkedElementCount(), count > 0,
              count <= ConvTransposeGeometry.kernelLimit, shape[0] % group == 0 else {
            throw RNNRTError(.shapeMismatch, "\(attributes.label): W \(shape.shapeDescription) must be a non-empty [C, M/group, kernel...] of at most 2^28 elements with C a multiple of group \(group)")
        }
        let cols = shape[0] / group, rows = count / shape[0]
        return (0..<group).map { g in
            var t = [Float](repeating: 0, count: rows * cols)
            let first = g * cols * rows
            for ci in 0..<cols {
                for r in 0..<rows { t[r * cols + ci] = w[first + ci * rows + r] }
            }
            let matrix = KernelSet.avx2 ? WeightMatrix(weights: t, rows: rows, cols: cols, layout: .inPlace) : nil
            return ConvTransposeWeights(rows: rows, cols: cols, transposed: t, matrix: matrix)
        }
    }

    /// `c [rows × columns] = W_gᵀ · x[:, 0..<columns]`, where input channel `ci` is the row at `offsets[ci]` (the
    /// product kernel) or at `ci · ldx` (`sgemm`) from `x`.
    func product(_ x: UnsafePointer<Float>, columns: Int, ldx: Int, offsets: [Int], into c: UnsafeMutablePointer<Float>) {
        // nil when there is no weight matrix or it has no row slivers: then the portable product.
        let ranOnSlivers: Void? = matrix?.withRowSlivers { a6 in
            offsets.withUnsafeBufferPointer { o in
                rnnrt_conv_product_avx2(rows, cols, a6, x, o.baseAddress!, 1, columns, columns, nil, c, columns, 0)
            }
        }
        guard ranOnSlivers == nil else { return }
        transposed.withUnsafeBufferPointer { a in
            sgemm(m: rows, n: columns, k: cols, a: a.baseAddress!, lda: cols, b: x, ldb: ldx, c: c, ldc: columns,
                  accumulate: false)
        }
    }
}

/// A block of input positions: lines `lines` (of the last spatial axis, numbered over the first two), columns `cols`
/// of each, consecutive in the input.
struct ColumnBlock {
    let lines: Range<Int>
    let cols: Range<Int>
    let width: Int

    /// The block's first input position.
    var start: Int { lines.lowerBound * width + cols.lowerBound }
    var count: Int { lines.count * cols.count }
}

/// The blocks of at most `columns` input positions covering the input: whole lines when one fits, else parts of one.
struct ColumnBlocks {
    let lines: Int
    let width: Int
    let columns: Int

    init(_ geo: ConvTransposeGeometry, columns: Int) {
        lines = geo.inExtent[0] * geo.inExtent[1]
        width = geo.inExtent[2]
        self.columns = columns
    }

    func forEach(_ body: (ColumnBlock) -> Void) {
        if columns >= width {
            let step = columns / width
            for first in stride(from: 0, to: lines, by: step) {
                body(ColumnBlock(lines: first..<min(lines, first + step), cols: 0..<width, width: width))
            }
            return
        }
        for line in 0..<lines {
            for first in stride(from: 0, to: width, by: columns) {
                body(ColumnBlock(lines: line..<(line + 1), cols: first..<min(width, first + columns), width: width))
            }
        }
    }
}
