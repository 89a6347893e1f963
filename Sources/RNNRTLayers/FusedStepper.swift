import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// The streaming hot path for batch 1: each layer's weights (in their kernel form) and the state copied once into buffers
/// this object owns, so a step is one C call per layer with no Swift array access, reference counting or
/// exclusivity checks in between. Made by `RecurrentStream` when `Recurrence.hasFusedStep`.
package final class FusedStepper {
    private struct Layer {
        let wih: rnnrt_weights
        let whh: rnnrt_weights
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
            func copyWeights(_ m: WeightMatrix) -> rnnrt_weights {
                // hasFusedStep guarantees the kernel form; an empty matrix (0 inputs) is never read.
                guard let (weights, p) = m.copyKernelWeights() else { return rnnrt_weights(data: nil, ld: 0, packed: 0) }
                owned.append(p)
                return weights
            }
            let bias = copy(w.inputBias)
            layers.advanced(by: index).initialize(to: Layer(
                wih: copyWeights(w.inputWeights), whh: copyWeights(w.hiddenWeights), bias: bias,
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
