import Foundation

extension ActivationFunction {
    /// The function in float64, for the float64 reference computation: the same formulas as the float32 one with
    /// `activation_alpha`/`activation_beta` widened, softplus without the float32 cut-off (`max(x, 0) + log1p(e^−|x|)`).
    package func callAsFunction(_ x: Double) -> Double {
        switch self {
        case .relu: return x.isNaN ? x : (x > 0 ? x : 0)
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .affine(let a, let b): return Double(a) * x + Double(b)
        case .leakyRelu(let a): return x >= 0 ? x : Double(a) * x
        case .thresholdedRelu(let a): return x > Double(a) ? x : 0
        case .scaledTanh(let a, let b): return Double(a) * Foundation.tanh(Double(b) * x)
        case .hardSigmoid(let a, let b): return max(0, min(1, Double(a) * x + Double(b)))
        case .elu(let a): return x >= 0 ? x : Double(a) * Foundation.expm1(x)
        case .softsign: return x / (1 + abs(x))
        case .softplus: return max(x, 0) + Foundation.log1p(Foundation.exp(-abs(x)))
        case .silu: return x / (1 + Foundation.exp(-x))
        }
    }
}

extension CellFunctions {
    /// Activation `i` of a clipped pre-activation, in float64.
    @inline(__always) package func act(_ i: Int, _ x: Double) -> Double {
        guard let clip else { return activations[i](x) }
        let bound = Double(clip)
        return activations[i](min(max(x, -bound), bound))
    }
}
