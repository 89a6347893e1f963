import RNNRTCore

/// A graph ready to run: every node's operator resolved and built (attributes checked, constant weights
/// prepared), constants folded (inside `If` and `Loop` bodies too), fusions applied, values numbered, and the last
/// use of every value known, so that each float buffer goes back to the run's pool of buffers as soon as nothing
/// reads it: a call with the shapes of the calls before it computes into their buffers.
///
/// ```swift
/// let plan = try Plan(model: model)                       // unsupported ops: one error listing them all
/// let outputs = try plan.run(["x": GraphTensor(x)])       // [(name, tensor)] in graph output order
/// ```
///
/// A plan is immutable and `Sendable`; each `run` has its own values, so one plan serves many threads. Each run is
/// held to `RunOptions`: the plan's, or its own (`run(_:options:)`).
public final class Plan: Sendable {
    /// A class, so a run walks its steps without copying each node.
    final class Step: Sendable {
        let node: GraphNode
        let op: GraphOperator
        /// Value slot of each input (nil: omitted).
        let inputs: [Int?]
        /// Value slot of each output (nil: omitted).
        let outputs: [Int?]
        /// Slots whose last reader is this step.
        let release: [Int]

        init(node: GraphNode, op: GraphOperator, inputs: [Int?], outputs: [Int?], release: [Int]) {
            self.node = node
            self.op = op
            self.inputs = inputs
            self.outputs = outputs
            self.release = release
        }
    }

    /// The graph the plan was made from, as given (before folding and fusion).
    public let graph: Graph
    /// The `ai.onnx` operator set version the operators are built for.
    public let opset: Int64
    /// What a run that passes no options of its own may use: threads, memory, time.
    public let options: RunOptions
    let steps: [Step]
    let slotCount: Int
    /// The constants a step reads or the graph returns (folded intermediates are not kept).
    let constants: [(slot: Int, value: GraphTensor)]
    /// Every input name a caller may give (runtime inputs and overridable initializers).
    let inputNames: Set<String>
    /// The inputs a caller feeds (the graph's inputs that are not initializers), in order, with their declared
    /// element types and shapes.
    public let runtimeInputs: [GraphValueInfo]
    let inputSlots: [(info: GraphValueInfo, slot: Int)]
    /// Graph inputs that also have an initializer: the initializer is a default a caller may override
    /// (never constant-folded).
    let defaultSlots: [(info: GraphValueInfo, slot: Int, value: GraphTensor)]
    /// Values a subgraph reads from its enclosing graph, passed by the enclosing operator at run time.
    let outerSlots: [(name: String, slot: Int)]
    let outputSlots: [(name: String, slot: Int)]
    /// The fusions applied (`Plan.fuse`), described.
    let fusions: [String]
    /// Per slot, whether the run returns its value.
    let returnedSlots: [Bool]
    /// The slots steps write (the values a run computes, as against its constants and inputs).
    let computedSlots: [Int]
    /// The buffers runs compute into (lent to the runs of the outermost plan).
    let arenas = ArenaPool()
    /// Per step, whether the values it writes follow from the inputs' shapes alone (`Plan.shapeDeterminedSteps`): a
    /// caller's run takes them from the run before it when the inputs' shapes and types are the same (`ShapeMemo`).
    let fromShapes: [Bool]
    /// Whether any step's values follow from the inputs' shapes.
    let hasStepsFromShapes: Bool
    /// The slots of the inputs a caller gives or leaves to their defaults, in the order a `ShapeMemo` keys them.
    let callerSlots: [Int]

    /// The operator types `Plan` can run: default ONNX domain by name, then `com.microsoft.<name>`.
    public static var supportedOperators: [String] {
        OpRegistry.standard.keys.sorted() + OpRegistry.microsoft.keys.sorted().map { "com.microsoft.\($0)" }
    }

