import Foundation
import RNNRT
import RNNRTTestSupport
import Testing

/// `Verifier.compare` on correct and broken conversions (`Fixtures/verify/`, made by
/// tools/fixtures/make_verify_fixtures.py from PyTorch's own exports): the verdict, and on a mismatch the diagnosis
/// naming the mistake.
@Suite struct DiagnosisTests {
    static func url(_ name: String) -> URL { Fixture.url("verify/\(name)") }

    /// What a comparison concludes.
    enum Verdict: Sendable {
        case pass, mismatch, couldNotRun
    }

    /// (checkpoint, export, batch_first given, verdict, a phrase of the diagnosis).
    static let verdicts: [(String, String, Bool?, Verdict, String?)] = [
        ("lstm.pt", "lstm_ok.onnx", nil, .pass, nil),
        ("gru.pt", "gru_ok.onnx", nil, .pass, nil),
        ("lstm.pt", "lstm_gates_not_reordered.onnx", nil, .mismatch, "gate blocks permuted"),
        ("lstm.pt", "lstm_directions_swapped.onnx", nil, .mismatch, "forward and reverse directions swapped"),
        ("lstm.pt", "lstm_no_bias.onnx", nil, .mismatch, "biases missing"),
        ("gru.pt", "gru_lbr0.onnx", nil, .mismatch, "GRU linear_before_reset flipped"),
        ("gru.pt", "gru_gates_not_reordered.onnx", nil, .mismatch, "ONNX's z, r, h order read as PyTorch's r, z, n"),
        ("lstm_batch_first.pt", "lstm_batch_first_misread.onnx", true, .mismatch, "batch_first misread"),
        ("lstm_proj.pt", "lstm_proj_dynamo.onnx", nil, .couldNotRun, "projection (weight_hr) dropped"),
    ]

    @Test(arguments: verdicts)
    func verifyNamesTheCause(_ a: String, _ b: String, _ batchFirst: Bool?, _ verdict: Verdict, _ phrase: String?) throws {
        let report = Verifier.compare(try VerifiableModel(contentsOf: Self.url(a), batchFirst: batchFirst),
                                      try VerifiableModel(contentsOf: Self.url(b), batchFirst: batchFirst),
                                      inputs: nil, seed: 0, labels: (a, b))
        let found: Verdict = report.couldNotRun ? .couldNotRun : (report.passed ? .pass : .mismatch)
        #expect(found == verdict, "\(b): \(report.diagnosis)")
        if let phrase {
            #expect(report.diagnosis.contains { $0.contains(phrase) }, "\(b): \(report.diagnosis)")
        }
    }

    /// A copy of an LSTM cell with its gate blocks stored in ONNX's order (i, o, f, c) is caught, and the
    /// mistake named, by replaying it on the cell.
    @Test func verifyNamesAPermutedCellsMistake() throws {
        let source = Fixture.url("cells/lstm_basic/model.pt")
        let original = try StateDict(contentsOf: source)
        let tensors: [(String, StoredTensor)] = try original.names.filter { $0.hasPrefix("lstm_cell.") }.map { name in
            let t = try original[name]!.floatTensor()
            let block = t.count / 4
            let perm = [0, 3, 1, 2].flatMap { t.scalars[($0 * block)..<(($0 + 1) * block)] }
            return (String(name.dropFirst("lstm_cell.".count)), StoredTensor(Tensor(shape: t.shape, scalars: perm)))
        }
        let broken = try Fixture.temporaryDirectory().appendingPathComponent("permuted.safetensors")
        try StateDict(tensors).writeSafeTensors(to: broken)
        let report = Verifier.compare(try VerifiableModel(contentsOf: source), try VerifiableModel(contentsOf: broken),
                                      inputs: nil, seed: 0, labels: ("lstm_basic", "permuted"))
        #expect(!report.passed && !report.couldNotRun, "\(report.diagnosis)")
        #expect(report.diagnosis.contains { $0.contains("gate blocks permuted") }, "\(report.diagnosis)")
    }
}
