import Foundation

/// One `Fixtures/rnn/<case>/case.json`, as written by `tools/fixtures/make_rnn_fixtures.py`: a module, its input and
/// PyTorch's outputs.
public struct TorchCase: Decodable, Sendable {
    /// `lstm`, `gru` or `rnn`.
    public let kind: String
    public let nonlinearity: String?
    public let batch_first: Bool
    public let seq_len: Int

    /// The `case.json` of `Fixtures/rnn/<name>`.
    public static func load(_ name: String) throws -> TorchCase {
        try JSONDecoder().decode(TorchCase.self, from: Data(contentsOf: Fixture.url("rnn/\(name)/case.json")))
    }
}
