import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// ONNX `Conv` (1-D, 2-D and 3-D; groups, strides, dilations, pads, `auto_pad`) as matrix products, in one of two
/// orientations chosen per call by the number of output positions:
///
/// - **Positions as columns** (with the AVX2 kernels, from `columnsFrom` positions per item): per item and group,
///   `Y_g [M/group × positions] = W_g [M/group × C/group·K] · patches [C/group·K × positions]`, the patches gathered
///   straight into the packed product's 16-column slivers (each kernel tap of 16 neighbouring positions is a run of
///   the input row) and the result written in place in `Y`'s `[N, M, positions]` layout, on a bias prefill.
/// - **Positions as rows** (few positions per item, or the portable kernels): the output positions of every batch
///   item are the rows of one product on each group's `WeightMatrix` (packed once at load when `W` is a constant),
///   `Y_gᵀ [positions × M/group] = patchesᵀ · W_gᵀ`, so a front end that sees a few positions per item still gives
///   the kernels many rows; each chunk of rows is written to `Y` with the bias added.
///
/// Either way the patches are taken in chunks that stay in L2, and an activation fused into the node (`Plan.fuse`) is
/// applied to the whole output at the end.
struct ConvOp: GraphOperator {
    let label: String
    let group: Int
    let strides: [Int]?
    let dilations: [Int]?
    let pads: [Int]?
    let autoPad: String
    /// One group's weights in the two forms the orientations take.
    struct GroupWeights: Sendable {
        /// `W_g [M/group × C/group·K]` as stored: the left operand when positions are columns.
        let stored: FloatStorage
        /// The same as a weight matrix: the right operand `W_gᵀ` when positions are rows.
        let matrix: WeightMatrix
    }

    /// Per group, when `W` is a constant.
    let weights: [GroupWeights]?
    /// `W`'s shape, when it is a constant.
    let weightShape: [Int]?
    /// `B`, when it is a constant.
    let bias: [Float]?
    private(set) var activation: ActivationFunction?
    /// Whether input 3 is an addend of the output (an `Add` fused into the node, `Plan.fuse`), added before the
    /// activation.
    private(set) var addsInput = false

    /// Patch floats a chunk holds (256 KB; with positions as columns, chunks of 256 columns hold up to 16 times that
    /// for patches up to 4,096 values wide, and one sliver of 16 columns the widest).
    static let chunkFloats = 1 << 16
    /// Output positions per item from which they are the product's columns.
    static let columnsFrom = 64

    init(context ctx: OperatorContext) throws {
        let node = ctx.node
        label = node.label
        group = Int(try node.int("group", default: 1))
        strides = try node.ints("strides")?.map { Int(clamping: $0) }
        dilations = try node.ints("dilations")?.map { Int(clamping: $0) }
        pads = try node.ints("pads")?.map { Int(clamping: $0) }
        autoPad = try node.string("auto_pad", default: "NOTSET")
        guard group >= 1 else { throw RNNRTError(.malformed, "\(node.label): group must be ≥ 1, found \(group)") }
        guard ["NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else {
            throw RNNRTError(.malformed, "\(node.label): auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, found '\(autoPad)'")
        }
        if let w = ctx.constantInput(1) {
            let values = try w.floats("Conv W")
            guard w.rank >= 3, w.count > 0, w.shape[0] >= group, w.shape[0] % group == 0 else {
                throw RNNRTError(.shapeMismatch, "\(node.label): W \(w.shape.shapeDescription) must be a non-empty [M, C/group, kernel...] with M a multiple of group \(group)")
            }
            weightShape = w.shape
            weights = ConvOp.groupMatrices(values, shape: w.shape, group: group)
        } else {
            weightShape = nil
            weights = nil
        }
        bias = try ctx.constantInput(2).map { try $0.floats("Conv B") }
    }

    /// This operator with its output added to input 3 (before any activation).
    func addingInput() -> ConvOp {
        var op = self
        op.addsInput = true
        return op
    }

