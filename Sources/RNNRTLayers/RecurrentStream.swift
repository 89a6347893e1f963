import RNNRTCore

/// Runs a unidirectional module step by step, keeping its state between calls: for streaming audio,
/// sensor data or tokens as they arrive.
///
/// Feeding a sequence in any split — one step at a time, chunks, or all at once — gives the same outputs
/// and final state as `RecurrentModule.forward` on the whole sequence.
///
/// ```swift
/// let stream = try RecurrentStream(module: lstm)         // batch 1, zero state
/// for frame in frames {                                  // frame: [inputSize]
///     let y = try stream.step(frame)                     // [outputSize]
/// }
/// stream.reset()
/// ```
///
/// The buffer-based `step(input:output:)` allocates nothing once the stream exists. A stream is a
/// reference type with mutable state; use one per sequence and thread. Its `options` (its module's to begin with)
/// hold each `process(_:)` call to their memory and time limits and cancellation; a single step is not checked.
///
/// A cell module (`nn.LSTMCell`, ...: `configuration.isCell`) streams as PyTorch calls it: each `step`
/// is one call of the cell, returning the new `h` (`[N, H]`); `hN`/`cN` hold the state (`[1, N, H]`), and
/// `h0`/`c0` may be given in the cell's own form (`[N, H]`).
public final class RecurrentStream {
    /// The module this stream runs.
    public let module: RecurrentModule
    /// What each call may use: threads (a long chunk's layers may split their units over two), and for
    /// `process(_:)`, memory, time and a cancellation.
    public var options: RunOptions {
        didSet { stepLimits = RunLimits(RunOptions(threads: options.threads)) }
    }
    /// The limits of a single step: the threads alone (made once, so that a step allocates nothing).
    private var stepLimits: RunLimits
    /// Sequences processed side by side.
    public let batchSize: Int
    private var h: Tensor
    /// LSTM cell state; empty (`[0]`) for GRU and RNN. Not optional, so updating it in place never copies.
    private var c: Tensor
    private let hasCell: Bool
    private let workspace = Workspace()
    /// Batch 1 on a module the fused one-step kernels handle: it holds the state (`h`/`c` are brought up
    /// to date from it when read or when chunks are processed).
    private let stepper: FusedStepper?
    /// Floats per step in and out (`batchSize × inputSize`, `batchSize × outputSize`).
    private let inputCount: Int
    private let outputCount: Int
    /// Whether the stepper's state is newer than `h`/`c`.
    private var stepperAhead = false

    /// A stream with zero state, or `h0`/`c0` shaped `[numLayers, batchSize, size]` (a cell's also `[batchSize, size]`).
    /// - Throws: `.invalidArgument` for a bidirectional module (its reverse direction needs the whole
    ///   sequence) or a batch size below 1; `.shapeMismatch` for a mis-shaped state.
    public init(module: RecurrentModule, batchSize: Int = 1, h0: Tensor? = nil, c0: Tensor? = nil) throws {
        let config = module.configuration
        guard !config.bidirectional else {
            throw RNNRTError(.invalidArgument, "a bidirectional module cannot stream: its reverse direction reads the sequence from the end; run it with forward(_:) on the whole sequence")
        }
        guard batchSize >= 1 else {
            throw RNNRTError(.invalidArgument, "stream batch size must be at least 1, got \(batchSize)")
        }
        self.module = module
        self.batchSize = batchSize
        options = module.options
        stepLimits = RunLimits(RunOptions(threads: module.options.threads))
        stepper = batchSize == 1 ? FusedStepper(module.recurrence) : nil
        inputCount = batchSize * config.inputSize
        outputCount = batchSize * config.outputSize
        h = Tensor(repeating: 0, shape: [config.numLayers, batchSize, config.outputSize])
        hasCell = config.kind == .lstm
        c = hasCell ? Tensor(repeating: 0, shape: [config.numLayers, batchSize, config.hiddenSize]) : Tensor(repeating: 0, shape: [0])
        try reset(h0: h0, c0: c0)
    }

    /// Current hidden state, `[numLayers, batchSize, outputSize]`.
    public var hN: Tensor {
        syncFromStepper()
        return h
    }
    /// Current cell state (LSTM), `[numLayers, batchSize, hiddenSize]`.
    public var cN: Tensor? {
        syncFromStepper()
        return hasCell ? c : nil
    }

