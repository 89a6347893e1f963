import RNNRTCore
import RNNRTKernels

/// The recurrence of a bound module over time-major buffers: the shared hot path of
/// `RecurrentModule.forward` and `RecurrentStream`.
///
/// Per layer and direction it computes the input projection of the whole sequence with one `sgemm`,
/// then steps through time with one `sgemm` for `h·Whhᵀ` and one fused pointwise update. Nothing is
/// allocated per time step.
struct Recurrence {
    let config: RecurrentConfiguration
    /// `[layer][direction]`.
    let weights: [[DirectionWeights]]

    /// Runs all layers over `steps` time steps of a batch of `batch`.
    /// - `input`: `[steps × batch × inputSize]`.
    /// - `h`: `[layers·D × batch × outputSize]`, the initial state on entry and the final one on return.
    /// - `c`: LSTM only, `[layers·D × batch × hiddenSize]`, likewise.
    /// - `output`: `[steps × batch × D·outputSize]`.
    func run(input: UnsafePointer<Float>, steps: Int, batch: Int,
             h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
             output: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let d = config.directionCount, hOut = config.outputSize, hid = config.hiddenSize
        let outWidth = d * hOut
        var layerInput = input
        for layer in 0..<config.numLayers {
            let isLast = layer == config.numLayers - 1
            let dst = isLast ? output
                : workspace.buffer(Workspace.Slot.layerOutput + layer % 2, count: steps * batch * outWidth)
            for direction in 0..<d {
                let index = layer * d + direction
                runDirection(weights[layer][direction], input: layerInput, steps: steps, batch: batch,
                             reverse: direction == 1,
                             h: h + index * batch * hOut, c: c.map { $0 + index * batch * hid },
                             output: dst + direction * hOut, outputStride: outWidth, workspace: workspace)
            }
            layerInput = UnsafePointer(dst)
        }
    }

    /// `run` over tensors: `input` time-major `[steps × batch × inputSize]`, `h`/`c` stacked states
    /// (updated in place), `output` `[steps × batch × D·outputSize]` (overwritten).
    func run(input: Tensor, steps: Int, batch: Int, h: inout Tensor, c: inout Tensor?,
             output: inout [Float], workspace: Workspace) {
        precondition(input.count == steps * batch * config.inputSize)
        precondition(output.count == steps * batch * config.directionCount * config.outputSize)
        input.scalars.withUnsafeBufferPointer { xs in
            h.scalars.withUnsafeMutableBufferPointer { hs in
                output.withUnsafeMutableBufferPointer { ys in
                    guard let x = xs.baseAddress, let hp = hs.baseAddress, let y = ys.baseAddress else { return }
                    if var cell = c {
                        c = nil  // keep `cell` uniquely referenced: no copy-on-write
                        cell.scalars.withUnsafeMutableBufferPointer { cs in
                            run(input: x, steps: steps, batch: batch, h: hp, c: cs.baseAddress, output: y,
                                workspace: workspace)
                        }
                        c = cell
                    } else {
                        run(input: x, steps: steps, batch: batch, h: hp, c: nil, output: y, workspace: workspace)
                    }
                }
            }
        }
    }

    private func runDirection(_ w: DirectionWeights, input: UnsafePointer<Float>, steps: Int, batch: Int,
                              reverse: Bool, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                              output: UnsafeMutablePointer<Float>, outputStride: Int, workspace: Workspace) {
        let hid = config.hiddenSize, hOut = config.outputSize
        let gateWidth = config.kind.gateCount * hid
        let rows = steps * batch

        // Input projection of the whole sequence: xp = bias + x · W_ihᵀ.
        let xp = workspace.buffer(Workspace.Slot.projection, count: rows * gateWidth)
        w.inputBias.withUnsafeBufferPointer { bias in
            for r in 0..<rows { (xp + r * gateWidth).update(from: bias.baseAddress!, count: gateWidth) }
        }
        w.inputWeightsT.withUnsafeBufferPointer { wih in
            sgemm(m: rows, n: gateWidth, k: w.inputWidth, a: input, lda: w.inputWidth,
                  b: wih.baseAddress!, ldb: gateWidth, c: xp, ldc: gateWidth, accumulate: true)
        }

        let hp = workspace.buffer(Workspace.Slot.hiddenPart, count: batch * gateWidth)
        let full = workspace.buffer(Workspace.Slot.fullHidden, count: batch * hid)
        let useRelu = config.nonlinearity == .relu
        w.hiddenWeightsT.withUnsafeBufferPointer { whhBuffer in
        w.projectionT.withUnsafeBufferPointer { whrBuffer in
        w.hiddenBias.withUnsafeBufferPointer { bhh in
            let whh = whhBuffer.baseAddress!
            for s in 0..<steps {
                let t = reverse ? steps - 1 - s : s
                let gates = xp + t * batch * gateWidth
                switch config.kind {
                case .lstm:
                    sgemm(m: batch, n: gateWidth, k: hOut, a: h, lda: hOut, b: whh, ldb: gateWidth,
                          c: gates, ldc: gateWidth, accumulate: true)
                    if config.projSize > 0, let whr = whrBuffer.baseAddress, let c {
                        lstmPointwise(gates: gates, c: c, h: full, hidden: hid, batch: batch)
                        sgemm(m: batch, n: hOut, k: hid, a: full, lda: hid, b: whr, ldb: hOut,
                              c: h, ldc: hOut, accumulate: false)
                    } else if let c {
                        lstmPointwise(gates: gates, c: c, h: h, hidden: hid, batch: batch)
                    }
                case .gru:
                    for b in 0..<batch { (hp + b * gateWidth).update(from: bhh.baseAddress!, count: gateWidth) }
                    sgemm(m: batch, n: gateWidth, k: hOut, a: h, lda: hOut, b: whh, ldb: gateWidth,
                          c: hp, ldc: gateWidth, accumulate: true)
                    gruPointwise(inputPart: gates, hiddenPart: hp, h: h, hidden: hid, batch: batch)
                case .rnn:
                    sgemm(m: batch, n: gateWidth, k: hOut, a: h, lda: hOut, b: whh, ldb: gateWidth,
                          c: gates, ldc: gateWidth, accumulate: true)
                    rnnPointwise(preactivation: gates, h: h, count: batch * hid, useRelu: useRelu)
                }
                for b in 0..<batch {
                    (output + (t * batch + b) * outputStride).update(from: h + b * hOut, count: hOut)
                }
            }
        }
        }
        }
    }
}
