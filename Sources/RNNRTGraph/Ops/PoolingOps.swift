import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// ONNX pooling on float `[N, C, spatial...]` tensors (1 to 3 spatial axes): `MaxPool` and `AveragePool` (kernel_shape,
/// strides, pads, dilations, ceil_mode, auto_pad; count_include_pad), `GlobalMaxPool` and `GlobalAveragePool`.
enum PoolingOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["MaxPool"] = maxPool
        r["AveragePool"] = averagePool
        r["GlobalMaxPool"] = globalMaxPool
        r["GlobalAveragePool"] = globalAveragePool
    }

    static func maxPool(_ ctx: OperatorContext) throws -> GraphOperator {
        if ctx.node.outputs.count > 1, !ctx.node.outputs[1].isEmpty {
            throw RNNRTError(.unsupported, "\(ctx.node.label): the Indices output of MaxPool is not supported")
        }
        return PoolOp(kind: .max, window: try PoolWindow(ctx.node), label: ctx.node.label)
    }

    static func averagePool(_ ctx: OperatorContext) throws -> GraphOperator {
        let include = try ctx.node.int("count_include_pad", default: 0) != 0
        return PoolOp(kind: .average(countingPads: include), window: try PoolWindow(ctx.node), label: ctx.node.label)
    }

    static func globalMaxPool(_ ctx: OperatorContext) throws -> GraphOperator {
        PoolOp(kind: .max, window: nil, label: ctx.node.label)
    }

    static func globalAveragePool(_ ctx: OperatorContext) throws -> GraphOperator {
        PoolOp(kind: .average(countingPads: false), window: nil, label: ctx.node.label)
    }
}

/// A pooling node's window attributes, checked at load.
struct PoolWindow: Sendable {
    let kernel: [Int]
    let strides: [Int]?
    let dilations: [Int]?
    let pads: [Int]?
    let autoPad: String
    let ceilMode: Bool

    init(_ node: GraphNode) throws {
        guard let k = try node.ints("kernel_shape"), (1...3).contains(k.count), k.allSatisfy({ $0 >= 1 && $0 <= 1 << 24 }) else {
            throw RNNRTError(.malformed, "\(node.label): kernel_shape must list 1 to 3 sizes from 1 to 2^24")
        }
        kernel = k.map { Int($0) }
        strides = try PoolWindow.list(node, "strides", count: k.count, from: 1)
        dilations = try PoolWindow.list(node, "dilations", count: k.count, from: 1)
        pads = try PoolWindow.list(node, "pads", count: 2 * k.count, from: 0)
        autoPad = try node.string("auto_pad", default: "NOTSET")
        ceilMode = try node.int("ceil_mode", default: 0) != 0
        guard ["NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else {
            throw RNNRTError(.malformed, "\(node.label): auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, found '\(autoPad)'")
        }
    }

    /// Attribute `name`, if present: `count` entries from `low` to 2^24.
    private static func list(_ node: GraphNode, _ name: String, count: Int, from low: Int64) throws -> [Int]? {
        guard let v = try node.ints(name) else { return nil }
        guard v.count == count, v.allSatisfy({ $0 >= low && $0 <= 1 << 24 }) else {
            throw RNNRTError(.malformed, "\(node.label): \(name) \(v) must have \(count) entries from \(low) to 2^24")
        }
        return v.map { Int($0) }
    }
}

/// Where each output position's window lies along each spatial axis, for one input shape: spatial axes padded to
/// three (leading axes of extent 1).
struct PoolGeometry {
    /// `N · C`: the planes pooled independently.
    let planes: Int
    let outSize: [Int]
    let inExtent: [Int]
    let outExtent: [Int]
    let kernel: [Int]
    let stride: [Int]
    let dilation: [Int]
    let padBegin: [Int]
    let padEnd: [Int]

    init(input: [Int], window w: PoolWindow, _ label: String) throws {
        let spatial = w.kernel.count
        guard input.count == spatial + 2 else {
            throw RNNRTError(.shapeMismatch, "\(label): X \(input.shapeDescription) must be [N, C] and \(spatial) spatial axes (kernel_shape \(w.kernel))")
        }
        guard let planes = Array(input[..<2]).checkedElementCount(), input.checkedElementCount() != nil else {
            throw RNNRTError(.shapeMismatch, "\(label): X \(input.shapeDescription) is too large")
        }
        self.planes = planes
        let inSize = Array(input[2...])
        let stride = w.strides ?? [Int](repeating: 1, count: spatial)
        let dilation = w.dilations ?? [Int](repeating: 1, count: spatial)
        var outSize: [Int] = [], begin: [Int] = [], end: [Int] = []
        for i in 0..<spatial {
            let span = (w.kernel[i] - 1) * dilation[i] + 1
            let (out, b, e) = try PoolGeometry.extent(inSize[i], span: span, stride: stride[i], axis: i, w, label)
            outSize.append(out)
            begin.append(b)
            end.append(e)
        }
        _ = try Check.elementCount(Array(input[..<2]) + outSize, "\(label): output")
        self.outSize = outSize
        let lead = [Int](repeating: 1, count: 3 - spatial), zeros = [Int](repeating: 0, count: 3 - spatial)
        inExtent = lead + inSize
        outExtent = lead + outSize
        kernel = lead + w.kernel
        self.stride = lead + stride
        self.dilation = lead + dilation
        padBegin = zeros + begin
        padEnd = zeros + end
    }

