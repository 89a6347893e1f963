import RNNRTCore

/// `Gemm` nodes that multiply by the same constant `B` (with the same `C` and attributes), none of them reading
/// another's result, run as one product: their `A` rows are stacked, multiplied by `B` once, and handed back as each
/// node's `Y`. A recurrence exported step by step (`nn.LSTMCell` in a Python loop) has one such `Gemm` per step for
/// its input projection, each reading the whole weight matrix for one row; stacked, the matrix is read once.
///
/// Each row's sums may be added in another order than a product of that row alone adds them (float32 rounding).
struct SharedWeightProducts: GraphOperator {
    let gemm: GemmOp
    /// The stacked nodes; the step's inputs are their `A`s, then the shared `B` and `C`.
    let count: Int

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let operands = try (0..<count).map { i -> GraphTensor in
            let a = try Check.input(inputs, i, "A")
            guard a.rank == 2, case .float = a.elements else {
                throw RNNRTError(.shapeMismatch, "Gemm A must be a 2-D float tensor, got \(a.typeName) \(a.shape.shapeDescription)")
            }
            return a
        }
        let k = operands[0].shape[1]
        guard operands.allSatisfy({ $0.shape[1] == k }) else {
            throw RNNRTError(.shapeMismatch, "Gemm A operands sharing a weight differ in width: \(operands.map { $0.shape.shapeDescription })")
        }
        let rows = operands.map { $0.shape[0] }
        let total = try Check.elementCount([rows.reduce(0, +), k], "stacked Gemm A")
        let stacked = outputFloats(total) { out in
            var offset = 0
            for a in operands {
                a.floatsUnchecked.withUnsafeBufferPointer { src in
                    guard let base = src.baseAddress else { return }
                    (out.baseAddress! + offset).update(from: base, count: src.count)
                    offset += src.count
                }
            }
        }
        let stackedA = GraphTensor(shape: [rows.reduce(0, +), k], floats: stacked)
        let y = try gemm.run([stackedA] + inputs[count...])[0]
        recycleIntermediate(stackedA)
        let n = y.shape[1], values = y.floatsUnchecked
        var first = 0
        let outputs = rows.map { m -> GraphTensor in
            defer { first += m }
            return GraphTensor(shape: [m, n], floats: outputFloats(m * n) { out in
                values.withUnsafeBufferPointer { src in
                    guard m * n > 0 else { return }
                    out.baseAddress!.update(from: src.baseAddress! + first * n, count: m * n)
                }
            })
        }
        recycleIntermediate(y)
        return outputs
    }
}

