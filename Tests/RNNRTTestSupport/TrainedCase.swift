import Foundation
import RNNRT

/// One `Fixtures/trained/<case>/case.json`, as written by `tools/fixtures/make_trained_fixtures.py`: a model trained
/// until PyTorch's float32 drifts from its float64, with both of PyTorch's outputs.
public struct TrainedCase: Decodable, Sendable {
    /// The module or cell as PyTorch prints it: `nn.GRU(16, 48, num_layers=2, bias=False, batch_first=True)`.
    public let module: String
    public let kind: String
    public let cell: Bool
    public let prefix: String
    public let nonlinearity: String?
    public let batch_first: Bool

    /// The `case.json` of `Fixtures/trained/<name>`.
    public static func load(_ name: String) throws -> TrainedCase {
        try JSONDecoder().decode(TrainedCase.self, from: Data(contentsOf: Fixture.url("trained/\(name)/case.json")))
    }

    /// The case's recurrent module bound from its `model.pt`.
    public func module(_ name: String) throws -> RecurrentModule {
        try RecurrentModule(stateDict: StateDict(contentsOf: Fixture.url("trained/\(name)/model.pt")),
                            nonlinearity: nonlinearity == "relu" ? .relu : nil, batchFirst: batch_first)
    }

    /// `x`, then `h0` and `c0` when the case has them.
    public static func inputs(_ name: String) throws -> [Tensor] {
        let dir = Fixture.url("trained/\(name)")
        return try ["x.npy", "h0.npy", "c0.npy"].compactMap { try loadIfPresent(dir, $0) }
    }

    /// PyTorch's outputs (`expected` float32, `expected64` float64), in rnnrt's order.
    public static func expected(_ name: String, _ folder: String) throws -> [Tensor64] {
        try ["output", "h_n", "c_n"].compactMap { output -> Tensor64? in
            let url = Fixture.url("trained/\(name)/\(folder)/\(output).npy")
            return FileManager.default.fileExists(atPath: url.path) ? try NPY.read(contentsOf: url).doubleTensor() : nil
        }
    }
}