    /// Resolves and builds every node of `model`'s graph; `options` hold every run that passes none of its own.
    /// - Throws: `.unsupported` listing every operator type rnnrt does not implement (all at once, by name
    ///   and node count); `.malformed` for a graph that reads a value nothing defines, or invalid attributes.
    public convenience init(model: GraphModel, options: RunOptions = RunOptions()) throws {
        try self.init(graph: model.graph, opset: model.opset, options: options)
    }

    /// Resolves and builds every node of `graph` (one made in code, or a model's) for operator set `opset`;
    /// `options` hold every run that passes none of its own.
    /// - Throws: as `init(model:options:)`.
    public convenience init(graph: Graph, opset: Int64, options: RunOptions = RunOptions()) throws {
        try self.init(graph: graph, opset: opset, outerScope: [], outerConstant: { _ in nil }, prepared: PreparedWeights(),
                      options: options)
    }

    /// A plan for `graph`; `outerScope` names the enclosing graph's values a subgraph may read: those
    /// `outerConstant` knows at load are constants of this plan too (folded and bound here), the others are passed
    /// to `run(_:outer:)`. (A subgraph's plan runs under its enclosing run's limits: its `options` are not used.)
    init(graph: Graph, opset: Int64, outerScope: Set<String>, outerConstant: (String) -> GraphTensor?,
         prepared: PreparedWeights, options: RunOptions = RunOptions()) throws {
        self.graph = graph
        self.opset = opset
        self.options = options
        try Plan.checkSupported(graph)

        var draft = PlanDraft()
        try draft.bindValues(of: graph, outerScope: outerScope, outerConstant: outerConstant)
        let known = try Plan.whileLoading(options) { try draft.buildSteps(of: graph, opset: opset, prepared: prepared) }
        try draft.resolveOutputs(of: graph, known: known)
        let folded = draft.constants
        let outputs = draft.outputs, constants = draft.constants, inputs = draft.inputs, defaults = draft.defaults
        let built: [BuiltStep]
        (built, fusions) = Plan.fuse(draft.built, keeping: Set(outputs.map(\.1)), opset: opset) { folded[$0] }
        let release = Plan.releases(of: built, keeping: Set(outputs.map(\.1)).union(constants.slots))

        // Slots renumbered densely over the values a run holds (folded intermediates get none), so a run's table
        // of values is as small as it can be.
        let read = Set(built.flatMap { $0.inputs.compactMap { $0 } } + outputs.map(\.1))
        let liveConstants = read.filter(constants.contains)
        var dense: [Int: Int] = [:]
        func number(_ s: Int) -> Int {
            if let d = dense[s] { return d }
            dense[s] = dense.count
            return dense.count - 1
        }
        self.constants = liveConstants.sorted().map { (number($0), constants[$0]!) }
        inputSlots = inputs.map { ($0.0, number($0.1)) }
        defaultSlots = defaults.map { ($0.0, number($0.1), $0.2) }
        outerSlots = draft.outer.map { ($0.0, number($0.1)) }
        outputSlots = outputs.map { ($0.0, number($0.1)) }
        steps = built.enumerated().map { index, b in
            Step(node: b.node, op: b.op, inputs: b.inputs.map { $0.map(number) }, outputs: b.outputs.map { $0.map(number) },
                 release: release[index].map(number))
        }
        slotCount = dense.count
        var returned = [Bool](repeating: false, count: dense.count)
        for (_, slot) in outputSlots { returned[slot] = true }
        returnedSlots = returned
        computedSlots = Array(Set(steps.flatMap { $0.outputs.compactMap { $0 } })).sorted()
        let runtime = Set(inputs.map(\.1) + defaults.map(\.1) + draft.outer.map(\.1))
        fromShapes = Plan.shapeDeterminedSteps(built, original: draft.built, runtime: runtime) { folded.contains($0) }
        hasStepsFromShapes = fromShapes.contains(true)
        callerSlots = inputSlots.map(\.slot) + defaultSlots.map(\.slot)
        inputNames = Set(inputs.map(\.0.name) + defaults.map(\.0.name))
        runtimeInputs = inputs.map(\.0)
    }

