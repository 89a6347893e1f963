import CRNNRTKernels

/// A 3×3 convolution's constant weights transformed once for Winograd's F(2×2, 3×3)
/// (`rnnrt_winograd_conv_avx2`): each 2×2 block of outputs in 16 products instead of 36. With the AVX2 kernels only.
package final class WinogradWeights: @unchecked Sendable {
    /// Output channels.
    package let m: Int
    /// Input channels.
    package let c: Int
    private let u: UnsafeMutablePointer<Float>

    /// From W `[m][c][3][3]` row-major; nil without the AVX2 kernels.
    package init?(weights w: [Float], outputs m: Int, inputs c: Int) {
        guard KernelSet.avx2, m > 0, c > 0, w.count == m * c * 9 else { return nil }
        self.m = m
        self.c = c
        u = KernelMemory.allocate(floats: Int(rnnrt_winograd_weights_count(m, c)))
        w.withUnsafeBufferPointer { rnnrt_winograd_pack_weights(m, c, $0.baseAddress!, u) }
    }

    deinit { u.deallocate() }

    /// Floats of scratch `convolve` needs.
    package var scratchFloats: Int { Int(rnnrt_winograd_scratch(m, c)) }

    /// `y [m][oh][ow] = (accumulate ? y : 0) + bias + conv(image)` for an image `[c][rows][cols]` that holds the padding
    /// (`rows ≥ oh + 2`, `cols ≥ ow + 2`) followed by at least `cols + 32` readable floats; `scratch` holds
    /// `scratchFloats`.
    package func convolve(image: UnsafePointer<Float>, rows: Int, cols: Int, oh: Int, ow: Int, bias: UnsafePointer<Float>?,
                         into y: UnsafeMutablePointer<Float>, accumulate: Bool, scratch: UnsafeMutablePointer<Float>) {
        precondition(rows >= oh + 2 && cols >= ow + 2)
        rnnrt_winograd_conv_avx2(m, c, rows, cols, oh, ow, image, u, bias, y, accumulate ? 1 : 0, scratch)
    }
}
