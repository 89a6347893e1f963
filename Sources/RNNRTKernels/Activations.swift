import CRNNRTKernels
import Foundation

/// Logistic sigmoid `1 / (1 + e^-x)` in float32, correctly saturating at both ends (no NaN for ±∞).
@inline(__always)
package func sigmoid(_ x: Float) -> Float {
    1 / (1 + Foundation.exp(-x))
}

/// Hyperbolic tangent in float32 (the C library's `tanhf`, ≤ 1 ulp).
@inline(__always)
package func hyperbolicTangent(_ x: Float) -> Float {
    Foundation.tanh(x)
}

/// `max(x, 0)`, propagating NaN as PyTorch's relu does.
@inline(__always)
package func relu(_ x: Float) -> Float {
    x.isNaN ? x : (x > 0 ? x : 0)
}

extension ActivationFunction {
    /// `y[i] = f(x[i])` for `count` values; `y` may be `x`. With the AVX2 kernels, sigmoid, tanh, relu and SiLU run
    /// on the vector math of the recurrent cells; everything else (and every function on the portable kernels)
    /// element by element.
    package func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        if KernelSet.avx2 {
            switch self {
            case .sigmoid: rnnrt_sigmoid_avx2(x, y, count); return
            case .tanh: rnnrt_rnn_pointwise_avx2(x, y, count, 0); return
            case .relu: rnnrt_rnn_pointwise_avx2(x, y, count, 1); return
            case .silu: rnnrt_silu_avx2(x, y, count); return
            default: break
            }
        }
        for i in 0..<count { y[i] = self(x[i]) }
    }

    /// A new array of `f(x[i])`.
    package func applied(to x: [Float]) -> [Float] {
        [Float](unsafeUninitializedCapacity: x.count) { y, initialized in
            x.withUnsafeBufferPointer { apply($0.baseAddress!, y.baseAddress!, count: x.count) }
            initialized = x.count
        }
    }
}
