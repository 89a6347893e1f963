import Foundation

/// Names the usual conversion mistake behind a mismatch by re-running the checkpoint side with the mistake
/// applied and seeing it reproduce the other side's outputs: LSTM/GRU gate blocks permuted, GRU
/// `linear_before_reset` flipped, forward/reverse directions swapped, `batch_first` misread, biases
/// missing; plus a static check for an LSTM projection (`weight_hr`) that an export dropped.
enum Diagnosis {
    static func explain(a: VerifiableModel, b: VerifiableModel, inputs: [GraphTensor], outputsB: [GraphTensor],
                        judgement: Judgement) -> [String] {
        var found = staticChecks(a: a, b: b)
        // The checkpoint side is the reference whose mistakes we can replay.
        let reference: (RecurrentModule, StateDict)
        let target: [GraphTensor]
        let side: String
        switch (a, b) {
        case (.module(let m, let sd), _):
            reference = (m, sd); target = outputsB; side = "B"
        case (_, .module(let m, let sd)):
            guard let outA = try? a.run(inputs) else { return found }
            reference = (m, sd); target = outA; side = "A"
        default:
            return found
        }
        let (module, stateDict) = reference
        let x = Array(inputs.prefix(1))
        // A variant reproduces the other side when that side passes `verify`'s judgement against it. Under the
        // float64 judgement a variant further than 1% of the output's scale from the other side is far beyond any
        // float32 noise verify accepts, and is dismissed without its float64 run.
        func reproduces(_ variant: RecurrentModule?) -> Bool {
            guard let variant else { return false }
            let model = VerifiableModel.module(variant, stateDict)
            guard let out = try? model.run(x), out.count == target.count, !out.isEmpty else { return false }
            var exact: [GraphTensor64]? = nil
            if case .float64 = judgement {
                for (mine, theirs) in zip(out, target) {
                    let m = Verifier.floats(mine), t = Verifier.floats(theirs)
                    guard m.shape == t.shape else { return false }
                    let scale = max(1, t.scalars.reduce(Float(0)) { $1.isFinite ? max($0, abs($1)) : $0 })
                    if zip(m.scalars, t.scalars).contains(where: { !(abs($0 - $1) <= 0.01 * scale) && $0 != $1 }) { return false }
                }
                guard let run = try? model.runFloat64(x) else { return false }
                exact = run.outputs
            }
            return Verifier.pair(out, [], target, [], exact: exact, judgement: judgement).allSatisfy(\.passed)
        }
        let config = module.configuration
        let other = side == "B" ? "A" : "B"

        // Gate blocks permuted.
        let gateNames: [String]
        switch config.kind {
        case .lstm: gateNames = ["i", "f", "g", "o"]
        case .gru: gateNames = ["r", "z", "n"]
        case .rnn: gateNames = []
        }
        if gateNames.count > 1 {
            for perm in permutations(Array(gateNames.indices)) where perm != Array(gateNames.indices) {
                if reproduces(try? variant(module, stateDict) { role, t in
                    role == .weightHR ? t : permuteBlocks(t, perm, hidden: config.hiddenSize)
                }) {
                    let order = perm.map { gateNames[$0] }.joined(separator: ", ")
                    var hint = ""
                    if config.kind == .lstm && (perm == config.kind.torchBlocksInONNXOrder || perm == config.kind.onnxBlocksInTorchOrder) { hint = " — ONNX's i, o, f, c order read as PyTorch's, or the reverse: weights not reordered" }
                    if config.kind == .gru && perm == config.kind.onnxBlocksInTorchOrder { hint = " — ONNX's z, r, h order read as PyTorch's r, z, n: weights not reordered" }
                    found.append("gate blocks permuted: \(side) computes what \(other) computes with its \(config.kind.rawValue) gate blocks in the order \(order) instead of \(gateNames.joined(separator: ", "))\(hint)")
                }
            }
        }
        // GRU linear_before_reset flipped.
        if config.kind == .gru, reproduces(module.withGRULinearBeforeReset(false)) {
            found.append("GRU linear_before_reset flipped: \(side) applies the reset gate before the recurrent product (ONNX linear_before_reset=0); PyTorch's nn.GRU needs linear_before_reset=1")
        }
        // Directions swapped.
        if config.bidirectional, reproduces(try? variant(module, stateDict, swapDirections: true) { $1 }) {
            found.append("forward and reverse directions swapped: \(side) uses the reverse weights for the forward direction and vice versa")
        }
        // batch_first misread.
        if let flipped = try? RecurrentModule(stateDict: stateDict, prefix: module.prefix, nonlinearity: config.nonlinearity,
                                              batchFirst: !config.batchFirst, options: module.options), reproduces(flipped) {
            found.append("batch_first misread: \(side) reads the input as \(config.batchFirst ? "[seq, batch, features]" : "[batch, seq, features]") while \(other) is \(config.batchFirst ? "batch_first=True" : "batch_first=False")")
        }
        // Biases missing.
        if config.bias, reproduces(try? variant(module, stateDict) { role, t in
            role == .biasIH || role == .biasHH ? StoredTensor(Tensor(repeating: 0, shape: t.shape)) : t
        }) {
            found.append("biases missing: \(side) computes what \(other) computes with bias_ih and bias_hh set to zero")
        }
        if found.isEmpty {
            found.append("no single usual conversion mistake (gate order, linear_before_reset, direction swap, batch_first, biases, projection) reproduces the difference")
        }
        return found
    }

