import RNNRTCore
import RNNRTKernels

/// One layer-direction's weights, laid out once at bind time for the kernels.
///
/// Gate blocks keep PyTorch's order (LSTM i, f, g, o; GRU r, z, n). `WeightMatrix` decides each matrix's
/// layout (packed when small, the loaded tensor's `FloatStorage` used in place when large: from a mapped
/// checkpoint, the file's read-only pages).
package struct DirectionWeights: Sendable {
    /// `weight_ih`: `[G·H × inputWidth]`.
    let inputWeights: WeightMatrix
    /// `weight_hh`: `[G·H × outputSize]`.
    let hiddenWeights: WeightMatrix

    /// `weight_hrᵀ`: `[H × P]`, empty without projection.
    let projectionT: [Float]
    /// Added to the input projection: `b_ih + b_hh` (LSTM, RNN) or `b_ih` (GRU). `[G·H]`, zeros without bias.
    let inputBias: [Float]
    /// GRU only: `b_hh`, added to `h·Whhᵀ` before the reset gate multiplies its `n` block. `[G·H]`.
    let hiddenBias: [Float]
    let inputWidth: Int
    /// LSTM peephole weights (ONNX `P`), `[3H]` in the order `i, f, o`; empty without.
    let peepholes: [Float]
    /// The fused batch-1 step layout for whole sequences, made at bind when it fits in `StepLayout.bindLimit`
    /// (PyTorch form only): with the input columns for narrow-input layers (`StepLayout.runsSequences`), else
    /// `projected` (hidden columns only; the input projection is one matrix product up front).
    private(set) var stepLayout: StepLayout?

    /// Lays out one layer-direction from PyTorch's parameters (row-major, as stored). The weight matrices are
    /// shared, not copied, where `WeightMatrix` uses them in place; biases and the projection are copied.
    /// `storedGates`: `weightIH` and `weightHH` hold their gate blocks in another order (ONNX's), block `g` of
    /// PyTorch's order being stored block `storedGates[g]`; the biases are in PyTorch's order.
    /// The hidden matrix of a layer that gets a step layout is packed on its first product (batch-1 sequences run on
    /// the layout and never multiply it).
    package init(kind: RecurrentKind, gateRows: Int, inputWidth: Int, outputSize: Int, hidden: Int, projSize: Int,
         weightIH: FloatStorage, weightHH: FloatStorage, biasIH: FloatStorage?, biasHH: FloatStorage?,
         weightHR: FloatStorage?, peepholes: [Float] = [], storedGates: [Int]? = nil) {
        self.inputWidth = inputWidth
        self.peepholes = peepholes
        let projected = !StepLayout.runsSequences(inputs: inputWidth, hidden: hidden)
        let laidOut = StepLayout.isMade(kind: kind, hidden: hidden, projSize: projSize, peepholes: !peepholes.isEmpty,
                                        inputs: projected ? 0 : inputWidth, limit: StepLayout.bindLimit)
        let blocks = storedGates.map { (order: $0, rows: hidden) }
        inputWeights = WeightMatrix(weights: weightIH, rows: gateRows, cols: inputWidth, rowBlocks: blocks)
        hiddenWeights = WeightMatrix(weights: weightHH, rows: gateRows, cols: outputSize, rowBlocks: blocks, packLater: laidOut)
        projectionT = weightHR.map { DirectionWeights.transposed($0, rows: projSize, cols: hidden) } ?? []
        let bih = biasIH?.array ?? [Float](repeating: 0, count: gateRows)
        let bhh = biasHH?.array ?? [Float](repeating: 0, count: gateRows)
        if kind == .gru {
            inputBias = bih
            hiddenBias = bhh
        } else {
            inputBias = zip(bih, bhh).map { $0 + $1 }
            hiddenBias = []
        }
        stepLayout = nil
        stepLayout = laidOut ? StepLayout(kind: kind, hidden: hidden, projSize: projSize, weights: self, projected: projected) : nil
    }

    /// `m[rows×cols]ᵀ`, in 32×32 tiles so reads and writes both stay in cache.
    private static func transposed(_ m: FloatStorage, rows: Int, cols: Int) -> [Float] {
        precondition(m.count == rows * cols)
        return [Float](unsafeUninitializedCapacity: m.count) { out, initialized in
            m.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                let tile = 32
                for r0 in stride(from: 0, to: rows, by: tile) {
                    for c0 in stride(from: 0, to: cols, by: tile) {
                        for r in r0..<min(r0 + tile, rows) {
                            for c in c0..<min(c0 + tile, cols) { d[c * rows + r] = s[r * cols + c] }
                        }
                    }
                }
            }
            initialized = m.count
        }
    }
}
