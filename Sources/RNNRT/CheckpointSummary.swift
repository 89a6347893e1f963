import Foundation

/// What `rnnrt inspect` reports about a checkpoint: every tensor, every non-tensor value, and every
/// recurrent module with its inferred configuration. `Codable`, so `--json` is this struct encoded.
public struct CheckpointSummary: Codable, Sendable {
    /// One tensor: its state-dict name, dtype and shape.
    public struct TensorEntry: Codable, Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
    }

    /// One non-tensor leaf of a training checkpoint (`epoch`, `loss`, ...), as text.
    public struct ValueEntry: Codable, Sendable {
        public let name: String
        public let value: String
    }

    /// One recurrent module: the `--prefix` that selects it and its configuration, or why it cannot bind.
    public struct ModuleEntry: Codable, Sendable {
        public let prefix: String
        public let configuration: RecurrentConfiguration?
        /// PyTorch constructor call, e.g. `nn.LSTM(3, 5, num_layers=2)`.
        public let torch: String?
        public let parameterCount: Int?
        public let error: String?
    }

    public let path: String
    public let format: String
    public let tensors: [TensorEntry]
    public let values: [ValueEntry]
    public let modules: [ModuleEntry]

    /// Summarizes `stateDict`, read from `path`.
    public init(stateDict: StateDict, path: String) {
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
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
