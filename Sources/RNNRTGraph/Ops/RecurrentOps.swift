import RNNRTCore
import RNNRTKernels
import RNNRTLayers

/// The ONNX `LSTM`, `GRU` and `RNN` operators, complete: every `direction`, `layout` 0 and 1, every
/// activation the spec allows with `activation_alpha`/`activation_beta`, `clip`, `input_forget`, peepholes
/// `P`, `sequence_lens`, `initial_h`/`initial_c`, `linear_before_reset` 0 and 1, optional outputs.
///
/// They run on the engine of `RecurrentModule` (`Recurrence`): ONNX gate blocks are reordered to
/// PyTorch's once (LSTM `i,o,f,c` → `i,f,c,o`; GRU `z,r,h` → `r,z,h`; peepholes `i,o,f` → `i,f,o`), and
/// a node whose attributes have PyTorch's form (what both PyTorch exporters write) runs on the fused
/// kernels. Constant weights are bound when the model is loaded.
struct RecurrentOp: GraphOperator {
    enum Direction: String { case forward, reverse, bidirectional }

    let kind: RecurrentKind
    let label: String
    let hiddenSize: Int?
    let direction: Direction
    let batchMajor: Bool
    /// Per direction; nil for PyTorch's form (fused kernels).
    let functions: [CellFunctions]?
    let linearBeforeReset: Bool
    let nonlinearity: Nonlinearity
    /// The axes of the engine's output `[T, N, D, H]` that give `Y`: ONNX's `[T, D, N, H]` (layout 0) or
    /// `[N, T, D, H]` (layout 1), or composed with a `Transpose` fused into this node (`Plan.fuse`).
    private(set) var outputPermutation: [Int]
    /// Bound at load when W, R, B and P are constants.
    private(set) var bound: Recurrence?
    /// The engine's scratch, kept between runs.
    private let workspaces = WorkspacePool()

    var directionCount: Int { direction == .bidirectional ? 2 : 1 }

    init(kind: RecurrentKind, context ctx: OperatorContext) throws {
        let node = ctx.node
        self.kind = kind
        label = node.label
        let hidden = try node.int("hidden_size", default: 0)
        hiddenSize = hidden > 0 ? Int(hidden) : nil
        guard let d = Direction(rawValue: try node.string("direction", default: "forward")) else {
            throw RNNRTError(.malformed, "\(node.label): direction must be forward, reverse or bidirectional, found '\(try node.string("direction", default: ""))'")
        }
        direction = d
        let layout = try node.int("layout", default: 0)
        guard layout == 0 || layout == 1 else { throw RNNRTError(.malformed, "\(node.label): layout must be 0 or 1, found \(layout)") }
        batchMajor = layout == 1
        outputPermutation = batchMajor ? [1, 0, 2, 3] : [0, 2, 1, 3]
        linearBeforeReset = kind == .gru ? try node.int("linear_before_reset", default: 0) != 0 : true
        let inputForget = kind == .lstm ? try node.int("input_forget", default: 0) != 0 : false
        let clip = try node.optionalFloat("clip")
        if let clip, !(clip > 0) { throw RNNRTError(.malformed, "\(node.label): clip must be positive, found \(clip)") }

        let perDirection: Int
        let defaults: [String]
        switch kind {
        case .lstm: perDirection = 3; defaults = ["Sigmoid", "Tanh", "Tanh"]
        case .gru: perDirection = 2; defaults = ["Sigmoid", "Tanh"]
        case .rnn: perDirection = 1; defaults = ["Tanh"]
        }
        let count = d == .bidirectional ? 2 : 1
        var names = try node.strings("activations") ?? []
        if names.isEmpty { names = Array([[String]](repeating: defaults, count: count).joined()) }
        // A single direction's list given for a bidirectional node applies to both; a two-direction
        // list on a one-direction node (the RNN schema default [Tanh, Tanh]) uses its first part.
        if names.count == perDirection && count == 2 { names += names }
        if names.count == 2 * perDirection && count == 1 { names = Array(names.prefix(perDirection)) }
        guard names.count == perDirection * count else {
            throw RNNRTError(.malformed, "\(node.label): activations has \(names.count) entries, expected \(perDirection) per direction × \(count)")
        }
        var alphas = try node.floats("activation_alpha") ?? [], betas = try node.floats("activation_beta") ?? []
        var fns: [ActivationFunction] = []
        for name in names {
            fns.append(try RecurrentOp.activation(name, alphas: &alphas, betas: &betas, label: node.label))
        }
        let cellFunctions = (0..<count).map { i in
            CellFunctions(activations: Array(fns[(i * perDirection)..<((i + 1) * perDirection)]), clip: clip, inputForget: inputForget)
        }
        // PyTorch's form runs on the fused kernels (RNN: tanh or relu, as the module's nonlinearity).
        let first = cellFunctions[0].activations
        let uniform = cellFunctions.allSatisfy { $0.activations == first }
        let pytorchForm: [ActivationFunction]
        switch kind {
        case .lstm: pytorchForm = [.sigmoid, .tanh, .tanh]
        case .gru: pytorchForm = [.sigmoid, .tanh]
        case .rnn: pytorchForm = first == [.relu] ? [.relu] : [.tanh]
        }
        nonlinearity = kind == .rnn && first == [.relu] ? .relu : .tanh
        functions = uniform && first == pytorchForm && clip == nil && !inputForget ? nil : cellFunctions

        // Bind now when the weights are constants (the usual case: initializers).
        bound = nil
        if let w = ctx.constantInput(1), let r = ctx.constantInput(2),
           !ctx.hasInput(3) || ctx.constantInput(3) != nil, !ctx.hasInput(7) || ctx.constantInput(7) != nil {
            bound = try bind(w: w, r: r, b: ctx.constantInput(3), p: ctx.constantInput(7))
        }
    }

