import Foundation

/// One `Fixtures/formats/<case>/case.json`, as written by `tools/fixtures/make_format_fixtures.py`: one model saved
/// in one checkpoint format.
public struct FormatCase: Decodable, Sendable {
    /// The checkpoint's file name in the case's folder.
    public let model: String
    /// The format rnnrt must detect, as `StateDict.format` names it.
    public let format: String
    /// The module's parameter prefix.
    public let prefix: String
    /// The module rnnrt must infer, as PyTorch would construct it (stored hyperparameters included).
    public let module: String
    /// The flag a user must pass because the file does not store it; nil when the file does.
    public let batch_first: Bool?
    public let nonlinearity: String?

    /// The `case.json` of `Fixtures/formats/<name>`.
    public static func load(_ name: String) throws -> FormatCase {
        try JSONDecoder().decode(FormatCase.self, from: Data(contentsOf: Fixture.url("formats/\(name)/case.json")))
    }
}