    /// This operator with `activation` applied to its output.
    func applying(_ activation: ActivationFunction) -> ConvOp {
        var op = self
        op.activation = activation
        return op
    }

    /// Each group's weights: rows `W[g·M/group ..< (g+1)·M/group]`, each flattened over `[C/group, kernel...]` (one
    /// group shares `w`).
    static func groupMatrices(_ w: [Float], shape: [Int], group: Int) -> [GroupWeights] {
        let rows = shape[0] / group, cols = shape.dropFirst().reduce(1, *)
        let storage = FloatStorage(w)
        return (0..<group).map { g in
            let part = storage.slice((g * rows * cols)..<((g + 1) * rows * cols)) ?? storage
            return GroupWeights(stored: part, matrix: WeightMatrix(weights: part, rows: rows, cols: cols, layout: .constantOperand))
        }
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let xT = try Check.input(inputs, 0, "X")
        let x = try xT.floats("Conv X")
        let wShape: [Int], matrices: [GroupWeights]
        if let weights, let weightShape {
            wShape = weightShape
            matrices = weights
        } else {
            let wT = try Check.input(inputs, 1, "W")
            guard wT.rank >= 3, wT.count > 0, wT.shape[0] >= group, wT.shape[0] % group == 0 else {
                throw RNNRTError(.shapeMismatch, "Conv: W \(wT.shape.shapeDescription) must be a non-empty [M, C/group, kernel...] with M a multiple of group \(group)")
            }
            wShape = wT.shape
            matrices = ConvOp.groupMatrices(try wT.floats("Conv W"), shape: wT.shape, group: group)
        }
        let geometry = try ConvGeometry(input: xT.shape, weights: wShape, group: group, strides: strides,
                                        dilations: dilations, pads: pads, autoPad: autoPad)
        let b = try bias ?? (inputs.count > 2 ? inputs[2] : nil).map { try $0.floats("Conv B") }
        if let b, b.count != geometry.outChannels {
            throw RNNRTError(.shapeMismatch, "Conv B has \(b.count) values for \(geometry.outChannels) output channels")
        }
        let outShape = [geometry.batch, geometry.outChannels] + geometry.outSize
        let outCount = geometry.batch * geometry.outChannels * geometry.positions
        guard outCount > 0 else { return [GraphTensor(shape: outShape, floats: [])] }
        // A fused addend of another shape broadcasts: added as the Add node would, after the product.
        let addend = addsInput ? try Check.input(inputs, 3, "addend") : nil
        let sameShape = addend.map { $0.shape == outShape } ?? false
        let residual = sameShape ? try addend?.floats("Conv addend") : nil
        let out = outputFloats(outCount) { buffer in
            x.withUnsafeBufferPointer { xp in
                if KernelSet.avx2 && geometry.positions >= ConvOp.columnsFrom {
                    productsByColumns(geometry, x: xp.baseAddress!, weights: matrices, bias: b, residual: residual,
                                      into: buffer.baseAddress!)
                } else {
                    productsByRows(geometry, x: xp.baseAddress!, weights: matrices, bias: b, into: buffer.baseAddress!)
                    residual?.withUnsafeBufferPointer { r in for i in 0..<outCount { buffer[i] += r[i] } }
                }
            }
            if addend == nil || sameShape { activation?.apply(buffer.baseAddress!, buffer.baseAddress!, count: outCount) }
        }
        guard let addend, !sameShape else { return [GraphTensor(shape: outShape, floats: out)] }
        // Broadcast: the sum (and the activation) as separate passes; the intermediate results go back to the arena
        // once nothing more is taken from it.
        let product = GraphTensor(shape: outShape, floats: out)
        let sum = try binaryArithmetic("Add", product, addend, +, { $0 &+ $1 })
        guard let f = activation else {
            recycleIntermediate(product)
            return [sum]
        }
        let values = sum.floatsUnchecked
        let activated = GraphTensor(shape: sum.shape, floats: outputFloats(values.count) { result in
            values.withUnsafeBufferPointer { f.apply($0.baseAddress!, result.baseAddress!, count: values.count) }
        })
        recycleIntermediate(product)
        recycleIntermediate(sum)
        return [activated]
    }

