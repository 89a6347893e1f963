import Dispatch
import RNNRTCore
import RNNRTKernels

/// A PyTorch `nn.RNN`, `nn.LSTM` or `nn.GRU` bound to its weights, ready to run with PyTorch's semantics.
///
/// An `nn.RNNCell`, `nn.LSTMCell` or `nn.GRUCell` binds too (`configuration.isCell`): it runs as the
/// one-layer unidirectional module with the same weights, stepped over the sequence with the state carried,
/// so `forward` returns each step's `h` as `output` and the last state as `hN`/`cN` (`[1, N, H]`). For one
/// step per call, as the cell is called in PyTorch, use `RecurrentStream`.
///
/// ```swift
/// let weights = try StateDict(contentsOf: URL(fileURLWithPath: "lstm.pt"))
/// let lstm = try RecurrentModule(stateDict: weights, prefix: "encoder.rnn.")
/// let result = try lstm.forward(x)          // x: [L, N, D] (or [N, L, D] with batchFirst, or [L, D])
/// print(result.output.shape, result.hN.shape, result.cN?.shape ?? [])
/// ```
///
/// Weights are converted to float32 and laid out for the kernels once, at init; large float32 weight
/// matrices are not copied but used where the checkpoint reader holds them — in a mapped checkpoint, the
/// file's read-only pages, which the module keeps mapped after the `StateDict` is gone. The module is
/// immutable and `Sendable`: one instance can serve many threads; each `forward` call has its own scratch
/// space.
public struct RecurrentModule: Sendable {
    /// The configuration, inferred from the parameters (plus the caller's `nonlinearity`/`batchFirst`).
    public let configuration: RecurrentConfiguration
    /// The dotted-name prefix the parameters were bound from (`""` for a bare state dict).
    public let prefix: String
    /// What a `forward` call that passes no options of its own may use: threads, memory, time.
    public var options: RunOptions
    private(set) var recurrence: Recurrence
    /// Each parameter as bound, by its local name (`weight_ih_l0`, ...), for the float64 reference: float64
    /// checkpoint tensors as stored, the others as the float32 elements the engine uses (shared, not copied).
    let parameters: [String: StoredTensor]

    /// Finds the module under `prefix` in `stateDict`, infers its configuration and binds its weights.
    ///
    /// With an empty prefix and a file holding exactly one recurrent module, that module is used whatever
    /// its prefix; with several, the error lists them.
    /// - Parameters:
    ///   - nonlinearity: `nn.RNN`'s nonlinearity; only `.tanh` is valid for LSTM and GRU. Nil: what the
    ///     file stores (whole pickled modules and TorchScript archives do), else tanh.
    ///   - batchFirst: as PyTorch's `batch_first`. Nil: what the file stores, else false.
    ///   - options: what each `forward` call may use unless it passes its own.
    /// - Throws: `RNNRTError` `.binding` listing every missing, unexpected or mis-shaped parameter.
    public init(stateDict: StateDict, prefix: String = "", nonlinearity: Nonlinearity? = nil,
                batchFirst: Bool? = nil, options: RunOptions = RunOptions()) throws {
        let prefix = try RecurrentModule.resolvePrefix(prefix, in: stateDict)
        let config = try RecurrentConfiguration.infer(from: stateDict, prefix: prefix,
                                                      nonlinearity: nonlinearity, batchFirst: batchFirst)
        try self.init(configuration: config, stateDict: stateDict, prefix: prefix, options: options)
    }

