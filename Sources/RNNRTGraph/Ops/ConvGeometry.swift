import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

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

    /// A 2-D 3×3 kernel at stride 1, undilated: what Winograd's F(2×2, 3×3) computes.
    var suitsWinograd: Bool {
        kernelExtent == [1, 3, 3] && stride == [1, 1, 1] && dilation == [1, 1, 1] && outExtent[0] == 1
    }

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
        guard (try? ElementCount.of([batch, outChannels] + outSize, "Conv output", elementSize: 0)) != nil,
              ([channelsPerGroup] + kSize).checkedElementCount().map({ $0 <= 1 << 28 }) == true else {
            throw RNNRTError(.invalidArgument, "Conv output [\(batch), \(outChannels)] + \(outSize.shapeDescription) is too large")
        }
        // Within the run's memory limit (`.limit`).
        _ = try ElementCount.of([batch, outChannels] + outSize, "Conv output")
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

    /// A kernel that spans one line (1 × taps along the last axis, undilated), no stride or padding across lines, and
    /// `stride` inputs a line per output: each channel's plane, read as one long line, gives its outputs as one long
    /// line (`rnnrt_conv_depthwise_lines_avx2`). Nil for any other geometry.
    var alongLines: (lines: Int, taps: Int, stride: Int, padBefore: Int)? {
        guard kernelExtent[0] == 1, kernelExtent[1] == 1, stride[0] == 1, stride[1] == 1, padBegin[0] == 0,
              padBegin[1] == 0, outExtent[0] == inExtent[0], outExtent[1] == inExtent[1], dilation[2] == 1,
              kernelExtent[2] <= Int(RNNRT_DEPTHWISE_LINES_MAX_TAPS), stride[2] <= kernelExtent[2],
              padBegin[2] < kernelExtent[2], inExtent[2] == stride[2] * outExtent[2] else { return nil }
        return (inExtent[0] * inExtent[1], kernelExtent[2], stride[2], padBegin[2])
    }

    /// The image the product with positions as columns reads (`rnnrt_conv_product_avx2`), or nil when it would be
    /// more than four times the input (extreme padding or dilation).
    func shiftedImage() -> ShiftedImage? {
        // The span of each axis the taps read, from the first padded position.
        let span = (0..<3).map { (axis: Int) -> Int in
            let last: Int = (outExtent[axis] - 1) * stride[axis]
            return last + (kernelExtent[axis] - 1) * dilation[axis] + 1
        }
        let fits = (0..<3).allSatisfy { (axis: Int) -> Bool in span[axis] <= inExtent[axis] }
        let inPlace = stride == [1, 1, 1] && padBegin == [0, 0, 0] && fits
        let extent = inPlace ? inExtent : (0..<3).map { (axis: Int) -> Int in (span[axis] + stride[axis] - 1) / stride[axis] }
        let phases = inPlace ? 1 : stride[0] * stride[1] * stride[2]
        guard let channelFloats = ([phases] + extent).checkedElementCount() else { return nil }
        let (floats, overflow) = channelFloats.multipliedReportingOverflow(by: inChannels)
        guard !overflow, floats / 4 <= inChannels * inPositions + (1 << 14) else { return nil }
        var offsets: [Int] = []
        offsets.reserveCapacity(patchWidth)
        for ci in 0..<channelsPerGroup {
            for a in 0..<kernelExtent[0] {
                for c in 0..<kernelExtent[1] {
                    for e in 0..<kernelExtent[2] {
                        let t = [a * dilation[0], c * dilation[1], e * dilation[2]]
                        let phase = ((t[0] % stride[0]) * stride[1] + t[1] % stride[1]) * stride[2] + t[2] % stride[2]
                        let plane = ci * phases + (inPlace ? 0 : phase)
                        let (d0, d1, d2) = inPlace ? (t[0], t[1], t[2]) : (t[0] / stride[0], t[1] / stride[1], t[2] / stride[2])
                        offsets.append(((plane * extent[0] + d0) * extent[1] + d1) * extent[2] + d2)
                    }
                }
            }
        }
        return ShiftedImage(extent: extent, phases: phases, inPlace: inPlace, offsets: offsets)
    }

    /// Floats of scratch an item's copy of `image` needs (none when the image is the input itself).
    func scratchFloats(for image: ShiftedImage) -> Int { image.inPlace ? 0 : inChannels * image.channelFloats }

    /// Item `b`'s image: the input itself when `image` is in place, else filled into `scratch` (`scratchFloats`).
    func itemImage(_ image: ShiftedImage, from x: UnsafePointer<Float>, item b: Int,
                   scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if image.inPlace { return x + b * inChannels * inPositions }
        fillImage(image, from: x, item: b, into: scratch)
        return UnsafePointer(scratch)
    }

    /// Item `b`'s channels as `image` lays them out: per channel and stride phase `(p0, p1, p2)`, the plane of padded
    /// input positions `(stride · i + p)` for `i` over the image extents, zero in the padding.
    func fillImage(_ image: ShiftedImage, from x: UnsafePointer<Float>, item b: Int, into out: UnsafeMutablePointer<Float>) {
        let (q0, q1, q2) = (image.extent[0], image.extent[1], image.extent[2])
        let (w1, w2) = (inExtent[1], inExtent[2])
        // The phases some tap reads along each axis (a 1×1 kernel at stride 2 reads one of the four): the others'
        // planes are left as they are.
        let used = (0..<3).map { axis in
            (0..<stride[axis]).map { p in (0..<kernelExtent[axis]).contains { ($0 * dilation[axis]) % stride[axis] == p } }
        }
        var row = out
        for ci in 0..<inChannels {
            let channel = x + (b * inChannels + ci) * inPositions
            for p0 in 0..<stride[0] {
                for p1 in 0..<stride[1] {
                    for p2 in 0..<stride[2] {
                        guard used[0][p0] && used[1][p1] && used[2][p2] else {
                            row += q0 * q1 * q2
                            continue
                        }
                        // The lines of the plane that lie inside the input (the others are padding).
                        let lines = ConvGeometry.inside(first: p1 - padBegin[1], step: stride[1], extent: w1, count: q1)
                        for i0 in 0..<q0 {
                            let plane = row
                            row += q1 * q2
                            let r0 = i0 * stride[0] + p0 - padBegin[0]
                            guard r0 >= 0, r0 < inExtent[0], !lines.isEmpty else {
                                plane.update(repeating: 0, count: q1 * q2)
                                continue
                            }
                            plane.update(repeating: 0, count: lines.lowerBound * q2)
                            let r1 = lines.lowerBound * stride[1] + p1 - padBegin[1]
                            copyLines(channel + (r0 * w1 + r1) * w2, count: lines.count, apart: stride[1] * w2, phase: p2,
                                      into: plane + lines.lowerBound * q2, width: q2)
                            (plane + lines.upperBound * q2).update(repeating: 0, count: (q1 - lines.upperBound) * q2)
                        }
                    }
                }
            }
        }
    }

    /// The `j < count` whose position `first + step · j` lies in `0..<extent`.
    static func inside(first: Int, step: Int, extent: Int, count: Int) -> Range<Int> {
        let lo = first >= 0 ? 0 : min(count, (-first + step - 1) / step)
        let hi = first >= extent ? lo : max(lo, min(count, (extent - 1 - first) / step + 1))
        return lo..<hi
    }

    /// `count` input lines (`apart` floats apart from `line`), each as `width` values into `out`: positions
    /// `stride[2] · j + phase − padBegin[2]` for `j < width`, zero outside the line.
    private func copyLines(_ line: UnsafePointer<Float>, count: Int, apart: Int, phase: Int,
                           into out: UnsafeMutablePointer<Float>, width: Int) {
        let s = stride[2], first = phase - padBegin[2]
        let inside = ConvGeometry.inside(first: first, step: s, extent: inExtent[2], count: width)
        let start = inside.isEmpty ? line : line + first + inside.lowerBound * s
        if KernelSet.avx2 {
            rnnrt_copy_every_lines_avx2(start, apart, s, count, inside.lowerBound, inside.count, width, out)
            return
        }
        for l in 0..<count {
            let row = out + l * width, source = start + l * apart
            row.update(repeating: 0, count: inside.lowerBound)
            for j in 0..<inside.count { row[inside.lowerBound + j] = source[j * s] }
            (row + inside.upperBound).update(repeating: 0, count: width - inside.upperBound)
        }
    }
}

/// A convolution's input as rows that every kernel tap reads shifted (`rnnrt_conv_product_avx2`): the input itself
/// at stride 1 without padding, else a copy per item, padded and split into stride phases so that a tap's positions
/// along each axis are consecutive.
struct ShiftedImage {
    /// The extents of one plane (depth, height, width).
    let extent: [Int]
    /// Planes per channel: one per stride phase.
    let phases: Int
    /// Whether the image is the input itself.
    let inPlace: Bool
    /// The offset of each patch value (W's `[C/group, kernel...]` order) from its group's first channel.
    let offsets: [Int]

    /// Floats per channel.
    var channelFloats: Int { phases * extent[0] * extent[1] * extent[2] }
    /// Floats between output depth planes.
    var planeFloats: Int { extent[1] * extent[2] }
}