    /// Positions as columns: per item and group, chunks of positions gathered into packed slivers and multiplied
    /// into `y [N, M, positions]` in place.
    private func productsByColumns(_ geo: ConvGeometry, x: UnsafePointer<Float>, weights: [GroupWeights], bias: [Float]?,
                                   residual: [Float]?, into y: UnsafeMutablePointer<Float>) {
        let width = geo.patchWidth, perGroup = geo.outChannels / group, positions = geo.positions
        guard perGroup > 0 else { return }
        // 256 columns up to a patch width of 256 values, then fewer (at least one sliver of 16) as patches widen.
        let columns = width <= 256 ? ConvOp.chunkFloats / max(width, 1) : ConvOp.chunkFloats * 16 / width
        let chunk = min((positions + 15) / 16 * 16, max(16, min(columns, 256 * 16) / 16 * 16))
        withTemporaryFloats(2 * chunk * max(width, 1)) { scratch in
            let columns = scratch.baseAddress!, slivers = columns + chunk * max(width, 1)
            if let residual {
                residual.withUnsafeBufferPointer {
                    productsByColumns(geo, x: x, weights: weights, bias: bias, residual: $0.baseAddress, chunk: chunk,
                                      columns: columns, slivers: slivers, into: y)
                }
            } else {
                productsByColumns(geo, x: x, weights: weights, bias: bias, residual: nil, chunk: chunk, columns: columns,
                                  slivers: slivers, into: y)
            }
        }
    }

    private func productsByColumns(_ geo: ConvGeometry, x: UnsafePointer<Float>, weights: [GroupWeights], bias: [Float]?,
                                   residual: UnsafePointer<Float>?, chunk: Int, columns: UnsafeMutablePointer<Float>,
                                   slivers: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let width = geo.patchWidth, perGroup = geo.outChannels / group, positions = geo.positions
        for b in 0..<geo.batch {
            for g in 0..<group {
                var start = 0
                while start < positions {
                    let count = min(chunk, positions - start)
                    if geo.isPointwise {
                        // The patches are the input's channel planes themselves.
                        let planes = x + (b * geo.inChannels + g * geo.channelsPerGroup) * positions + start
                        rnnrt_pack_b(width, count, planes, positions, slivers)
                    } else {
                        geo.gatherColumns(x, item: b, group: g, positions: start..<(start + count), into: columns)
                        rnnrt_pack_b(width, count, columns, count, slivers)
                    }
                    // The product accumulates onto the bias (and the fused addend).
                    let offset = (b * geo.outChannels + g * perGroup) * positions + start
                    let c = y + offset
                    for m in 0..<perGroup {
                        let row = c + m * positions, initial = bias?[g * perGroup + m] ?? 0
                        if let residual {
                            let addend = residual + offset + m * positions
                            for j in 0..<count { row[j] = initial + addend[j] }
                        } else {
                            row.update(repeating: initial, count: count)
                        }
                    }
                    weights[g].stored.withUnsafeBufferPointer { w in
                        rnnrt_sgemm_packed_avx2(perGroup, count, width, w.baseAddress!, width, slivers, c, positions, 1)
                    }
                    start += count
                }
            }
        }
    }

    /// Positions as rows: every group's product, chunk by chunk of rows, into `y [N, M, positions]`.
    private func productsByRows(_ geo: ConvGeometry, x: UnsafePointer<Float>, weights: [GroupWeights], bias: [Float]?,
                                into y: UnsafeMutablePointer<Float>) {
        let width = geo.patchWidth, perGroup = geo.outChannels / group
        let total = geo.batch * geo.positions
        guard total > 0, perGroup > 0 else { return }
        let chunk = min(total, max(6, ConvOp.chunkFloats / max(width, 1)))
        withTemporaryFloats(chunk * (width + perGroup)) { scratch in
            productsByRows(geo, x: x, weights: weights, bias: bias, chunk: chunk, patches: scratch.baseAddress!,
                           products: scratch.baseAddress! + chunk * width, into: y)
        }
    }