    /// Binds the parameters named `prefix + weight_ih_l0`, ... (a cell's: `prefix + weight_ih`, ...) in
    /// `stateDict` to a module of the given configuration. Binding is strict: every expected parameter must be there with its exact shape,
    /// and no other parameter-like name may sit directly under the prefix.
    /// - Throws: `RNNRTError` `.binding` listing all problems at once; `.invalidArgument` for an
    ///   impossible configuration.
    public init(configuration config: RecurrentConfiguration, stateDict: StateDict, prefix: String = "",
                options: RunOptions = RunOptions()) throws {
        try config.validate()
        let expected = TorchParameterNames.expected(for: config)
        let expectedNames = Set(expected.map(\.name))
        var problems: [String] = []
        var tensors: [String: FloatStorage] = [:]
        var parameters: [String: StoredTensor] = [:]
        for (name, shape) in expected {
            guard let stored = stateDict[prefix + name] else {
                problems.append("missing '\(prefix + name)' \(shape.shapeDescription)")
                continue
            }
            guard stored.shape == shape else {
                problems.append("'\(prefix + name)' has shape \(stored.shape.shapeDescription), expected \(shape.shapeDescription)")
                continue
            }
            guard stored.dtype.isFloatingPoint else {
                problems.append("'\(prefix + name)' has dtype \(stored.dtype.rawValue), expected a floating-point type")
                continue
            }
            // No copy of float32 elements: large weights stay where the checkpoint reader put them.
            let floats = try stored.floatStorage()
            tensors[name] = floats
            parameters[name] = stored.dtype == .float64 ? stored : try StoredTensor(shape: shape, floatStorage: floats)
        }
        for name in stateDict.names where name.hasPrefix(prefix) {
            let local = String(name.dropFirst(prefix.count))
            if local.firstIndex(of: ".") == nil, TorchParameterNames.isParameterLike(local), !expectedNames.contains(local) {
                problems.append("unexpected '\(name)' \(stateDict[name]?.shape.shapeDescription ?? "")")
            }
        }
        guard problems.isEmpty else {
            throw RNNRTError(.binding, "cannot bind \(config.torchDescription) to the parameters under '\(prefix)':\n"
                             + problems.map { "  - " + $0 }.joined(separator: "\n"))
        }

        let gateRows = config.kind.gateCount * config.hiddenSize
        var layers: [[DirectionWeights]] = []
        for layer in 0..<config.numLayers {
            var directions: [DirectionWeights] = []
            for direction in 0..<config.directionCount {
                func t(_ role: TorchParameterNames.Role) -> FloatStorage? {
                    tensors[TorchParameterNames.name(role, layer: layer, reverse: direction == 1, cell: config.isCell)]
                }
                guard let wih = t(.weightIH), let whh = t(.weightHH) else {
                    throw RNNRTError(.binding, "internal: weights of layer \(layer) missing after checks")
                }
                directions.append(DirectionWeights(
                    kind: config.kind, gateRows: gateRows,
                    inputWidth: layer == 0 ? config.inputSize : config.directionCount * config.outputSize,
                    outputSize: config.outputSize, hidden: config.hiddenSize, projSize: config.projSize,
                    weightIH: wih, weightHH: whh, biasIH: t(.biasIH), biasHH: t(.biasHH), weightHR: t(.weightHR)))
            }
            layers.append(directions)
        }
        configuration = config
        self.prefix = prefix
        self.options = options
        self.parameters = parameters
        recurrence = Recurrence(config: config, weights: layers)
    }

    /// The same weights with a GRU's reset gate applied before the recurrent product (ONNX
    /// `linear_before_reset=0`) when `false`: what a conversion that flips that attribute computes.
    package func withGRULinearBeforeReset(_ value: Bool) -> RecurrentModule {
        var copy = self
        copy.recurrence = Recurrence(config: recurrence.config, weights: recurrence.weights, functions: recurrence.functions,
                                     gruLinearBeforeReset: value, reversedDirections: recurrence.reversedDirections)
        return copy
    }

    /// Number of scalar parameters (as `sum(p.numel() for p in module.parameters())`).
    package var parameterCount: Int {
        recurrence.weights.joined().reduce(0) { total, w in
            let biases = configuration.bias ? 2 * w.inputBias.count : 0
            return total + w.inputWeights.count + w.hiddenWeights.count + w.projectionT.count + biases
        }
    }

    /// The prefix to use: `prefix` itself when non-empty, else the only module's prefix.
    static func resolvePrefix(_ prefix: String, in stateDict: StateDict) throws -> String {
        guard prefix.isEmpty else { return prefix }
        let found = RecurrentConfiguration.modulePrefixes(in: stateDict)
        if found.count > 1 {
            throw RNNRTError(.invalidArgument, "the file holds \(found.count) recurrent modules; choose one with a prefix: "
                             + found.map { "'\($0)'" }.joined(separator: ", "))
        }
        return found.first ?? ""
    }

