import Foundation

/// What `rnnrt inspect` reports about a checkpoint: every tensor, every non-tensor value, and every
/// recurrent module with its inferred configuration. `Codable`, so `--json` is this struct encoded.
package struct CheckpointSummary: Codable, Sendable {
    /// One tensor: its state-dict name, dtype and shape.
    package struct TensorEntry: Codable, Sendable {
        package let name: String
        package let dtype: String
        package let shape: [Int]
    }

    /// One non-tensor leaf of a training checkpoint (`epoch`, `loss`, ...), as text.
    package struct ValueEntry: Codable, Sendable {
        package let name: String
        package let value: String
    }

    /// One recurrent module: the `--prefix` that selects it and its configuration, or why it cannot bind.
    package struct ModuleEntry: Codable, Sendable {
        package let prefix: String
        package let configuration: RecurrentConfiguration?
        /// PyTorch constructor call, e.g. `nn.LSTM(3, 5, num_layers=2)`.
        package let torch: String?
        package let parameterCount: Int?
        package let error: String?
    }

    package let path: String
    package let format: String
    package let tensors: [TensorEntry]
    package let values: [ValueEntry]
    package let modules: [ModuleEntry]

    /// Summarizes `stateDict`, read from `path`.
    package init(stateDict: StateDict, path: String) {
        self.path = path
        format = stateDict.format
        tensors = stateDict.tensors.map { TensorEntry(name: $0.name, dtype: $0.tensor.dtype.rawValue, shape: $0.tensor.shape) }
        values = stateDict.values.map { ValueEntry(name: $0.name, value: $0.text) }
        modules = RecurrentConfiguration.modulePrefixes(in: stateDict).map { prefix in
            do {
                let module = try RecurrentModule(stateDict: stateDict, prefix: prefix)
                let config = module.configuration
                return ModuleEntry(prefix: prefix, configuration: config, torch: config.torchDescription,
                                   parameterCount: module.parameterCount, error: nil)
            } catch {
                return ModuleEntry(prefix: prefix, configuration: nil, torch: nil, parameterCount: nil,
                                   error: "\(error)")
            }
        }
    }

    /// The summary as pretty-printed JSON with sorted keys.
    package func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
