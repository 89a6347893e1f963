import CRNNRTKernels
import RNNRTCore

/// The attributes of one `ConvTranspose` node, as read (checked against the shapes by `ConvTransposeGeometry`).
struct ConvTransposeAttributes: Sendable {
    let label: String
    let group: Int
    let strides: [Int]?
    let dilations: [Int]?
    let pads: [Int]?
    let outputPadding: [Int]?
    let outputShape: [Int]?
    let kernelShape: [Int]?
    let autoPad: String

    init(_ node: GraphNode) throws {
        label = node.label
        let read = { (name: String) throws -> [Int]? in try node.ints(name)?.map { Int(clamping: $0) } }
        group = Int(clamping: try node.int("group", default: 1))
        strides = try read("strides")
        dilations = try read("dilations")
        pads = try read("pads")
        outputPadding = try read("output_padding")
        outputShape = try read("output_shape")
        kernelShape = try read("kernel_shape")
        autoPad = try node.string("auto_pad", default: "NOTSET")
        guard group >= 1, group <= 1 << 24 else {
            throw RNNRTError(.malformed, "\(label): group must be from 1 to 2^24, found \(group)")
        }
        guard ["NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else {
            throw RNNRTError(.malformed, "\(label): auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, found '\(autoPad)'")
        }
    }

    /// Attribute `values` (or `fallback` per axis when absent), each within `range`, `count` of them.
    func axes(_ name: String, _ values: [Int]?, count: Int, fallback: Int, _ range: ClosedRange<Int>) throws -> [Int] {
        guard let values else { return [Int](repeating: fallback, count: count) }
        guard values.count == count, values.allSatisfy({ range.contains($0) }) else {
            throw RNNRTError(.invalidArgument, "\(label): \(name) \(values) must have \(count) entries from \(range.lowerBound) to \(range.upperBound)")
        }
        return values
    }
}

/// The shapes of one transposed convolution, `X [N, C, in...]` and `W [C, M/group, kernel...]` giving
/// `Y [N, M, out...]`: input `i` at kernel index `k` adds to output `i · stride + k · dilation − padBegin` along each
/// axis, where that lies in `[0, out)`. Spatial axes are padded to three (leading ones of extent 1).
struct ConvTransposeGeometry {
    let batch: Int
    let inChannels: Int
    let outChannels: Int
    let group: Int
    let inPerGroup: Int
    let outPerGroup: Int
    /// The real spatial output extents (rank − 2 of them).
    let outSize: [Int]
    let inExtent: [Int]
    let kernelExtent: [Int]
    let outExtent: [Int]
    let stride: [Int]
    let dilation: [Int]
    let padBegin: [Int]

    var inPositions: Int { inExtent[0] * inExtent[1] * inExtent[2] }
    var outPositions: Int { outExtent[0] * outExtent[1] * outExtent[2] }
    var taps: Int { kernelExtent[0] * kernelExtent[1] * kernelExtent[2] }
    /// Rows of one group's product: output channels of the group × kernel taps.
    var productRows: Int { outPerGroup * taps }

    /// Largest output, product and kernel accepted (elements).
    static let outputLimit = 1 << 32
    static let kernelLimit = 1 << 28

    init(input: [Int], weights: [Int], _ attributes: ConvTransposeAttributes) throws {
        let label = attributes.label
        guard input.count >= 3, input.count <= 5, weights.count == input.count else {
            throw RNNRTError(.shapeMismatch, "\(label): X \(input.shapeDescription) and W \(weights.shapeDescription) must both be [N, C, spatial...] / [C, M/group, kernel...] with 1 to 3 spatial axes")
        }
        guard input.checkedElementCount() != nil, Array(input[1...]).checkedElementCount() != nil,
              weights.checkedElementCount().map({ $0 > 0 && $0 <= ConvTransposeGeometry.kernelLimit }) == true else {
            throw RNNRTError(.shapeMismatch, "\(label): X \(input.shapeDescription) and W \(weights.shapeDescription) must have sizes that fit, and W from 1 to 2^28 elements")
        }
        let group = attributes.group
        guard weights[0] == input[1], input[1] % group == 0,
              case let (outChannels, false) = weights[1].multipliedReportingOverflow(by: group) else {
            throw RNNRTError(.shapeMismatch, "\(label): X has \(input[1]) channels and group \(group), but W is \(weights.shapeDescription) (it must be [C, M/group, kernel...] with C a multiple of group)")
        }
        let kernel = Array(weights[2...])
        if let shape = attributes.kernelShape, shape != kernel {
            throw RNNRTError(.shapeMismatch, "\(label): kernel_shape \(shape) differs from W's kernel \(kernel.shapeDescription)")
        }
        let axes = try ConvTransposeGeometry.outputAxes(input: Array(input[2...]), kernel: kernel, attributes)
        let fits = { (shape: [Int]) in shape.checkedElementCount().map { $0 <= ConvTransposeGeometry.outputLimit } == true }
        guard fits([outChannels] + axes.size), fits([input[0], outChannels] + axes.size) else {
            throw RNNRTError(.invalidArgument, "\(label): output [\(input[0]), \(outChannels)] + \(axes.size.shapeDescription) is too large")
        }
        batch = input[0]
        inChannels = input[1]
        self.outChannels = outChannels
        self.group = group
        inPerGroup = input[1] / group
        outPerGroup = weights[1]
        outSize = axes.size
        let lead = [Int](repeating: 1, count: 5 - input.count)
        inExtent = lead + input[2...]
        kernelExtent = lead + kernel
        outExtent = lead + axes.size
        stride = lead + axes.stride
        dilation = lead + axes.dilation
        padBegin = lead.map { _ in 0 } + axes.padBegin
    }

