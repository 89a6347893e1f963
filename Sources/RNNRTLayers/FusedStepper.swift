import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// The streaming hot path for batch 1: each layer's packed weights and the state copied once into buffers
/// this object owns, so a step is one C call per layer with no Swift array access, reference counting or
/// exclusivity checks in between. Made by `RecurrentStream` when `Recurrence.hasFusedStep`.
package final class FusedStepper {
    private struct Layer {
        let wih: UnsafeMutablePointer<Float>
        let whh: UnsafeMutablePointer<Float>
        let bias: UnsafeMutablePointer<Float>
        /// GRU: b_hh; otherwise unused (same as `bias`).
        let hiddenBias: UnsafeMutablePointer<Float>
        let inputs: Int
    }

    let kind: RecurrentKind
    let hidden: Int
    let layerCount: Int
    private let relu: Int32
    private let layers: UnsafeMutablePointer<Layer>
    /// `[layers × hidden]`.
    let h: UnsafeMutablePointer<Float>
    /// `[layers × hidden]` (LSTM; unused otherwise).
    let c: UnsafeMutablePointer<Float>
    private let scratch: UnsafeMutablePointer<Float>
    private var owned: [UnsafeMutablePointer<Float>] = []

    package init?(_ recurrence: Recurrence) {
        guard recurrence.hasFusedStep else { return nil }
        let config = recurrence.config
        kind = config.kind
        hidden = config.hiddenSize
        layerCount = config.numLayers
        relu = config.nonlinearity == .relu ? 1 : 0
        h = .allocate(capacity: layerCount * hidden)
        c = .allocate(capacity: layerCount * hidden)
        h.initialize(repeating: 0, count: layerCount * hidden)
        c.initialize(repeating: 0, count: layerCount * hidden)
        scratch = .allocate(capacity: 2 * config.kind.gateCount * hidden)
        layers = .allocate(capacity: layerCount)
        for (index, w) in recurrence.weights.map({ $0[0] }).enumerated() {
            func copy(_ values: [Float]) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
                values.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: values.count) }
                owned.append(p)
                return p
            }
            func copyPacked(_ m: PackedMatrix) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(m.packedCount, 1))
                _ = m.withPacked { p.initialize(from: $0, count: m.packedCount) }
                owned.append(p)
                return p
            }
            let bias = copy(w.inputBias)
            layers.advanced(by: index).initialize(to: Layer(
                wih: copyPacked(w.inputWeights), whh: copyPacked(w.hiddenWeights), bias: bias,
                hiddenBias: w.hiddenBias.isEmpty ? bias : copy(w.hiddenBias), inputs: w.inputWidth))
        }
    }

    deinit {
        for p in owned { p.deallocate() }
        layers.deinitialize(count: layerCount)
        layers.deallocate()
        h.deallocate()
        c.deallocate()
        scratch.deallocate()
    }

    /// One time step: `x` `[inputSize]` in, the top layer's `h` `[hidden]` out.
    package func step(_ x: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        var input = x
        for index in 0..<layerCount {
            let l = layers[index]
            let hl = h + index * hidden
            switch kind {
            case .lstm: rnnrt_lstm_step1_avx2(l.inputs, hidden, input, l.wih, l.whh, l.bias, hl, c + index * hidden, scratch)
            case .gru: rnnrt_gru_step1_avx2(l.inputs, hidden, input, l.wih, l.whh, l.bias, l.hiddenBias, hl, scratch)
            case .rnn: rnnrt_rnn_step1_avx2(l.inputs, hidden, input, l.wih, l.whh, l.bias, hl, scratch, relu)
            }
            input = UnsafePointer(hl)
        }
        output.update(from: input, count: hidden)
    }
}
