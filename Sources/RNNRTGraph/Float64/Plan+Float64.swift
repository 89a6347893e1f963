import RNNRTCore

/// What `Plan.runFloat64` returns: the graph's outputs, and which operators' float values were computed in float32.
public struct Float64Run: Sendable {
    /// Every graph output, in order.
    public var outputs: [(name: String, tensor: GraphTensor64)]
    /// The operator types (in the order first run) that have no float64 form in rnnrt and computed float values in
    /// float32 (their float inputs rounded, their float outputs widened); empty when the whole run was float64.
    public var float32Operators: [String]
}

extension Plan {
    /// Runs the graph in float64: the reference the float32 `run` is measured against (`rnnrt verify`).
    ///
    /// The graph's nodes run one by one, in file order, on their float64 forms: initializers as stored (float64
    /// ones keep every bit), the recurrent operators on the float64 engine, arithmetic, activations, products,
    /// reductions, normalizations and softmax in float64, `If` and `Loop` branches and bodies likewise; operators
    /// that only move elements (reshapes, transposes, slices, gathers, concatenations, ...) run as the float32
    /// executor's own operators do on the elements' positions, so they move the float64 values exactly. Integer and
    /// bool computations run on the executor's operators, which compute them exactly. The few float operators with no
    /// float64 form here (convolutions, pooling, `Einsum`, `Resize`, the quantization operators, ...) run in float32
    /// and are named in `float32Operators`. Nothing is folded or fused: this path is for checking, not for speed.
    /// - Throws: as `run`: unknown input names, inputs contradicting their declaration, any operator's error with
    ///   the node named.
    public func runFloat64(_ inputs: [String: GraphTensor64]) throws -> Float64Run {
        let declared = graph.inputs
        let known = Set(declared.map(\.name))
        if let unknown = inputs.keys.sorted().first(where: { !known.contains($0) }) {
            throw RNNRTError(.invalidArgument, "the model has no input named '\(unknown)'; its inputs are "
                             + declared.map { "'\($0.name)'" }.joined(separator: ", "))
        }
        var given: [String: GraphTensor64] = [:]
        for info in declared {
            guard let value = inputs[info.name] else { continue }
            given[info.name] = try Plan.conform(value, to: info)
        }
        let interpreter = Float64Interpreter(opset: opset)
        let values = try interpreter.run(graph, inputs: given, outer: [:])
        return Float64Run(outputs: Array(zip(graph.outputs.map(\.name), values)).map { ($0.0, $0.1) },
                          float32Operators: interpreter.float32Operators)
    }

    /// `conform` for a float64 run's input.
    static func conform(_ given: GraphTensor64, to info: GraphValueInfo) throws -> GraphTensor64 {
        guard let n = given.shape.checkedElementCount(), n == given.elementCount else {
            throw RNNRTError(.invalidArgument, "input '\(info.name)' has shape \(given.shape.shapeDescription) but \(given.elementCount) elements")
        }
        if let dims = info.shape, dims.count != given.rank {
            throw RNNRTError(.shapeMismatch, "input '\(info.name)' has rank \(given.rank) (shape \(given.shape.shapeDescription)), the model declares rank \(dims.count): [\(dims.map(\.description).joined(separator: ", "))]")
        }
        switch (ONNXElementKind(code: info.elementType), given.elements) {
        case (.float, .int(let v)):
            return GraphTensor64(shape: given.shape, doubles: v.map { Double($0) })
        case (.float, .bool), (.int, .double), (.int, .bool), (.bool, .double), (.bool, .int):
            throw RNNRTError(.invalidArgument, "input '\(info.name)' must be \(ONNXElementKind(code: info.elementType)?.name ?? "?") (ONNX element type \(info.elementType)), got \(given.typeName)")
        default:
            return given
        }
    }
}

/// Runs graphs node by node in float64 (`Plan.runFloat64`): one run, its `Loop` budget and the operators it had
/// to compute in float32.
final class Float64Interpreter {
    let opset: Int64
    private(set) var float32Operators: [String] = []
    /// Body iterations left to the run's `Loop`s, nested ones included (`ControlFlowOps.maxIterations` in all).
    private var iterationsLeft = ControlFlowOps.maxIterations

    init(opset: Int64) {
        self.opset = opset
    }

