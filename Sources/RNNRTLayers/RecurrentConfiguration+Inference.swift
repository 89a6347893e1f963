import RNNRTCore

extension RecurrentConfiguration {
    /// The dotted-name prefixes of every recurrent module and cell in `stateDict`, in file order: each name
    /// ending in `weight_ih_l0` marks a module (`encoder.rnn.weight_ih_l0` → `encoder.rnn.`), each ending in
    /// `weight_ih` a cell (`decoder.lstm_cell.weight_ih` → `decoder.lstm_cell.`).
    public static func modulePrefixes(in stateDict: StateDict) -> [String] {
        let markers = [TorchParameterNames.name(.weightIH, layer: 0, reverse: false), TorchParameterNames.Role.weightIH.rawValue]
        var seen = Set<String>()
        return stateDict.names.compactMap { name in
            guard let marker = markers.first(where: { name == $0 || name.hasSuffix("." + $0) }) else { return nil }
            let prefix = String(name.dropLast(marker.count))
            return seen.insert(prefix).inserted ? prefix : nil
        }
    }

    /// Whether the parameters under `prefix` are a cell's (`weight_ih`, `weight_hh`) rather than a module's
    /// (`weight_ih_l0`, ...): true when the module's first-layer names are absent and a cell's are there.
    package static func holdsCell(_ stateDict: StateDict, prefix: String) -> Bool {
        let module = [TorchParameterNames.Role.weightIH, .weightHH].map { prefix + TorchParameterNames.name($0, layer: 0, reverse: false) }
        let cell = [TorchParameterNames.Role.weightIH, .weightHH].map { prefix + $0.rawValue }
        return !module.contains { stateDict[$0] != nil } && cell.contains { stateDict[$0] != nil }
    }

    /// Infers a module's or a cell's configuration from the names and shapes of its parameters under
    /// `prefix`: gate count → kind, `_reverse` → bidirectional, `weight_hr` → projection, `l{k}` → layers,
    /// `bias_ih` → bias; names without a layer suffix (`weight_ih`) → a cell.
    ///
    /// `nonlinearity` and `batchFirst` are not in a state dict: when the caller passes nil they come from
    /// the module's stored hyperparameters where the file has them (a whole pickled module or a
    /// TorchScript archive stores `batch_first`, `nonlinearity` and `mode`; see `storedHyperparameters`),
    /// else PyTorch's defaults (tanh, batch_first=False).
    ///
    /// Only what inference needs is checked here; `RecurrentModule` binds strictly afterwards.
    /// - Throws: `RNNRTError` `.binding` when the parameters do not describe a recurrent module or cell.
    package static func infer(from stateDict: StateDict, prefix: String = "",
                             nonlinearity: Nonlinearity? = nil, batchFirst: Bool? = nil) throws -> RecurrentConfiguration {
        let p = Parameters(stateDict: stateDict, prefix: prefix, cell: holdsCell(stateDict, prefix: prefix))
        guard let wih = p.tensor(.weightIH), let whh = p.tensor(.weightHH) else {
            throw p.cell ? incompleteCell(stateDict, prefix: prefix) : noModule(stateDict, prefix: prefix)
        }
        guard wih.shape.count == 2, whh.shape.count == 2 else {
            throw RNNRTError(.binding, "\(p.label(.weightIH)) and \(p.label(.weightHH)) must be matrices, got shapes \(wih.shape.shapeDescription) and \(whh.shape.shapeDescription)")
        }
        let (hidden, proj, source) = try p.hiddenAndProjection(whh)
        let kind = try p.kind(rows: wih.shape[0], hidden: hidden, source: source)
        var layers = 1
        while !p.cell && p.tensor(.weightIH, layers) != nil { layers += 1 }
        if let nonlinearity, kind != .rnn && nonlinearity != .tanh {
            throw RNNRTError(.invalidArgument, "nonlinearity '\(nonlinearity.rawValue)' applies only to RNN modules and cells; '\(prefix)' is an \(kind.rawValue)\(p.cell ? " cell" : "")")
        }
        let stored = storedHyperparameters(in: stateDict, prefix: prefix)
        return RecurrentConfiguration(
            kind: kind, inputSize: wih.shape[1], hiddenSize: hidden, numLayers: layers,
            bidirectional: !p.cell && p.tensor(.weightIH, reverse: true) != nil, bias: p.tensor(.biasIH) != nil,
            projSize: proj, nonlinearity: kind == .rnn ? nonlinearity ?? stored.nonlinearity ?? .tanh : .tanh,
            batchFirst: batchFirst ?? stored.batchFirst ?? false, isCell: p.cell)
    }

    /// The parameters under one prefix, named as a module's (`weight_ih_l0`, ...) or a cell's (`weight_ih`, ...).
    private struct Parameters {
        let stateDict: StateDict
        let prefix: String
        let cell: Bool

