import Foundation
import RNNRT

/// One `Fixtures/cells/<case>/case.json`, as written by `tools/fixtures/make_cell_fixtures.py`: one cell saved in
/// every checkpoint format, and PyTorch stepping it over a sequence.
public struct CellCase: Decodable, Sendable {
    /// One checkpoint file of the case.
    public struct File: Decodable, Sendable {
        /// The format rnnrt must detect, as `StateDict.format` names it.
        public let format: String
        public let prefix: String
        /// Whether the file keeps the cell's nonlinearity (whole pickled modules, TorchScript).
        public let stores_nonlinearity: Bool
    }
    /// `lstm`, `gru` or `rnn`.
    public let kind: String
    /// The module rnnrt must infer, as PyTorch constructs it: `nn.LSTMCell(3, 5)`.
    public let module: String
    public let nonlinearity: String?
    public let batch_first: Bool
    public let unbatched: Bool
    /// Whether the case gives an initial state (`h0.npy`, and `c0.npy` for an LSTM cell).
    public let h0: Bool
    /// The checkpoint files by file name.
    public let files: [String: File]

    /// The `case.json` of `Fixtures/cells/<name>`.
    public static func load(_ name: String) throws -> CellCase {
        try JSONDecoder().decode(CellCase.self, from: Data(contentsOf: Fixture.url("cells/\(name)/case.json")))
    }

    /// The nonlinearity a caller passes for `file`: nil where the file stores it.
    public func nonlinearity(for file: String) -> Nonlinearity? {
        files[file]?.stores_nonlinearity == true ? nil : nonlinearity.flatMap(Nonlinearity.init(rawValue:))
    }
}