    typealias Window = (first: Int, taps: Range<Int>, padded: Int)

    /// The scratch floats `rnnrt_max_pool_2d_avx2` needs when it can pool these planes: no window along the leading
    /// axis, at most `RNNRT_MAX_POOL_MAX_TAPS` taps along the others, an input with rows, a window along a row that
    /// reaches no more than about twice the row's length (the kernel fills each row's stride phases as far as the taps
    /// reach, so its work stays in proportion to the input and output), and scratch within a few times a plane's input
    /// and output. Nil otherwise.
    var maxAlongRowsScratch: Int? {
        let taps = Int(RNNRT_MAX_POOL_MAX_TAPS)
        guard kernel[0] == 1, stride[0] == 1, padBegin[0] == 0, padEnd[0] == 0, kernel[1] <= taps, kernel[2] <= taps,
              inExtent[1] > 0, inExtent[2] > 0, (kernel[2] - 1) * dilation[2] <= 2 * inExtent[2] + 64 else { return nil }
        let floats = rnnrt_max_pool_2d_scratch_floats(inExtent[1], kernel[2], stride[2], dilation[2], outExtent[2])
        let planeFloats = inExtent[1] * inExtent[2] + outExtent[1] * outExtent[2]
        return floats > 0 && floats <= 4 * planeFloats + 4096 ? floats : nil
    }

    /// The window of output index `o` along `axis` (of the three): its first tap's input index, the taps `lo..<hi`
    /// that read the input (at `first + t · dilation`), and how many taps lie within the padded extent.
    @inline(__always)
    func window(_ axis: Int, _ o: Int) -> Window {
        let first = o * stride[axis] - padBegin[axis], d = dilation[axis], k = kernel[axis]
        func taps(before limit: Int) -> Int { limit <= first ? 0 : Swift.min(k, (limit - first + d - 1) / d) }
        let lo = first >= 0 ? 0 : Swift.min(k, (-first + d - 1) / d)
        let hi = taps(before: inExtent[axis])
        return (first, lo..<Swift.max(lo, hi), taps(before: inExtent[axis] + padEnd[axis]))
    }

    /// The output extent along one axis and its pads (begin, end), from explicit pads or `auto_pad`.
    private static func extent(_ n: Int, span: Int, stride: Int, axis: Int, _ w: PoolWindow, _ label: String) throws
        -> (Int, Int, Int) {
        let spatial = w.kernel.count
        if w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER" {
            let out = (n + stride - 1) / stride
            let total = max(0, (out - 1) * stride + span - n)
            let begin = w.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
            return (out, begin, total - begin)
        }
        let explicit = w.autoPad == "VALID" ? nil : w.pads
        let begin = explicit?[axis] ?? 0, end = explicit?[axis + spatial] ?? 0
        let room = n + begin + end - span
        guard room >= 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): a window of \(span) does not fit axis \(axis + 2) of \(n) with pads \(begin), \(end)")
        }
        var out = (w.ceilMode ? (room + stride - 1) / stride : room / stride) + 1
        // With ceil_mode, a last window that would start in the end padding is dropped.
        if w.ceilMode, (out - 1) * stride >= n + begin { out -= 1 }
        return (out, begin, end)
    }
}

/// One pooling node: over a window (`MaxPool`, `AveragePool`) or over all spatial axes (the global forms).
struct PoolOp: GraphOperator {
    enum Kind: Sendable {
        case max
        case average(countingPads: Bool)
    }

