import Foundation
import Testing
import RNNRT
import RNNRTTestSupport
@testable import RNNRTCLI

/// `rnnrt verify` on correct and broken conversions (Fixtures/verify/, made by
/// tools/fixtures/make_verify_fixtures.py from PyTorch's own exports), and `rnnrt convert` round trips.
@Suite(.serialized) struct VerifyConvertTests {
    static func path(_ name: String) -> String { Fixture.url("verify/\(name)").path }

    static let verdicts: [(String, String, [String], Int32, String)] = [
        ("lstm.pt", "lstm_ok.onnx", [], 0, "result: PASS"),
        ("gru.pt", "gru_ok.onnx", [], 0, "result: PASS"),
        ("lstm.pt", "lstm_gates_not_reordered.onnx", [], 1, "gate blocks permuted"),
        ("lstm.pt", "lstm_directions_swapped.onnx", [], 1, "forward and reverse directions swapped"),
        ("lstm.pt", "lstm_no_bias.onnx", [], 1, "biases missing"),
        ("gru.pt", "gru_lbr0.onnx", [], 1, "GRU linear_before_reset flipped"),
        ("gru.pt", "gru_gates_not_reordered.onnx", [], 1, "ONNX's z, r, h order read as PyTorch's r, z, n"),
        ("lstm_batch_first.pt", "lstm_batch_first_misread.onnx", ["--batch-first"], 1, "batch_first misread"),
        ("lstm_proj.pt", "lstm_proj_dynamo.onnx", [], 2, "projection (weight_hr) dropped"),
    ]

    @Test(arguments: verdicts)
    func verifyNamesTheCause(_ a: String, _ b: String, _ flags: [String], _ status: Int32, _ phrase: String) {
        let r = rnnrt(["verify", Self.path(a), Self.path(b)] + flags)
        #expect(r.status == status, "\(b): \(r.out) \(r.err)")
        #expect(r.out.contains(phrase), "\(b): \(r.out)")
    }

    @Test func verifyAgainstStoredOutputs() throws {
        let r = rnnrt(["verify", Self.path("lstm_ok.onnx"), Self.path("lstm_x.npy"),
                       "--expect", Self.path("lstm_expected_output.npy"), "--expect", Self.path("lstm_expected_h_n.npy"),
                       "--expect", Self.path("lstm_expected_c_n.npy")])
        #expect(r.status == 0, "\(r.out)")
        let wrong = rnnrt(["verify", Self.path("lstm_no_bias.onnx"), Self.path("lstm_x.npy"),
                           "--expect", Self.path("lstm_expected_output.npy")])
        #expect(wrong.status == 1)
    }

    @Test func verifyJSONIsOneObject() throws {
        let r = rnnrt(["verify", Self.path("gru.pt"), Self.path("gru_lbr0.onnx"), "--json", "--seed", "3"])
        #expect(r.status == 1)
        let report = try JSONDecoder().decode(VerificationReport.self, from: Data(r.out.utf8))
        #expect(!report.passed && report.trials.count == Verifier.trialSizes.count)
        #expect(report.trials.contains { $0.inputShapes.first?[1] == 1 })  // batch 1 is among the trials
        #expect(report.diagnosis.contains { $0.contains("linear_before_reset") })
    }