    /// This operator with its `Y` output permuted by `perm` (Z = Transpose(Y, perm), so Z's axis k is Y's axis
    /// perm[k], which is the engine's axis outputPermutation[perm[k]]).
    func permutingOutput(_ perm: [Int]) -> RecurrentOp {
        var op = self
        op.outputPermutation = perm.map { outputPermutation[$0] }
        return op
    }

    /// The activation `name` (case-insensitive, as ORT accepts), taking its alpha/beta from the front of
    /// the lists (spec defaults where a function needs them and the lists are exhausted).
    static func activation(_ name: String, alphas: inout [Float], betas: inout [Float], label: String) throws -> ActivationFunction {
        func alpha(_ d: Float?) throws -> Float {
            if !alphas.isEmpty { return alphas.removeFirst() }
            guard let d else { throw RNNRTError(.malformed, "\(label): activation \(name) needs an activation_alpha value") }
            return d
        }
        func beta(_ d: Float?) throws -> Float {
            if !betas.isEmpty { return betas.removeFirst() }
            guard let d else { throw RNNRTError(.malformed, "\(label): activation \(name) needs an activation_beta value") }
            return d
        }
        switch name.lowercased() {
        case "relu": return .relu
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        case "affine": return .affine(alpha: try alpha(1), beta: try beta(0))
        case "leakyrelu": return .leakyRelu(alpha: try alpha(0.01))
        case "thresholdedrelu": return .thresholdedRelu(alpha: try alpha(1))
        case "scaledtanh": return .scaledTanh(alpha: try alpha(1), beta: try beta(1))
        case "hardsigmoid": return .hardSigmoid(alpha: try alpha(0.2), beta: try beta(0.5))
        case "elu": return .elu(alpha: try alpha(1))
        case "softsign": return .softsign
        case "softplus": return .softplus
        default:
            throw RNNRTError(.unsupported, "\(label): activation '\(name)' is not one the ONNX recurrent operators allow (Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)")
        }
    }

