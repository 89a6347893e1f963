import Foundation
import Testing
import RNNRT
import RNNRTTestSupport
@testable import RNNRTCLI

/// `rnnrt verify`'s report (text and `--json`) and exit status on correct and broken conversions (Fixtures/verify/, made
/// by tools/fixtures/make_verify_fixtures.py from PyTorch's own exports), and `rnnrt run --precision float64`; the
/// verdicts and conversions themselves are RNNRTTests' (`DiagnosisTests`, `ConversionTests`).
@Suite(.serialized) struct VerifyCommandTests {
    static func path(_ name: String) -> String { Fixture.url("verify/\(name)").path }

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
}