    /// Per spatial axis: output extent, stride, dilation and the padding cut from the start of the full output.
    private static func outputAxes(input: [Int], kernel: [Int], _ a: ConvTransposeAttributes) throws
        -> (size: [Int], stride: [Int], dilation: [Int], padBegin: [Int]) {
        let n = input.count, limit = 1 << 24
        let stride = try a.axes("strides", a.strides, count: n, fallback: 1, 1...limit)
        let dilation = try a.axes("dilations", a.dilations, count: n, fallback: 1, 1...limit)
        let adjust = try a.axes("output_padding", a.outputPadding, count: n, fallback: 0, 0...limit)
        let explicit = a.autoPad == "NOTSET" || a.autoPad == ""
        let pads = explicit ? try a.axes("pads", a.pads, count: 2 * n, fallback: 0, 0...limit) : nil
        let wanted = try requestedShape(a, spatial: n)
        var size: [Int] = [], begin: [Int] = []
        for i in 0..<n {
            // The full output: (in − 1) · stride + (kernel − 1) · dilation + 1 + output_padding, checked.
            guard input[i] >= 1, input[i] <= 1 << 32, kernel[i] <= limit,
                  case let (span, false) = (input[i] - 1).multipliedReportingOverflow(by: stride[i]),
                  case let (reach, false) = (kernel[i] - 1).multipliedReportingOverflow(by: dilation[i]) else {
                throw RNNRTError(.invalidArgument, "\(a.label): input extent \(input[i]), kernel \(kernel[i]), stride \(stride[i]) and dilation \(dilation[i]) are out of range")
            }
            let full = span + reach + 1 + adjust[i]
            let (out, head) = try extent(axis: i, full: full, input: input[i], stride: stride[i], wanted: wanted?[i],
                                         pads: pads.map { ($0[i], $0[n + i]) }, a)
            size.append(out)
            begin.append(head)
        }
        return (size, stride, dilation, begin)
    }

    /// `output_shape`'s spatial extents (the last `spatial` entries when it also lists N and M), each from 1 to 2^32.
    private static func requestedShape(_ a: ConvTransposeAttributes, spatial: Int) throws -> [Int]? {
        guard let shape = a.outputShape else { return nil }
        guard shape.count == spatial || shape.count == spatial + 2, shape.allSatisfy({ $0 >= 1 && $0 <= 1 << 32 }) else {
            throw RNNRTError(.invalidArgument, "\(a.label): output_shape \(shape) must have \(spatial) entries from 1 to 2^32")
        }
        return Array(shape.suffix(spatial))
    }

    /// One axis's output extent and start padding: from `output_shape` (zero past the full output), or from `auto_pad`
    /// SAME (`input · stride`, or the full output when shorter), the padding the full output exceeds it by with its
    /// larger half at the end for SAME_UPPER, at the start otherwise; else the explicit pads.
    private static func extent(axis: Int, full: Int, input: Int, stride: Int, wanted: Int?, pads: (Int, Int)?,
                               _ a: ConvTransposeAttributes) throws -> (Int, Int) {
        var target = wanted
        if target == nil, a.autoPad.hasPrefix("SAME") {
            target = min(full, input * stride)
        }
        if let target {
            let total = max(0, full - target)
            return (target, a.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2)
        }
        let (begin, end) = pads ?? (0, 0)
        guard full - begin - end >= 1 else {
            throw RNNRTError(.shapeMismatch, "\(a.label): output along spatial axis \(axis) would be empty: full extent \(full), pads \(begin) and \(end)")
        }
        return (full - begin - end, begin)
    }

    /// One input channel per group, a kernel that spans one line (1 × taps along the last axis, undilated), no stride
    /// or padding across lines, and `stride` outputs a line per input: each channel's plane, read as one long line,
    /// gives its outputs as one long line (`rnnrt_conv_transpose_depthwise_lines_avx2`). Nil for any other geometry.
    var alongLines: (lines: Int, taps: Int, stride: Int, padBefore: Int)? {
        guard inPerGroup == 1, kernelExtent[0] == 1, kernelExtent[1] == 1, stride[0] == 1, stride[1] == 1,
              padBegin[0] == 0, padBegin[1] == 0, outExtent[0] == inExtent[0], outExtent[1] == inExtent[1],
              dilation[2] == 1, kernelExtent[2] <= Int(RNNRT_DEPTHWISE_LINES_MAX_TAPS), stride[2] <= kernelExtent[2],
              padBegin[2] < kernelExtent[2], outExtent[2] == stride[2] * inExtent[2] else { return nil }
        return (inExtent[0] * inExtent[1], kernelExtent[2], stride[2], padBegin[2])
    }

    /// Per kernel index `k` along `axis`: the input indices `i` whose output `i · stride + k · dilation − padBegin`
    /// lies inside the output, and that output's offset `k · dilation − padBegin`.
    func reach(_ axis: Int) -> [(inputs: Range<Int>, offset: Int)] {
        let s = stride[axis], n = inExtent[axis], out = outExtent[axis]
        return (0..<kernelExtent[axis]).map { k in
            let offset = k * dilation[axis] - padBegin[axis]
            // i ≥ ceil(−offset / s) and i ≤ floor((out − 1 − offset) / s), within [0, n).
            let lo = offset >= 0 ? 0 : (-offset + s - 1) / s
            let last = out - 1 - offset
            let hi = last < 0 ? 0 : min(n, last / s + 1)
            return (min(lo, hi)..<hi, offset)
        }
    }
}