    private func productsByRows(_ geo: ConvGeometry, x: UnsafePointer<Float>, weights: [GroupWeights], bias: [Float]?, chunk: Int,
                                patches: UnsafeMutablePointer<Float>, products: UnsafeMutablePointer<Float>,
                                into y: UnsafeMutablePointer<Float>) {
        let width = geo.patchWidth, perGroup = geo.outChannels / group
        let total = geo.batch * geo.positions
        for g in 0..<group {
            var start = 0
            while start < total {
                let rows = min(chunk, total - start)
                geo.gatherPatches(x, group: g, rows: start..<(start + rows), into: patches)
                if width == 0 {
                    for i in 0..<(rows * perGroup) { products[i] = 0 }
                } else {
                    weights[g].matrix.multiply(m: rows, a: patches, lda: width, c: products, ldc: perGroup, accumulate: false)
                }
                scatter(products, rows: start..<(start + rows), group: g, perGroup: perGroup, geo: geo, bias: bias, into: y)
                start += rows
            }
        }
    }

    /// Rows `[positions of (b, o)] × perGroup` of a group's result into `y [N, M, positions]`, bias added.
    private func scatter(_ products: UnsafePointer<Float>, rows: Range<Int>, group g: Int, perGroup: Int, geo: ConvGeometry,
                         bias: [Float]?, into y: UnsafeMutablePointer<Float>) {
        let positions = geo.positions
        var b = rows.lowerBound / positions, o = rows.lowerBound % positions
        for r in 0..<rows.count {
            let row = products + r * perGroup
            let base = y + (b * geo.outChannels + g * perGroup) * positions + o
            if let bias {
                for m in 0..<perGroup { base[m * positions] = row[m] + bias[g * perGroup + m] }
            } else {
                for m in 0..<perGroup { base[m * positions] = row[m] }
            }
            o += 1
            if o == positions { o = 0; b += 1 }
        }
    }
}

/// The shapes of one convolution: input, kernel and output extents (spatial axes padded to three, leading ones of
/// extent 1), strides, dilations and the padding at the start of each axis.
struct ConvGeometry {
    let batch: Int
    let inChannels: Int
    let outChannels: Int
    let channelsPerGroup: Int
    /// The real spatial output extents (rank − 2 of them).
    let outSize: [Int]
    /// Spatial extents, padded to three axes.
    let inExtent: [Int]
    let kernelExtent: [Int]
    let outExtent: [Int]
    let stride: [Int]
    let dilation: [Int]
    let padBegin: [Int]

    /// Output positions per item and channel.
    var positions: Int { outExtent[0] * outExtent[1] * outExtent[2] }
    /// Values in one patch: channels per group × kernel positions.
    var patchWidth: Int { channelsPerGroup * kernelExtent[0] * kernelExtent[1] * kernelExtent[2] }
    var inPositions: Int { inExtent[0] * inExtent[1] * inExtent[2] }
    /// A 1×1 kernel at stride 1 with no padding: output position p reads input position p of every channel.
    var isPointwise: Bool { kernelExtent == [1, 1, 1] && stride == [1, 1, 1] && padBegin == [0, 0, 0] && outExtent == inExtent }

