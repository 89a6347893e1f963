import RNNRTCore

extension RecurrentConfiguration {
    /// The dotted-name prefixes of every recurrent module in `stateDict`, in file order: each name ending
    /// in `weight_ih_l0` marks one (`encoder.rnn.weight_ih_l0` → `encoder.rnn.`).
    public static func modulePrefixes(in stateDict: StateDict) -> [String] {
        let marker = TorchParameterNames.name(.weightIH, layer: 0, reverse: false)
        return stateDict.names.compactMap { name in
            guard name == marker || name.hasSuffix("." + marker) else { return nil }
            return String(name.dropLast(marker.count))
        }
    }

    /// Infers a module's configuration from the names and shapes of its parameters under `prefix`:
    /// gate count → kind, `_reverse` → bidirectional, `weight_hr` → projection, `l{k}` → layers,
    /// `bias_ih` → bias.
    ///
    /// `nonlinearity` and `batchFirst` are not in a state dict: when the caller passes nil they come from
    /// the module's stored hyperparameters where the file has them (a whole pickled module or a
    /// TorchScript archive stores `batch_first`, `nonlinearity` and `mode`; see `storedHyperparameters`),
    /// else PyTorch's defaults (tanh, batch_first=False).
    ///
    /// Only what inference needs is checked here; `RecurrentModule` binds strictly afterwards.
    /// - Throws: `RNNRTError` `.binding` when the parameters do not describe a recurrent module.
    public static func infer(from stateDict: StateDict, prefix: String = "",
                             nonlinearity: Nonlinearity? = nil, batchFirst: Bool? = nil) throws -> RecurrentConfiguration {
        func tensor(_ role: TorchParameterNames.Role, _ layer: Int = 0, reverse: Bool = false) -> StoredTensor? {
            stateDict[prefix + TorchParameterNames.name(role, layer: layer, reverse: reverse)]
        }
        let where_ = prefix.isEmpty ? "" : " under prefix '\(prefix)'"
        guard let wih = tensor(.weightIH), let whh = tensor(.weightHH) else {
            let found = RecurrentConfiguration.modulePrefixes(in: stateDict)
            let hint = found.isEmpty ? "the file has no recurrent module"
                : "recurrent modules in the file: " + found.map { "'\($0)'" }.joined(separator: ", ")
            throw RNNRTError(.binding, "no recurrent module\(where_): expected '\(prefix)weight_ih_l0' and '\(prefix)weight_hh_l0' (\(hint))")
        }
        guard wih.shape.count == 2, whh.shape.count == 2 else {
            throw RNNRTError(.binding, "'\(prefix)weight_ih_l0' and '\(prefix)weight_hh_l0' must be matrices, got shapes \(wih.shape.shapeDescription) and \(whh.shape.shapeDescription)")
        }
        var hidden = whh.shape[1]
        var proj = 0
        if let whr = tensor(.weightHR) {
            guard whr.shape.count == 2 else {
                throw RNNRTError(.binding, "'\(prefix)weight_hr_l0' must be a matrix [proj_size, hidden_size], got \(whr.shape.shapeDescription)")
            }
            proj = whr.shape[0]
            hidden = whr.shape[1]
        }
        let rows = wih.shape[0]
        guard hidden > 0, rows % hidden == 0, let kind = RecurrentKind(gateCount: rows / hidden) else {
            throw RNNRTError(.binding, "cannot tell the module kind\(where_): '\(prefix)weight_ih_l0' has \(rows) rows for hidden size \(hidden); expected 1×, 3× (GRU) or 4× (LSTM) the hidden size")
        }
        var layers = 1
        while tensor(.weightIH, layers) != nil { layers += 1 }
        if let nonlinearity, kind != .rnn && nonlinearity != .tanh {
            throw RNNRTError(.invalidArgument, "nonlinearity '\(nonlinearity.rawValue)' applies only to RNN modules; '\(prefix)' is an \(kind.rawValue)")
        }
        let stored = storedHyperparameters(in: stateDict, prefix: prefix)
        return RecurrentConfiguration(
            kind: kind, inputSize: wih.shape[1], hiddenSize: hidden, numLayers: layers,
            bidirectional: tensor(.weightIH, reverse: true) != nil, bias: tensor(.biasIH) != nil,
            projSize: proj, nonlinearity: kind == .rnn ? nonlinearity ?? stored.nonlinearity ?? .tanh : .tanh,
            batchFirst: batchFirst ?? stored.batchFirst ?? false)
    }

    /// The hyperparameters a file stores beside a module's weights, where it has them: `batch_first` and
    /// `nonlinearity` (or `mode` = `'RNN_RELU'`/`'RNN_TANH'`) as values under the module's prefix, which
    /// whole pickled modules and TorchScript archives record. Nil for what the file does not say.
    public static func storedHyperparameters(in stateDict: StateDict, prefix: String)
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
