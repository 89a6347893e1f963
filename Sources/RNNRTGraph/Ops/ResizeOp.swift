import RNNRTCore

/// ONNX `Resize` (opset 10 on) and `Upsample` (opset 7 to 9): modes `nearest` (any element kind; nearest_mode
/// round_prefer_floor, round_prefer_ceil, floor, ceil) and `linear` (float; interpolated along every resized axis,
/// so bilinear on an image's two spatial axes), coordinate_transformation_mode half_pixel, half_pixel_symmetric,
/// pytorch_half_pixel, align_corners, asymmetric and tf_half_pixel_for_nn; output sizes from `scales` or `sizes`
/// (opset 18: `axes`, keep_aspect_ratio_policy). Before opset 11 the mapping is `asymmetric`, nearest taking the
/// floor when enlarging and the ceiling when shrinking, as onnxruntime does.
struct ResizeOp: GraphOperator {
    let label: String
    let linear: Bool
    let coordinates: String
    let nearestMode: String
    let axes: [Int64]?
    let aspectPolicy: String
    /// The inputs holding scales and sizes (nil when absent in this form).
    let scalesInput: Int?
    let sizesInput: Int?
    /// Upsample's scales attribute (opset 7 and 8).
    let scalesAttribute: [Float]?

    static let coordinateModes = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                                  "tf_half_pixel_for_nn"]

    init(context ctx: OperatorContext, upsample: Bool) throws {
        let node = ctx.node
        label = node.label
        let mode = try node.string("mode", default: "nearest")
        guard ["nearest", "linear", "bilinear"].contains(mode) else {
            throw RNNRTError(.unsupported, "\(label): mode '\(mode)' is not supported (nearest and linear are)")
        }
        linear = mode != "nearest"
        let modern = !upsample && ctx.opset >= 11
        coordinates = modern ? try node.string("coordinate_transformation_mode", default: "half_pixel") : "asymmetric"
        nearestMode = modern ? try node.string("nearest_mode", default: "round_prefer_floor") : "simple"
        guard ResizeOp.coordinateModes.contains(coordinates) else {
            throw RNNRTError(.unsupported, "\(label): coordinate_transformation_mode '\(coordinates)' is not supported (\(ResizeOp.coordinateModes.joined(separator: ", ")) are)")
        }
        guard ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple"].contains(nearestMode) else {
            throw RNNRTError(.malformed, "\(label): nearest_mode '\(nearestMode)' must be round_prefer_floor, round_prefer_ceil, floor or ceil")
        }
        guard try node.int("antialias", default: 0) == 0 else {
            throw RNNRTError(.unsupported, "\(label): antialias is not supported")
        }
        axes = try node.ints("axes")
        aspectPolicy = try node.string("keep_aspect_ratio_policy", default: "stretch")
        guard ["stretch", "not_larger", "not_smaller"].contains(aspectPolicy) else {
            throw RNNRTError(.malformed, "\(label): keep_aspect_ratio_policy '\(aspectPolicy)' must be stretch, not_larger or not_smaller")
        }
        scalesAttribute = upsample && ctx.opset < 9 ? try node.floats("scales") : nil
        scalesInput = scalesAttribute != nil ? nil : (modern ? 2 : 1)
        sizesInput = modern ? 3 : nil
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let x = try Check.input(inputs, 0, "X")
        guard x.shape.checkedElementCount() != nil else {
            throw RNNRTError(.shapeMismatch, "\(label): X \(x.shape.shapeDescription) is too large")
        }
        let (outShape, scales) = try target(x.shape, inputs)
        guard try Check.elementCount(outShape, "\(label): output") > 0 else {
            // Nothing to compute; the other axes may still be huge (no source map is made for them).
            return [GraphTensor(shape: outShape, elements: x.elements.picking([]))]
        }
        var current = x
        // Shrinking axes first, so no intermediate holds more elements than the input or the output; then growing
        // ones from the least growth to the most, so the intermediates stay as small as they can.
        let growth = { (axis: Int) in Double(outShape[axis]) / Double(Swift.max(x.shape[axis], 1)) }
        let axes = (0..<x.rank).filter { outShape[$0] != x.shape[$0] || scales[$0] != 1 }
        for axis in axes.sorted(by: { (growth($0), -$0) < (growth($1), -$1) }) {
            try RunLimits.current?.check("in \(label), before axis \(axis)")
            let maps = (0..<outShape[axis]).map { source(axis: axis, $0, inSize: x.shape[axis], outSize: outShape[axis], scale: scales[axis]) }
            let next = try linear ? interpolate(current, axis: axis, maps) : pick(current, axis: axis, maps, scale: scales[axis])
            if current != x { recycleIntermediate(current) }
            current = next
        }
        return [current]
    }

    /// The output shape and each axis's scale, from scales (an attribute or input) or sizes.
    private func target(_ shape: [Int], _ inputs: [GraphTensor?]) throws -> ([Int], [Float]) {
        let rank = shape.count
        let axes = try (self.axes ?? (0..<Int64(rank)).map { $0 }).map { try Check.axis($0, rank: rank, "\(label) axes") }
        func present(_ index: Int?) -> GraphTensor? {
            guard let index, index < inputs.count, let t = inputs[index], (t.shape.checkedElementCount() ?? 0) > 0 else { return nil }
            return t
        }
        if let scales = try scalesAttribute ?? present(scalesInput).map({ try $0.floats("\(label) scales") }) {
            guard scales.count == axes.count, scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw RNNRTError(.invalidArgument, "\(label): scales \(scales) must be \(axes.count) positive values")
            }
            var out = shape, all = [Float](repeating: 1, count: rank)
            for (a, s) in zip(axes, scales) {
                all[a] = s
                let size = Float(shape[a]) * s
                guard size < 1e12 else { throw RNNRTError(.invalidArgument, "\(label): scale \(s) makes axis \(a) too large") }
                out[a] = Int(size.rounded(.down))
            }
            return (out, all)
        }
        guard let sizesT = present(sizesInput) else {
            throw RNNRTError(.invalidArgument, "\(label): needs scales or sizes")
        }
        let sizes = try Check.intList(sizesT, "\(label) sizes")
        guard sizes.count == axes.count, sizes.allSatisfy({ $0 >= 0 }) else {
            throw RNNRTError(.invalidArgument, "\(label): sizes \(sizes) must be \(axes.count) values ≥ 0")
        }
        return try fitted(shape, axes: axes, sizes: sizes)
    }

    /// Output shape and scales for requested `sizes` under the aspect-ratio policy.
    private func fitted(_ shape: [Int], axes: [Int], sizes: [Int]) throws -> ([Int], [Float]) {
        var out = shape, scales = [Float](repeating: 1, count: shape.count)
        let ratios = zip(axes, sizes).map { a, s in shape[a] == 0 ? 1 : Float(s) / Float(shape[a]) }
        for (k, a) in axes.enumerated() {
            if aspectPolicy == "stretch" {
                out[a] = sizes[k]
                scales[a] = ratios[k]
            } else {
                let s = (aspectPolicy == "not_larger" ? ratios.min() : ratios.max()) ?? 1
                scales[a] = s
                let size = (s * Float(shape[a])).rounded()
                guard size < 1e12 else { throw RNNRTError(.invalidArgument, "\(label): sizes \(sizes) make axis \(a) too large") }
                out[a] = Int(size)
            }
        }
        return (out, scales)
    }

    /// The input coordinate of output index `o` along an axis.
    private func source(axis: Int, _ o: Int, inSize: Int, outSize: Int, scale: Float) -> Float {
        let x = Float(o)
        switch coordinates {
        case "half_pixel": return (x + 0.5) / scale - 0.5
        case "pytorch_half_pixel": return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0
        case "align_corners": return outSize == 1 ? 0 : x * Float(inSize - 1) / Float(outSize - 1)
        case "tf_half_pixel_for_nn": return (x + 0.5) / scale
        case "half_pixel_symmetric":
            let adjustment = Float(outSize) / (scale * Float(inSize))
            let offset = Float(inSize) * (1 - adjustment) / 2
            return offset + (x + 0.5) / scale - 0.5
        default: return x / scale
        }
    }

    /// The input index nearest mode reads at coordinate `x`, within `0..<inSize`.
    private func nearest(_ x: Float, inSize: Int, scale: Float) -> Int {
        let i: Float
        switch nearestMode {
        case "round_prefer_ceil": i = (x + 0.5).rounded(.down)
        case "floor": i = x.rounded(.down)
        case "ceil": i = x.rounded(.up)
        case "simple": i = scale < 1 ? x.rounded(.up) : x.rounded(.towardZero)
        default: i = (x - 0.5).rounded(.up)
        }
        guard i.isFinite else { return 0 }
        return Swift.min(Swift.max(Int(Swift.max(Swift.min(i, 1e12), -1e12)), 0), inSize - 1)
    }

    /// Refuses filling a non-empty output from an empty axis (`others`: the elements per index of the axis).
    private func checkSource(_ inSize: Int, _ maps: [Float], _ others: Int, _ axis: Int) throws {
        guard inSize > 0 || maps.isEmpty || others == 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): cannot resize an empty axis \(axis) to \(maps.count)")
        }
    }

    /// Nearest resizing along `axis`: each output index reads one input index (any element kind).
    private func pick(_ t: GraphTensor, axis: Int, _ maps: [Float], scale: Float) throws -> GraphTensor {
        let inSize = t.shape[axis]
        let outer = t.shape[..<axis].reduce(1, *), inner = t.shape[(axis + 1)...].reduce(1, *)
        try checkSource(inSize, maps, outer * inner, axis)
        let rows = maps.map { nearest($0, inSize: inSize, scale: scale) }
        var shape = t.shape
        shape[axis] = maps.count
        return GraphTensor(shape: shape, elements: t.elements.gatheringBlocks(rows, outer: outer, extent: inSize, inner: inner))
    }

    /// Linear resizing along `axis`: each output index a blend of the two input indices around its coordinate
    /// (clamped to the axis).
    private func interpolate(_ t: GraphTensor, axis: Int, _ maps: [Float]) throws -> GraphTensor {
        let x = try t.floats("\(label) X")
        let inSize = t.shape[axis]
        let outer = t.shape[..<axis].reduce(1, *), inner = t.shape[(axis + 1)...].reduce(1, *)
        try checkSource(inSize, maps, outer * inner, axis)
        let taps = maps.map { c -> (Int, Int, Float) in
            let clamped = Swift.min(Swift.max(c.isNaN ? 0 : c, 0), Float(Swift.max(inSize - 1, 0)))
            let i0 = Int(clamped.rounded(.down))
            return (i0, Swift.min(i0 + 1, inSize - 1), clamped - Float(i0))
        }
        var shape = t.shape
        shape[axis] = maps.count
        let out = outputFloats(outer * maps.count * inner) { y in
            var p = 0
            for o in 0..<outer {
                for (i0, i1, w) in taps {
                    let a = (o * inSize + i0) * inner, b = (o * inSize + i1) * inner
                    for i in 0..<inner { y[p] = x[a + i] * (1 - w) + x[b + i] * w; p += 1 }
                }
            }
        }
        return GraphTensor(shape: shape, floats: out)
    }
}
