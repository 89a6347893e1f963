import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// ONNX `Conv` (1-D, 2-D and 3-D; groups, strides, dilations, pads, `auto_pad`) as matrix products, in one of two
/// orientations chosen per call by the number of output positions:
///
/// - **Positions as columns** (with the AVX2 kernels, from `columnsFrom` positions per item): per item and group,
///   `Y_g [M/group × positions] = W_g [M/group × C/group·K] · patches [C/group·K × positions]` by
///   `rnnrt_conv_product_avx2`, W_g in its row slivers (packed once) and no patch matrix: each patch value is a fixed
///   offset into a `ShiftedImage` of the input (the input itself at stride 1 without padding, else a padded copy
///   split into stride phases), the result written in place in `Y`'s `[N, M, positions]` layout with the bias.
/// - **Positions as rows** (few positions per item, or the portable kernels): the output positions of every batch
///   item are the rows of one product on each group's `WeightMatrix` (packed once at load when `W` is a constant),
///   `Y_gᵀ [positions × M/group] = patchesᵀ · W_gᵀ`, so a front end that sees a few positions per item still gives
///   the kernels many rows; the patches are gathered in chunks that stay in L2, and each chunk of rows is written to
///   `Y` with the bias added.
///
/// An activation fused into the node (`Plan.fuse`) is applied to the whole output at the end.
struct ConvOp: GraphOperator {
    let label: String
    let group: Int
    let strides: [Int]?
    let dilations: [Int]?
    let pads: [Int]?
    let autoPad: String
    /// Per group, `W_g [M/group × C/group·K]` (the right operand `W_gᵀ` when positions are rows, in its row slivers the
    /// left operand when they are columns), when `W` is a constant.
    let weights: [WeightMatrix]?
    /// `W`'s shape, when it is a constant.
    let weightShape: [Int]?
    /// A constant `W` with one input channel per group (depthwise, or a single input channel), as stored:
    /// `[M, 1, kernel...]`.
    let depthwise: [Float]?
    /// A constant 2-D 3×3 `W` of one group, transformed for Winograd's F(2×2, 3×3), when its channels are enough for
    /// that to pay (`winogradFrom`).
    let winograd: WinogradWeights?
    /// `B`, when it is a constant.
    let bias: [Float]?
    private(set) var activation: ActivationFunction?
    /// Whether input 3 is an addend of the output (an `Add` fused into the node, `Plan.fuse`), added before the
    /// activation.
    private(set) var addsInput = false

    /// Patch floats a chunk of rows holds (256 KB).
    static let chunkFloats = 1 << 16
    /// Output positions per item from which they are the product's columns.
    static let columnsFrom = 64
    /// Input and output channels from which a 3×3 convolution at stride 1 takes Winograd's F(2×2, 3×3) (fewer spend
    /// more time on the transforms than the products save).
    static let winogradFrom = 16