    /// Runs the module over a whole sequence, as PyTorch's `module(x, h0)` / `module(x, (h0, c0))`.
    ///
    /// - Parameters:
    ///   - x: `[L, N, inputSize]`, or `[N, L, inputSize]` when `batchFirst`, or unbatched `[L, inputSize]`.
    ///   - h0: `[layers·D, N, outputSize]` (`[layers·D, outputSize]` unbatched); zeros when nil. A cell also
    ///     takes PyTorch's cell form, without the leading 1 (`[N, H]`, `[H]` unbatched).
    ///   - c0: LSTM only, `[layers·D, N, hiddenSize]` (a cell's also `[N, H]`); zeros when nil.
    ///   - options: what this call may use; nil: the module's `options`.
    /// - Returns: `output` `[L, N, D·outputSize]` (batch-first or unbatched like `x`), `hN` shaped like
    ///   `h0`, and `cN` (LSTM) shaped like `c0`.
    /// - Throws: `RNNRTError` `.shapeMismatch` naming the argument, the axis and both sizes; `.limit` when the
    ///   outputs and scratch would pass the memory limit, or the time limit or the cancellation stops the call.
    public func forward(_ x: Tensor, h0: Tensor? = nil, c0: Tensor? = nil, options: RunOptions? = nil) throws -> RecurrentOutput {
        let config = configuration
        let limits = RunLimits(options ?? self.options)
        let layout = try SequenceLayout(of: x, config: config)
        let stack = config.numLayers * config.directionCount
        var h = try RecurrentModule.initialState(
            h0, named: "h0", shape: layout.stateShape(layersTimesDirections: stack, size: config.outputSize), cell: config.isCell)
        var c: Tensor? = nil
        if config.kind == .lstm {
            c = try RecurrentModule.initialState(
                c0, named: "c0", shape: layout.stateShape(layersTimesDirections: stack, size: config.hiddenSize),
                cell: config.isCell)
        } else if c0 != nil {
            throw RNNRTError(.invalidArgument, "c0 is only used by LSTM; this module is an \(config.kind.rawValue)")
        }
        let width = config.directionCount * config.outputSize
        let what = "\(config.torchDescription) over \(layout.steps) steps of a batch of \(layout.batch): its outputs and scratch"
        try ElementCount.reserve(try ElementCount.product(try ElementCount.product(floatsPerStep, layout.steps, what), layout.batch, what),
                                 elementSize: MemoryLayout<Float>.size, within: limits, what)
        var output = [Float](repeating: 0, count: layout.steps * layout.batch * width)
        let input = layout.timeMajor(x)
        let work = layout.steps * layout.batch * config.kind.gateCount * config.hiddenSize * (config.inputSize + config.outputSize)
        do {
            if limits.options.threads >= 2 && !config.bidirectional && !recurrence.splitsUnits && layout.batch >= 2
                && work >= 1 << 22 {
                // Batch rows are independent sequences: two shards run side by side, each with its own scratch (the
                // layers that split their units over two threads instead are those of PyTorch's own cell form).
                try runSharded(input: input, steps: layout.steps, batch: layout.batch, h: &h, c: &c, output: &output,
                               limits: limits)
            } else {
                try recurrence.run(input: input, steps: layout.steps, batch: layout.batch,
                                   h: &h, c: &c, output: &output, workspace: Workspace(), limits: limits)
            }
        } catch let error as RNNRTError where error.kind == .limit {
            throw RNNRTError(.limit, "\(config.torchDescription): \(error.message)", context: error.context)
        }
        let y = layout.output(output, width: width)
        return RecurrentOutput(output: y, hN: h, cN: c)
    }

    /// Floats a forward pass holds per time step and batch row, the input aside: its output, an inner layer's two
    /// output buffers, and the input projection of each direction that runs at once.
    var floatsPerStep: Int {
        let config = configuration
        let width = config.directionCount * config.outputSize
        return width * (config.numLayers > 1 ? 3 : 1) + config.directionCount * config.kind.gateCount * config.hiddenSize
    }