    let kind: Kind
    /// Nil for the global forms.
    let window: PoolWindow?
    let label: String

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let xT = try Check.input(inputs, 0, "X")
        let x = try xT.floats("\(label) X")
        guard let window else { return [try global(xT, x)] }
        let geo = try PoolGeometry(input: xT.shape, window: window, label)
        let perPlane = geo.outExtent.reduce(1, *), inPlane = geo.inExtent.reduce(1, *)
        let out = outputFloats(geo.planes * perPlane) { y in
            guard !y.isEmpty else { return }
            if case .max = kind, KernelSet.avx2, let scratch = geo.maxAlongRowsScratch {
                maxAlongRows(x, geo, scratch: scratch, into: y.baseAddress!)
                return
            }
            // Every plane has the same windows: worked out once (no more of them than outputs).
            let windows = (0..<3).map { axis in (0..<geo.outExtent[axis]).map { geo.window(axis, $0) } }
            let columns = (0..<geo.kernel[2]).map { t2 in
                let reading = windows[2].indices.filter { windows[2][$0].taps.contains(t2) }
                return (reading.first ?? 0)..<((reading.last ?? -1) + 1)
            }
            x.withUnsafeBufferPointer { xp in
                for p in 0..<geo.planes {
                    pool(plane: xp.baseAddress! + p * inPlane, geo, windows, columns: columns, into: y.baseAddress! + p * perPlane)
                }
            }
        }
        return [GraphTensor(shape: Array(xT.shape[..<2]) + geo.outSize, floats: out)]
    }

    /// Max pooling with no window along the leading of the three axes, over planes of its last two
    /// (`rnnrt_max_pool_2d_avx2`).
    private func maxAlongRows(_ x: [Float], _ geo: PoolGeometry, scratch: Int, into y: UnsafeMutablePointer<Float>) {
        withTemporaryFloats(scratch) { scratch in
            x.withUnsafeBufferPointer { xp in
                rnnrt_max_pool_2d_avx2(geo.planes * geo.inExtent[0], xp.baseAddress!, geo.inExtent[1], geo.inExtent[2],
                                       geo.kernel[1], geo.kernel[2], geo.stride[1], geo.stride[2], geo.dilation[1],
                                       geo.dilation[2], geo.padBegin[1], geo.padBegin[2], geo.outExtent[1],
                                       geo.outExtent[2], y, scratch.baseAddress!)
            }
        }
    }

    /// One plane's windows, each output the max or mean of its taps. Each output row is built a tap at a time across
    /// the row (the taps of each output still in their order), so the innermost loop runs over outputs, not over a
    /// window's few taps: `columns[t2]` holds the outputs whose window's tap `t2` of the last axis reads the input.
    private func pool(plane x: UnsafePointer<Float>, _ geo: PoolGeometry, _ windows: [[PoolGeometry.Window]],
                      columns: [Range<Int>], into y: UnsafeMutablePointer<Float>) {
        let rowStride = geo.inExtent[2], sliceStride = geo.inExtent[1] * geo.inExtent[2]
        let (d0, d1, d2, s2) = (geo.dilation[0], geo.dilation[1], geo.dilation[2], geo.stride[2])
        let width = windows[2].count, first2 = windows[2].first?.first ?? 0
        let isMax = if case .max = kind { true } else { false }
        var out = y
        for w0 in windows[0] {
            for w1 in windows[1] {
                out.update(repeating: isMax ? -Float.infinity : 0, count: width)
                for t0 in w0.taps {
                    for t1 in w1.taps {
                        let row = x + (w0.first + t0 * d0) * sliceStride + (w1.first + t1 * d1) * rowStride + first2
                        for (t2, outputs) in columns.enumerated() {
                            let tap = row + t2 * d2
                            if isMax {
                                for o in outputs { out[o] = PoolOp.larger(out[o], tap[o * s2]) }
                            } else {
                                for o in outputs { out[o] += tap[o * s2] }
                            }
                        }
                    }
                }
                if !isMax {
                    for (o, w2) in windows[2].enumerated() { out[o] = value(best: 0, sum: out[o], w0, w1, w2) }
                }
                out += width
            }
        }
    }

    /// The larger of a running maximum and the next tap: NaN once a tap is NaN, and of equal values (+0, −0) the
    /// first, as PyTorch's max pooling takes them.
    @inline(__always)
    static func larger(_ best: Float, _ v: Float) -> Float { v > best || v.isNaN ? v : best }

    private func value(best: Float, sum: Float, _ w0: PoolGeometry.Window, _ w1: PoolGeometry.Window,
                       _ w2: PoolGeometry.Window) -> Float {
        switch kind {
        case .max:
            return best
        case .average(let countingPads):
            let count = countingPads ? w0.padded * w1.padded * w2.padded : w0.taps.count * w1.taps.count * w2.taps.count
            return count > 0 ? sum / Float(count) : 0
        }
    }

    /// `GlobalMaxPool` / `GlobalAveragePool`: one value per plane, shape `[N, C, 1, ...]`.
    private func global(_ xT: GraphTensor, _ x: [Float]) throws -> GraphTensor {
        guard xT.rank >= 2, let planes = Array(xT.shape[..<2]).checkedElementCount(), xT.shape.checkedElementCount() != nil else {
            throw RNNRTError(.shapeMismatch, "\(label): X must be [N, C, spatial...], got \(xT.shape.shapeDescription)")
        }
        let inPlane = planes == 0 ? 0 : x.count / planes
        let out = outputFloats(planes) { y in
            for p in 0..<planes {
                let values = x[(p * inPlane)..<((p + 1) * inPlane)]
                switch kind {
                case .max: y[p] = values.reduce(-Float.infinity, PoolOp.larger)
                case .average: y[p] = inPlane == 0 ? .nan : values.reduce(0, +) / Float(inPlane)
                }
            }
        }
        return GraphTensor(shape: Array(xT.shape[..<2]) + [Int](repeating: 1, count: xT.rank - 2), floats: out)
    }
}