    /// Names a graph reads that it does not define itself (inputs, initializers, node outputs), including
    /// those its own subgraphs read from it.
    static func freeVariables(of graph: Graph) -> Set<String> {
        var defined = Set(graph.inputs.map(\.name)).union(graph.initializerNames)
        var free: Set<String> = []
        for node in graph.nodes {
            for name in node.inputs where !name.isEmpty && !defined.contains(name) { free.insert(name) }
            for attribute in node.attributes.values {
                let subgraphs: [Graph]
                switch attribute {
                case .graph(let g): subgraphs = [g]
                case .graphs(let gs): subgraphs = gs
                default: subgraphs = []
                }
                for g in subgraphs { free.formUnion(freeVariables(of: g).subtracting(defined)) }
            }
            defined.formUnion(node.outputs)
        }
        for output in graph.outputs where !defined.contains(output.name) { free.insert(output.name) }
        return free
    }

    /// Runs the graph on `inputs` (by graph input name) and returns every graph output, in order.
    /// Inputs the graph declares but the caller omits are passed to their nodes as absent (optional
    /// inputs); a node that needs one fails naming it. `options`: what this run may use (nil: the plan's `options`).
    /// - Throws: `.invalidArgument` for unknown input names or inputs whose rank or element type
    ///   contradicts the declaration; any operator's error with the node named in its context; `.limit`, naming the
    ///   node, when the run would pass its memory limit, or its time limit or cancellation stops it.
    public func run(_ inputs: [String: GraphTensor], options: RunOptions? = nil) throws -> [(name: String, tensor: GraphTensor)] {
        try runOutermost(inputs, profile: nil, options: options ?? self.options)
    }

    /// `run`, recording the time each node takes into `profile`.
    package func run(_ inputs: [String: GraphTensor], profile: PlanProfile,
                    options: RunOptions? = nil) throws -> [(name: String, tensor: GraphTensor)] {
        let outputs = try runOutermost(inputs, profile: profile, options: options ?? self.options)
        profile.finishRun()
        return outputs
    }

    /// A caller's run: the operators (and those of the plans of `If` and `Loop` bodies) compute into this plan's arena,
    /// found through the run's limits, and the outputs leave it for the caller.
    private func runOutermost(_ inputs: [String: GraphTensor], profile: PlanProfile?,
                              options: RunOptions) throws -> [(name: String, tensor: GraphTensor)] {
        try arenas.withArena { arena in
            defer { arena.finishRun() }
            let limits = RunLimits(options, holder: arena)
            let outputs = try RunLimits.$current.withValue(limits) {
                try run(inputs, outer: [:], profile: profile, memo: arena.shapeMemo)
            }
            for (_, tensor) in outputs { if case .float(let v) = tensor.elements { arena.release(v) } }
            return outputs
        }
    }

