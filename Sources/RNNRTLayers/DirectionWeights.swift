import RNNRTCore

/// One layer-direction's weights, laid out once at bind time for the kernels.
///
/// Gate blocks keep PyTorch's order (LSTM i, f, g, o; GRU r, z, n). Matrices are stored transposed
/// (`[k × n]`, row-major) so `sgemm` streams them row by row.
package struct DirectionWeights: Sendable {
    /// `weight_ihᵀ`: `[inputWidth × G·H]`.
    let inputWeightsT: [Float]
    /// `weight_hhᵀ`: `[outputSize × G·H]`.
    let hiddenWeightsT: [Float]
    /// `weight_hrᵀ`: `[H × P]`, empty without projection.
    let projectionT: [Float]
    /// Added to the input projection: `b_ih + b_hh` (LSTM, RNN) or `b_ih` (GRU). `[G·H]`, zeros without bias.
    let inputBias: [Float]
    /// GRU only: `b_hh`, added to `h·Whhᵀ` before the reset gate multiplies its `n` block. `[G·H]`.
    let hiddenBias: [Float]
    let inputWidth: Int
    /// LSTM peephole weights (ONNX `P`), `[3H]` in the order `i, f, o`; empty without.
    let peepholes: [Float]

    package init(kind: RecurrentKind, gateRows: Int, inputWidth: Int, outputSize: Int, hidden: Int, projSize: Int,
         weightIH: Tensor, weightHH: Tensor, biasIH: Tensor?, biasHH: Tensor?, weightHR: Tensor?,
         peepholes: [Float] = []) {
        self.inputWidth = inputWidth
        self.peepholes = peepholes
        inputWeightsT = DirectionWeights.transposed(weightIH.scalars, rows: gateRows, cols: inputWidth)
        hiddenWeightsT = DirectionWeights.transposed(weightHH.scalars, rows: gateRows, cols: outputSize)
        projectionT = weightHR.map { DirectionWeights.transposed($0.scalars, rows: projSize, cols: hidden) } ?? []
        let bih = biasIH?.scalars ?? [Float](repeating: 0, count: gateRows)
        let bhh = biasHH?.scalars ?? [Float](repeating: 0, count: gateRows)
        if kind == .gru {
            inputBias = bih
            hiddenBias = bhh
        } else {
            inputBias = zip(bih, bhh).map { $0 + $1 }
            hiddenBias = []
        }
    }

    private static func transposed(_ m: [Float], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: m.count)
        for r in 0..<rows {
            for c in 0..<cols { out[c * rows + r] = m[r * cols + c] }
        }
        return out
    }
}
