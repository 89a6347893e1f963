import RNNRTCore

/// Control flow with subgraphs: `Loop` and `If`. Each subgraph is planned once, at load, with the
/// enclosing graph's values it reads passed in as implicit inputs (see `OperatorContext.implicitInputs`).
enum ControlFlowOps {
    /// Most body iterations one run of a plan may spend in `Loop`s, nested ones included (a hostile trip count or a
    /// condition that never turns false must not spin for ever): a trip count above it is refused before the first
    /// iteration, and a loop that reaches it stops with `.invalidArgument`.
    static let maxIterations = 1_000_000

    static func register(_ r: inout [String: OperatorBuilder]) {
        r["Loop"] = { try LoopOp(context: $0) }
        r["If"] = { try IfOp(context: $0) }
    }

    /// The graph attribute `name` of a node.
    static func subgraph(_ ctx: OperatorContext, _ name: String) throws -> Graph {
        guard case .graph(let g)? = ctx.node.attributes[name] else {
            throw RNNRTError(.malformed, "\(ctx.node.label) needs a graph attribute '\(name)'")
        }
        return g
    }
}

/// The iterations left to the `Loop`s of one run of a plan (`ControlFlowOps.maxIterations` at the outermost loop),
/// shared by nested loops through a task-local value. One run's loops run one at a time on one thread.
final class IterationBudget: @unchecked Sendable {
    @TaskLocal static var current: IterationBudget?
    private var remaining = ControlFlowOps.maxIterations

    /// The budget of the enclosing loop, or a new one for `body`'s duration when this loop is the outermost.
    static func withBudget<T>(_ body: (IterationBudget) throws -> T) rethrows -> T {
        if let current { return try body(current) }
        let budget = IterationBudget()
        return try $current.withValue(budget) { try body(budget) }
    }

    /// Refuses a trip count the budget cannot run.
    func admit(tripCount: Int64?, _ label: String) throws {
        guard let tripCount, tripCount > remaining else { return }
        throw RNNRTError(.invalidArgument, "\(label): trip count M = \(tripCount) is more than the \(remaining) iterations left of the \(ControlFlowOps.maxIterations) a run may spend in loops")
    }

    /// The check point before every iteration: spends one, or throws once the budget is spent.
    func spend(_ label: String) throws {
        guard remaining > 0 else {
            throw RNNRTError(.invalidArgument, "\(label) stopped after the \(ControlFlowOps.maxIterations) iterations a run may spend in loops")
        }
        remaining -= 1
    }
}

/// ONNX `Loop`: runs `body` while the trip count and the condition allow, threading the loop-carried
/// values and stacking the scan outputs along a new first axis.
struct LoopOp: GraphOperator {
    let label: String
    let body: Plan
    /// How many of the node's inputs are its own (the rest are implicit outer values).
    let explicitCount: Int
    let implicitNames: [String]
    let carriedCount: Int

    init(context ctx: OperatorContext) throws {
        label = ctx.node.label
        let graph = try ControlFlowOps.subgraph(ctx, "body")
        body = try withContext("planning the body of \(ctx.node.label)") {
            try Plan(graph: graph, opset: ctx.opset, outerScope: ctx.scope, outerConstant: ctx.constant, prepared: ctx.prepared)
        }
        explicitCount = ctx.node.inputs.count
        implicitNames = ctx.implicitInputs
        carriedCount = max(0, ctx.node.inputs.count - 2)
        guard graph.inputs.count == carriedCount + 2, graph.outputs.count >= carriedCount + 1 else {
            throw RNNRTError(.malformed, "\(label): the body takes \(graph.inputs.count) inputs and gives \(graph.outputs.count) outputs; expected \(carriedCount + 2) inputs (iteration, condition, \(carriedCount) carried) and at least \(carriedCount + 1) outputs")
        }
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] { try run(inputs, profile: nil) }

    func run(_ inputs: [GraphTensor?], profile: PlanProfile?) throws -> [GraphTensor] {
        try IterationBudget.withBudget { try run(inputs, profile: profile, budget: $0) }
    }