    /// `winogradAllowed`: false for a convolution whose sums must stay exact (Winograd's transforms are not).
    init(context ctx: OperatorContext, winogradAllowed: Bool = true) throws {
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
            let square3 = w.shape.count == 4 && w.shape[2] == 3 && w.shape[3] == 3
            winograd = winogradAllowed && group == 1 && square3 && min(w.shape[0], w.shape[1]) >= ConvOp.winogradFrom
                ? WinogradWeights(weights: values, outputs: w.shape[0], inputs: w.shape[1]) : nil
            depthwise = w.shape[1] == 1 ? values : nil
        } else {
            weightShape = nil
            weights = nil
            winograd = nil
            depthwise = nil
        }
        bias = try ctx.constantInput(2).map { try $0.floats("Conv B") }
    }

    /// This operator (of `node`, with the constant `weights` and `bias`) followed by `y·scale[m] + shift[m]` on each
    /// output channel m: the same operator on `W·scale` and `B·scale + shift`.
    func folding(_ node: GraphNode, opset: Int64, scale: [Float], shift: [Float]?, weights: GraphTensor?,
                 bias: GraphTensor?) throws -> ConvOp {
        guard let weights, let shape = weightShape, scale.count == shape[0], node.inputs.count >= 2 else {
            throw RNNRTError(.invalidArgument, "\(label): no constant weights to fold a scale into")
        }
        let perChannel = shape.dropFirst().reduce(1, *)
        let w = try weights.floats("Conv W"), b = try bias?.floats("Conv B") ?? [Float](repeating: 0, count: shape[0])
        guard w.count == shape[0] * perChannel, b.count == shape[0] else {
            throw RNNRTError(.shapeMismatch, "\(label): W and B do not match \(shape.shapeDescription)")
        }
        let scaled = (0..<w.count).map { w[$0] * scale[$0 / perChannel] }
        let newBias = (0..<shape[0]).map { b[$0] * scale[$0] + (shift?[$0] ?? 0) }
        var folded = node
        let biasName = node.inputs.count > 2 && !node.inputs[2].isEmpty ? node.inputs[2] : "\(node.inputs[1]) folded bias"
        folded.inputs = [node.inputs[0], node.inputs[1], biasName]
        let wName = node.inputs[1]
        let context = OperatorContext(node: folded, opset: opset) { name in
            name == wName ? GraphTensor(shape: shape, floats: scaled)
                : name == biasName ? GraphTensor(shape: [shape[0]], floats: newBias) : nil
        }
        return try ConvOp(context: context)
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
    static func groupMatrices(_ w: [Float], shape: [Int], group: Int) -> [WeightMatrix] {
        let rows = shape[0] / group, cols = shape.dropFirst().reduce(1, *)
        let storage = FloatStorage(w)
        return (0..<group).map { g in
            let part = storage.slice((g * rows * cols)..<((g + 1) * rows * cols)) ?? storage
            return WeightMatrix(weights: part, rows: rows, cols: cols, layout: .constantOperand)
        }
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let xT = try Check.input(inputs, 0, "X")
        let x = try xT.floats("Conv X")
        let wShape: [Int], matrices: [WeightMatrix]
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
                // One input channel of one group: depthwise over many positions; a few positions (an STFT's frames
                // under a long kernel) are the product's rows instead.
                if KernelSet.avx2, let depthwise, geometry.channelsPerGroup == 1,
                   group > 1 || geometry.positions >= ConvOp.columnsFrom, let image = geometry.shiftedImage() {
                    productsDepthwise(geometry, image: image, x: xp.baseAddress!, weights: depthwise, bias: b,
                                      residual: residual, into: buffer.baseAddress!)
                } else if let winograd, geometry.suitsWinograd, geometry.positions >= ConvOp.columnsFrom,
                   let image = geometry.shiftedImage() {
                    productsByWinograd(geometry, image: image, x: xp.baseAddress!, weights: winograd, bias: b,
                                       residual: residual, into: buffer.baseAddress!)
                } else if KernelSet.avx2 && geometry.positions >= ConvOp.columnsFrom, let image = geometry.shiftedImage() {
                    productsByColumns(geometry, image: image, x: xp.baseAddress!, weights: matrices, bias: b,
                                      residual: residual, into: buffer.baseAddress!)
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

    /// Positions as columns: per item and group, `rnnrt_conv_product_avx2` on the group's row slivers and the item's
    /// shifted image, each output depth plane written in place in `y [N, M, positions]`, onto the fused addend.
    private func productsByColumns(_ geo: ConvGeometry, image: ShiftedImage, x: UnsafePointer<Float>,
                                   weights: [WeightMatrix], bias: [Float]?, residual: [Float]?,
                                   into y: UnsafeMutablePointer<Float>) {
        let perGroup = geo.outChannels / group, positions = geo.positions
        guard perGroup > 0 else { return }
        residual?.withUnsafeBufferPointer { y.update(from: $0.baseAddress!, count: geo.batch * geo.outChannels * positions) }
        withTemporaryFloats(geo.scratchFloats(for: image)) { scratch in
            for b in 0..<geo.batch {
                let source = geo.itemImage(image, from: x, item: b, scratch: scratch.baseAddress!)
                for g in 0..<group {
                    let c = y + (b * geo.outChannels + g * perGroup) * positions
                    product(geo, image: image, group: g, weights: weights[g],
                            from: source + g * geo.channelsPerGroup * image.channelFloats, bias: bias,
                            accumulate: residual != nil, into: c)
                }
            }
        }
    }

    /// One input channel per group: every output channel a sum over its taps of shifted rows of its input channel's
    /// plane (`rnnrt_conv_depthwise_avx2`), item by item and output depth plane by plane, onto the fused addend.
    private func productsDepthwise(_ geo: ConvGeometry, image: ShiftedImage, x: UnsafePointer<Float>, weights: [Float],
                                   bias: [Float]?, residual: [Float]?, into y: UnsafeMutablePointer<Float>) {
        if residual == nil, let lines = geo.alongLines {
            productsAlongLines(geo, lines, x: x, weights: weights, bias: bias, into: y)
            return
        }
        let outFloats = geo.outChannels * geo.positions, plane = geo.outExtent[1] * geo.outExtent[2]
        residual?.withUnsafeBufferPointer { y.update(from: $0.baseAddress!, count: geo.batch * outFloats) }
        withTemporaryFloats(geo.scratchFloats(for: image)) { scratch in
            weights.withUnsafeBufferPointer { w in
                image.offsets.withUnsafeBufferPointer { offsets in
                    let run = { (bias: UnsafePointer<Float>?) in
                        for b in 0..<geo.batch {
                            let source = geo.itemImage(image, from: x, item: b, scratch: scratch.baseAddress!)
                            for z in 0..<geo.outExtent[0] {
                                rnnrt_conv_depthwise_avx2(geo.outChannels, geo.outChannels / group, offsets.count,
                                                          w.baseAddress!, source + z * image.planeFloats,
                                                          image.channelFloats, offsets.baseAddress!, geo.outExtent[1],
                                                          image.extent[2], geo.outExtent[2], bias,
                                                          y + b * outFloats + z * plane, geo.positions,
                                                          residual != nil ? 1 : 0)
                            }
                        }
                    }
                    if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
                }
            }
        }
    }

    /// A depthwise convolution whose kernel spans one line: each item's channels as long lines
    /// (`rnnrt_conv_depthwise_lines_avx2`), with no padded image.
    private func productsAlongLines(_ geo: ConvGeometry, _ lines: (lines: Int, taps: Int, stride: Int, padBefore: Int),
                                    x: UnsafePointer<Float>, weights: [Float], bias: [Float]?,
                                    into y: UnsafeMutablePointer<Float>) {
        let inFloats = geo.inChannels * geo.inPositions, outFloats = geo.outChannels * geo.positions
        let scratch = lines.stride * (geo.positions + 2 * Int(RNNRT_DEPTHWISE_LINES_SLACK))
        withTemporaryFloats(scratch) { scratch in
            weights.withUnsafeBufferPointer { w in
                let run = { (bias: UnsafePointer<Float>?) in
                    for b in 0..<geo.batch {
                        rnnrt_conv_depthwise_lines_avx2(geo.outChannels, geo.outChannels / group, lines.taps,
                                                        w.baseAddress!, x + b * inFloats, lines.lines, geo.inExtent[2],
                                                        geo.outExtent[2], lines.stride, lines.padBefore, bias,
                                                        y + b * outFloats, scratch.baseAddress!)
                    }
                }
                if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
            }
        }
    }

    /// A 3×3 convolution at stride 1 by Winograd's F(2×2, 3×3), item by item, on the item's padded image (copied with
    /// the slack the kernel reads past it), onto the fused addend.
    private func productsByWinograd(_ geo: ConvGeometry, image: ShiftedImage, x: UnsafePointer<Float>,
                                    weights: WinogradWeights, bias: [Float]?, residual: [Float]?,
                                    into y: UnsafeMutablePointer<Float>) {
        let itemFloats = geo.inChannels * image.channelFloats, outFloats = geo.outChannels * geo.positions
        residual?.withUnsafeBufferPointer { y.update(from: $0.baseAddress!, count: geo.batch * outFloats) }
        let slack = image.extent[2] + 32
        withTemporaryFloats(itemFloats + slack + weights.scratchFloats) { scratch in
            let copy = scratch.baseAddress!, work = copy + itemFloats + slack
            (copy + itemFloats).update(repeating: 0, count: slack)
            let run = { (bias: UnsafePointer<Float>?) in
                for b in 0..<geo.batch {
                    geo.fillImage(image, from: x, item: b, into: copy)
                    weights.convolve(image: copy, rows: image.extent[1], cols: image.extent[2], oh: geo.outExtent[1],
                                     ow: geo.outExtent[2], bias: bias, into: y + b * outFloats,
                                     accumulate: residual != nil, scratch: work)
                }
            }
            if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
        }
    }

    /// One item's and group's product, output depth plane by plane.
    private func product(_ geo: ConvGeometry, image: ShiftedImage, group g: Int, weights: WeightMatrix,
                         from source: UnsafePointer<Float>, bias: [Float]?, accumulate: Bool,
                         into c: UnsafeMutablePointer<Float>) {
        let perGroup = geo.outChannels / group, plane = geo.outExtent[1] * geo.outExtent[2]
        _ = weights.withRowSlivers { a6 in
            image.offsets.withUnsafeBufferPointer { offsets in
                let run = { (bias: UnsafePointer<Float>?) in
                    for z in 0..<geo.outExtent[0] {
                        rnnrt_conv_product_avx2(perGroup, geo.patchWidth, a6, source + z * image.planeFloats,
                                                offsets.baseAddress!, geo.outExtent[1], image.extent[2],
                                                geo.outExtent[2], bias, c + z * plane, geo.positions, accumulate ? 1 : 0)
                    }
                }
                if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress! + g * perGroup) } } else { run(nil) }
            }
        }
    }

    /// Positions as rows: every group's product, chunk by chunk of rows, into `y [N, M, positions]`.
    private func productsByRows(_ geo: ConvGeometry, x: UnsafePointer<Float>, weights: [WeightMatrix], bias: [Float]?,
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

    private func productsByRows(_ geo: ConvGeometry, x: UnsafePointer<Float>, weights: [WeightMatrix], bias: [Float]?, chunk: Int,
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
                    weights[g].multiply(m: rows, a: patches, lda: width, c: products, ldc: perGroup, accumulate: false)
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
