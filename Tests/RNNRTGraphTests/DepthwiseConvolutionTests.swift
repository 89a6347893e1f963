import Testing
import RNNRTKernels
import RNNRTTestSupport
@testable import RNNRTGraph
import RNNRTCore

/// Convolutions with one input channel per group and a kernel along the line: every output the sum of its taps in tap
/// order (padding skipped), plus the bias — bit for bit, whether a convolution runs on a padded image or along whole
/// planes as long lines (`rnnrt_conv_depthwise_lines_avx2`); and the transposed ones, the bias plus each tap's product
/// in tap order, whether by product and scatter or along long lines (`rnnrt_conv_transpose_depthwise_lines_avx2`).
@Suite struct DepthwiseConvolutionTests {
    /// `y` holds the reference's sums bit for bit when `depthwise` (the forms under test ran); general products (a
    /// single input channel over fewer than 64 positions, the portable kernels) sum in another order, within float32
    /// rounding.
    static func expectSums(_ y: GraphTensor, _ expected: [Float], depthwise: Bool, _ message: String) {
        if depthwise {
            #expect(y.floatsUnchecked.map(\.bitPattern) == expected.map(\.bitPattern), "\(message)")
        } else {
            let within = zip(y.floatsUnchecked, expected).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-4 * abs($1) }
            #expect(y.floatsUnchecked.count == expected.count && within, "\(message)")
        }
    }

    /// One `opType` node on `x` with the constant weights `w` and bias `b`.
    static func run(_ opType: String, x: Tensor, w: Tensor, b: Tensor?, _ attributes: [String: GraphAttribute]) throws
        -> GraphTensor {
        let node = GraphNode(opType: opType, inputs: ["X", "W"] + (b == nil ? [] : ["B"]), outputs: ["Y"],
                             attributes: attributes)
        let graph = Graph(nodes: [node], initializers: [("W", .init(w))] + (b.map { [("B", .init($0))] } ?? []),
                          inputs: [GraphValueInfo(name: "X")], outputs: [GraphValueInfo(name: "Y")])
        return try Plan(graph: graph, opset: 17).run(["X": GraphTensor(x)])[0].tensor
    }

    /// Every output `[N, M, H, wout]` of a `1 × k` kernel on `x [N, C, H, W]`, `M / C` outputs per input channel:
    /// `value(o, line, out)`, `line` reading input line `line` of output channel `o`'s input plane.
    static func eachOutput(x: Tensor, outputs: Int, wout: Int, _ value: (Int, (Int) -> Float, Int) -> Float) -> [Float] {
        let (n, c, h, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var y: [Float] = []
        for item in 0..<n {
            for o in 0..<outputs {
                let plane = (item * c + o / (outputs / c)) * h * width
                for line in 0..<h {
                    for out in 0..<wout { y.append(value(o, { x.scalars[plane + line * width + $0] }, out)) }
                }
            }
        }
        return y
    }

    /// A `1 × k` `Conv`'s outputs (`eachOutput`): the taps inside the line summed in tap order, plus the bias.
    static func reference(x: Tensor, w: Tensor, b: Tensor?, outputs: Int, stride s: Int, padBefore: Int, wout: Int) -> [Float] {
        let (width, taps) = (x.shape[3], w.shape[3])
        return eachOutput(x: x, outputs: outputs, wout: wout) { o, line, out in
            var acc: Float = 0
            for t in 0..<taps {
                let position = s * out + t - padBefore
                if position >= 0 && position < width { acc = acc.addingProduct(w.scalars[o * taps + t], line(position)) }
            }
            return acc + (b?.scalars[o] ?? 0)
        }
    }

    @Test(arguments: [1, 2, 3])
    func sumsInTapOrderAtEveryGeometry(stride s: Int) throws {
        var rng = SeededGenerator(seed: UInt64(40 + s))
        var alongLines = 0, cases = 0
        for (channels, outputs) in [(3, 3), (2, 6), (1, 4)] {
            for taps in [1, 2, 3, 5] where s <= taps {
                for width in [1, 2, 7, 8, 9, 16, 33, 48] {
                    for padBefore in 0..<taps {
                        for padAfter in 0..<taps {
                            let wout = (width + padBefore + padAfter - taps) / s + 1
                            guard width + padBefore + padAfter >= taps, wout > 0 else { continue }
                            let lines = 1 + (width + taps) % 4
                            let x = Tensor.random([2, channels, lines, width], using: &rng)
                            let w = Tensor.random([outputs, 1, 1, taps], using: &rng)
                            let b = (width + taps).isMultiple(of: 2) ? Tensor.random([outputs], using: &rng) : nil
                            let y = try Self.run("Conv", x: x, w: w, b: b, ["group": .int(Int64(channels)),
                                                 "strides": .ints([1, Int64(s)]),
                                                 "pads": .ints([0, Int64(padBefore), 0, Int64(padAfter)])])
                            let expected = Self.reference(x: x, w: w, b: b, outputs: outputs, stride: s,
                                                          padBefore: padBefore, wout: wout)
                            #expect(y.shape == [2, outputs, lines, wout])
                            let depthwise = KernelSet.avx2 && (channels > 1 || lines * wout >= ConvOp.columnsFrom)
                            Self.expectSums(y, expected, depthwise: depthwise,
                                            "C \(channels) M \(outputs) k \(taps) stride \(s) width \(width) pads \(padBefore), \(padAfter)")
                            cases += 1
                            if width == s * wout { alongLines += 1 }
                        }
                    }
                }
            }
        }
        // Both forms ran: whole planes as long lines (width = stride · outputs a line), and padded images.
        #expect(alongLines > 20 && cases - alongLines > 20, "\(alongLines) of \(cases) along lines")
    }

    /// A `1 × k` `ConvTranspose`'s outputs (`W [C, M/C, 1, k]`, `eachOutput`): the bias, then each tap's rounded product
    /// added in tap order.
    static func transposeReference(x: Tensor, w: Tensor, b: Tensor?, outputs: Int, stride s: Int, padBefore: Int,
                                   wout: Int) -> [Float] {
        let (width, taps) = (x.shape[3], w.shape[3])
        return eachOutput(x: x, outputs: outputs, wout: wout) { o, line, out in
            var acc = b?.scalars[o] ?? 0
            for t in 0..<taps {
                let shifted = out + padBefore - t
                guard shifted >= 0, shifted % s == 0, shifted / s < width else { continue }
                let product = w.scalars[o * taps + t] * line(shifted / s)
                acc = acc + product
            }
            return acc
        }
    }

    @Test(arguments: [1, 2, 3])
    func transposedSumsInTapOrderAtEveryGeometry(stride s: Int) throws {
        var rng = SeededGenerator(seed: UInt64(50 + s))
        var alongLines = 0, cases = 0
        for (channels, outputs) in [(3, 3), (2, 6)] {
            for taps in [1, 2, 3, 5] where s <= taps {
                for width in [1, 2, 7, 8, 9, 16, 33] {
                    for padBefore in 0..<taps {
                        for adjust in 0..<s {
                            for padAfter in 0..<(taps + 1) {
                                let wout = (width - 1) * s + taps + adjust - padBefore - padAfter
                                guard wout > 0 else { continue }
                                let lines = 1 + (width + taps) % 3
                                let x = Tensor.random([2, channels, lines, width], using: &rng)
                                let w = Tensor.random([channels, outputs / channels, 1, taps], using: &rng)
                                let b = (width + taps).isMultiple(of: 2) ? Tensor.random([outputs], using: &rng) : nil
                                let y = try Self.run("ConvTranspose", x: x, w: w, b: b, ["group": .int(Int64(channels)),
                                                     "strides": .ints([1, Int64(s)]),
                                                     "output_padding": .ints([0, Int64(adjust)]),
                                                     "pads": .ints([0, Int64(padBefore), 0, Int64(padAfter)])])
                                let expected = Self.transposeReference(x: x, w: w, b: b, outputs: outputs, stride: s,
                                                                       padBefore: padBefore, wout: wout)
                                #expect(y.shape == [2, outputs, lines, wout])
                                Self.expectSums(y, expected, depthwise: KernelSet.avx2,
                                                "C \(channels) M \(outputs) k \(taps) stride \(s) width \(width) pads \(padBefore), \(padAfter) adjust \(adjust)")
                                cases += 1
                                if wout == s * width { alongLines += 1 }
                            }
                        }
                    }
                }
            }
        }
        #expect(alongLines > 20 && cases - alongLines > 20, "\(alongLines) of \(cases) along lines")
    }
}
