import Foundation
import RNNRT
import RNNRTTestSupport
import Testing

/// `ONNXExport` and `ONNXImport`: a checkpoint's module exported to ONNX runs like the checkpoint (projected LSTMs
/// too, as a Loop), and imports back to bit-identical tensors; an ONNX model exported by PyTorch imports to PyTorch's
/// tensors and module.
@Suite struct ConversionTests {
    @Test(arguments: ["verify/lstm.pt", "verify/gru.pt", "verify/lstm_proj.pt", "formats/script_lstm_proj/scripted_lstm.pt",
                      "formats/whole_bare_rnn_relu/rnn.pt"])
    func convertRoundTrips(_ source: String) throws {
        let dir = try Fixture.temporaryDirectory()
        let original = try StateDict(contentsOf: Fixture.url(source))
        let module = try RecurrentModule(stateDict: original)
        let onnx = dir.appendingPathComponent("m.onnx")
        try ONNXModelFile.write(try ONNXExport.model(for: module, stateDict: original), to: onnx)
        let report = Verifier.compare(try VerifiableModel(contentsOf: Fixture.url(source)), try VerifiableModel(contentsOf: onnx),
                                      inputs: nil, seed: 0, labels: (source, "m.onnx"))
        #expect(report.passed, "\(source): \(report.diagnosis)")
        let (back, _) = try ONNXImport.stateDict(from: try ONNXModelFile.read(contentsOf: onnx))
        let pt = dir.appendingPathComponent("back.pt"), st = dir.appendingPathComponent("back.safetensors")
        try back.writeTorch(to: pt)
        try back.writeSafeTensors(to: st)
        let prefix = RecurrentConfiguration.modulePrefixes(in: original).first ?? ""
        for file in [pt, st] {
            let converted = try StateDict(contentsOf: file)
            for name in converted.names {
                #expect(original[prefix + name]?.bytes == converted[name]?.bytes, "\(source) → \(file.lastPathComponent): \(name) differs")
            }
            #expect(converted.count == original.names.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains(".") }
                .filter { $0.contains("_l") }.count)
        }
    }

    @Test func convertsAPyTorchExportBackToTheCheckpoint() throws {
        let pt = try Fixture.temporaryDirectory().appendingPathComponent("lstm.pt")
        let (stateDict, configuration) = try ONNXImport.stateDict(from: try ONNXModelFile.read(contentsOf: Fixture.url("verify/lstm_ok.onnx")))
        #expect(configuration.torchDescription == "nn.LSTM(3, 5, num_layers=2, bidirectional=True)")
        try stateDict.writeTorch(to: pt)
        let original = try StateDict(contentsOf: Fixture.url("verify/lstm.pt"))
        let converted = try StateDict(contentsOf: pt)
        #expect(Set(converted.names) == Set(original.names))
        for name in original.names { #expect(original[name]?.bytes == converted[name]?.bytes, "\(name)") }
    }
}