    /// Checks that need no run: an LSTM projection an export dropped.
    static func staticChecks(a: VerifiableModel, b: VerifiableModel) -> [String] {
        var found: [String] = []
        for (ref, other, side) in [(a, b, "B"), (b, a, "A")] {
            guard case .module(let m, _) = ref, m.configuration.projSize > 0, case .graph(_, let model) = other else { continue }
            let c = m.configuration
            for node in model.graph.nodes where node.opType == "LSTM" {
                if case .int(let h)? = node.attributes["hidden_size"], Int(h) == c.projSize {
                    found.append("projection (weight_hr) dropped: \(side)'s LSTM node '\(node.name)' has hidden_size \(h) = proj_size, but the module's hidden_size is \(c.hiddenSize) with a [\(c.projSize), \(c.hiddenSize)] projection; no ONNX LSTM expresses proj_size (PyTorch 2.15's dynamo exporter writes exactly this broken graph; `rnnrt convert` writes a correct Loop)")
                    break
                }
            }
        }
        return found
    }

    /// The module rebuilt from its tensors transformed by `transform` (and optionally with each layer's
    /// forward and reverse weights exchanged).
    static func variant(_ module: RecurrentModule, _ stateDict: StateDict, swapDirections: Bool = false,
                        _ transform: (TorchParameterNames.Role, StoredTensor) -> StoredTensor) throws -> RecurrentModule {
        var tensors: [(String, StoredTensor)] = []
        for name in stateDict.names where name.hasPrefix(module.prefix) {
            let local = String(name.dropFirst(module.prefix.count))
            let cell = module.configuration.isCell
            guard let parsed = TorchParameterNames.parse(local, cell: cell), var t = stateDict[name] else { continue }
            if swapDirections {
                let partner = module.prefix + TorchParameterNames.name(parsed.role, layer: parsed.layer, reverse: !parsed.reverse, cell: cell)
                if let other = stateDict[partner] { t = other }
            }
            tensors.append((name, transform(parsed.role, StoredTensor(try t.floatTensor()))))
        }
        let c = module.configuration
        return try RecurrentModule(stateDict: StateDict(tensors), prefix: module.prefix, nonlinearity: c.nonlinearity,
                                   batchFirst: c.batchFirst, options: module.options)
    }

    /// A `[G·H, …]` or `[G·H]` tensor with its row blocks in the order `perm`.
    static func permuteBlocks(_ t: StoredTensor, _ perm: [Int], hidden: Int) -> StoredTensor {
        guard let values = try? t.floatTensor().scalars, let rows = t.shape.first, rows == perm.count * hidden else { return t }
        let block = values.count / perm.count
        let out = perm.flatMap { values[($0 * block)..<(($0 + 1) * block)] }
        return StoredTensor(Tensor(shape: t.shape, scalars: out))
    }

    static func permutations(_ items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i -> [[Int]] in
            var rest = items
            let head = rest.remove(at: i)
            return permutations(rest).map { [head] + $0 }
        }
    }
}
