import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// The streaming hot path for batch 1: each layer's weights laid out once for the fused step kernel
/// (`rnnrt_step_pack`: gates of a block of units interleaved, bias as the starting value) and the state, in
/// buffers this object owns, so a step is one C call for all layers with no Swift array access, reference
/// counting or exclusivity checks. Made by `RecurrentStream` when `Recurrence.hasFusedStep`.
package final class FusedStepper {
    let kind: RecurrentKind
    let hidden: Int
    let layerCount: Int
    private let kindCode: Int32
    private let relu: Int32
    private let layers: UnsafeMutablePointer<rnnrt_step_layer>
    /// `[layers × hidden]`.
    let h: UnsafeMutablePointer<Float>
    /// `[layers × hidden]` (LSTM; unused otherwise).
    let c: UnsafeMutablePointer<Float>
    private let scratch: UnsafeMutablePointer<Float>
    /// The kernel's step parity (walk direction), in memory so a step mutates no stored property.
    private let parity: UnsafeMutablePointer<UInt32>
    /// Keeps the layouts `layers` points into alive.
    private let layouts: [StepLayout]

    package init?(_ recurrence: Recurrence) {
        guard recurrence.hasFusedStep else { return nil }
        let config = recurrence.config
        // The layouts made at bind (with their input columns), or (layers too large to keep one, or kept projected)
        // made now.
        var made: [StepLayout] = []
        for directions in recurrence.weights {
            guard let layout = directions[0].stepLayout.flatMap({ $0.projected ? nil : $0 })
                ?? StepLayout(kind: config.kind, hidden: config.hiddenSize, projSize: config.projSize, weights: directions[0])
            else { return nil }
            made.append(layout)
        }
        guard let first = made.first else { return nil }
        layouts = made
        kindCode = first.kindCode
        kind = config.kind
        hidden = config.hiddenSize
        layerCount = config.numLayers
        relu = config.nonlinearity == .relu ? 1 : 0
        h = .allocate(capacity: layerCount * hidden)
        c = .allocate(capacity: layerCount * hidden)
        h.initialize(repeating: 0, count: layerCount * hidden)
        c.initialize(repeating: 0, count: layerCount * hidden)
        scratch = .allocate(capacity: hidden + 8)
        scratch.initialize(repeating: 0, count: hidden + 8)
        parity = .allocate(capacity: 1)
        parity.initialize(to: 0)
        layers = .allocate(capacity: layerCount)
        for (index, layout) in layouts.enumerated() { layers.advanced(by: index).initialize(to: layout.layer) }
    }

    deinit {
        layers.deinitialize(count: layerCount)
        layers.deallocate()
        h.deallocate()
        c.deallocate()
        scratch.deallocate()
        parity.deallocate()
    }

    /// One time step: `x` `[inputSize]` in, the top layer's `h` `[hidden]` out.
    package func step(_ x: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        rnnrt_stream_step_avx2(kindCode, relu, layerCount, layers, hidden, x, h, c, output, scratch, parity)
    }
}
