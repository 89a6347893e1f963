import RNNRTCore

/// NumPy-style broadcasting of two shapes (ONNX multidirectional broadcasting).
func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard da == db || da == 1 || db == 1 else {
            throw RNNRTError(.shapeMismatch, "shapes \(a.shapeDescription) and \(b.shapeDescription) cannot be broadcast together (axis \(i): \(da) vs \(db))")
        }
        out[i] = da == 1 ? db : da
    }
    _ = try Check.elementCount(out, "broadcast of \(a.shapeDescription) and \(b.shapeDescription) to")
    return out
}

/// For each output element (C order) of `shape`, the index of the element it reads in a tensor of
/// `source` shape broadcast to `shape`. Nil when no broadcasting is needed (same shape).
func broadcastIndices(from source: [Int], to shape: [Int]) -> [Int]? {
    if source == shape { return nil }
    let rank = shape.count
    let padded = [Int](repeating: 1, count: rank - source.count) + source
    let srcStrides = padded.strides
    let n = shape.reduce(1, *)
    var out = [Int](repeating: 0, count: n)
    if n == 0 { return out }
    var index = [Int](repeating: 0, count: rank)
    var offset = 0
    for i in 0..<n {
        out[i] = offset
        var axis = rank - 1
        while axis >= 0 {
            index[axis] += 1
            if padded[axis] != 1 { offset += srcStrides[axis] }
            if index[axis] < shape[axis] { break }
            if padded[axis] != 1 { offset -= srcStrides[axis] * shape[axis] }
            index[axis] = 0
            axis -= 1
        }
    }
    return out
}

/// The strides (in source elements) of a tensor of `source` shape viewed broadcast to `shape`: 0 along the axes it
/// repeats, so a strided walk or copy reads it without an index per output element.
func broadcastStrides(from source: [Int], to shape: [Int]) -> [Int] {
    let padded = [Int](repeating: 1, count: shape.count - source.count) + source
    let strides = padded.strides
    return shape.indices.map { padded[$0] == 1 ? 0 : strides[$0] }
}

/// Calls `body(i, a, b, c)` for every element `i` (C order) of `shape` with the offsets it reads in operands of
/// shapes `a`, `b` and `c` broadcast to it (`[]` for an unused one), stepping the offsets as the index advances: no
/// index arrays, which cost 8 bytes per output element each.
func forEachBroadcast(_ shape: [Int], _ a: [Int], _ b: [Int], _ c: [Int] = [],
                      _ body: (Int, Int, Int, Int) throws -> Void) rethrows {
    let rank = shape.count, n = shape.reduce(1, *)
    let sa = broadcastStrides(from: a, to: shape), sb = broadcastStrides(from: b, to: shape), sc = broadcastStrides(from: c, to: shape)
    var index = [Int](repeating: 0, count: rank)
    var (oa, ob, oc) = (0, 0, 0)
    for i in 0..<n {
        try body(i, oa, ob, oc)
        var axis = rank - 1
        while axis >= 0 {
            index[axis] += 1
            oa += sa[axis]; ob += sb[axis]; oc += sc[axis]
            if index[axis] < shape[axis] { break }
            oa -= sa[axis] * shape[axis]; ob -= sb[axis] * shape[axis]; oc -= sc[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Whether `part`, without its leading 1s, is the trailing axes of `shape`.
func isTrailing(_ part: [Int], of shape: [Int]) -> Bool {
    let inner = part.drop { $0 == 1 }
    return inner.count <= shape.count && shape.suffix(inner.count).elementsEqual(inner)
}

/// Applies `f` elementwise over two arrays broadcast to a common shape, into an operator's output.
@inline(__always)
func broadcastMap<A, B, R: BitwiseCopyable>(_ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], _ f: (A, B) -> R) throws -> ([R], [Int]) {
    let shape = try broadcastShape(aShape, bShape)
    let n = shape.reduce(1, *)
    if aShape == bShape {
        return (outputArray(n) { out in for i in 0..<n { out[i] = f(a[i], b[i]) } }, shape)
    }
    if b.count == 1, aShape == shape { let v = b[0]; return (outputArray(n) { out in for i in 0..<n { out[i] = f(a[i], v) } }, shape) }
    if a.count == 1, bShape == shape { let v = a[0]; return (outputArray(n) { out in for i in 0..<n { out[i] = f(v, b[i]) } }, shape) }
    // One operand repeats along leading axes (a bias over the last axes): its index is the output's modulo its size.
    if aShape == shape, b.count > 0, isTrailing(bShape, of: shape) {
        let m = b.count
        return (outputArray(n) { out in
            for start in stride(from: 0, to: n, by: m) { for j in 0..<m { out[start + j] = f(a[start + j], b[j]) } }
        }, shape)
    }
    if bShape == shape, a.count > 0, isTrailing(aShape, of: shape) {
        let m = a.count
        return (outputArray(n) { out in
            for start in stride(from: 0, to: n, by: m) { for j in 0..<m { out[start + j] = f(a[j], b[start + j]) } }
        }, shape)
    }
    return (outputArray(n) { out in
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let (a, b, out) = (a.baseAddress!, b.baseAddress!, out.baseAddress!)
                broadcastRuns(aShape, bShape, to: shape) { o, i, j, count, si, sj in
                    switch (si, sj) {
                    case (1, 0): let v = b[j]; for k in 0..<count { out[o + k] = f(a[i + k], v) }
                    case (0, 1): let v = a[i]; for k in 0..<count { out[o + k] = f(v, b[j + k]) }
                    default: for k in 0..<count { out[o + k] = f(a[i + k * si], b[j + k * sj]) }
                    }
                }
            }
        }
    }, shape)
}

/// The output of two operands broadcast to `shape` (C order) in runs along its innermost axes: `body(o, i, j, count,
/// si, sj)` for the `count` outputs from `o`, which read the first operand from `i` by steps of `si` (0: one element
/// for the whole run) and the second from `j` by `sj`. Axes both operands step through alike are merged first, so a
/// per-channel constant over a `[N, C, H, W]` value makes runs of `H·W`.
func broadcastRuns(_ aShape: [Int], _ bShape: [Int], to shape: [Int],
                   _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
    let rank = shape.count
    if rank == 0 { body(0, 0, 0, 1, 0, 0); return }
    func strides(_ operand: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: rank - operand.count) + operand
        var result = [Int](repeating: 0, count: rank), step = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            result[axis] = padded[axis] == 1 ? 0 : step
            step *= padded[axis]
        }
        return result
    }
    var extents = shape, sa = strides(aShape), sb = strides(bShape)
    // Merge axis k into the one after it while both operands step through the pair as through one axis.
    var k = rank - 2
    while k >= 0 {
        if sa[k] == sa[k + 1] * extents[k + 1] && sb[k] == sb[k + 1] * extents[k + 1] {
            extents[k + 1] *= extents[k]
            extents.remove(at: k); sa.remove(at: k); sb.remove(at: k)
        }
        k -= 1
    }
    guard let inner = extents.last, inner > 0, !extents.contains(0) else { return }
    let outer = extents.dropLast().reduce(1, *), last = extents.count - 1
    var index = [Int](repeating: 0, count: max(last, 0)), i = 0, j = 0
    for run in 0..<outer {
        body(run * inner, i, j, inner, sa[last], sb[last])
        var axis = last - 1
        while axis >= 0 {
            index[axis] += 1
            i += sa[axis]; j += sb[axis]
            if index[axis] < extents[axis] { break }
            i -= sa[axis] * extents[axis]; j -= sb[axis] * extents[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