    /// Copies the stepper's state into `h`/`c` when it is newer.
    private func syncFromStepper() {
        guard stepperAhead, let stepper else { return }
        let n = stepper.layerCount * stepper.hidden
        h.scalars.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: stepper.h, count: n) }
        if hasCell { c.scalars.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: stepper.c, count: n) } }
        stepperAhead = false
    }

    /// Copies `h`/`c` into the stepper (after a reset or a chunk).
    private func syncToStepper() {
        guard let stepper else { return }
        let n = stepper.layerCount * stepper.hidden
        h.scalars.withUnsafeBufferPointer { stepper.h.update(from: $0.baseAddress!, count: n) }
        if hasCell { c.scalars.withUnsafeBufferPointer { stepper.c.update(from: $0.baseAddress!, count: n) } }
        stepperAhead = false
    }

    /// Sets the state to `h0`/`c0` (zeros when nil), shaped as `init(module:batchSize:h0:c0:)` takes them.
    /// - Throws: `.shapeMismatch` for a mis-shaped state (the stream is then unchanged); `.invalidArgument` for a
    ///   `c0` given to a module that is not an LSTM.
    public func reset(h0: Tensor? = nil, c0: Tensor? = nil) throws {
        let config = module.configuration
        let newH = try RecurrentModule.initialState(h0, named: "h0", shape: h.shape, cell: config.isCell)
        if hasCell {
            c = try RecurrentModule.initialState(c0, named: "c0", shape: c.shape, cell: config.isCell)
        } else if c0 != nil {
            throw RNNRTError(.invalidArgument, "c0 is only used by LSTM; this module is an \(config.kind.rawValue)")
        }
        h = newH
        stepperAhead = false
        syncToStepper()
    }

    /// Feeds one time step. `x` is `[batchSize, inputSize]`, or `[inputSize]` when `batchSize` is 1;
    /// returns the top layer's output for this step with the same rank (`[batchSize, outputSize]` or
    /// `[outputSize]`).
    /// - Throws: `.shapeMismatch` for any other shape of `x`.
    public func step(_ x: Tensor) throws -> Tensor {
        let config = module.configuration
        let expected = [batchSize, config.inputSize]
        guard x.shape == expected || (batchSize == 1 && x.shape == [config.inputSize]) else {
            throw RNNRTError(.shapeMismatch, "step input has shape \(x.shape.shapeDescription), expected \(expected.shapeDescription)\(batchSize == 1 ? " or [\(config.inputSize)]" : "")")
        }
        var y = [Float](repeating: 0, count: batchSize * config.outputSize)
        x.scalars.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in step(input: xs, output: ys) }
        }
        return Tensor(shape: x.rank == 1 ? [config.outputSize] : [batchSize, config.outputSize], scalars: y)
    }

    /// Feeds one time step from raw buffers without allocating: `input` holds `batchSize × inputSize`
    /// floats, `output` receives `batchSize × outputSize` floats. Wrong buffer sizes are a programmer
    /// error (precondition).
    public func step(input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) {
        precondition(input.count == inputCount, "step input needs \(inputCount) floats")
        precondition(output.count == outputCount, "step output needs \(outputCount) floats")
        guard let x = input.baseAddress, let y = output.baseAddress else { return }
        if let stepper {
            if !stepperAhead { syncToStepper() }
            stepper.step(x, y)
            stepperAhead = true
            return
        }
        // (Step limits never stop a call.)
        try? advance(input: x, steps: 1, output: y, limits: stepLimits)
    }

    /// Feeds a chunk of time steps in the module's sequence layout (`[L, N, D]`, `[N, L, D]` when
    /// batch-first, or `[L, D]` when `batchSize` is 1) and returns its outputs in the same layout.
    /// - Throws: `.shapeMismatch` for a chunk of another batch size; `.limit` when the outputs and scratch would pass
    ///   the memory limit, or the time limit or the cancellation stops the call (the state is then partly updated:
    ///   `reset` the stream).
    public func process(_ chunk: Tensor) throws -> Tensor {
        let config = module.configuration
        let layout = try SequenceLayout(of: chunk, config: config)
        guard layout.batch == batchSize else {
            throw RNNRTError(.shapeMismatch, "chunk has batch size \(layout.batch) (shape \(chunk.shape.shapeDescription)), the stream was made for \(batchSize)")
        }
        let limits = RunLimits(options)
        let what = "\(config.torchDescription) streaming \(layout.steps) steps: its outputs and scratch"
        try ElementCount.reserve(try ElementCount.product(module.floatsPerStep, layout.steps * batchSize, what),
                                 elementSize: MemoryLayout<Float>.size, within: limits, what)
        var y = [Float](repeating: 0, count: layout.steps * batchSize * config.outputSize)
        do {
            try layout.timeMajor(chunk).scalars.withUnsafeBufferPointer { xs in
                try y.withUnsafeMutableBufferPointer { ys in
                    guard let x = xs.baseAddress, let out = ys.baseAddress else { return }
                    try advance(input: x, steps: layout.steps, output: out, limits: limits)
                }
            }
        } catch let error as RNNRTError where error.kind == .limit {
            throw RNNRTError(.limit, "\(config.torchDescription): \(error.message)", context: error.context)
        }
        return layout.output(y, width: config.outputSize)
    }

    private func advance(input: UnsafePointer<Float>, steps: Int, output: UnsafeMutablePointer<Float>,
                         limits: RunLimits) throws {
        syncFromStepper()
        defer { syncToStepper() }
        let recurrence = module.recurrence
        let workspace = self.workspace
        let cell = hasCell
        try h.scalars.withUnsafeMutableBufferPointer { hs in
            try c.scalars.withUnsafeMutableBufferPointer { cs in
                guard let hp = hs.baseAddress else { return }
                try recurrence.run(input: input, steps: steps, batch: batchSize, h: hp, c: cell ? cs.baseAddress : nil,
                                   output: output, workspace: workspace, limits: limits)
            }
        }
    }
}