    /// `run` for a subgraph: `outer` holds the enclosing graph's values it reads. `memo`: the values a caller's run
    /// may take from the run before it instead of computing them (`ShapeMemo`).
    func run(_ inputs: [String: GraphTensor], outer: [String: GraphTensor], profile: PlanProfile?,
             memo: ShapeMemo? = nil) throws -> [(name: String, tensor: GraphTensor)] {
        var values = try boundValues(inputs, outer: outer)
        let limits = RunLimits.current
        var buffers = RunBuffers(arena: limits?.arena)
        // Whether a time limit or a cancellation can stop the run before a node.
        let checks = limits?.stops == true
        let memoUse = hasStepsFromShapes ? memo?.begin(values, inputs: callerSlots, slotCount: slotCount) ?? .off : .off
        var dropped: [GraphTensor] = []
        defer {
            // What is still held and not returned (outputs nothing read, a failed run's values) goes back too.
            for slot in computedSlots where !returnedSlots[slot] { if let value = values[slot] { buffers.drop(value) } }
        }
        var args: [GraphTensor?] = []
        for (index, step) in steps.enumerated() {
            if checks, let limits { try limits.check("before \(step.node.label)") }
            if memoUse == .replay, fromShapes[index], let memo {
                Plan.replay(step, from: memo, into: &values, &buffers)
                profile?.tookFromShapes()
                continue
            }
            // The argument list is reused: its elements are replaced in place (no generic range replacement per step).
            if args.count > step.inputs.count { args.removeLast(args.count - step.inputs.count) }
            for (position, input) in step.inputs.enumerated() {
                let value = input.flatMap { values[$0] }
                if position < args.count { args[position] = value } else { args.append(value) }
            }
            for s in step.release {
                if let value = values[s] { dropped.append(value) }
                values[s] = nil
            }
            let results: [GraphTensor]
            do {
                if let profile {
                    results = try Check.countable(profile.measure(self, step: index, step.node) { try step.op.run(args, profile: profile) })
                } else {
                    results = try Check.countable(step.op.run(args))
                }
            } catch {
                throw explain(error, step, inputs)
            }
            let records = memoUse == .record && fromShapes[index]
            for (slot, value) in zip(step.outputs, results) {
                guard let slot else { continue }
                if let old = values[slot] { buffers.drop(old) }
                values[slot] = value
                if records, let memo, memo.record(value, at: slot, arena: buffers.arena) { continue }
                buffers.hold(value, from: step, readingFrom: args)
            }
            // Outputs the node does not name, after the named ones are held (two outputs may share a buffer).
            for (position, value) in results.enumerated() where position >= step.outputs.count || step.outputs[position] == nil {
                buffers.discard(value, readingFrom: args)
            }
            for value in dropped { buffers.drop(value) }
            dropped.removeAll(keepingCapacity: true)
        }
        let outputs = try outputSlots.map { name, slot in
            guard let v = values[slot] else {
                throw RNNRTError(.invalidArgument, "graph output '\(name)' was not computed (an optional input it needs was not given)")
            }
            return (name: name, tensor: v)
        }
        if memoUse == .record { memo?.finish() }
        return outputs
    }

    /// A run's table of values before its first step: the constants, the caller's inputs (checked against their
    /// declarations), the defaults of those not given, and the enclosing graph's values.
    private func boundValues(_ inputs: [String: GraphTensor], outer: [String: GraphTensor]) throws -> [GraphTensor?] {
        var values = [GraphTensor?](repeating: nil, count: slotCount)
        for (slot, value) in constants { values[slot] = value }
        if inputs.keys.contains(where: { !inputNames.contains($0) }),
           let unknown = inputs.keys.sorted().first(where: { !inputNames.contains($0) }) {
            throw RNNRTError(.invalidArgument, "the model has no input named '\(unknown)'; its inputs are "
                             + (inputSlots.map(\.info) + defaultSlots.map(\.info)).map { "'\($0.name)'" }.joined(separator: ", "))
        }
        for (info, slot) in inputSlots {
            guard let given = inputs[info.name] else { continue }
            values[slot] = try Plan.conform(given, to: info)
        }
        for (info, slot, value) in defaultSlots {
            values[slot] = try inputs[info.name].map { try Plan.conform($0, to: info) } ?? value
        }
        for (name, slot) in outerSlots { values[slot] = outer[name] }
        return values
    }

    /// A step whose values the memo keeps: the values it would compute go into their slots, and the values whose last
    /// reader it is are let go, as if it had run.
    private static func replay(_ step: Step, from memo: ShapeMemo, into values: inout [GraphTensor?],
                               _ buffers: inout RunBuffers) {
        for s in step.release {
            if let value = values[s] { buffers.drop(value) }
            values[s] = nil
        }
        for slot in step.outputs.compactMap({ $0 }) {
            if let old = values[slot] { buffers.drop(old) }
            values[slot] = memo.value(slot)
        }
    }