        func tensor(_ role: TorchParameterNames.Role, _ layer: Int = 0, reverse: Bool = false) -> StoredTensor? {
            stateDict[prefix + TorchParameterNames.name(role, layer: layer, reverse: reverse, cell: cell)]
        }

        /// The quoted full name of `role` in layer 0, for messages.
        func label(_ role: TorchParameterNames.Role) -> String {
            "'\(prefix + TorchParameterNames.name(role, layer: 0, reverse: false, cell: cell))'"
        }

        /// The hidden and projection sizes: from a module's `weight_hr` `[proj_size, hidden_size]` when it has
        /// one, else `weight_hh`'s columns; with what they were read from.
        func hiddenAndProjection(_ whh: StoredTensor) throws -> (hidden: Int, proj: Int, source: String) {
            guard !cell, let whr = tensor(.weightHR) else {
                return (whh.shape[1], 0, "\(label(.weightHH)) \(whh.shape.shapeDescription)")
            }
            guard whr.shape.count == 2 else {
                throw RNNRTError(.binding, "\(label(.weightHR)) must be a matrix [proj_size, hidden_size], got \(whr.shape.shapeDescription)")
            }
            return (whr.shape[1], whr.shape[0], "\(label(.weightHR)) \(whr.shape.shapeDescription)")
        }

        /// The kind whose gate count is `weight_ih`'s rows over the hidden size.
        func kind(rows: Int, hidden: Int, source: String) throws -> RecurrentKind {
            guard hidden > 0, rows % hidden == 0, let kind = RecurrentKind(gateCount: rows / hidden) else {
                throw RNNRTError(.binding, "cannot tell the \(cell ? "cell" : "module") kind\(under(prefix)): \(label(.weightIH)) has \(rows) rows for hidden size \(hidden) (from \(source)); expected 1×, 3× (GRU) or 4× (LSTM) the hidden size")
            }
            return kind
        }
    }

    private static func under(_ prefix: String) -> String { prefix.isEmpty ? "" : " under prefix '\(prefix)'" }

    /// The error for a prefix with neither a module's nor a cell's weights, listing what the file holds.
    private static func noModule(_ stateDict: StateDict, prefix: String) -> RNNRTError {
        let found = RecurrentConfiguration.modulePrefixes(in: stateDict)
        let hint = found.isEmpty ? "the file has no recurrent module"
            : "recurrent modules in the file: " + found.map { "'\($0)'" }.joined(separator: ", ")
        return RNNRTError(.binding, "no recurrent module\(under(prefix)): expected '\(prefix)weight_ih_l0' and '\(prefix)weight_hh_l0' (a module) or '\(prefix)weight_ih' and '\(prefix)weight_hh' (a cell) (\(hint))")
    }

    /// The error for a cell with one of its two weight matrices: which one is there and which is missing.
    private static func incompleteCell(_ stateDict: StateDict, prefix: String) -> RNNRTError {
        let roles = [TorchParameterNames.Role.weightIH, .weightHH]
        let present = roles.filter { stateDict[prefix + $0.rawValue] != nil }
        let missing = roles.filter { stateDict[prefix + $0.rawValue] == nil }
        let found = present.map { "'\(prefix + $0.rawValue)' \(stateDict[prefix + $0.rawValue]?.shape.shapeDescription ?? "")" }
        return RNNRTError(.binding, "incomplete cell\(under(prefix)): found \(found.joined(separator: ", ")) but no "
                          + missing.map { "'\(prefix + $0.rawValue)'" }.joined(separator: ", ")
                          + " (a cell needs weight_ih [gates·hidden_size, input_size] and weight_hh [gates·hidden_size, hidden_size])")
    }

    /// The hyperparameters a file stores beside a module's weights, where it has them: `batch_first` and
    /// `nonlinearity` (or `mode` = `'RNN_RELU'`/`'RNN_TANH'`) as values under the module's prefix, which
    /// whole pickled modules and TorchScript archives record. Nil for what the file does not say.
    package static func storedHyperparameters(in stateDict: StateDict, prefix: String)
        -> (batchFirst: Bool?, nonlinearity: Nonlinearity?) {
        let batchFirst = stateDict.value(named: prefix + "batch_first").flatMap { ["True": true, "False": false][$0] }
        var nonlinearity: Nonlinearity?
        switch stateDict.value(named: prefix + "nonlinearity") ?? stateDict.value(named: prefix + "mode") {
        case "'relu'", "'RNN_RELU'": nonlinearity = .relu
        case "'tanh'", "'RNN_TANH'": nonlinearity = .tanh
        default: nonlinearity = nil
        }
        return (batchFirst, nonlinearity)
    }
}
