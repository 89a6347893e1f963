import RNNRTCore

/// What `Plan.init` works out before the plan's value slots are numbered densely, phase by phase: the graph's values
/// bound to slots (`bindValues`), its nodes built into steps with constants folded (`buildSteps`), its outputs found
/// (`resolveOutputs`). Slots here are numbered in the order names are met.
struct PlanDraft {
    /// Each value name's slot.
    private(set) var slots: [String: Int] = [:]
    /// Values known at load, by slot: initializers, outer constants, folded nodes' outputs.
    let constants = KnownValues()
    /// Initializers that are also graph inputs: defaults a caller may override (never folded).
    private(set) var defaults: [(GraphValueInfo, Int, GraphTensor)] = []
    /// The graph inputs a caller feeds.
    private(set) var inputs: [(GraphValueInfo, Int)] = []
    /// Values of an enclosing graph passed at run time (those not known at load).
    private(set) var outer: [(String, Int)] = []
    /// The nodes that run, in graph order.
    private(set) var built: [Plan.BuiltStep] = []
    private(set) var outputs: [(String, Int)] = []

    /// The slot of `name`, numbered on first use.
    mutating func slot(_ name: String) -> Int {
        if let s = slots[name] { return s }
        slots[name] = slots.count
        return slots.count - 1
    }

    /// The value of `name` known at load, if any.
    func constant(_ name: String) -> GraphTensor? { slots[name].flatMap { constants[$0] } }

    /// `name`'s initializer as the file stores it, if it is an 8-bit one.
    func storedConstant(_ name: String) -> StoredTensor? { slots[name].flatMap { constants.stored($0) } }

    /// Initializers (constants, or defaults when the graph also declares them as inputs), the runtime inputs, and
    /// the enclosing graph's values this graph reads (in a stable order; constants when `outerConstant` knows them).
    mutating func bindValues(of graph: Graph, outerScope: Set<String>, outerConstant: (String) -> GraphTensor?) throws {
        let declaredInputs = Dictionary(graph.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in graph.initializerNames {
            guard let stored = graph.initializers[name] else { continue }
            let info = declaredInputs[name]
            if info == nil, KnownValues.keepsStored(stored) {
                constants.keepStored(stored, at: slot(name))
                continue
            }
            let value = try withContext("reading initializer '\(name)'") { try GraphTensor(stored) }
            if let info { defaults.append((info, slot(name), value)) } else { constants[slot(name)] = value }
        }
        for info in graph.runtimeInputs { inputs.append((info, slot(info.name))) }
        for name in Plan.freeVariables(of: graph).filter({ outerScope.contains($0) }).sorted() {
            if let value = outerConstant(name) { constants[slot(name)] = value } else { outer.append((name, slot(name))) }
        }
    }

    /// Each node's operator, built with the constants known before it; a node whose inputs are all known is run
    /// once here (constant folding) instead of becoming a step. Returns every name defined by then.
    mutating func buildSteps(of graph: Graph, opset: Int64, prepared: PreparedWeights) throws -> Set<String> {
        var known = Set(slots.keys)
        for node in graph.nodes {
            for name in node.inputs where !name.isEmpty && !known.contains(name) {
                throw RNNRTError(.malformed, "\(node.label) reads '\(name)', which no initializer, graph input or earlier node defines")
            }
            let implicitInputs = implicitInputs(of: node, known: known)
            let op = try makeOperator(node, implicitInputs: implicitInputs, known: known, opset: opset, prepared: prepared)
            var inSlots = (node.inputs + implicitInputs).map { $0.isEmpty ? nil : slot($0) }
            for index in op.boundInputs where index < inSlots.count { inSlots[index] = nil }
            let outSlots = node.outputs.map { $0.isEmpty ? nil : slot($0) }
            for name in node.outputs where !name.isEmpty { known.insert(name) }
            if (!inSlots.isEmpty || node.opType == "Constant") && implicitInputs.isEmpty,
               inSlots.allSatisfy({ $0 == nil || constants.contains($0!) }),
               let values = try Plan.fold(op, inSlots.map { $0.flatMap { constants[$0] } }, label: node.label),
               values.count >= outSlots.compactMap({ $0 }).count {
                for (s, v) in zip(outSlots, values) { if let s { constants[s] = v } }
                continue
            }
            built.append((node, op, inSlots, outSlots))
        }
        return known
    }

    /// `node`'s operator, built with the constants known so far (its context reads them only while it is built).
    private func makeOperator(_ node: GraphNode, implicitInputs: [String], known: Set<String>, opset: Int64,
                              prepared: PreparedWeights) throws -> GraphOperator {
        var context = OperatorContext(node: node, opset: opset, implicitInputs: implicitInputs,
                                      scope: known) { name in self.constant(name) }
        context.prepared = prepared
        context.storedConstant = { name in self.storedConstant(name) }
        return try withContext("loading \(node.label)") {
            guard let builder = OpRegistry.builder(for: node) else {
                throw RNNRTError(.unsupported, "operator \(node.opType) is not supported")
            }
            return try builder(context)
        }
    }

    /// The values `node`'s subgraphs read from this graph, passed to it as extra, implicit inputs, except constants,
    /// which the subgraphs' plans take at load.
    private func implicitInputs(of node: GraphNode, known: Set<String>) -> [String] {
        let implicit = node.attributes.values.flatMap { attribute -> [String] in
            switch attribute {
            case .graph(let g): return Array(Plan.freeVariables(of: g))
            case .graphs(let gs): return gs.flatMap { Plan.freeVariables(of: $0) }
            default: return []
            }
        }.filter { known.contains($0) && constant($0) == nil }
        return Array(Set(implicit)).sorted()
    }

    /// The graph's outputs, each defined by then (`known`).
    mutating func resolveOutputs(of graph: Graph, known: Set<String>) throws {
        for info in graph.outputs {
            guard known.contains(info.name) else {
                throw RNNRTError(.malformed, "graph output '\(info.name)' is not produced by any node, input or initializer")
            }
            outputs.append((info.name, slot(info.name)))
        }
    }
}

extension Plan {
    /// Per step, the slots whose last reader it is: a value is released after the last step that reads it, never
    /// when `kept` (graph outputs and constants, which live in the plan).
    static func releases(of steps: [BuiltStep], keeping kept: Set<Int>) -> [[Int]] {
        var lastUse: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            for s in step.inputs.compactMap({ $0 }) { lastUse[s] = index }
        }
        var release = [[Int]](repeating: [], count: steps.count)
        for (s, index) in lastUse where !kept.contains(s) { release[index].append(s) }
        return release
    }
}