    /// Checks a given input against its declaration: its shape must agree with its elements (`Check.countable`), rank
    /// must agree (when declared) and the element kind must fit; integer data for a float input is converted (token
    /// ids stay integers).
    static func conform(_ given: GraphTensor, to info: GraphValueInfo) throws -> GraphTensor {
        _ = try Check.countable(given, "input '\(info.name)'")
        if let dims = info.shape, dims.count != given.rank {
            throw RNNRTError(.shapeMismatch, "input '\(info.name)' has rank \(given.rank) (shape \(given.shape.shapeDescription)), the model declares rank \(dims.count): [\(dims.map(\.description).joined(separator: ", "))]")
        }
        switch (ONNXElementKind(code: info.elementType), given.elements) {
        case (.float, .int(let v)):
            return GraphTensor(shape: given.shape, floats: v.map { Float($0) })
        case (.float, .bool), (.int, .float), (.int, .bool), (.bool, .float), (.bool, .int):
            throw RNNRTError(.invalidArgument, "input '\(info.name)' must be \(ONNXElementKind(code: info.elementType)?.name ?? "?") (ONNX element type \(info.elementType)), got \(given.typeName)")
        default:
            return given
        }
    }

    /// The error of a step that failed, as the caller sees it: a limit's message names the node (the one that stopped,
    /// outermost first), on one line; any other error has the node in its context (and, for shapes, the declared
    /// dimensions the inputs differ from); an error of another type becomes `.io`.
    private func explain(_ error: Error, _ step: Step, _ inputs: [String: GraphTensor]) -> RNNRTError {
        guard let error = error as? RNNRTError else {
            return RNNRTError(.io, "\(error)", context: ["running \(step.node.label)"])
        }
        guard error.kind == .limit else { return explainShapes(error.adding(context: "running \(step.node.label)"), inputs) }
        if error.message.contains(step.node.label) { return error }
        return RNNRTError(.limit, "\(step.node.label): \(error.message)", context: error.context)
    }

    /// Adds to a failure which declared fixed dimensions the caller's inputs differ from: that is the
    /// usual reason a model exported with fixed sizes cannot run at others.
    private func explainShapes(_ error: RNNRTError, _ inputs: [String: GraphTensor]) -> RNNRTError {
        guard error.kind == .shapeMismatch else { return error }
        var notes: [String] = []
        for (info, _) in inputSlots {
            guard let given = inputs[info.name], let dims = info.shape, dims.count == given.rank else { continue }
            for (axis, dim) in dims.enumerated() {
                if case .fixed(let n) = dim, n != given.shape[axis] {
                    notes.append("input '\(info.name)' axis \(axis) is \(given.shape[axis]), the model was exported with \(n)")
                }
            }
        }
        guard !notes.isEmpty else { return error }
        return RNNRTError(error.kind, error.message + " (" + notes.joined(separator: "; ") + ")", context: error.context)
    }

    /// Every operator type of `graph` (and its subgraphs) that rnnrt does not implement, at once.
    static func checkSupported(_ graph: Graph) throws {
        var missing: [String: Int] = [:]
        var pending = [graph]
        while let g = pending.popLast() {
            for node in g.nodes {
                let key = node.domain.isEmpty || node.domain == "ai.onnx" ? node.opType : "\(node.domain).\(node.opType)"
                if OpRegistry.builder(for: node) == nil {
                    missing[key, default: 0] += 1
                }
                for attribute in node.attributes.values {
                    if case .graph(let sub) = attribute { pending.append(sub) }
                    if case .graphs(let subs) = attribute { pending.append(contentsOf: subs) }
                }
            }
        }
        guard missing.isEmpty else {
            let list = missing.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) node\($0.value == 1 ? "" : "s"))" }
            throw RNNRTError(.unsupported, "the model uses operators rnnrt does not support: \(list.joined(separator: ", "))")
        }
    }
}

/// The three element kinds the executor computes with, from an ONNX `TensorProto.DataType` code.
enum ONNXElementKind {
    case float, int, bool

    init?(code: Int32) {
        switch code {
        case 1, 10, 11, 16: self = .float
        case 2, 3, 4, 5, 6, 7, 12, 13: self = .int
        case 9: self = .bool
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .float: return "float"
        case .int: return "integer"
        case .bool: return "bool"
        }
    }
}
