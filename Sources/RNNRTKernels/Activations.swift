import Foundation

/// Logistic sigmoid `1 / (1 + e^-x)` in float32, correctly saturating at both ends (no NaN for ±∞).
@inline(__always)
public func sigmoid(_ x: Float) -> Float {
    1 / (1 + Foundation.exp(-x))
}

/// Hyperbolic tangent in float32 (the C library's `tanhf`, ≤ 1 ulp).
@inline(__always)
public func hyperbolicTangent(_ x: Float) -> Float {
    Foundation.tanh(x)
}

/// `max(x, 0)`, propagating NaN as PyTorch's relu does.
@inline(__always)
public func relu(_ x: Float) -> Float {
    x.isNaN ? x : (x > 0 ? x : 0)
}