    private func run(_ inputs: [GraphTensor?], profile: PlanProfile?, budget: IterationBudget) throws -> [GraphTensor] {
        let own = Array(inputs.prefix(explicitCount))
        var outer: [String: GraphTensor] = [:]
        for (name, value) in zip(implicitNames, inputs.dropFirst(explicitCount)) { outer[name] = value }
        let tripCount = try own.first.flatMap { $0 }.map { t -> Int64 in
            guard let v = try t.ints("M").first else { throw RNNRTError(.invalidArgument, "\(label): trip count M is empty") }
            return v
        }
        try budget.admit(tripCount: tripCount, label)
        var condition = try own.count > 1 ? own[1].map { try LogicOps.bools($0, "cond").first ?? false } ?? true : true
        var carried: [GraphTensor] = []
        for (k, value) in own.dropFirst(2).enumerated() {
            guard let value else { throw RNNRTError(.invalidArgument, "\(label): loop-carried input \(k) is missing") }
            carried.append(value)
        }
        let names = body.graph.inputs.map(\.name)
        // What the body computed, and so this operator may give back once it is replaced or stacked: anything but a
        // value the loop was given (the enclosing run may still hold those).
        let given = Set(inputs.compactMap { $0.flatMap { FloatArena.address($0.floatsUnchecked) } })
        var stackedAddresses: Set<UInt> = []
        func recycleComputed(_ values: [GraphTensor], keeping kept: [GraphTensor]) {
            let keptAddresses = Set(kept.compactMap { FloatArena.address($0.floatsUnchecked) })
            var seen: Set<UInt> = []
            for value in values {
                guard let address = FloatArena.address(value.floatsUnchecked), !given.contains(address),
                      !keptAddresses.contains(address), seen.insert(address).inserted else { continue }
                recycleIntermediate(value)
            }
        }
        var scans: [[GraphTensor]] = []
        var iteration: Int64 = 0
        var scanned = 0
        let limits = RunLimits.current
        while condition && (tripCount.map { iteration < $0 } ?? true) {
            try limits?.check("before iteration \(iteration) of \(label)")
            try budget.spend(label)
            var feeds: [String: GraphTensor] = [names[0]: GraphTensor(shape: [], ints: [iteration]),
                                                names[1]: GraphTensor(shape: [], bools: [condition])]
            for (name, value) in zip(names.dropFirst(2), carried) { feeds[name] = value }
            let results = try body.run(feeds, outer: outer, profile: profile).map(\.tensor)
            condition = try LogicOps.bools(results[0], "body condition").first ?? false
            let previous = carried
            carried = Array(results[1..<(1 + carriedCount)])
            scans.append(Array(results.dropFirst(carriedCount + 1)))
            scanned = try scans[scans.count - 1].reduce(scanned) { try ElementCount.sum($0, $1.elements.count, "\(label) scan outputs") }
            _ = try Check.elementCount([scanned], "\(label): scan outputs stacked over \(iteration + 1) iterations")
            for value in scans[scans.count - 1] {
                if let address = FloatArena.address(value.floatsUnchecked) { stackedAddresses.insert(address) }
            }
            // A previous carried value a scan output also holds is given back with the stacked parts, at the end.
            recycleComputed(previous.filter { FloatArena.address($0.floatsUnchecked).map { !stackedAddresses.contains($0) } ?? false },
                            keeping: results)
            iteration += 1
        }
        let scanCount = body.graph.outputs.count - carriedCount - 1
        var stacked: [GraphTensor] = []
        for k in 0..<scanCount {
            let parts = scans.map { $0[k] }
            guard let first = parts.first else {
                stacked.append(GraphTensor(shape: [0], floats: []))
                continue
            }
            guard parts.allSatisfy({ $0.shape == first.shape }) else {
                throw RNNRTError(.shapeMismatch, "\(label): scan output \(k) changes shape between iterations")
            }
            let joined = try ShapeOps.concat(parts.map { $0.reshaped([1] + $0.shape) }, axis: 0)
            stacked.append(joined)
        }
        recycleComputed(scans.flatMap { $0 }, keeping: carried)
        return carried + stacked
    }
}

/// ONNX `If`: runs `then_branch` or `else_branch` on a scalar condition.
struct IfOp: GraphOperator {
    let thenBranch: Plan
    let elseBranch: Plan
    let implicitNames: [String]
    let explicitCount: Int
    let label: String

    init(context ctx: OperatorContext) throws {
        explicitCount = ctx.node.inputs.count
        label = ctx.node.label
        thenBranch = try Plan(graph: try ControlFlowOps.subgraph(ctx, "then_branch"), opset: ctx.opset, outerScope: ctx.scope,
                              outerConstant: ctx.constant, prepared: ctx.prepared)
        elseBranch = try Plan(graph: try ControlFlowOps.subgraph(ctx, "else_branch"), opset: ctx.opset, outerScope: ctx.scope,
                              outerConstant: ctx.constant, prepared: ctx.prepared)
        implicitNames = ctx.implicitInputs
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] { try run(inputs, profile: nil) }

    func run(_ inputs: [GraphTensor?], profile: PlanProfile?) throws -> [GraphTensor] {
        let condition = try LogicOps.bools(try Check.input(inputs, 0, "cond"), "cond").first ?? false
        try RunLimits.current?.check("before the \(condition ? "then" : "else") branch of \(label)")
        var outer: [String: GraphTensor] = [:]
        for (name, value) in zip(implicitNames, inputs.dropFirst(explicitCount)) { outer[name] = value }
        return try (condition ? thenBranch : elseBranch).run([:], outer: outer, profile: profile).map(\.tensor)
    }
}
