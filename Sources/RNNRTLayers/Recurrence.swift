import CRNNRTKernels
import Dispatch
import RNNRTCore
import RNNRTKernels

/// The recurrence of a bound module over time-major buffers: the shared hot path of
/// `RecurrentModule.forward` and `RecurrentStream`.
///
/// Per layer and direction it computes the input projection of the whole sequence with one `sgemm`,
/// then steps through time with one `sgemm` for `h·Whhᵀ` and one fused pointwise update. Nothing is
/// allocated per time step.
package struct Recurrence: Sendable {
    package let config: RecurrentConfiguration
    /// `[layer][direction]`.
    package let weights: [[DirectionWeights]]
    /// The ONNX operators' extra cell forms, per direction (activations, clip, coupled gates); nil for
    /// PyTorch's fixed form, which runs on the fused kernels.
    package var functions: [CellFunctions]? = nil
    /// GRU: apply the reset gate after the recurrent product (PyTorch; ONNX `linear_before_reset` ≠ 0).
    package var gruLinearBeforeReset = true
    /// Which directions run backwards in time; nil: direction 1 (PyTorch's and ONNX's bidirectional).
    /// ONNX `direction="reverse"` has one direction, reversed.
    package var reversedDirections: [Bool]? = nil

    package init(config: RecurrentConfiguration, weights: [[DirectionWeights]], functions: [CellFunctions]? = nil,
                 gruLinearBeforeReset: Bool = true, reversedDirections: [Bool]? = nil) {
        self.config = config
        self.weights = weights
        self.functions = functions
        self.gruLinearBeforeReset = gruLinearBeforeReset
        self.reversedDirections = reversedDirections
    }

    /// True when every step can use the fused PyTorch-form kernels.
    package var usesFusedKernels: Bool {
        functions == nil && gruLinearBeforeReset && weights.joined().allSatisfy { $0.peepholes.isEmpty }
    }

    /// Runs all layers over `steps` time steps of a batch of `batch`.
    /// - `input`: `[steps × batch × inputSize]`.
    /// - `h`: `[layers·D × batch × outputSize]`, the initial state on entry and the final one on return.
    /// - `c`: LSTM only, `[layers·D × batch × hiddenSize]`, likewise.
    /// - `output`: `[steps × batch × D·outputSize]`.
    /// - `limits`: the call's threads, and its time limit and cancellation, checked between chunks of steps (see
    ///   `chunkLength`); when it stops, `.limit` is thrown with the state and outputs partly written.
    /// - `sequenceLengths`: per batch row, how many steps are valid (ONNX `sequence_lens`); rows stop
    ///   updating after their last valid step (reverse directions start at it) and their outputs there are 0.
    package func run(input: UnsafePointer<Float>, steps: Int, batch: Int,
             h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
             output: UnsafeMutablePointer<Float>, workspace: Workspace, limits: RunLimits,
             sequenceLengths: [Int]? = nil) throws {
        let d = config.directionCount, hOut = config.outputSize, hid = config.hiddenSize
        let outWidth = d * hOut
        var layerInput = input
        for layer in 0..<config.numLayers {
            let isLast = layer == config.numLayers - 1
            let dst = isLast ? output
                : workspace.buffer(Workspace.Slot.layerOutput + layer % 2, count: steps * batch * outWidth)
            let input = layerInput
            func runOne(_ direction: Int, _ space: Workspace) throws {
                let index = layer * d + direction
                let reverse = reversedDirections.map { direction < $0.count && $0[direction] } ?? (direction == 1)
                let dirH = h + index * batch * hOut, dirC = c.map { $0 + index * batch * hid }
                let dirOut = dst + direction * hOut
                let place = Place(layer: layer, direction: direction, directions: d)
                if pairs(steps: steps, batch: batch, sequenceLengths: sequenceLengths, options: limits.options),
                   try runDirectionPair(weights[layer][direction], input: input, steps: steps, batch: batch,
                                        reverse: reverse, h: dirH, c: dirC, output: dirOut, outputStride: outWidth,
                                        workspace: space, limits: limits, place: place) {
                    return
                }
                if usesFusedKernels && sequenceLengths == nil {
                    try runDirection(weights[layer][direction], input: input, steps: steps, batch: batch,
                                     reverse: reverse, h: dirH, c: dirC, output: dirOut, outputStride: outWidth,
                                     workspace: space, limits: limits, place: place)
                } else {
                    try runDirectionGeneral(weights[layer][direction], functions: cellFunctions(direction),
                                            input: input, steps: steps, batch: batch, reverse: reverse,
                                            h: dirH, c: dirC, output: dirOut, outputStride: outWidth,
                                            workspace: space, sequenceLengths: sequenceLengths, limits: limits,
                                            place: place)
                }
            }
            // The two directions of a layer are independent (they read the same input and write disjoint
            // columns and states): with two threads they run side by side, each with its own scratch.
            if d == 2 && limits.options.threads >= 2 && steps * batch * config.kind.gateCount * hid >= 1 << 14 {
                // Safe to share: each direction writes only its own columns, states, workspace and error slot.
                var errors: [Error?] = [nil, nil]
                try errors.withUnsafeMutableBufferPointer { slots in
                    let work = Unchecked(value: (runOne, [workspace, workspace.partner], slots))
                    DispatchQueue.concurrentPerform(iterations: 2) { direction in
                        do { try work.value.0(direction, work.value.1[direction]) } catch { work.value.2[direction] = error }
                    }
                    if let error = slots.compactMap({ $0 }).first { throw error }
                }
            } else {
                for direction in 0..<d { try runOne(direction, workspace) }
            }
            layerInput = UnsafePointer(dst)
        }
    }

    /// Where a recurrence stopped, for its `.limit` error: `before step 480 of 1000 of layer 1 (reverse)`.
    struct Place {
        let layer: Int, direction: Int, directions: Int

        func before(step: Int, of steps: Int) -> String {
            "before step \(step) of \(steps) of layer \(layer)\(directions == 2 ? (direction == 1 ? " (reverse)" : " (forward)") : "")"
        }

        var during: String {
            "during layer \(layer)\(directions == 2 ? (direction == 1 ? " (reverse)" : " (forward)") : "")"
        }
    }

    /// Steps per chunk between two checks of `limits`: about 2^22 multiply-adds (a millisecond or less on one core),
    /// at least 2 and even (a batch-1 layer's kernel walks its weight blocks in alternate directions from step to step,
    /// so even chunks keep the walk of the whole sequence); every step at once when nothing can stop the call.
    private func chunkLength(steps: Int, batch: Int, inputs: Int, limits: RunLimits) -> Int {
        guard limits.stops else { return max(steps, 1) }
        let work = max(1, batch * config.kind.gateCount * config.hiddenSize * (inputs + config.outputSize))
        let length = max(2, (1 << 22) / work)
        return length + length % 2
    }

    /// Calls `body` with the time steps `0..<steps` in chunks of `length`, in the order a direction walks them (from
    /// the end when `reverse`), checking `limits` before each.
    private func inChunks(_ steps: Int, length: Int, reverse: Bool, limits: RunLimits, place: Place,
                          _ body: (Range<Int>) throws -> Void) throws {
        var done = 0
        while done < steps {
            try limits.check(place.before(step: done, of: steps))
            let n = min(length, steps - done)
            try body(reverse ? (steps - done - n)..<(steps - done) : done..<(done + n))
            done += n
        }
    }

    /// `run` over tensors: `input` time-major `[steps × batch × inputSize]`, `h`/`c` stacked states
    /// (updated in place), `output` `[steps × batch × D·outputSize]` (overwritten).
    package func run(input: Tensor, steps: Int, batch: Int, h: inout Tensor, c: inout Tensor?,
             output: inout [Float], workspace: Workspace, limits: RunLimits, sequenceLengths: [Int]? = nil) throws {
        precondition(input.count == steps * batch * config.inputSize)
        precondition(output.count == steps * batch * config.directionCount * config.outputSize)
        try input.scalars.withUnsafeBufferPointer { xs in
            try h.scalars.withUnsafeMutableBufferPointer { hs in
                try output.withUnsafeMutableBufferPointer { ys in
                    guard let x = xs.baseAddress, let hp = hs.baseAddress, let y = ys.baseAddress else { return }
                    if var cell = c {
                        c = nil  // keep `cell` uniquely referenced: no copy-on-write
                        defer { c = cell }
                        try cell.scalars.withUnsafeMutableBufferPointer { cs in
                            try run(input: x, steps: steps, batch: batch, h: hp, c: cs.baseAddress, output: y,
                                    workspace: workspace, limits: limits, sequenceLengths: sequenceLengths)
                        }
                    } else {
                        try run(input: x, steps: steps, batch: batch, h: hp, c: nil, output: y, workspace: workspace,
                                limits: limits, sequenceLengths: sequenceLengths)
                    }
                }
            }
        }
    }

    /// Whether a unidirectional layer's sequence runs on two threads splitting the hidden units
    /// (`rnnrt_pair_sequence_avx2`): PyTorch-form cells without projection or sequence lengths, two threads allowed,
    /// and enough work per step to pay for a barrier between steps.
    private func pairs(steps: Int, batch: Int, sequenceLengths: [Int]?, options: RunOptions) -> Bool {
        guard splitsUnits, options.threads >= 2, sequenceLengths == nil, steps >= 2 else { return false }
        let g = config.kind.gateCount * config.hiddenSize
        return steps * batch * g * (config.inputSize + config.hiddenSize) >= options.pairMinimumWork
            && batch * g * config.hiddenSize >= options.pairMinimumStepWork
    }

    /// One direction on two threads (see `pairs`); false, having written nothing, when the kernel cannot split it.
    /// The kernel checks `limits` itself, at the barrier between steps.
    private func runDirectionPair(_ w: DirectionWeights, input: UnsafePointer<Float>, steps: Int, batch: Int,
                                  reverse: Bool, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                                  output: UnsafeMutablePointer<Float>, outputStride: Int, workspace: Workspace,
                                  limits: RunLimits, place: Place) throws -> Bool {
        try limits.check(place.before(step: 0, of: steps))
        let hid = config.hiddenSize, gateWidth = config.kind.gateCount * hid
        let layout = batch == 1 ? w.stepLayout.flatMap { $0.projected ? $0 : nil } : nil
        let projection = workspace.buffer(Workspace.Slot.projection, count: steps * batch * gateWidth)
        let state = workspace.buffer(Workspace.Slot.pairState, count: 2 * batch * (hid + 8))
        let scratch = workspace.buffer(Workspace.Slot.hiddenPart, count: batch * gateWidth)
        let ran = w.inputWeights.withKernelWeights { wih -> Int32 in
            // Packed W_hh splits only on 16-column slivers (row slivers, for the batches they suit, on any vector):
            // other hidden sizes keep a large one in place.
            w.hiddenWeights.withRecurrentKernelWeights(batch: batch, packable: hid % 16 == 0) { whh -> Int32 in
                w.inputBias.withUnsafeBufferPointer { bias in
                    (w.hiddenBias.isEmpty ? w.inputBias : w.hiddenBias).withUnsafeBufferPointer { bhh in
                        withExtendedLifetime(layout) {
                            var job = rnnrt_pair_sequence(
                                kind: config.kind.stepKernelCode, relu: config.nonlinearity == .relu ? 1 : 0, reverse: reverse ? 1 : 0,
                                steps: steps, batch: batch, hidden: hid, inputs: w.inputWidth, x: input, wih: wih,
                                bias: bias.baseAddress, projection: projection, whh: whh, bias_hh: bhh.baseAddress,
                                step_layout: layout?.layer.weights, h: h, c: c ?? h, state: state, scratch: scratch,
                                output: output, out_stride: outputStride, stop: limits.flagPointer,
                                deadline: limits.deadline == .max ? ~0 : CUnsignedLongLong(limits.deadline))
                            return rnnrt_pair_sequence_avx2(&job)
                        }
                    }
                }
            } ?? 0
        }
        if ran == 2 { throw limits.stopped(place.during) }
        return ran == 1
    }

    /// Whether this module's layers can split their units over two threads (see `pairs`), which then serves
    /// every batch size instead of splitting the batch.
    package var splitsUnits: Bool {
        KernelSet.avx2 && !config.bidirectional && usesFusedKernels && config.projSize == 0
    }

    /// Whether `FusedStepper` applies: a unidirectional PyTorch-form module without projection on AVX2.
    package var hasFusedStep: Bool {
        KernelSet.avx2 && usesFusedKernels && !config.bidirectional && config.projSize == 0
    }

    /// The cell functions of `direction`: the ONNX ones, or PyTorch's fixed form spelled out.
    private func cellFunctions(_ direction: Int) -> CellFunctions {
        if let functions, direction < functions.count { return functions[direction] }
        switch config.kind {
        case .lstm: return CellFunctions(activations: [.sigmoid, .tanh, .tanh])
        case .gru: return CellFunctions(activations: [.sigmoid, .tanh])
        case .rnn: return CellFunctions(activations: [config.nonlinearity == .relu ? .relu : .tanh])
        }
    }

    /// The input projection of a whole sequence: `xp = bias + x · W_ihᵀ`, `[steps·batch × G·H]`.
    private func inputProjection(_ w: DirectionWeights, input: UnsafePointer<Float>, rows: Int,
                                 workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let gateWidth = config.kind.gateCount * config.hiddenSize
        let xp = workspace.buffer(Workspace.Slot.projection, count: rows * gateWidth)
        w.inputBias.withUnsafeBufferPointer { bias in
            for r in 0..<rows { (xp + r * gateWidth).update(from: bias.baseAddress!, count: gateWidth) }
        }
        w.inputWeights.multiply(m: rows, a: input, lda: w.inputWidth, c: xp, ldc: gateWidth, accumulate: true)
        return xp
    }

    /// One direction with any cell form (ONNX activations, clip, coupled gates, peepholes, GRU reset
    /// before the product) and optional per-row sequence lengths. Same buffers as `runDirection`.
    private func runDirectionGeneral(_ w: DirectionWeights, functions fn: CellFunctions,
                                     input: UnsafePointer<Float>, steps: Int, batch: Int, reverse: Bool,
                                     h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                                     output: UnsafeMutablePointer<Float>, outputStride: Int,
                                     workspace: Workspace, sequenceLengths: [Int]?, limits: RunLimits,
                                     place: Place) throws {
        let hid = config.hiddenSize, hOut = config.outputSize
        let gateWidth = config.kind.gateCount * hid
        let chunk = chunkLength(steps: steps, batch: batch, inputs: 0, limits: limits)
        let xp = inputProjection(w, input: input, rows: steps * batch, workspace: workspace)
        let hp = workspace.buffer(Workspace.Slot.hiddenPart, count: batch * gateWidth)
        let full = workspace.buffer(Workspace.Slot.fullHidden, count: batch * hid)
        let savedH = workspace.buffer(Workspace.Slot.savedState, count: batch * hOut)
        let savedC = workspace.buffer(Workspace.Slot.savedCell, count: batch * hid)
        let resetHidden = workspace.buffer(Workspace.Slot.resetHidden, count: batch * hid)
        let zGate = workspace.buffer(Workspace.Slot.updateGate, count: batch * hid)
        let candidate = workspace.buffer(Workspace.Slot.candidate, count: batch * hid)
        let whh = w.hiddenWeights
        try w.projectionT.withUnsafeBufferPointer { whrBuffer in
        try w.hiddenBias.withUnsafeBufferPointer { bhh in
        try w.peepholes.withUnsafeBufferPointer { peep in
            for s in 0..<steps {
                if s % chunk == 0 { try limits.check(place.before(step: s, of: steps)) }
                let t = reverse ? steps - 1 - s : s
                let gates = xp + t * batch * gateWidth
                // Rows whose sequence has ended keep their state: saved here, restored after the update.
                let finished = sequenceLengths.map { lengths in (0..<batch).filter { t >= lengths[$0] } } ?? []
                for b in finished {
                    (savedH + b * hOut).update(from: h + b * hOut, count: hOut)
                    if let c { (savedC + b * hid).update(from: c + b * hid, count: hid) }
                }
                switch config.kind {
                case .lstm:
                    guard let c else { break }
                    whh.multiply(m: batch, a: h, lda: hOut, c: gates, ldc: gateWidth, accumulate: true)
                    let target = config.projSize > 0 ? full : h
                    lstmPointwiseGeneral(gates: gates, c: c, h: target, hidden: hid, batch: batch, functions: fn,
                                         peepholes: peep.isEmpty ? nil : peep.baseAddress)
                    if config.projSize > 0, let whr = whrBuffer.baseAddress {
                        sgemm(m: batch, n: hOut, k: hid, a: full, lda: hid, b: whr, ldb: hOut,
                              c: h, ldc: hOut, accumulate: false)
                    }
                case .gru:
                    for b in 0..<batch { (hp + b * gateWidth).update(from: bhh.baseAddress!, count: gateWidth) }
                    if gruLinearBeforeReset {
                        whh.multiply(m: batch, a: h, lda: hOut, c: hp, ldc: gateWidth, accumulate: true)
                        gruPointwiseGeneral(inputPart: gates, hiddenPart: hp, h: h, hidden: hid, batch: batch, functions: fn)
                    } else {
                        // r and z from h·R_{r,z}ᵀ; then the candidate from (r ⊙ h)·R_nᵀ + Rb_n.
                        whh.multiply(m: batch, a: h, lda: hOut, c: hp, ldc: gateWidth, accumulate: true, columns: 0..<(2 * hid))
                        gruResetGates(inputPart: gates, hiddenPart: hp, h: h, resetHidden: resetHidden, zOut: zGate,
                                      hidden: hid, batch: batch, functions: fn)
                        for b in 0..<batch { (candidate + b * hid).update(from: bhh.baseAddress! + 2 * hid, count: hid) }
                        whh.multiply(m: batch, a: resetHidden, lda: hid, c: candidate, ldc: hid, accumulate: true,
                                     columns: (2 * hid)..<(3 * hid))
                        gruCandidateUpdate(inputPart: gates, candidate: candidate, z: zGate, h: h, hidden: hid,
                                           batch: batch, functions: fn)
                    }
                case .rnn:
                    whh.multiply(m: batch, a: h, lda: hOut, c: gates, ldc: gateWidth, accumulate: true)
                    rnnPointwiseGeneral(preactivation: gates, h: h, count: batch * hid, functions: fn)
                }
                for b in finished {
                    (h + b * hOut).update(from: savedH + b * hOut, count: hOut)
                    if let c { (c + b * hid).update(from: savedC + b * hid, count: hid) }
                }
                var f = 0
                for b in 0..<batch {
                    let row = output + (t * batch + b) * outputStride
                    if f < finished.count && finished[f] == b {
                        row.update(repeating: 0, count: hOut)
                        f += 1
                    } else {
                        row.update(from: h + b * hOut, count: hOut)
                    }
                }
            }
        }
        }
        }
    }

    private func runDirection(_ w: DirectionWeights, input: UnsafePointer<Float>, steps: Int, batch: Int,
                              reverse: Bool, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                              output: UnsafeMutablePointer<Float>, outputStride: Int, workspace: Workspace,
                              limits: RunLimits, place: Place) throws {
        let hid = config.hiddenSize, hOut = config.outputSize
        let gateWidth = config.kind.gateCount * hid
        let rows = steps * batch

        // Batch 1 on a layer small enough for a bind-time step layout: each step one pass over [x_t; h], or over h
        // with the input projection of the whole sequence (one matrix product first) as the start values.
        if batch == 1, let layout = w.stepLayout, let c = config.kind == .lstm ? c : h {
            let projection = layout.projected ? UnsafePointer(inputProjection(w, input: input, rows: rows, workspace: workspace)) : nil
            let scratch = workspace.buffer(Workspace.Slot.hiddenPart, count: hid + 8)
            let chunk = chunkLength(steps: steps, batch: 1, inputs: layout.projected ? 0 : w.inputWidth, limits: limits)
            try inChunks(steps, length: chunk, reverse: reverse, limits: limits, place: place) { range in
                let t0 = range.lowerBound
                rnnrt_step_sequence_avx2(layout.kindCode, config.nonlinearity == .relu ? 1 : 0, layout.layer, hid,
                                         range.count, input + t0 * w.inputWidth, w.inputWidth,
                                         projection.map { $0 + t0 * gateWidth }, h, c, output + t0 * outputStride,
                                         outputStride, reverse ? 1 : 0, scratch)
            }
            return
        }

        let xp = inputProjection(w, input: input, rows: rows, workspace: workspace)
        let chunk = chunkLength(steps: steps, batch: batch, inputs: 0, limits: limits)

        let hp = workspace.buffer(Workspace.Slot.hiddenPart, count: batch * gateWidth)
        // The time loop in C where the AVX2 kernels run, a chunk of steps per call (projection handled below in Swift).
        if config.projSize == 0, let done = try w.hiddenWeights.withRecurrentKernelWeights(batch: batch, { whh -> Bool in
            try w.hiddenBias.withUnsafeBufferPointer { bhh in
                if config.kind == .lstm && c == nil { return false }
                try inChunks(steps, length: chunk, reverse: reverse, limits: limits, place: place) { range in
                    let n = range.count, gates = xp + range.lowerBound * batch * gateWidth
                    let out = output + range.lowerBound * batch * outputStride
                    switch config.kind {
                    case .lstm:
                        rnnrt_lstm_sequence_avx2(n, batch, hid, gates, whh, h, c, out, outputStride, reverse ? 1 : 0)
                    case .gru:
                        rnnrt_gru_sequence_avx2(n, batch, hid, gates, whh, bhh.baseAddress!, h, out, outputStride,
                                                reverse ? 1 : 0, hp)
                    case .rnn:
                        rnnrt_rnn_sequence_avx2(n, batch, hid, gates, whh, h, out, outputStride, reverse ? 1 : 0,
                                                config.nonlinearity == .relu ? 1 : 0)
                    }
                }
                return true
            }
        }), done {
            return
        }
        let full = workspace.buffer(Workspace.Slot.fullHidden, count: batch * hid)
        let useRelu = config.nonlinearity == .relu
        let whh = w.hiddenWeights
        try w.projectionT.withUnsafeBufferPointer { whrBuffer in
        try w.hiddenBias.withUnsafeBufferPointer { bhh in
            for s in 0..<steps {
                if s % chunk == 0 { try limits.check(place.before(step: s, of: steps)) }
                let t = reverse ? steps - 1 - s : s
                let gates = xp + t * batch * gateWidth
                switch config.kind {
                case .lstm:
                    whh.multiply(m: batch, a: h, lda: hOut, c: gates, ldc: gateWidth, accumulate: true)
                    if config.projSize > 0, let whr = whrBuffer.baseAddress, let c {
                        lstmPointwise(gates: gates, c: c, h: full, hidden: hid, batch: batch)
                        sgemm(m: batch, n: hOut, k: hid, a: full, lda: hid, b: whr, ldb: hOut,
                              c: h, ldc: hOut, accumulate: false)
                    } else if let c {
                        lstmPointwise(gates: gates, c: c, h: h, hidden: hid, batch: batch)
                    }
                case .gru:
                    for b in 0..<batch { (hp + b * gateWidth).update(from: bhh.baseAddress!, count: gateWidth) }
                    whh.multiply(m: batch, a: h, lda: hOut, c: hp, ldc: gateWidth, accumulate: true)
                    gruPointwise(inputPart: gates, hiddenPart: hp, h: h, hidden: hid, batch: batch)
                case .rnn:
                    whh.multiply(m: batch, a: h, lda: hOut, c: gates, ldc: gateWidth, accumulate: true)
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

/// A value handed to parallel work whose accesses are disjoint by construction (see its use).
private struct Unchecked<T>: @unchecked Sendable {
    let value: T
}
