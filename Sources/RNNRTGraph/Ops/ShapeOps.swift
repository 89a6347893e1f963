import RNNRTCore

extension GraphTensor.Elements {
    /// The elements at `indices` (each a valid index), keeping the element kind.
    func picking(_ indices: [Int]) -> GraphTensor.Elements {
        switch self {
        case .float(let v): return .float(indices.mapOutput { v[$0] })
        case .int(let v): return .int(indices.mapOutput { v[$0] })
        case .bool(let v): return .bool(indices.mapOutput { v[$0] })
        }
    }

    /// Bytes per element: float32 4, int64 8, bool 1 (for a memory limit's count).
    var elementSize: Int {
        switch self {
        case .float: return MemoryLayout<Float>.size
        case .int: return MemoryLayout<Int64>.size
        case .bool: return MemoryLayout<Bool>.size
        }
    }

    var count: Int {
        switch self {
        case .float(let v): return v.count
        case .int(let v): return v.count
        case .bool(let v): return v.count
        }
    }
}

extension GraphTensor.Elements {
    /// A gather along an axis of `extent`, with `outer` elements' worth of groups before it and `inner` elements after
    /// it: for each group, the blocks of `inner` elements at `indices` (each in `0..<extent`) in turn, copied block by
    /// block (no index per element, which would take 8 bytes each). Blocks of a few elements are copied element by
    /// element: a copy call per block would cost more than the elements.
    func gatheringBlocks(_ indices: [Int], outer: Int, extent: Int, inner: Int) -> GraphTensor.Elements {
        func gather<T: BitwiseCopyable>(_ v: [T]) -> [T] {
            outputArray(outer * indices.count * inner) { out in
                guard var next = out.baseAddress, inner > 0 else { return }
                v.withUnsafeBufferPointer { src in
                    for o in 0..<outer {
                        let group = src.baseAddress! + o * extent * inner
                        if inner == 1 {
                            for i in indices { next.initialize(to: group[i]); next += 1 }
                        } else if inner < 8 {
                            for i in indices {
                                for k in 0..<inner { next[k] = group[i * inner + k] }
                                next += inner
                            }
                        } else {
                            for i in indices { next.update(from: group + i * inner, count: inner); next += inner }
                        }
                    }
                }
            }
        }
        switch self {
        case .float(let v): return .float(gather(v))
        case .int(let v): return .int(gather(v))
        case .bool(let v): return .bool(gather(v))
        }
    }

    /// The strided view `shape`/`strides`/`offset` (in source elements, C order) copied out contiguously:
    /// the innermost axis in a tight loop, no index array (which would take 8 bytes per element).
    func view(shape: [Int], strides: [Int], offset: Int) -> GraphTensor.Elements {
        switch self {
        case .float(let v): return .float(stridedCopy(v, shape: shape, strides: strides, offset: offset))
        case .int(let v): return .int(stridedCopy(v, shape: shape, strides: strides, offset: offset))
        case .bool(let v): return .bool(stridedCopy(v, shape: shape, strides: strides, offset: offset))
        }
    }
}

/// The elements of a strided view of `source` in C order, in an operator's output (floats from the running plan's
/// arena).
func stridedCopy<T: BitwiseCopyable>(_ source: [T], shape: [Int], strides: [Int], offset: Int) -> [T] {
    let n = shape.reduce(1, *)
    return outputArray(n) { out in
        if n > 0 { source.withUnsafeBufferPointer { stridedCopy($0, shape: shape, strides: strides, offset: offset, into: out.baseAddress!) } }
    }
}