extension Plan {
    /// `steps` with each group of `Gemm`s that can share one product (`SharedWeightProducts`) replaced by one step,
    /// and the steps reordered so that it runs once every `A` of the group is computed (the steps those need move
    /// ahead of it, the steps that read its results after it; the rest keep their order). `constant` gives a slot's
    /// value known at load.
    static func sharingWeights(_ steps: [BuiltStep], constant: (Int) -> GraphTensor?) -> (steps: [BuiltStep], fused: [String]) {
        var writer: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            for slot in step.outputs.compactMap({ $0 }) {
                // A slot written twice (not valid ONNX, not refused) leaves the order as it is.
                guard writer.updateValue(index, forKey: slot) == nil else { return (steps, []) }
            }
        }
        var groups: [String: (members: [Int], gemm: GemmOp)] = [:]
        for (index, step) in steps.enumerated() {
            guard let (key, gemm) = sharingKey(step, constant: constant) else { continue }
            groups[key, default: ([], gemm)].members.append(index)
        }
        var batches: [(members: [Int], gemm: GemmOp)] = []
        for (members, gemm) in groups.values.sorted(by: { $0.members[0] < $1.members[0] }) where members.count >= 2 {
            // Steps that depend on a member's result; a member whose A is among them cannot wait for the product.
            let memberSet = Set(members)
            var tainted = [Bool](repeating: false, count: steps.count)
            for (index, step) in steps.enumerated() {
                tainted[index] = memberSet.contains(index)
                    || step.inputs.contains { $0.flatMap { writer[$0] }.map { tainted[$0] } ?? false }
            }
            let independent = members.filter { m in !(steps[m].inputs[0].flatMap { writer[$0] }.map { tainted[$0] } ?? false) }
            if independent.count >= 2 { batches.append((independent, gemm)) }
        }
        guard !batches.isEmpty else { return (steps, []) }
        return reordered(steps, batching: batches, writer: writer)
    }

    /// The group key of a `Gemm` step that can join a shared product: its `B` (a constant) and `C` slots and
    /// attributes, and its operator; nil for any other step.
    private static func sharingKey(_ step: BuiltStep, constant: (Int) -> GraphTensor?) -> (String, GemmOp)? {
        guard let gemm = step.op as? GemmOp, gemm.weights != nil, !gemm.transA, step.outputs.count == 1,
              step.inputs.count >= 2, step.inputs.count <= 3, step.inputs[0] != nil,
              let b = step.inputs[1], constant(b) != nil else { return nil }
        let c = step.inputs.count > 2 ? step.inputs[2] : nil
        if let c {
            // A bias row broadcasts over stacked rows; a C with rows of its own does not.
            guard let value = constant(c), value.rank < 2 || value.shape[0] == 1 else { return nil }
        }
        return ("\(b) \(c.map(String.init) ?? "-") \(gemm.alpha) \(gemm.beta) \(gemm.transB)", gemm)
    }

    /// The steps in dependency order with each batch's members replaced by one step, placed by its first member and
    /// run as soon as its inputs are ready; every other step keeps its place among the steps that are ready.
    private static func reordered(_ steps: [BuiltStep], batching batches: [(members: [Int], gemm: GemmOp)], writer: [Int: Int])
        -> (steps: [BuiltStep], fused: [String]) {
        var batchOf: [Int: Int] = [:]
        for (b, batch) in batches.enumerated() { for m in batch.members { batchOf[m] = b } }
        // Units: a step of its own, or a batch (at its first member's index).
        var units: [(priority: Int, step: BuiltStep)] = []
        var unitOf: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            if let b = batchOf[index] {
                let (members, gemm) = batches[b]
                guard index == members[0] else { unitOf[index] = unitOf[members[0]]; continue }
                let shared = Array(step.inputs.dropFirst())
                let fusedStep: BuiltStep = (step.node, SharedWeightProducts(gemm: gemm, count: members.count),
                                            members.map { steps[$0].inputs[0] } + shared,
                                            members.flatMap { steps[$0].outputs })
                unitOf[index] = units.count
                units.append((index, fusedStep))
            } else {
                unitOf[index] = units.count
                units.append((index, step))
            }
        }
        var dependents = [[Int]](repeating: [], count: units.count)
        var waiting = [Int](repeating: 0, count: units.count)
        for (u, unit) in units.enumerated() {
            let needs = Set(unit.step.inputs.compactMap { $0.flatMap { writer[$0] }.flatMap { unitOf[$0] } }).subtracting([u])
            waiting[u] = needs.count
            for d in needs { dependents[d].append(u) }
        }
        var ready = units.indices.filter { waiting[$0] == 0 }.sorted { units[$0].priority > units[$1].priority }
        var order: [BuiltStep] = []
        while let u = ready.popLast() {
            order.append(units[u].step)
            for d in dependents[u] {
                waiting[d] -= 1
                guard waiting[d] == 0 else { continue }
                let at = ready.firstIndex { units[$0].priority < units[d].priority } ?? ready.count
                ready.insert(d, at: at)
            }
        }
        guard order.count == units.count else { return (steps, []) }
        let fused = batches.map { batch in
            "\(batch.members.count) Gemm nodes sharing one weight (\(steps[batch.members[0]].node.label), …) run as one product"
        }
        return (order, fused)
    }
}