    /// The JSON report carries the float64 judgement's numbers per output; `--atol`/`--rtol` judge with a fixed
    /// tolerance instead, and say so.
    @Test func verifyJSONCarriesTheFloat64Judgement() throws {
        let r = rnnrt(["verify", Self.path("lstm.pt"), Self.path("lstm_ok.onnx"), "--json"])
        #expect(r.status == 0)
        let report = try JSONDecoder().decode(VerificationReport.self, from: Data(r.out.utf8))
        #expect(report.judgement == "float64" && report.noiseTolerance == .standard && report.atol == nil)
        for o in report.trials.flatMap(\.outputs) {
            guard let n = o.noise else { Issue.record("\(o.nameA): no float64 numbers"); continue }
            #expect(n.floor > 0 && n.distanceA <= n.floor && n.distanceB <= n.bound && o.worstIndex != nil)
        }
        #expect(r.out.contains("\"distanceB\"") && r.out.contains("\"floor\"") && r.out.contains("\"ratio\""))

        let fixed = rnnrt(["verify", Self.path("lstm.pt"), Self.path("lstm_ok.onnx"), "--json", "--atol", "1e-6"])
        #expect(fixed.status == 0)
        let tolerance = try JSONDecoder().decode(VerificationReport.self, from: Data(fixed.out.utf8))
        #expect(tolerance.judgement == "tolerance" && tolerance.atol == 1e-6 && tolerance.rtol == Tolerance.pytorch.rtol)
        #expect(tolerance.trials.flatMap(\.outputs).allSatisfy { $0.noise == nil })
        let text = rnnrt(["verify", Self.path("lstm.pt"), Self.path("lstm_ok.onnx"), "--rtol", "0"])
        #expect(text.out.contains("tolerance: |A − B| ≤ 1e-05 + 0.0·|B|"), "\(text.out)")
    }

    /// `--expect` measures the stored outputs' distance from the model's float64 result, as a model's.
    @Test func verifyAgainstStoredOutputsMeasuresTheirDistanceFromFloat64() throws {
        let r = rnnrt(["verify", Self.path("lstm.pt"), Self.path("lstm_x.npy"), "--expect", Self.path("lstm_expected_output.npy"),
                       "--expect", Self.path("lstm_expected_h_n.npy"), "--expect", Self.path("lstm_expected_c_n.npy"), "--json"])
        #expect(r.status == 0, "\(r.out)")
        let report = try JSONDecoder().decode(VerificationReport.self, from: Data(r.out.utf8))
        let outputs = report.trials.flatMap(\.outputs)
        #expect(outputs.count == 3 && outputs.allSatisfy { $0.noise.map { $0.distanceB > 0 && $0.passed } ?? false })
    }

    /// The trained RNN of `Fixtures/trained/rnn_spectrogram`: against PyTorch's float32 outputs, the fixed tolerance
    /// reports a mismatch that is float32 rounding; the float64 judgement passes.
    @Test func verifyTellsRoundingFromAMistakeOnATrainedModel() {
        let dir = Fixture.url("trained/rnn_spectrogram").path
        let args = ["verify", "\(dir)/model.pt", "\(dir)/x.npy", "--expect", "\(dir)/expected/output.npy",
                    "--expect", "\(dir)/expected/h_n.npy"]
        let judged = rnnrt(args)
        #expect(judged.status == 0 && judged.out.contains("result: PASS"), "\(judged.out)")
        #expect(judged.out.contains("|B−exact|") && judged.out.contains("floor"))
        let fixed = rnnrt(args + ["--atol", "1e-5", "--rtol", "1e-4"])
        #expect(fixed.status == 1 && fixed.out.contains("result: MISMATCH"), "\(fixed.out)")
    }

