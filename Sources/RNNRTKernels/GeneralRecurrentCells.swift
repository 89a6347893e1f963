import Foundation

/// A gate activation of the ONNX recurrent operators (`activations` attribute), with its
/// `activation_alpha`/`activation_beta` parameters; also what the graph executor's activation operators apply to
/// whole tensors (`apply`).
package enum ActivationFunction: Sendable, Equatable {
    case relu
    case tanh
    case sigmoid
    /// `alpha·x + beta`
    case affine(alpha: Float, beta: Float)
    /// `x` for x ≥ 0, else `alpha·x`
    case leakyRelu(alpha: Float)
    /// `x` for x > alpha, else 0
    case thresholdedRelu(alpha: Float)
    /// `alpha·tanh(beta·x)`
    case scaledTanh(alpha: Float, beta: Float)
    /// `max(0, min(1, alpha·x + beta))`
    case hardSigmoid(alpha: Float, beta: Float)
    /// `x` for x ≥ 0, else `alpha·(eˣ − 1)`
    case elu(alpha: Float)
    /// `x / (1 + |x|)`
    case softsign
    /// `log(1 + eˣ)`
    case softplus
    /// `x·σ(x)` (SiLU): a graph's `x * sigmoid(x)`, fused; not among the recurrent operators' activations
    case silu

    @inline(__always)
    package func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .relu: return RNNRTKernels.relu(x)
        case .tanh: return hyperbolicTangent(x)
        case .sigmoid: return RNNRTKernels.sigmoid(x)
        case .affine(let a, let b): return a * x + b
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        case .thresholdedRelu(let a): return x > a ? x : 0
        case .scaledTanh(let a, let b): return a * hyperbolicTangent(b * x)
        case .hardSigmoid(let a, let b): return max(0, min(1, a * x + b))
        case .elu(let a): return x >= 0 ? x : a * (Foundation.exp(x) - 1)
        case .softsign: return x / (1 + abs(x))
        case .softplus: return x > 20 ? x : Foundation.log1p(Foundation.exp(x))
        case .silu: return x * RNNRTKernels.sigmoid(x)
        }
    }
}

/// Everything about a recurrent cell's pointwise update beyond PyTorch's fixed form, as the ONNX
/// operators allow: gate activations, pre-activation clipping, LSTM coupled input-forget gate.
package struct CellFunctions: Sendable, Equatable {
    /// LSTM: `[f, g, h]`; GRU: `[f, g]`; RNN: `[f]` (ONNX's names).
    package var activations: [ActivationFunction]
    /// Clamp every gate pre-activation to `[−clip, clip]`; nil: no clipping.
    package var clip: Float?
    /// LSTM: `f = 1 − i`.
    package var inputForget: Bool

    package init(activations: [ActivationFunction], clip: Float? = nil, inputForget: Bool = false) {
        self.activations = activations
        self.clip = clip
        self.inputForget = inputForget
    }

    @inline(__always) func clipped(_ x: Float) -> Float {
        guard let clip else { return x }
        return min(max(x, -clip), clip)
    }

    @inline(__always) func act(_ i: Int, _ x: Float) -> Float { activations[i](clipped(x)) }
}

/// General LSTM step (any activations, clipping, coupled gates, peepholes). `gates` is `[batch × 4H]` in
/// PyTorch's block order `i, f, g, o` with both biases and `h·Rᵀ` added; `peepholes`, when given, is
/// `[3H]` in the order `i, f, o`. Updates `c` in place and writes `h` (`[batch × H]` each).
package func lstmPointwiseGeneral(
    gates: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
    hidden: Int, batch: Int, functions fn: CellFunctions, peepholes: UnsafePointer<Float>?
) {
    for r in 0..<batch {
        let g = gates + r * 4 * hidden, cr = c + r * hidden, hr = h + r * hidden
        for j in 0..<hidden {
            let cPrev = cr[j]
            let pi = peepholes.map { $0[j] * cPrev } ?? 0
            let pf = peepholes.map { $0[hidden + j] * cPrev } ?? 0
            let i = fn.act(0, g[j] + pi)
            let f = fn.inputForget ? 1 - i : fn.act(0, g[hidden + j] + pf)
            let cand = fn.act(1, g[2 * hidden + j])
            let cNew = f * cPrev + i * cand
            let po = peepholes.map { $0[2 * hidden + j] * cNew } ?? 0
            let o = fn.act(0, g[3 * hidden + j] + po)
            cr[j] = cNew
            hr[j] = o * fn.activations[2](cNew)
        }
    }
}