    /// The outputs of `graph` given its `inputs` by name; `outer` holds the enclosing graph's values a subgraph
    /// reads.
    func run(_ graph: Graph, inputs: [String: GraphTensor64], outer: [String: GraphTensor64]) throws -> [GraphTensor64] {
        var values = outer
        for name in graph.initializerNames where inputs[name] == nil {
            guard let stored = graph.initializers[name] else { continue }
            values[name] = try withContext("reading initializer '\(name)'") { try GraphTensor64(stored) }
        }
        for (name, value) in inputs { values[name] = value }
        // A value is dropped after the last node that reads it (subgraphs read the enclosing values they name).
        var lastUse: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for name in node.inputs where !name.isEmpty { lastUse[name] = index }
            for name in Float64Interpreter.subgraphs(of: node).flatMap({ Plan.freeVariables(of: $0) }) { lastUse[name] = index }
        }
        let kept = Set(graph.outputs.map(\.name))
        for (index, node) in graph.nodes.enumerated() {
            let args = try node.inputs.map { name -> GraphTensor64? in
                guard !name.isEmpty else { return nil }
                guard let value = values[name] else {
                    throw RNNRTError(.malformed, "\(node.label) reads '\(name)', which no initializer, graph input or earlier node defines")
                }
                return value
            }
            let results = try withContext("running \(node.label)") {
                let results = try evaluate(node, args, scope: values)
                for (k, value) in results.enumerated() { try Float64Interpreter.checkCountable(value, "output \(k)") }
                return results
            }
            for (name, value) in zip(node.outputs, results) where !name.isEmpty { values[name] = value }
            for name in node.inputs where lastUse[name] == index && !kept.contains(name) && outer[name] == nil {
                values[name] = nil
            }
        }
        return try graph.outputs.map { info in
            guard let value = values[info.name] else {
                throw RNNRTError(.invalidArgument, "graph output '\(info.name)' was not computed (an optional input it needs was not given)")
            }
            return value
        }
    }

    /// What `Check.countable` requires of every value of a run: a countable shape that agrees with the element
    /// count, and for an empty value other extents that multiply to at most `ElementCount.maximum`.
    static func checkCountable(_ value: GraphTensor64, _ what: @autoclosure () -> String) throws {
        guard let n = value.shape.checkedElementCount(), n == value.elementCount else {
            throw RNNRTError(.invalidArgument, "\(what()) has shape \(value.shape.shapeDescription) but \(value.elementCount) elements")
        }
        if n == 0, let extents = value.shape.filter({ $0 != 0 }).checkedElementCount(), extents > ElementCount.maximum {
            throw RNNRTError(.invalidArgument, "\(what()) is empty but its other extents \(value.shape.shapeDescription) multiply to \(extents), more than the \(ElementCount.maximum) rnnrt steps through")
        }
    }

    static func subgraphs(of node: GraphNode) -> [Graph] {
        node.attributes.values.flatMap { attribute -> [Graph] in
            switch attribute {
            case .graph(let g): return [g]
            case .graphs(let gs): return gs
            default: return []
            }
        }
    }

    /// One node: its float64 form, or its elements moved by the executor's operator, or the executor's operator
    /// itself (exact on integers and bools; float32 on floats, noted).
    private func evaluate(_ node: GraphNode, _ args: [GraphTensor64?], scope: [String: GraphTensor64]) throws -> [GraphTensor64] {
        let isDefaultDomain = node.domain.isEmpty || node.domain == "ai.onnx"
        if isDefaultDomain {
            switch node.opType {
            case "If": return try runIf(node, args, scope: scope)
            case "Loop": return try runLoop(node, args, scope: scope)
            default: break
            }
            let floatInput = args.contains { $0?.isFloat ?? false }
            if let op = Float64Ops.table[node.opType], floatInput || Float64Ops.createsFloats.contains(node.opType) {
                return try op(Float64Ops.Context(node: node, opset: opset), args)
            }
            if floatInput, let moved = try ElementMoves.run(node, args, opset: opset, build: build) {
                return moved
            }
        }
        return try runFloat32(node, args)
    }

    /// The executor's operator for `node` built with every input known (as a plan builds it over constants).
    private func build(_ node: GraphNode, _ inputs: [GraphTensor?]) throws -> GraphOperator {
        guard let builder = OpRegistry.builder(for: node) else {
            throw RNNRTError(.unsupported, "operator \(node.opType) is not supported")
        }
        let context = OperatorContext(node: node, opset: opset) { name in
            node.inputs.firstIndex(of: name).flatMap { $0 < inputs.count ? inputs[$0] : nil }
        }
        return try withContext("loading \(node.label)") { try builder(context) }
    }

    /// The executor's own operator on the inputs rounded to float32; its float outputs widened.
    private func runFloat32(_ node: GraphNode, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let inputs = args.map { $0?.float32 }
        let results = try build(node, inputs).run(inputs)
        // Shape and Size read only the extents, so rounding their input changes nothing.
        let readsValues = !["Shape", "Size"].contains(node.opType)
        let floats = (readsValues && args.contains { $0?.isFloat ?? false })
            || results.contains { if case .float = $0.elements { return true } else { return false } }
        let name = node.domain.isEmpty || node.domain == "ai.onnx" ? node.opType : "\(node.domain).\(node.opType)"
        if floats && !float32Operators.contains(name) { float32Operators.append(name) }
        return results.map(GraphTensor64.init)
    }

    /// ONNX `If`: the chosen branch, run in float64 with the enclosing values in scope.
    private func runIf(_ node: GraphNode, _ args: [GraphTensor64?], scope: [String: GraphTensor64]) throws -> [GraphTensor64] {
        guard let condition = args.first ?? nil else { throw RNNRTError(.invalidArgument, "required input 0 ('cond') is missing") }
        let branchName = try Float64Ops.truth(condition, "cond") ? "then_branch" : "else_branch"
        guard case .graph(let branch)? = node.attributes[branchName] else {
            throw RNNRTError(.malformed, "\(node.label) needs a graph attribute '\(branchName)'")
        }
        return try run(branch, inputs: [:], outer: scope)
    }

    /// ONNX `Loop`: the body run in float64 while the trip count and the condition allow, the carried values
    /// threaded, the scan outputs stacked along a new first axis; at most `ControlFlowOps.maxIterations` body
    /// iterations per run.
    private func runLoop(_ node: GraphNode, _ args: [GraphTensor64?], scope: [String: GraphTensor64]) throws -> [GraphTensor64] {
        guard case .graph(let body)? = node.attributes["body"] else {
            throw RNNRTError(.malformed, "\(node.label) needs a graph attribute 'body'")
        }
        let carriedCount = max(0, node.inputs.count - 2)
        guard body.inputs.count == carriedCount + 2, body.outputs.count >= carriedCount + 1 else {
            throw RNNRTError(.malformed, "\(node.label): the body takes \(body.inputs.count) inputs and gives \(body.outputs.count) outputs; expected \(carriedCount + 2) inputs (iteration, condition, \(carriedCount) carried) and at least \(carriedCount + 1) outputs")
        }
        let tripCount = try (args.first ?? nil).map { t -> Int64 in
            guard case .int(let v) = t.elements, let first = v.first else {
                throw RNNRTError(.invalidArgument, "\(node.label): trip count M must be a non-empty integer tensor")
            }
            return first
        }
        if let tripCount, tripCount > Int64(iterationsLeft) {
            throw RNNRTError(.invalidArgument, "\(node.label): trip count M = \(tripCount) is more than the \(iterationsLeft) iterations left of the \(ControlFlowOps.maxIterations) a run may spend in loops")
        }
        var condition = try args.count > 1 ? args[1].map { try Float64Ops.truth($0, "cond") } ?? true : true
        var carried: [GraphTensor64] = []
        for k in 0..<carriedCount {
            guard let value = args[k + 2] else { throw RNNRTError(.invalidArgument, "\(node.label): loop-carried input \(k) is missing") }
            carried.append(value)
        }
        let names = body.inputs.map(\.name)
        var scans: [[GraphTensor64]] = []
        var iteration: Int64 = 0
        var scanned = 0
        while condition && (tripCount.map { iteration < $0 } ?? true) {
            guard iterationsLeft > 0 else {
                throw RNNRTError(.invalidArgument, "\(node.label) stopped after the \(ControlFlowOps.maxIterations) iterations a run may spend in loops")
            }
            iterationsLeft -= 1
            var feeds: [String: GraphTensor64] = [names[0]: GraphTensor64(shape: [], ints: [iteration]),
                                                  names[1]: GraphTensor64(shape: [], bools: [condition])]
            for (name, value) in zip(names.dropFirst(2), carried) { feeds[name] = value }
            let results = try run(body, inputs: feeds, outer: scope)
            condition = try Float64Ops.truth(results[0], "body condition")
            carried = Array(results[1..<(1 + carriedCount)])
            let step = Array(results.dropFirst(carriedCount + 1))
            scanned = try step.reduce(scanned) { try ElementCount.sum($0, $1.elementCount, "\(node.label) scan outputs") }
            _ = try Check.elementCount([scanned], "\(node.label): scan outputs stacked over \(iteration + 1) iterations")
            scans.append(step)
            iteration += 1
        }
        let scanCount = body.outputs.count - carriedCount - 1
        var stacked: [GraphTensor64] = []
        for k in 0..<scanCount {
            let parts = scans.map { $0[k] }
            guard let first = parts.first else {
                stacked.append(GraphTensor64(shape: [0], doubles: []))
                continue
            }
            guard parts.allSatisfy({ $0.shape == first.shape }) else {
                throw RNNRTError(.shapeMismatch, "\(node.label): scan output \(k) changes shape between iterations")
            }
            stacked.append(try Float64Ops.stack(parts))
        }
        return carried + stacked
    }
}