    /// `recurrence.run` over two halves of the batch on two threads: inputs, states and outputs are split
    /// by batch row and joined back (time-major `[T, N, ·]` inputs/outputs, `[stack, N, ·]` states).
    private func runSharded(input: Tensor, steps: Int, batch: Int, h: inout Tensor, c: inout Tensor?, output: inout [Float],
                            limits: RunLimits) throws {
        let config = configuration
        let width = config.directionCount * config.outputSize
        let stack = h.shape[0]
        let split = batch / 2
        let ranges = [0..<split, split..<batch]
        func rows(_ t: Tensor, _ outer: Int, _ range: Range<Int>, _ inner: Int) -> Tensor {
            var out: [Float] = []
            out.reserveCapacity(outer * range.count * inner)
            for o in 0..<outer { out += t.scalars[((o * batch + range.lowerBound) * inner)..<((o * batch + range.upperBound) * inner)] }
            return Tensor(shape: [outer, range.count, inner], scalars: out)
        }
        struct Shard {
            var h: Tensor
            var c: Tensor?
            var output: [Float]
            var error: Error?
        }
        let inputs = ranges.map { rows(input, steps, $0, config.inputSize) }
        var shards = ranges.map { r in
            Shard(h: rows(h, stack, r, config.outputSize), c: c.map { rows($0, stack, r, config.hiddenSize) },
                  output: [Float](repeating: 0, count: steps * r.count * width), error: nil)
        }
        let recurrence = self.recurrence
        shards.withUnsafeMutableBufferPointer { buffer in
            // Safe to share: each iteration touches only its own shard.
            let work = ShardWork(shards: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let shard = work.shards + k
                var hk = shard.pointee.h, ck = shard.pointee.c, ok = shard.pointee.output
                do {
                    try recurrence.run(input: inputs[k], steps: steps, batch: ranges[k].count, h: &hk, c: &ck, output: &ok,
                                       workspace: Workspace(), limits: limits)
                    shard.pointee = Shard(h: hk, c: ck, output: ok, error: nil)
                } catch {
                    shard.pointee.error = error
                }
            }
        }
        if let error = shards.compactMap(\.error).first { throw error }
        func join(_ parts: [Tensor], _ outer: Int, _ inner: Int) -> [Float] {
            var out = [Float](repeating: 0, count: outer * batch * inner)
            for (k, r) in ranges.enumerated() {
                for o in 0..<outer {
                    for (i, b) in r.enumerated() {
                        let src = (o * r.count + i) * inner, dst = (o * batch + b) * inner
                        for j in 0..<inner { out[dst + j] = parts[k].scalars[src + j] }
                    }
                }
            }
            return out
        }
        output = join(shards.enumerated().map { Tensor(shape: [steps, ranges[$0.offset].count, width], scalars: $0.element.output) }, steps, width)
        h = Tensor(shape: h.shape, scalars: join(shards.map(\.h), stack, config.outputSize))
        if let cShape = c?.shape {
            c = Tensor(shape: cShape, scalars: join(shards.compactMap(\.c), stack, config.hiddenSize))
        }
    }

    /// `given` checked against `shape`, or zeros when nil. With `cell`, PyTorch's cell state form (the shape
    /// without its leading 1s: `[N, H]`, or `[H]` for one sequence) is accepted too and given them back.
    static func initialState(_ given: Tensor?, named name: String, shape: [Int], cell: Bool = false) throws -> Tensor {
        guard let given else { return Tensor(repeating: 0, shape: shape) }
        try checkState(given.shape, named: name, shape: shape, cell: cell)
        return given.shape == shape ? given : Tensor(shape: shape, scalars: given.scalars)
    }

    /// Checks a given state's shape against `shape` (with `cell`, also the cell form without the leading 1s).
    static func checkState(_ given: [Int], named name: String, shape: [Int], cell: Bool) throws {
        let lead = shape.count - given.count
        if cell, lead > 0, shape.prefix(lead).allSatisfy({ $0 == 1 }), Array(shape.suffix(given.count)) == given {
            return
        }
        guard given == shape else {
            let cellForm = cell ? " or \(Array(shape.dropFirst()).shapeDescription) as a cell takes it" : ""
            throw RNNRTError(.shapeMismatch, "\(name) has shape \(given.shapeDescription), expected \(shape.shapeDescription) ([num_layers·directions, batch, size])\(cellForm)")
        }
    }
}

/// What a recurrent module returns: PyTorch's `output`, `h_n` and (LSTM) `c_n`.
public struct RecurrentOutput: Sendable {
    /// `[L, N, D·outputSize]` (or batch-first / unbatched like the input).
    public var output: Tensor
    /// Final hidden state of every layer and direction, `[layers·D, N, outputSize]`.
    public var hN: Tensor
    /// LSTM only: final cell state, `[layers·D, N, hiddenSize]`.
    public var cN: Tensor?
}

/// Pointer to the shards of `runSharded`, handed to its two parallel iterations (each touches only its own).
private struct ShardWork<T>: @unchecked Sendable {
    let shards: UnsafeMutablePointer<T>
}
