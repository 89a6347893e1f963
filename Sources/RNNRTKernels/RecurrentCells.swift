import CRNNRTKernels

// Fused pointwise updates of one recurrent time step, for a batch of `batch` rows.
//
// The matrix products (input projection and `h·Whhᵀ`) are done beforehand with `sgemm`; these
// functions apply the gate nonlinearities and the state update in one pass. Gate blocks are in
// PyTorch's order. None of them allocates.

/// LSTM step. `gates` is `[batch × 4H]`, blocks `i, f, g, o`, pre-activations with both biases added.
/// Updates `c` (`[batch × H]`) in place and writes `h = o ⊙ tanh(c)` (`[batch × H]`).
package func lstmPointwise(
    gates: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
    hidden: Int, batch: Int
) {
    if KernelSet.avx2 { rnnrt_lstm_pointwise_avx2(gates, c, h, hidden, batch); return }
    for r in 0..<batch {
        let g = gates + r * 4 * hidden, cr = c + r * hidden, hr = h + r * hidden
        for j in 0..<hidden {
            let i = sigmoid(g[j])
            let f = sigmoid(g[hidden + j])
            let cand = hyperbolicTangent(g[2 * hidden + j])
            let o = sigmoid(g[3 * hidden + j])
            let cNew = f * cr[j] + i * cand
            cr[j] = cNew
            hr[j] = o * hyperbolicTangent(cNew)
        }
    }
}

/// GRU step. `inputPart` is `x·Wihᵀ + b_ih` and `hiddenPart` is `h·Whhᵀ + b_hh`, both `[batch × 3H]`
/// with blocks `r, z, n`. Updates `h` (`[batch × H]`) in place:
/// `r = σ(x_r + h_r)`, `z = σ(x_z + h_z)`, `n = tanh(x_n + r ⊙ h_n)`, `h' = (1 − z) ⊙ n + z ⊙ h`.
package func gruPointwise(
    inputPart: UnsafePointer<Float>, hiddenPart: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>,
    hidden: Int, batch: Int
) {
    if KernelSet.avx2 { rnnrt_gru_pointwise_avx2(inputPart, hiddenPart, h, hidden, batch); return }
    for b in 0..<batch {
        let x = inputPart + b * 3 * hidden, p = hiddenPart + b * 3 * hidden, hr = h + b * hidden
        for j in 0..<hidden {
            let r = sigmoid(x[j] + p[j])
            let z = sigmoid(x[hidden + j] + p[hidden + j])
            let n = hyperbolicTangent(x[2 * hidden + j] + r * p[2 * hidden + j])
            hr[j] = (1 - z) * n + z * hr[j]
        }
    }
}

/// Elman RNN step: `h = tanh(pre)` or `relu(pre)` elementwise over `count` values.
package func rnnPointwise(
    preactivation: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>, count: Int, useRelu: Bool
) {
    if KernelSet.avx2 { rnnrt_rnn_pointwise_avx2(preactivation, h, count, useRelu ? 1 : 0); return }
    if useRelu {
        for j in 0..<count { h[j] = relu(preactivation[j]) }
    } else {
        for j in 0..<count { h[j] = hyperbolicTangent(preactivation[j]) }
    }
}
