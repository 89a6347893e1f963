import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// One layer-direction laid out for the fused batch-1 step kernels (`rnnrt_step_pack`): per block of units,
/// the bias as the accumulators' start value, then one row per input and per hidden column with the gates
/// side by side, 64-byte aligned. `rnnrt_stream_step_avx2` (streaming) and `rnnrt_step_sequence_avx2`
/// (whole batch-1 sequences) run on it.
///
/// Two forms: with the input columns (each step's product runs over `[x_t; h]`: streaming, and whole sequences
/// of narrow-input layers), or `projected` — hidden columns only, for whole sequences whose input projection is
/// computed up front by one matrix product and added to the start values step by step.
package final class StepLayout: @unchecked Sendable {
    /// Floats up to which a layout is made at bind (1 MB: it stays in L2 from step to step).
    static let bindLimit = 1 << 18

    /// Whether whole batch-1 sequences run on the layout: when the input columns are at most a quarter of the
    /// hidden ones. Each step then reads W_ih again instead of one up-front input projection, which costs
    /// more than it saves for wide inputs and wins for narrow ones.
    static func runsSequences(inputs: Int, hidden: Int) -> Bool { inputs * 4 <= hidden }

    /// Whether this layout holds only the hidden columns (`projected`), so its sequences need the input projection.
    let projected: Bool

    /// The kernels' kind code.
    let kindCode: Int32
    let inputs: Int
    /// Immutable after init; freed in deinit.
    private let weights: UnsafeMutablePointer<Float>

    /// The layout of `w`, or nil when the AVX2 kernels do not run or `w` has a projection or peepholes.
    /// `limit`: the largest layout (floats) to make. `projected`: hidden columns only, with the biases the input
    /// projection leaves out as start values (GRU: b_hh; LSTM, RNN: none, the projection carries b_ih + b_hh).
    init?(kind: RecurrentKind, hidden: Int, projSize: Int, weights w: DirectionWeights, limit: Int = .max,
          projected: Bool = false) {
        let inputs = projected ? 0 : w.inputWidth
        guard StepLayout.isMade(kind: kind, hidden: hidden, projSize: projSize, peepholes: !w.peepholes.isEmpty,
                                inputs: inputs, limit: limit) else { return nil }
        let code = kind.stepKernelCode
        let count = Int(rnnrt_step_packed_count(code, inputs, hidden))
        kindCode = code
        self.inputs = inputs
        self.projected = projected
        let packed = KernelMemory.allocate(floats: count)
        weights = packed
        let none = rnnrt_weights(data: nil, ld: 0, packed: 0, row_slivers: nil)
        // With the AVX2 kernels every non-empty matrix has its kernel form; an empty one (0 inputs) is never read.
        let whh = w.hiddenWeights
        // Start values: the projection carries b_ih (LSTM, RNN: b_ih + b_hh), so a projected layout starts from 0.
        let startIH = projected ? [Float](repeating: 0, count: w.inputBias.count) : w.inputBias
        let startHH = w.hiddenBias.isEmpty ? startIH : w.hiddenBias
        startIH.withUnsafeBufferPointer { bih in
            startHH.withUnsafeBufferPointer { bhh in
                func pack(_ wih: rnnrt_weights) {
                    _ = whh.withStoredRows { whh, gates in
                        if let gates {
                            gates.withUnsafeBufferPointer {
                                rnnrt_step_pack(code, inputs, hidden, wih, whh, $0.baseAddress, bih.baseAddress!, bhh.baseAddress!, packed)
                            }
                        } else {
                            rnnrt_step_pack(code, inputs, hidden, wih, whh, nil, bih.baseAddress!, bhh.baseAddress!, packed)
                        }
                    }
                }
                if inputs == 0 || w.inputWeights.withKernelWeights({ pack($0) }) == nil { pack(none) }
            }
        }
    }

    /// Whether `init` makes a layout: the AVX2 kernels run, the layer has no projection or peepholes, and the layout
    /// of `inputs` input columns holds at most `limit` floats.
    static func isMade(kind: RecurrentKind, hidden: Int, projSize: Int, peepholes: Bool, inputs: Int, limit: Int) -> Bool {
        KernelSet.avx2 && projSize == 0 && !peepholes && hidden > 0
            && Int(rnnrt_step_packed_count(kind.stepKernelCode, inputs, hidden)) <= limit
    }

    deinit { weights.deallocate() }

    /// The layer as the kernels take it (valid while this object lives).
    var layer: rnnrt_step_layer { rnnrt_step_layer(weights: weights, inputs: inputs) }
}

extension RecurrentKind {
    /// The C kernels' code for this kind (`RNNRT_STEP_LSTM`, `_GRU`, `_RNN`).
    var stepKernelCode: Int32 {
        switch self {
        case .lstm: Int32(RNNRT_STEP_LSTM)
        case .gru: Int32(RNNRT_STEP_GRU)
        case .rnn: Int32(RNNRT_STEP_RNN)
        }
    }
}