/// The elements of a strided view of `source` (view elements, at least one) written in C order to `out`. Axes that lie
/// contiguously in `source` are merged first, so a slice or a concatenation-like view copies whole runs; the view's
/// reachable range is checked once (a view outside `source` is a programmer error).
func stridedCopy<T: BitwiseCopyable>(_ source: UnsafeBufferPointer<T>, shape: [Int], strides: [Int], offset: Int,
                                      into out: UnsafeMutablePointer<T>) {
    let n = shape.reduce(1, *)
    var (shape, strides) = (shape, strides)
    while shape.count >= 2, strides[shape.count - 2] == shape[shape.count - 1] * strides[shape.count - 1] {
        let last = shape.removeLast()
        shape[shape.count - 1] *= last
        strides.remove(at: strides.count - 2)  // the merged axis steps as the inner one did
    }
    guard let inner = shape.last, let innerStride = strides.last else { out.initialize(to: source[offset]); return }
    var lowest = offset, highest = offset
    for (extent, stride) in zip(shape, strides) {
        if stride < 0 { lowest += (extent - 1) * stride } else { highest += (extent - 1) * stride }
    }
    precondition(lowest >= 0 && highest < source.count, "strided view outside its source")
    // The last two axes a transposition (the outer one contiguous in the source, the inner one strided, as in NCHW to
    // NHWC): each of their planes is copied in tiles, so reads and writes both run along cache lines.
    let transposes = shape.count >= 2 && innerStride != 1 && strides[shape.count - 2] == 1
        && shape[shape.count - 2] >= 8 && inner >= 8
    let outerRank = shape.count - (transposes ? 2 : 1)
    let block = transposes ? shape[shape.count - 2] * inner : inner
    do {
        let base = source.baseAddress!
        var index = [Int](repeating: 0, count: outerRank)
        var position = offset
        var o = 0
        while o < n {
            if transposes {
                transposedTiles(base + position, rows: shape[shape.count - 2], cols: inner, colStride: innerStride, into: out + o)
            } else if innerStride == 1 {
                (out + o).update(from: base + position, count: inner)
            } else {
                var p = position
                for j in 0..<inner { out[o + j] = base[p]; p += innerStride }
            }
            o += block
            var axis = outerRank - 1
            while axis >= 0 {
                index[axis] += 1
                position += strides[axis]
                if index[axis] < shape[axis] { break }
                position -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// `out[r · cols + c] = source[r + c · colStride]` for `r < rows`, `c < cols`, in tiles of 16 × 16: each tile reads
/// 16 runs of 16 source elements and writes 16 runs of 16 output elements.
func transposedTiles<T: BitwiseCopyable>(_ source: UnsafePointer<T>, rows: Int, cols: Int, colStride: Int,
                                         into out: UnsafeMutablePointer<T>) {
    let tile = 16
    for r0 in stride(from: 0, to: rows, by: tile) {
        let r1 = min(r0 + tile, rows)
        for c0 in stride(from: 0, to: cols, by: tile) {
            let c1 = min(c0 + tile, cols)
            for r in r0..<r1 {
                let row = out + r * cols
                var p = source + r + c0 * colStride
                for c in c0..<c1 { row[c] = p.pointee; p += colStride }
            }
        }
    }
}

/// Operators that reshape, reorder, select or create tensors without arithmetic.
enum ShapeOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["Identity"] = identity
        r["Dropout"] = dropout
        r["Constant"] = constant
        r["Shape"] = shape
        r["Size"] = size
        r["ConstantOfShape"] = constantOfShape
        r["Range"] = range
        r["Reshape"] = reshape
        r["Flatten"] = flatten
        r["Squeeze"] = squeeze
        r["Unsqueeze"] = unsqueeze
        r["Transpose"] = transpose
        r["Concat"] = concat
        r["Split"] = split
        r["Slice"] = slice
        r["Gather"] = gather
        r["Expand"] = expand
        r["Tile"] = tile
        r["Pad"] = pad
    }

    static func identity(_ ctx: OperatorContext) throws -> GraphOperator {
        passThrough("input")
    }

    static func dropout(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            // Inference: the input unchanged, and an all-true mask when asked for.
            let x = try Check.input(inputs, 0, "data")
            return [x, GraphTensor(shape: x.shape, bools: [Bool](repeating: true, count: x.count))]
        }
    }

    static func constant(_ ctx: OperatorContext) throws -> GraphOperator {
        let node = ctx.node
        let value: GraphTensor
        if case .tensor(let t)? = node.attributes["value"] { value = try GraphTensor(t) }
        else if case .float(let f)? = node.attributes["value_float"] { value = GraphTensor(shape: [], floats: [f]) }
        else if case .floats(let f)? = node.attributes["value_floats"] { value = GraphTensor(shape: [f.count], floats: f) }
        else if case .int(let i)? = node.attributes["value_int"] { value = GraphTensor(shape: [], ints: [i]) }
        else if case .ints(let i)? = node.attributes["value_ints"] { value = GraphTensor(shape: [i.count], ints: i) }
        else {
            throw RNNRTError(.unsupported, "\(node.label): Constant needs a 'value' tensor or value_float(s)/value_int(s) attribute (sparse and string constants are not supported)")
        }
        return ClosureOperator { _ in [value] }
    }

    static func shape(_ ctx: OperatorContext) throws -> GraphOperator {
        let start = try ctx.node.int("start", default: 0), end = try ctx.node.ints("end")?.first
        return ClosureOperator { inputs in
            let shape = try Check.input(inputs, 0, "data").shape
            let rank = Int64(shape.count)
            func clampAxis(_ a: Int64) -> Int { Int(max(0, min(rank, a < 0 ? a + rank : a))) }
            let lo = clampAxis(start), hi = clampAxis(end ?? rank)
            let dims = lo < hi ? shape[lo..<hi].map { Int64($0) } : []
            return [GraphTensor(shape: [dims.count], ints: dims)]
        }
    }

    static func size(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            [GraphTensor(shape: [], ints: [Int64(try Check.input(inputs, 0, "data").count)])]
        }
    }

    static func constantOfShape(_ ctx: OperatorContext) throws -> GraphOperator {
        var value = GraphTensor(shape: [1], floats: [0])
        if case .tensor(let t)? = ctx.node.attributes["value"] { value = try GraphTensor(t) }
        let fill = value
        return ClosureOperator { inputs in
            let shape = try Check.intList(try Check.input(inputs, 0, "input"), "ConstantOfShape shape")
            let n = try Check.elementCount(shape, "ConstantOfShape output", elementSize: fill.elements.elementSize)
            switch fill.elements {
            case .float(let v): return [GraphTensor(shape: shape, floats: outputFloats(n) { $0.update(repeating: v.first ?? 0) })]
            case .int(let v): return [GraphTensor(shape: shape, ints: [Int64](repeating: v.first ?? 0, count: n))]
            case .bool(let v): return [GraphTensor(shape: shape, bools: [Bool](repeating: v.first ?? false, count: n))]
            }
        }
    }

    static func range(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            let start = try Check.input(inputs, 0, "start"), limit = try Check.input(inputs, 1, "limit"), delta = try Check.input(inputs, 2, "delta")
            switch start.elements {
            case .float(let s):
                let l = try limit.floats("limit"), d = try delta.floats("delta")
                guard let s0 = s.first, let l0 = l.first, let d0 = d.first, d0 != 0 else { throw RNNRTError(.invalidArgument, "Range needs scalar start, limit and a non-zero delta") }
                let steps = ((Double(l0) - Double(s0)) / Double(d0)).rounded(.up)
                guard steps.isFinite, steps <= Double(1 << 31) else { throw RNNRTError(.invalidArgument, "Range from \(s0) to \(l0) by \(d0) is not a finite, reasonable length") }
                let n = try Check.elementCount([Int(max(0, steps))], "Range from \(s0) to \(l0) by \(d0): output")
                return [GraphTensor(shape: [n], floats: outputFloats(n) { out in for i in 0..<n { out[i] = s0 + Float(i) * d0 } })]
            default:
                let s = try start.ints("start"), l = try limit.ints("limit"), d = try delta.ints("delta")
                guard let s0 = s.first, let l0 = l.first, let d0 = d.first, d0 != 0 else { throw RNNRTError(.invalidArgument, "Range needs scalar start, limit and a non-zero delta") }
                let span = Double(l0) - Double(s0)
                let steps = (span / Double(d0)).rounded(.up)
                guard steps <= Double(1 << 31) else { throw RNNRTError(.invalidArgument, "Range of \(steps) elements is too large") }
                let n = try Check.elementCount([Int(max(0, steps))], "Range from \(s0) to \(l0) by \(d0): output",
                                               elementSize: MemoryLayout<Int64>.size)
                return [GraphTensor(shape: [n], ints: (0..<n).map { s0 &+ Int64($0) &* d0 })]
            }
        }
    }

    static func reshape(_ ctx: OperatorContext) throws -> GraphOperator {
        let allowZero = try ctx.node.int("allowzero", default: 0) != 0
        let attrShape = ctx.opset < 5 ? try ctx.node.ints("shape") : nil
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "data")
            let requested = try attrShape.map { $0.map { Int($0) } } ?? Check.intList(try Check.input(inputs, 1, "shape"), "Reshape shape")
            return [x.reshaped(try reshapeTarget(x.shape, requested, allowZero: allowZero))]
        }
    }

    static func flatten(_ ctx: OperatorContext) throws -> GraphOperator {
        let axisAttr = try ctx.node.int("axis", default: 1)
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "input")
            let axis = axisAttr < 0 ? Int(axisAttr) + x.rank : Int(axisAttr)
            guard axis >= 0, axis <= x.rank else { throw RNNRTError(.invalidArgument, "Flatten axis \(axisAttr) is out of range for rank \(x.rank)") }
            return [x.reshaped([x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)])]
        }
    }

    static func squeeze(_ ctx: OperatorContext) throws -> GraphOperator {
        let attrAxes = ctx.opset < 13 ? try ctx.node.ints("axes") : nil
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "data")
            let given = try attrAxes.map { $0.map { Int($0) } } ?? (inputs.count > 1 ? inputs[1].map { try Check.intList($0, "Squeeze axes") } : nil)
            let axes = try given.map { try Set($0.map { try Check.axis(Int64($0), rank: x.rank) }) }
            var shape: [Int] = []
            for (axis, extent) in x.shape.enumerated() {
                if let axes, axes.contains(axis) {
                    guard extent == 1 else { throw RNNRTError(.shapeMismatch, "Squeeze axis \(axis) of \(x.shape.shapeDescription) has extent \(extent), not 1") }
                    continue
                }
                if axes == nil && extent == 1 { continue }
                shape.append(extent)
            }
            return [x.reshaped(shape)]
        }
    }

    static func unsqueeze(_ ctx: OperatorContext) throws -> GraphOperator {
        let attrAxes = ctx.opset < 13 ? try ctx.node.ints("axes") : nil
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "data")
            let given = try attrAxes.map { $0.map { Int($0) } } ?? Check.intList(try Check.input(inputs, 1, "axes"), "Unsqueeze axes")
            let rank = x.rank + given.count
            let axes = Set(try given.map { try Check.axis(Int64($0), rank: rank) })
            guard axes.count == given.count else { throw RNNRTError(.invalidArgument, "Unsqueeze axes \(given) repeat an axis") }
            var shape: [Int] = []
            var source = x.shape.makeIterator()
            for axis in 0..<rank { shape.append(axes.contains(axis) ? 1 : (source.next() ?? 1)) }
            return [x.reshaped(shape)]
        }
    }

    static func transpose(_ ctx: OperatorContext) throws -> GraphOperator {
        let perm = try ctx.node.ints("perm")?.map { Int($0) }
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "data")
            let p = perm ?? Array((0..<x.rank).reversed())
            guard p.count == x.rank, Set(p) == Set(0..<x.rank) else {
                throw RNNRTError(.invalidArgument, "Transpose perm \(p) is not a permutation of the \(x.rank) axes of \(x.shape.shapeDescription)")
            }
            return [transpose(x, p)]
        }
    }

    static func concat(_ ctx: OperatorContext) throws -> GraphOperator {
        let axisAttr = try ctx.node.int("axis", default: 0)
        return ClosureOperator { inputs in
            let parts = inputs.compactMap { $0 }
            guard let first = parts.first else { throw RNNRTError(.invalidArgument, "Concat needs inputs") }
            let axis = try Check.axis(axisAttr, rank: first.rank, "Concat axis")
            for p in parts {
                guard p.rank == first.rank, p.shape.enumerated().allSatisfy({ $0.offset == axis || $0.element == first.shape[$0.offset] }) else {
                    throw RNNRTError(.shapeMismatch, "Concat on axis \(axis): \(p.shape.shapeDescription) does not match \(first.shape.shapeDescription) on the other axes")
                }
            }
            return [try concat(parts, axis: axis)]
        }
    }

    static func split(_ ctx: OperatorContext) throws -> GraphOperator {
        let axisAttr = try ctx.node.int("axis", default: 0)
        let attrSplit = ctx.opset < 13 ? try ctx.node.ints("split") : nil
        let numOutputs = ctx.node.outputs.count
        let numOutputsAttr = try ctx.node.int("num_outputs", default: 0)
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "input")
            let axis = try Check.axis(axisAttr, rank: x.rank, "Split axis")
            let extent = x.shape[axis]
            var sizes: [Int]
            if let s = attrSplit { sizes = s.map { Int($0) } }
            else if inputs.count > 1, let t = inputs[1] { sizes = try Check.intList(t, "split") }
            else {
                let k = max(1, numOutputsAttr > 0 ? Int(numOutputsAttr) : numOutputs)
                let chunk = (extent + k - 1) / k
                sizes = (0..<k).map { i in max(0, min(chunk, extent - i * chunk)) }
            }
            guard sizes.allSatisfy({ $0 >= 0 && $0 <= extent }), sizes.reduce(0, +) == extent else {
                throw RNNRTError(.shapeMismatch, "Split sizes \(sizes) do not add up to axis \(axis) extent \(extent)")
            }
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return slice(x, axis: axis, start: start, count: size, step: 1)
            }
        }
    }

    static func slice(_ ctx: OperatorContext) throws -> GraphOperator {
        let legacy = ctx.opset < 10
        let attrStarts = legacy ? try ctx.node.ints("starts") : nil
        let attrEnds = legacy ? try ctx.node.ints("ends") : nil
        let attrAxes = legacy ? try ctx.node.ints("axes") : nil
        return ClosureOperator { inputs in
            var x = try Check.input(inputs, 0, "data")
            let starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?
            if legacy {
                starts = attrStarts ?? []; ends = attrEnds ?? []; axes = attrAxes; steps = nil
            } else {
                starts = try Check.input(inputs, 1, "starts").ints("starts")
                ends = try Check.input(inputs, 2, "ends").ints("ends")
                axes = try (inputs.count > 3 ? inputs[3] : nil)?.ints("axes")
                steps = try (inputs.count > 4 ? inputs[4] : nil)?.ints("steps")
            }
            guard starts.count == ends.count, axes.map({ $0.count == starts.count }) ?? true,
                  steps.map({ $0.count == starts.count }) ?? true else {
                throw RNNRTError(.invalidArgument, "Slice starts, ends, axes and steps must have the same length (\(starts.count), \(ends.count), \(axes?.count ?? starts.count), \(steps?.count ?? starts.count))")
            }
            // Every axis's range in one view of x, copied once.
            var shape = x.shape, strides = x.shape.strides, offset = 0
            var sliced = [Bool](repeating: false, count: x.rank)
            for i in 0..<starts.count {
                let axis = try Check.axis(axes?[i] ?? Int64(i), rank: x.rank, "Slice axis")
                guard !sliced[axis] else {
                    throw RNNRTError(.invalidArgument, "Slice names axis \(axis) more than once")
                }
                sliced[axis] = true
                let step = steps?[i] ?? 1
                guard step != 0 else { throw RNNRTError(.invalidArgument, "Slice step cannot be 0") }
                let (s, count) = sliceRange(extent: x.shape[axis], start: starts[i], end: ends[i], step: step)
                offset += s * strides[axis]
                shape[axis] = count
                // One position or none: the step is never taken (and a huge one must not overflow the stride).
                if count > 1 { strides[axis] *= Int(step) }
            }
            if shape == x.shape && strides == x.shape.strides { return [x] }
            x = GraphTensor(shape: shape, elements: shape.contains(0) ? x.elements.picking([])
                            : x.elements.view(shape: shape, strides: strides, offset: offset))
            return [x]
        }
    }

    static func gather(_ ctx: OperatorContext) throws -> GraphOperator {
        let axisAttr = try ctx.node.int("axis", default: 0)
        return ClosureOperator { inputs in
            let data = try Check.input(inputs, 0, "data"), idx = try Check.input(inputs, 1, "indices")
            let axis = try Check.axis(axisAttr, rank: data.rank, "Gather axis")
            let extent = data.shape[axis]
            let indices = try idx.ints("indices").map { i -> Int in
                let j = i < 0 ? i + Int64(extent) : i
                guard j >= 0, j < Int64(extent) else {
                    throw RNNRTError(.invalidArgument, "Gather index \(i) is out of range for axis \(axis) of extent \(extent)")
                }
                return Int(j)
            }
            let shape = Array(data.shape[..<axis]) + idx.shape + Array(data.shape[(axis + 1)...])
            _ = try Check.elementCount(shape, "Gather output", elementSize: data.elements.elementSize)
            let outer = data.shape[..<axis].reduce(1, *), inner = data.shape[(axis + 1)...].reduce(1, *)
            return [GraphTensor(shape: shape, elements: data.elements.gatheringBlocks(indices, outer: outer, extent: extent, inner: inner))]
        }
    }

    static func expand(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "input")
            let requested = try Check.intList(try Check.input(inputs, 1, "shape"), "Expand shape")
            let shape = try broadcastShape(x.shape, requested)
            _ = try Check.elementCount(shape, "Expand output", elementSize: x.elements.elementSize)
            if shape == x.shape { return [x] }
            // A strided view of x, stride 0 along the repeated axes: no index per output element.
            return [GraphTensor(shape: shape, elements: shape.contains(0) ? x.elements.picking([])
                                : x.elements.view(shape: shape, strides: broadcastStrides(from: x.shape, to: shape), offset: 0))]
        }
    }

    static func tile(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "input")
            let repeats = try Check.intList(try Check.input(inputs, 1, "repeats"), "Tile repeats")
            guard repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 }) else {
                throw RNNRTError(.invalidArgument, "Tile repeats \(repeats) must have one non-negative entry per axis of \(x.shape.shapeDescription)")
            }
            let shape = try zip(x.shape, repeats).map { try ElementCount.product($0, $1, "Tile of \(x.shape.shapeDescription) by \(repeats)") }
            _ = try Check.elementCount(shape, "Tile output", elementSize: x.elements.elementSize)
            // Along axis k, output position r · extent + s (r < repeats, s < extent) reads x's position s: the output
            // is the view [repeats 0, extent 0, repeats 1, extent 1, ...] whose repeat axes have stride 0, copied out
            // run by run, without an index per element.
            let strides = x.shape.strides
            let viewShape = x.shape.indices.flatMap { [repeats[$0], x.shape[$0]] }
            let viewStrides = x.shape.indices.flatMap { [0, strides[$0]] }
            return [GraphTensor(shape: shape, elements: x.elements.view(shape: viewShape, strides: viewStrides, offset: 0))]
        }
    }

    static func pad(_ ctx: OperatorContext) throws -> GraphOperator {
        let mode = try ctx.node.string("mode", default: "constant")
        guard ["constant", "edge", "reflect", "wrap"].contains(mode) else {
            throw RNNRTError(.unsupported, "\(ctx.node.label): Pad mode '\(mode)' is not supported (constant, edge, reflect and wrap are)")
        }
        let attrPads = ctx.opset < 11 ? try ctx.node.ints("pads") : nil
        let attrValue = ctx.opset < 11 ? try ctx.node.float("value", default: 0) : nil
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "data")
            var pads = try attrPads.map { $0.map { Int($0) } } ?? Check.intList(try Check.input(inputs, 1, "pads"), "pads")
            var value: Float = attrValue ?? 0
            if attrValue == nil, inputs.count > 2, let v = inputs[2] {
                if case .float(let f) = v.elements { value = f.first ?? 0 } else { value = Float(try v.ints("constant_value").first ?? 0) }
            }
            if inputs.count > 3, let axesT = inputs[3] {
                let axes = try Check.intList(axesT, "axes").map { try Check.axis(Int64($0), rank: x.rank) }
                guard pads.count == 2 * axes.count else {
                    throw RNNRTError(.invalidArgument, "Pad has \(pads.count) pads for \(axes.count) axes, expected \(2 * axes.count)")
                }
                var full = [Int](repeating: 0, count: 2 * x.rank)
                for (k, a) in axes.enumerated() {
                    full[a] = pads[k]; full[a + x.rank] = pads[k + axes.count]
                }
                pads = full
            }
            guard pads.count == 2 * x.rank else { throw RNNRTError(.invalidArgument, "Pad needs \(2 * x.rank) pads for rank \(x.rank), got \(pads.count)") }
            return [try pad(x, pads, value, mode: mode)]
        }
    }

    /// Reshape's target: `0` copies the input extent (unless allowzero), one `-1` is inferred.
    static func reshapeTarget(_ input: [Int], _ requested: [Int], allowZero: Bool) throws -> [Int] {
        var shape = requested
        for (i, d) in requested.enumerated() where d == 0 && !allowZero {
            guard i < input.count else { throw RNNRTError(.shapeMismatch, "Reshape: 0 at axis \(i) has no input extent to copy from \(input.shapeDescription)") }
            shape[i] = input[i]
        }
        let total = input.reduce(1, *)
        let inferred = shape.indices.filter { shape[$0] == -1 }
        guard inferred.count <= 1, shape.allSatisfy({ $0 >= -1 }) else {
            throw RNNRTError(.invalidArgument, "Reshape target \(requested.shapeDescription) is invalid")
        }
        if let i = inferred.first {
            var rest = shape
            rest.remove(at: i)
            let known = try ElementCount.of(rest, "Reshape target \(requested.shapeDescription): the known extents", elementSize: 0)
            guard known > 0, total % known == 0 else {
                throw RNNRTError(.shapeMismatch, "cannot reshape \(input.shapeDescription) (\(total) elements) to \(requested.shapeDescription)")
            }
            shape[i] = total / known
        }
        guard try ElementCount.of(shape, "Reshape target", elementSize: 0) == total else {
            throw RNNRTError(.shapeMismatch, "cannot reshape \(input.shapeDescription) (\(total) elements) to \(requested)")
        }
        return shape
    }

    /// An operator that returns its first input unchanged (`name`: the input as errors name it).
    static func passThrough(_ name: String) -> ClosureOperator {
        ClosureOperator { inputs in [try Check.input(inputs, 0, name)] }
    }

    static func transpose(_ x: GraphTensor, _ perm: [Int]) -> GraphTensor {
        if perm == Array(0..<x.rank) { return x }
        // Moving only axes of extent 1 leaves the elements in the same order: a reshape.
        let moved = perm.filter { x.shape[$0] != 1 }
        if moved == moved.sorted() { return x.reshaped(perm.map { x.shape[$0] }) }
        let strides = x.shape.strides
        let shape = perm.map { x.shape[$0] }
        return GraphTensor(shape: shape, elements: x.elements.view(shape: shape, strides: perm.map { strides[$0] }, offset: 0))
    }

    /// `count` positions along `axis` from `start`, every `step` (negative steps walk backwards).
    static func slice(_ x: GraphTensor, axis: Int, start: Int, count: Int, step: Int) -> GraphTensor {
        var shape = x.shape
        shape[axis] = count
        if count == x.shape[axis] && step == 1 { return x }
        var strides = x.shape.strides
        let offset = start * strides[axis]
        strides[axis] *= step
        return GraphTensor(shape: shape, elements: x.elements.view(shape: shape, strides: strides, offset: offset))
    }

    /// ONNX Slice semantics for one axis: clamped start and the number of selected positions.
    static func sliceRange(extent: Int, start: Int64, end: Int64, step: Int64) -> (Int, Int) {
        let n = Int64(extent)
        var s = start < 0 ? start + n : start
        var e = end < 0 ? end + n : end
        // Steps longer than the axis select one element: clamp them so the arithmetic cannot overflow.
        if step > 0 {
            let st = min(step, n + 1)
            s = max(0, min(n, s)); e = max(0, min(n, e))
            return (Int(s), e > s ? Int((e - s + st - 1) / st) : 0)
        }
        let st = step == .min ? n + 1 : min(-step, n + 1)
        s = max(-1, min(n - 1, s)); e = max(-1, min(n - 1, e))
        return (Int(s), s > e ? Int((s - e + st - 1) / st) : 0)
    }

    /// Parts joined along `axis` (shapes already checked to agree on the other axes): for each index of the axes
    /// before `axis`, each part's block of `extent × inner` elements in turn, copied whole.
    static func concat(_ parts: [GraphTensor], axis: Int) throws -> GraphTensor {
        guard var shape = parts.first?.shape else { throw RNNRTError(.invalidArgument, "Concat needs inputs") }
        shape[axis] = try parts.reduce(0) { try ElementCount.sum($0, $1.shape[axis], "Concat extents on axis \(axis)") }
        _ = try Check.elementCount(shape, "Concat output", elementSize: parts[0].elements.elementSize)
        let outer = shape[..<axis].reduce(1, *)
        let blocks = parts.map { $0.shape[axis...].reduce(1, *) }
        func join<T: BitwiseCopyable>(_ arrays: [[T]]) -> [T] {
            let total = outer * blocks.reduce(0, +)
            return outputArray(total) { out in
                var o = 0
                for index in 0..<outer {
                    for (array, block) in zip(arrays, blocks) where block > 0 {
                        array.withUnsafeBufferPointer { src in
                            (out.baseAddress! + o).initialize(from: src.baseAddress! + index * block, count: block)
                        }
                        o += block
                    }
                }
            }
        }
        let mixed = RNNRTError(.invalidArgument, "Concat inputs have different element types")
        switch parts[0].elements {
        case .float:
            return GraphTensor(shape: shape, elements: .float(join(try parts.map { guard case .float(let v) = $0.elements else { throw mixed }; return v })))
        case .int:
            return GraphTensor(shape: shape, elements: .int(join(try parts.map { guard case .int(let v) = $0.elements else { throw mixed }; return v })))
        case .bool:
            return GraphTensor(shape: shape, elements: .bool(join(try parts.map { guard case .bool(let v) = $0.elements else { throw mixed }; return v })))
        }
    }

    /// ONNX Pad: `constant` fills with `value`; `edge` repeats the border element; `reflect` mirrors
    /// without repeating the border; `wrap` continues from the other end (PyTorch's circular padding).
    static func pad(_ x: GraphTensor, _ pads: [Int], _ value: Float, mode: String = "constant") throws -> GraphTensor {
        let rank = x.rank
        let shape = try (0..<rank).map { axis in
            try ElementCount.sum(try ElementCount.sum(x.shape[axis], pads[axis], "Pad of \(x.shape.shapeDescription) by \(pads)"),
                                 pads[axis + rank], "Pad of \(x.shape.shapeDescription) by \(pads)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw RNNRTError(.invalidArgument, "Pad removes more than the input has") }
        if mode != "constant", zip(x.shape, shape).contains(where: { $0 == 0 && $1 > 0 }) {
            throw RNNRTError(.invalidArgument, "Pad mode '\(mode)' cannot pad an empty axis of \(x.shape.shapeDescription)")
        }
        let n = try Check.elementCount(shape, "Pad output", elementSize: x.elements.elementSize)
        if n == 0 { return GraphTensor(shape: shape, elements: x.elements.picking([])) }
        // For each axis, the input index each output index reads (−1: the constant).
        let maps: [[Int]] = (0..<rank).map { axis in
            let extent = x.shape[axis]
            return (0..<shape[axis]).map { o in
                var i = o - pads[axis]
                if i >= 0 && i < extent { return i }
                guard extent > 0, mode != "constant" else { return -1 }
                if mode == "edge" { return min(max(i, 0), extent - 1) }
                if mode == "wrap" { return (i % extent + extent) % extent }
                if extent == 1 { return 0 }
                let period = 2 * (extent - 1)
                i = ((i % period) + period) % period
                return i >= extent ? period - i : i
            }
        }
        let sourceStrides = x.shape.strides
        func fill<T: BitwiseCopyable>(_ v: [T], _ constant: T) -> [T] {
            outputArray(n) { out in
                guard n > 0 else { return }
                guard rank > 0 else { out[0] = v[0]; return }
                let inner = shape[rank - 1], innerMap = maps[rank - 1]
                var index = [Int](repeating: 0, count: rank - 1)
                var o = 0
                while o < n {
                    var base = 0, inside = true
                    for axis in 0..<(rank - 1) {
                        let i = maps[axis][index[axis]]
                        if i < 0 { inside = false; break }
                        base += i * sourceStrides[axis]
                    }
                    for j in 0..<inner {
                        let i = innerMap[j]
                        out[o + j] = inside && i >= 0 ? v[base + i] : constant
                    }
                    o += inner
                    index.advance(within: shape)
                }
            }
        }
        switch x.elements {
        case .float(let v): return GraphTensor(shape: shape, floats: fill(v, value))
        case .int(let v): return GraphTensor(shape: shape, ints: fill(v, value.saturatingInt64))
        case .bool(let v): return GraphTensor(shape: shape, bools: fill(v, value != 0))
        }
    }
}