    init(input: [Int], weights: [Int], group: Int, strides: [Int]?, dilations: [Int]?, pads: [Int]?, autoPad: String) throws {
        guard input.count >= 3, input.count <= 5, weights.count == input.count else {
            throw RNNRTError(.shapeMismatch, "Conv: X \(input.shapeDescription) and W \(weights.shapeDescription) must both be [N, C, spatial...] / [M, C/group, kernel...] with 1 to 3 spatial axes")
        }
        let spatial = input.count - 2
        batch = input[0]
        inChannels = input[1]
        outChannels = weights[0]
        channelsPerGroup = weights[1]
        guard input.checkedElementCount() != nil, Array(input[1...]).checkedElementCount() != nil,
              weights.checkedElementCount().map({ $0 > 0 }) == true else {
            throw RNNRTError(.shapeMismatch, "Conv: X \(input.shapeDescription) and W \(weights.shapeDescription) must have sizes that fit, and W at least one element")
        }
        guard group <= outChannels, channelsPerGroup.multipliedReportingOverflow(by: group) == (inChannels, false),
              outChannels % group == 0 else {
            throw RNNRTError(.shapeMismatch, "Conv: X has \(inChannels) channels but W \(weights.shapeDescription) expects \(channelsPerGroup) × group \(group)")
        }
        let inSize = Array(input[2...]), kSize = Array(weights[2...])
        let stride = strides ?? [Int](repeating: 1, count: spatial)
        let dilation = dilations ?? [Int](repeating: 1, count: spatial)
        guard stride.count == spatial, dilation.count == spatial, stride.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }),
              dilation.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }) else {
            throw RNNRTError(.invalidArgument, "Conv strides \(stride) and dilations \(dilation) must have \(spatial) positive entries")
        }
        var begin = [Int](repeating: 0, count: spatial), end = begin
        if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
            for i in 0..<spatial {
                let out = (inSize[i] + stride[i] - 1) / stride[i]
                let total = max(0, (out - 1) * stride[i] + (kSize[i] - 1) * dilation[i] + 1 - inSize[i])
                begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                end[i] = total - begin[i]
            }
        } else if autoPad != "VALID", let pads {
            guard pads.count == 2 * spatial, pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 24 }) else {
                throw RNNRTError(.invalidArgument, "Conv pads \(pads) must have \(2 * spatial) entries from 0 to 2^24")
            }
            begin = Array(pads[..<spatial]); end = Array(pads[spatial...])
        }
        var outSize: [Int] = []
        for i in 0..<spatial {
            let span = inSize[i] + begin[i] + end[i] - (kSize[i] - 1) * dilation[i] - 1
            outSize.append(span < 0 ? 0 : span / stride[i] + 1)
        }
        guard outSize.allSatisfy({ $0 > 0 }) else {
            throw RNNRTError(.shapeMismatch, "Conv output would be empty: input \(inSize.shapeDescription), kernel \(kSize.shapeDescription), pads \(begin + end), dilations \(dilation)")
        }
        guard ([batch, outChannels] + outSize).checkedElementCount().map({ $0 <= 1 << 32 }) == true,
              ([channelsPerGroup] + kSize).checkedElementCount().map({ $0 <= 1 << 28 }) == true else {
            throw RNNRTError(.invalidArgument, "Conv output [\(batch), \(outChannels)] + \(outSize.shapeDescription) is too large")
        }
        self.outSize = outSize
        let lead = [Int](repeating: 1, count: 3 - spatial), zeros = [Int](repeating: 0, count: 3 - spatial)
        inExtent = lead + inSize
        kernelExtent = lead + kSize
        outExtent = lead + outSize
        self.stride = lead + stride
        self.dilation = lead + dilation
        padBegin = zeros + begin
    }

    /// The input index that output index `o` reads at kernel index `k` along `axis`, or −1 in the padding.
    @inline(__always)
    func tap(_ axis: Int, _ o: Int, _ k: Int) -> Int {
        let position = o * stride[axis] - padBegin[axis] + k * dilation[axis]
        return position >= 0 && position < inExtent[axis] ? position : -1
    }

    /// The patches of output positions `positions` of item `b` and group `g`, row-major `[patchWidth × count]` (W's
    /// `[C/group, kernel...]` order down, positions across), zero in the padding: each kernel tap of an output row is
    /// one run of an input row (a stride apart), copied whole where the stride is 1.
    func gatherColumns(_ x: UnsafePointer<Float>, item b: Int, group g: Int, positions: Range<Int>,
                       into columns: UnsafeMutablePointer<Float>) {
        let (k0, k1, k2) = (kernelExtent[0], kernelExtent[1], kernelExtent[2])
        let (w1, w2) = (inExtent[1], inExtent[2])
        let rowLength = outExtent[2], count = positions.count
        let (s2, d2, pad2) = (stride[2], dilation[2], padBegin[2])
        let channels = x + (b * inChannels + g * channelsPerGroup) * inPositions
        do {
            do {
                var row = columns
                for ci in 0..<channelsPerGroup {
                    let channel = channels + ci * inPositions
                    for a in 0..<k0 {
                        for c in 0..<k1 {
                            for e in 0..<k2 {
                                defer { row += count }
                                // The output rows (o0, o1) the positions span, each a segment of o2.
                                var q = positions.lowerBound
                                var line = q / rowLength
                                var o2 = q - line * rowLength
                                var out = row
                                while q < positions.upperBound {
                                    let n = min(positions.upperBound - q, rowLength - o2)
                                    let p0 = tap(0, line / outExtent[1], a), p1 = tap(1, line % outExtent[1], c)
                                    if p0 < 0 || p1 < 0 {
                                        out.update(repeating: 0, count: n)
                                    } else {
                                        // Input columns o2·s2 − pad2 + e·d2 for the n positions: zero outside [0, w2).
                                        let source = channel + (p0 * w1 + p1) * w2
                                        let first = o2 * s2 - pad2 + e * d2
                                        // The positions whose column lies inside: [lo, hi).
                                        let lo = first >= 0 ? 0 : min(n, (-first + s2 - 1) / s2)
                                        let hi = first >= w2 ? 0 : max(lo, min(n, (w2 - 1 - first) / s2 + 1))
                                        if lo > 0 { out.update(repeating: 0, count: lo) }
                                        if s2 == 1 {
                                            (out + lo).update(from: source + first + lo, count: hi - lo)
                                        } else {
                                            var p = first + lo * s2
                                            for j in lo..<hi { out[j] = source[p]; p += s2 }
                                        }
                                        if hi < n { (out + hi).update(repeating: 0, count: n - hi) }
                                    }
                                    out += n
                                    q += n
                                    line += 1
                                    o2 = 0
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The patches of output rows `rows` (row = item · positions + position) of group `g`, each `patchWidth` values
    /// ordered as W's `[C/group, kernel...]`, zero in the padding.
    func gatherPatches(_ x: UnsafePointer<Float>, group g: Int, rows: Range<Int>, into patches: UnsafeMutablePointer<Float>) {
        let (k0, k1, k2) = (kernelExtent[0], kernelExtent[1], kernelExtent[2])
        let (w1, w2) = (inExtent[1], inExtent[2])
        let (s2, d2, pad2) = (stride[2], dilation[2], padBegin[2])
        let channelSize = inPositions
        var b = rows.lowerBound / positions
        let o = rows.lowerBound % positions
        var o2 = o % outExtent[2], o1 = (o / outExtent[2]) % outExtent[1], o0 = o / (outExtent[2] * outExtent[1])
        var out = patches
        for _ in rows {
            let first2 = o2 * s2 - pad2
            for ci in 0..<channelsPerGroup {
                let channel = x + (b * inChannels + g * channelsPerGroup + ci) * channelSize
                for a in 0..<k0 {
                    let p0 = tap(0, o0, a)
                    for c in 0..<k1 {
                        let p1 = tap(1, o1, c)
                        if p0 < 0 || p1 < 0 {
                            out.update(repeating: 0, count: k2)
                        } else {
                            let line = channel + (p0 * w1 + p1) * w2
                            for e in 0..<k2 {
                                let p2 = first2 + e * d2
                                out[e] = p2 >= 0 && p2 < w2 ? line[p2] : 0
                            }
                        }
                        out += k2
                    }
                }
            }
            o2 += 1
            if o2 == outExtent[2] {
                o2 = 0; o1 += 1
                if o1 == outExtent[1] {
                    o1 = 0; o0 += 1
                    if o0 == outExtent[0] { o0 = 0; b += 1 }
                }
            }
        }
    }
}