/// General GRU step with the reset gate applied after the recurrent product (`linear_before_reset` ≠ 0,
/// PyTorch's form): `inputPart` = `x·Wᵀ + Wb`, `hiddenPart` = `h·Rᵀ + Rb`, both `[batch × 3H]` in
/// block order `r, z, n`. Updates `h` in place.
package func gruPointwiseGeneral(
    inputPart: UnsafePointer<Float>, hiddenPart: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>,
    hidden: Int, batch: Int, functions fn: CellFunctions
) {
    for b in 0..<batch {
        let x = inputPart + b * 3 * hidden, p = hiddenPart + b * 3 * hidden, hr = h + b * hidden
        for j in 0..<hidden {
            let r = fn.act(0, x[j] + p[j])
            let z = fn.act(0, x[hidden + j] + p[hidden + j])
            let n = fn.act(1, x[2 * hidden + j] + r * p[2 * hidden + j])
            hr[j] = (1 - z) * n + z * hr[j]
        }
    }
}

/// First half of a GRU step with the reset gate applied before the recurrent product
/// (`linear_before_reset` = 0): from `x·Wᵀ + Wb` and `h·Rᵀ + Rb` (only the `r, z` blocks are read), writes
/// the reset gate `r` and `r ⊙ h` (`[batch × H]` each) and the update gate `z` into `zOut`.
package func gruResetGates(
    inputPart: UnsafePointer<Float>, hiddenPart: UnsafePointer<Float>, h: UnsafePointer<Float>,
    resetHidden: UnsafeMutablePointer<Float>, zOut: UnsafeMutablePointer<Float>,
    hidden: Int, batch: Int, functions fn: CellFunctions
) {
    for b in 0..<batch {
        let x = inputPart + b * 3 * hidden, p = hiddenPart + b * 3 * hidden
        for j in 0..<hidden {
            let r = fn.act(0, x[j] + p[j])
            zOut[b * hidden + j] = fn.act(0, x[hidden + j] + p[hidden + j])
            resetHidden[b * hidden + j] = r * h[b * hidden + j]
        }
    }
}

/// Second half of that step: `n = g(x_n + (r ⊙ h)·R_nᵀ + Rb_n)` (`candidate` holds the last two terms,
/// `[batch × H]`), `h' = (1 − z) ⊙ n + z ⊙ h`.
package func gruCandidateUpdate(
    inputPart: UnsafePointer<Float>, candidate: UnsafePointer<Float>, z: UnsafePointer<Float>,
    h: UnsafeMutablePointer<Float>, hidden: Int, batch: Int, functions fn: CellFunctions
) {
    for b in 0..<batch {
        let x = inputPart + b * 3 * hidden
        for j in 0..<hidden {
            let n = fn.act(1, x[2 * hidden + j] + candidate[b * hidden + j])
            let zz = z[b * hidden + j]
            h[b * hidden + j] = (1 - zz) * n + zz * h[b * hidden + j]
        }
    }
}

/// General Elman RNN step: `h = f(clip(pre))` over `count` values.
package func rnnPointwiseGeneral(preactivation: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>, count: Int,
                                functions fn: CellFunctions) {
    for j in 0..<count { h[j] = fn.act(0, preactivation[j]) }
}