    /// Checks the shapes of W `[D, G·H, I]`, R `[D, G·H, H]`, B `[D, 2·G·H]` and P `[D, 3H]`; returns H and I.
    func checkWeights(w: [Int], r: [Int], b: [Int]?, p: [Int]?) throws -> (hidden: Int, inputSize: Int) {
        let g = kind.gateCount, d = directionCount
        guard r.count == 3, r[0] == d, r[2] > 0, r[1] == g * r[2] else {
            throw RNNRTError(.shapeMismatch, "\(label): R must be [\(d), \(g)·hidden_size, hidden_size], got \(r.shapeDescription)")
        }
        let h = r[2]
        if let hiddenSize, hiddenSize != h {
            throw RNNRTError(.shapeMismatch, "\(label): hidden_size is \(hiddenSize) but R is \(r.shapeDescription)")
        }
        guard w.count == 3, w[0] == d, w[1] == g * h, w[2] > 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): W must be [\(d), \(g * h), input_size], got \(w.shapeDescription)")
        }
        if let b, b != [d, 2 * g * h] {
            throw RNNRTError(.shapeMismatch, "\(label): B must be [\(d), \(2 * g * h)], got \(b.shapeDescription)")
        }
        if let p {
            guard kind == .lstm, p == [d, 3 * h] else {
                throw RNNRTError(.shapeMismatch, "\(label): P must be [\(d), \(3 * h)], got \(p.shapeDescription)")
            }
        }
        return (h, w[2])
    }

    /// Binds W `[D, G·H, I]`, R `[D, G·H, H]`, B `[D, 2·G·H]`, P `[D, 3H]` into the engine's layout.
    func bind(w wT: GraphTensor, r rT: GraphTensor, b bT: GraphTensor?, p pT: GraphTensor?) throws -> Recurrence {
        let g = kind.gateCount, d = directionCount
        let (h, inputSize) = try checkWeights(w: wT.shape, r: rT.shape, b: bT?.shape, p: pT?.shape)
        let w = try wT.floats("W"), r = try rT.floats("R"), b = try bT?.floats("B"), p = try pT?.floats("P")
        let perm = kind.onnxBlocksInTorchOrder
        let config = RecurrentConfiguration(kind: kind, inputSize: inputSize, hiddenSize: h, numLayers: 1,
                                            bidirectional: d == 2, bias: true, projSize: 0, nonlinearity: nonlinearity)
        var directions: [DirectionWeights] = []
        for dir in 0..<d {
            // W and R as stored (no copy for one direction): the bind reads their gates in PyTorch's order.
            func direction(_ m: [Float], _ size: Int) -> FloatStorage {
                if d == 1 { return FloatStorage(m) }
                return FloatStorage(KernelMemory.floats(count: size) { out in
                    guard let base = out.baseAddress else { return }
                    m.withUnsafeBufferPointer { base.initialize(from: $0.baseAddress! + dir * size, count: size) }
                })
            }
            let bih = b.map { reorderedBlocks($0[(dir * 2 * g * h)..<(dir * 2 * g * h + g * h)], perm, blockSize: h) }
            let bhh = b.map { reorderedBlocks($0[(dir * 2 * g * h + g * h)..<((dir + 1) * 2 * g * h)], perm, blockSize: h) }
            let peep = p.map { reorderedBlocks($0[(dir * 3 * h)..<((dir + 1) * 3 * h)], RecurrentKind.onnxPeepholesInEngineOrder, blockSize: h) } ?? []
            directions.append(DirectionWeights(
                kind: kind, gateRows: g * h, inputWidth: inputSize, outputSize: h, hidden: h, projSize: 0,
                weightIH: direction(w, g * h * inputSize), weightHH: direction(r, g * h * h),
                biasIH: bih.map(FloatStorage.init), biasHH: bhh.map(FloatStorage.init),
                weightHR: nil, peepholes: peep, storedGates: perm))
        }
        return Recurrence(config: config, weights: [directions], functions: functions,
                          gruLinearBeforeReset: linearBeforeReset,
                          reversedDirections: direction == .reverse ? [true] : nil)
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let x = try Check.input(inputs, 0, "X")
        func input(_ i: Int) -> GraphTensor? { i < inputs.count ? inputs[i] : nil }
        let recurrence = try bound ?? bind(w: try Check.input(inputs, 1, "W"), r: try Check.input(inputs, 2, "R"),
                                           b: input(3), p: input(7))
        let config = recurrence.config
        let d = directionCount, h = config.hiddenSize
        guard x.rank == 3, x.shape[2] == config.inputSize else {
            let expected = batchMajor ? "[batch, seq_length, \(config.inputSize)]" : "[seq_length, batch, \(config.inputSize)]"
            throw RNNRTError(.shapeMismatch, "\(label): X must be \(expected), got \(x.shape.shapeDescription)")
        }
        let steps = batchMajor ? x.shape[1] : x.shape[0], batch = batchMajor ? x.shape[0] : x.shape[1]
        let xs = try x.floats("X")
        let lengths = try sequenceLengths(input(4), steps: steps, batch: batch)
        let stateShape = batchMajor ? [batch, d, h] : [d, batch, h]
        let hInitial = try initialState(input(5), "initial_h", shape: stateShape)
        let cInitial = kind == .lstm ? try initialState(input(6), "initial_c", shape: stateShape) : nil
        // The engine's layouts: input [T, N, I], states [D, N, H], output [T, N, D, H]. Y is the output permuted, the
        // final states are the engine's ([D, N, H]) or, with layout 1, [N, D, H].
        let engine = [steps, batch, d, h]
        let stateCount = d * batch * h, inputCount = xs.count, outputCount = steps * batch * d * h
        guard outputCount > 0 else {
            // No step runs: Y is empty and the final states are the initial ones.
            var results = [GraphTensor(shape: outputPermutation.map { engine[$0] }, floats: []),
                           GraphTensor(shape: stateShape, floats: hInitial.mapOutput { $0 })]
            if let cInitial { results.append(GraphTensor(shape: stateShape, floats: cInitial.mapOutput { $0 })) }
            return results
        }
        let identity = outputPermutation == [0, 1, 2, 3]
        // Y (twice when permuted) and the engine's scratch, the input projection of each direction: within the run's
        // memory limit.
        let limits = RunLimits.current ?? RunLimits()
        let what = "\(label): Y and the input projection over \(steps) steps of a batch of \(batch)"
        try Check.reserve(try ElementCount.product(steps * batch, (identity ? 1 : 2) * d * h + d * config.kind.gateCount * h, what), what)
        var y = outputFloats(outputCount) { _ in }
        var hFinal = outputFloats(stateCount) { _ in }, cFinal = cInitial.map { _ in outputFloats(stateCount) { _ in } }
        // One temporary for what the engine needs in its own order: the input and states with layout 1, Y when
        // permuted.
        let temporaryCount = (batchMajor ? inputCount + 2 * stateCount : 0) + (identity ? 0 : outputCount)
        try workspaces.withWorkspace { workspace in
            try withTemporaryFloats(temporaryCount) { temporary in
                var next = temporary.baseAddress
                func take(_ count: Int) -> UnsafeMutablePointer<Float> {
                    defer { next = next.map { $0 + count } }
                    return next!
                }
                try xs.withUnsafeBufferPointer { xp in
                    try withMutablePointers(&y, &hFinal, &cFinal) { outputs in
                        var input = xp.baseAddress!
                        if batchMajor {
                            let timeMajor = take(inputCount)
                            swapFirstTwoAxes(xp.baseAddress!, batch, steps, config.inputSize, into: timeMajor)
                            input = UnsafePointer(timeMajor)
                        }
                        let hp = batchMajor ? take(stateCount) : outputs[1]
                        let cp = outputs.count < 3 ? nil : (batchMajor ? take(stateCount) : outputs[2])
                        // [N, D, H] → [D, N, H] for layout 1; else the initial state as it is.
                        func load(_ initial: [Float], into state: UnsafeMutablePointer<Float>) {
                            initial.withUnsafeBufferPointer { src in
                                if batchMajor {
                                    swapFirstTwoAxes(src.baseAddress!, batch, d, h, into: state)
                                } else {
                                    state.update(from: src.baseAddress!, count: stateCount)
                                }
                            }
                        }
                        load(hInitial, into: hp)
                        if let cInitial, let cp { load(cInitial, into: cp) }
                        let out = identity ? outputs[0] : take(outputCount)
                        try recurrence.run(input: input, steps: steps, batch: batch, h: hp, c: cp, output: out,
                                           workspace: workspace, limits: limits, sequenceLengths: lengths)
                        let engineStrides = engine.strides
                        if !identity {
                            stridedCopy(UnsafeBufferPointer(start: out, count: outputCount), shape: outputPermutation.map { engine[$0] },
                                        strides: outputPermutation.map { engineStrides[$0] }, offset: 0, into: outputs[0])
                        }
                        if batchMajor {
                            // [D, N, H] → [N, D, H].
                            swapFirstTwoAxes(hp, d, batch, h, into: outputs[1])
                            if let cp { swapFirstTwoAxes(cp, d, batch, h, into: outputs[2]) }
                        }
                    }
                }
            }
        }
        var results = [GraphTensor(shape: outputPermutation.map { engine[$0] }, floats: y),
                       GraphTensor(shape: stateShape, floats: hFinal)]
        if let cFinal { results.append(GraphTensor(shape: stateShape, floats: cFinal)) }
        return results
    }

    /// `sequence_lens` checked, as the engine takes it (nil when every row runs all the steps).
    func sequenceLengths(_ s: GraphTensor?, steps: Int, batch: Int) throws -> [Int]? {
        guard let s else { return nil }
        let values = try s.ints("sequence_lens")
        guard s.shape == [batch] else {
            throw RNNRTError(.shapeMismatch, "\(label): sequence_lens must be [\(batch)], got \(s.shape.shapeDescription)")
        }
        let lengths = try values.map { v in
            guard v >= 0, v <= Int64(steps) else {
                throw RNNRTError(.invalidArgument, "\(label): sequence_lens value \(v) is outside 0…\(steps)")
            }
            return Int(v)
        }
        return lengths.allSatisfy({ $0 == steps }) ? nil : lengths
    }

    /// An initial state in ONNX's layout (`shape`), checked, or zeros.
    private func initialState(_ t: GraphTensor?, _ name: String, shape: [Int]) throws -> [Float] {
        guard let t else { return [Float](repeating: 0, count: shape.reduce(1, *)) }
        guard t.shape == shape else {
            throw RNNRTError(.shapeMismatch, "\(label): \(name) must be \(shape.shapeDescription) (layout \(batchMajor ? 1 : 0)), got \(t.shape.shapeDescription)")
        }
        return try t.floats(name)
    }
}

/// `body` with the elements of `a`, `b` and, when there is one, `c` (each uniquely referenced, so written in place).
private func withMutablePointers(_ a: inout [Float], _ b: inout [Float], _ c: inout [Float]?,
                                 _ body: ([UnsafeMutablePointer<Float>]) throws -> Void) rethrows {
    try a.withUnsafeMutableBufferPointer { pa in
        try b.withUnsafeMutableBufferPointer { pb in
            guard c != nil else { return try body([pa.baseAddress!, pb.baseAddress!]) }
            try c!.withUnsafeMutableBufferPointer { pc in try body([pa.baseAddress!, pb.baseAddress!, pc.baseAddress!]) }
        }
    }
}

extension GraphTensor {
    /// The float elements of a tensor known to be float (empty otherwise).
    var floatsUnchecked: [Float] {
        if case .float(let v) = elements { return v }
        return []
    }
}