    /// `run --precision float64 --output-dtype float64` writes what PyTorch computes in float64 (to 1e-12 of each
    /// output's scale), from the checkpoint and from its ONNX export; without `--output-dtype` the float64 run is
    /// written rounded to float32.
    @Test func runInFloat64WritesPyTorchsFloat64() throws {
        let dir = Fixture.url("trained/lstm_bidir")
        for (model, names) in [("model.pt", ["output", "h_n", "c_n"]), ("model.onnx", ["output", "h_n", "c_n"])] {
            let out = try Fixture.temporaryDirectory()
            let r = rnnrt(["run", dir.appendingPathComponent(model).path, dir.appendingPathComponent("x.npy").path,
                           "--precision", "float64", "--output-dtype", "float64", "-o", out.path])
            #expect(r.status == 0 && r.out.contains("precision: float64"), "\(r.out) \(r.err)")
            for name in names {
                let ours = try NPY.read(contentsOf: out.appendingPathComponent("\(name).npy"))
                #expect(ours.dtype == .float64)
                let torch = try NPY.read(contentsOf: dir.appendingPathComponent("expected64/\(name).npy")).doubleTensor()
                let mine = try ours.doubleTensor()
                let scale = torch.scalars.reduce(0) { max($0, abs($1)) }
                let worst = zip(mine.scalars, torch.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
                #expect(mine.shape == torch.shape && worst <= 1e-12 * scale, "\(model) \(name): \(worst)")
            }
        }
        let out = try Fixture.temporaryDirectory()
        #expect(rnnrt(["run", dir.appendingPathComponent("model.pt").path, dir.appendingPathComponent("x.npy").path,
                       "--precision", "float64", "-o", out.path]).status == 0)
        #expect(try NPY.read(contentsOf: out.appendingPathComponent("output.npy")).dtype == .float32)
        let bad = rnnrt(["run", dir.appendingPathComponent("model.pt").path, dir.appendingPathComponent("x.npy").path,
                         "--precision", "float16"])
        #expect(bad.status == 64)
    }

    @Test func verifyCannotRunExitsTwo() {
        let r = rnnrt(["verify", Self.path("lstm.pt"), Fixture.url("malformed/onnx/truncated.onnx").path])
        #expect(r.status == 2)
        #expect(r.err.hasPrefix("rnnrt: error: "))
    }

    /// Checkpoint → ONNX runs like the checkpoint (projected LSTMs too, as a Loop), and converts back to
    /// bit-identical tensors; ONNX exported by PyTorch → .pt and .safetensors gives PyTorch's tensors.
    @Test(arguments: ["verify/lstm.pt", "verify/gru.pt", "verify/lstm_proj.pt", "formats/script_lstm_proj/scripted_lstm.pt",
                      "formats/whole_bare_rnn_relu/rnn.pt"])
    func convertRoundTrips(_ source: String) throws {
        let dir = try Fixture.temporaryDirectory()
        let onnx = dir.appendingPathComponent("m.onnx").path, pt = dir.appendingPathComponent("back.pt").path
        let st = dir.appendingPathComponent("back.safetensors").path
        #expect(rnnrt(["convert", Fixture.url(source).path, "-o", onnx]).status == 0)
        #expect(rnnrt(["verify", Fixture.url(source).path, onnx]).status == 0)
        let back = rnnrt(["convert", onnx, "-o", pt])
        #expect(back.status == 0, "\(back.err)")
        #expect(rnnrt(["convert", pt, "-o", st]).status == 0)
        let original = try StateDict(contentsOf: Fixture.url(source))
        let prefix = RecurrentConfiguration.modulePrefixes(in: original).first ?? ""
        for file in [pt, st] {
            let converted = try StateDict(contentsOf: URL(fileURLWithPath: file))
            for name in converted.names {
                #expect(original[prefix + name]?.bytes == converted[name]?.bytes, "\(source) → \(file): \(name) differs")
            }
            #expect(converted.count == original.names.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains(".") }
                .filter { $0.contains("_l") }.count)
        }
    }

    @Test func convertsAPyTorchExportBackToTheCheckpoint() throws {
        let dir = try Fixture.temporaryDirectory()
        let pt = dir.appendingPathComponent("lstm.pt").path
        let r = rnnrt(["convert", Self.path("lstm_ok.onnx"), "-o", pt])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("nn.LSTM(3, 5, num_layers=2, bidirectional=True)"))
        let original = try StateDict(contentsOf: Fixture.url("verify/lstm.pt"))
        let converted = try StateDict(contentsOf: URL(fileURLWithPath: pt))
        #expect(Set(converted.names) == Set(original.names))
        for name in original.names { #expect(original[name]?.bytes == converted[name]?.bytes, "\(name)") }
    }
}
