import Foundation
import Testing
import RNNRT
import RNNRTTestSupport
@testable import RNNRTCLI

/// `rnnrt inspect`, `run`, `convert` and `verify` on the cells of `Fixtures/cells/` (made by
/// tools/fixtures/make_cell_fixtures.py): every file of every case run as a user would, with only the flags
/// its format cannot store, and round trips through ONNX and safetensors.
@Suite(.serialized) struct CellCLITests {
    /// Every (case, checkpoint file) pair.
    static let files: [(String, String)] = Fixture.folders(in: "cells").flatMap { name in
        ((try? CellCase.load(name))?.files.keys.sorted() ?? []).map { (name, $0) }
    }

    /// The flags `run`, `convert` and `verify` need for `file` of case `name`: the layout, the
    /// nonlinearity where the file does not store it.
    static func flags(_ name: String, _ file: String) throws -> [String] {
        let spec = try CellCase.load(name)
        var flags = spec.batch_first ? ["--batch-first"] : []
        if let n = spec.nonlinearity, spec.files[file]?.stores_nonlinearity != true { flags += ["--nonlinearity", n] }
        return flags
    }

    /// `--h0`/`--c0` for the case's initial state files, when it has them.
    static func stateFlags(_ dir: URL) -> [String] {
        ["h0", "c0"].flatMap { s -> [String] in
            let url = dir.appendingPathComponent("\(s).npy")
            return FileManager.default.fileExists(atPath: url.path) ? ["--\(s)", url.path] : []
        }
    }

    /// The files in `out` match PyTorch's `expected/` ones (c_n written exactly for LSTM cells).
    static func expectPyTorchOutputs(in out: URL, case name: String) throws {
        let dir = Fixture.url("cells/\(name)")
        for file in ["output", "h_n", "c_n"] {
            let expectedURL = dir.appendingPathComponent("expected/\(file).npy")
            let oursURL = out.appendingPathComponent("\(file).npy")
            let expectedExists = FileManager.default.fileExists(atPath: expectedURL.path)
            #expect(FileManager.default.fileExists(atPath: oursURL.path) == expectedExists, "\(name): \(file) presence")
            guard expectedExists else { continue }
            let ours = try NPY.read(contentsOf: oursURL).floatTensor(), torch = try NPY.read(contentsOf: expectedURL).floatTensor()
            let c = Tolerance.pytorch.compare(ours, torch)
            #expect(c.passed && ours.shape == torch.shape, "\(name) \(file): \(ours.shape) vs \(torch.shape), \(c)")
        }
    }

    @Test(arguments: files)
    func runsEveryFileLikePyTorch(_ name: String, _ file: String) throws {
        let dir = Fixture.url("cells/\(name)")
        let spec = try CellCase.load(name)
        let out = try Fixture.temporaryDirectory()
        let r = rnnrt(["run", dir.appendingPathComponent(file).path, dir.appendingPathComponent("x.npy").path, "-o", out.path]
                      + (try Self.flags(name, file)) + Self.stateFlags(dir))
        #expect(r.status == 0, "\(name)/\(file): \(r.err)")
        let prefix = spec.files[file]?.prefix ?? ""
        #expect(r.out.contains("module: \(spec.module)\(prefix.isEmpty ? "" : " at prefix '\(prefix)'")"), "\(r.out)")
        #expect(r.out.contains("stepped over the sequence as nn.\(spec.kind.uppercased())("), "\(r.out)")
        try Self.expectPyTorchOutputs(in: out, case: name)
    }

    @Test func inspectShowsTheCellAndItsPrefix() throws {
        let r = rnnrt(["inspect", Fixture.url("cells/lstm_decoder32/model.pt").path])
        #expect(r.status == 0)
        #expect(r.out.contains("nn.LSTMCell(16, 32)  --prefix 'lstm_cell.'  (6400 parameters)"), "\(r.out)")
        #expect(r.out.contains("head.weight"))
        let json = rnnrt(["inspect", "--json", Fixture.url("cells/gru_nobias/model.safetensors").path])
        let summary = try JSONDecoder().decode(CheckpointSummary.self, from: Data(json.out.utf8))
        #expect(summary.modules.count == 1 && summary.modules[0].torch == "nn.GRUCell(3, 5, bias=False)")
        #expect(summary.modules[0].configuration?.isCell == true && summary.modules[0].prefix == "gru_cell.")
    }

    /// Cells that are not whole fail with a typed error, exit status 1, naming what was expected and found.
    @Test func brokenCellsAreClearErrors() throws {
        let dir = try Fixture.temporaryDirectory()
        let x = dir.appendingPathComponent("x.npy")
        try NPY.write(Tensor(repeating: 0.5, shape: [4, 1, 3]), to: x)
        let missing = try StateDict([("lstm_cell.weight_ih", StoredTensor(Tensor(repeating: 0, shape: [20, 3])))])
        let inconsistent = try StateDict([("gru_cell.weight_ih", StoredTensor(Tensor(repeating: 0, shape: [12, 3]))),
                                          ("gru_cell.weight_hh", StoredTensor(Tensor(repeating: 0, shape: [15, 4])))])
        for (sd, phrase) in [(missing, "incomplete cell under prefix 'lstm_cell.': found 'lstm_cell.weight_ih' [20, 3] but no 'lstm_cell.weight_hh'"),
                             (inconsistent, "cannot bind nn.GRUCell(3, 4, bias=False) to the parameters under 'gru_cell.':\n  - 'gru_cell.weight_hh' has shape [15, 4], expected [12, 4]")] {
            let file = dir.appendingPathComponent("\(UUID().uuidString).safetensors")
            try sd.writeSafeTensors(to: file)
            let r = rnnrt(["run", file.path, x.path, "-o", dir.path])
            #expect(r.status == 1 && r.err.contains(phrase), "\(r.err)")
            let inspect = rnnrt(["inspect", file.path])
            #expect(inspect.status == 0 && inspect.out.contains("cannot bind"), "\(inspect.out)")
        }
    }

    /// Cell → ONNX (one recurrent node) runs like PyTorch and verifies against the cell; ONNX → safetensors
    /// and cell → safetensors give the cell's tensors under its own names, bit for bit.
    @Test(arguments: ["lstm_h0", "gru_nobias", "rnn_relu_batch_first_h0", "rnn_tanh_basic", "gru_t1_b1", "lstm_decoder32"])
    func convertRoundTrips(_ name: String) throws {
        let dir = Fixture.url("cells/\(name)"), tmp = try Fixture.temporaryDirectory()
        let spec = try CellCase.load(name), flags = try Self.flags(name, "model.pt")
        let source = dir.appendingPathComponent("model.pt").path
        let onnx = tmp.appendingPathComponent("cell.onnx").path
        let converted = rnnrt(["convert", source, "-o", onnx] + flags)
        #expect(converted.status == 0, "\(converted.err)")
        let model = try ONNXModelFile.read(contentsOf: URL(fileURLWithPath: onnx))
        #expect(model.graph.nodes.filter { ["LSTM", "GRU", "RNN"].contains($0.opType) }.map(\.opType) == [spec.kind.uppercased()])
        let verified = rnnrt(["verify", source, onnx] + flags)
        #expect(verified.status == 0 && verified.out.contains("result: PASS"), "\(verified.out) \(verified.err)")
        let ran = rnnrt(["run", onnx, dir.appendingPathComponent("x.npy").path] + (try Self.onnxStateInputs(dir)) + ["-o", tmp.path])
        #expect(ran.status == 0, "\(ran.err)")
        try Self.expectPyTorchOutputs(in: tmp, case: name)
        try expectCellTensors(from: onnx, equal: source, module: spec.module, in: tmp)
        try expectCellTensors(from: source, equal: source, module: spec.module, in: tmp, flags: flags)
    }

    @Test(arguments: ["lstm_basic", "rnn_relu_h0"])
    func verifiesAgainstPyTorchsOutputs(_ name: String) throws {
        let dir = Fixture.url("cells/\(name)")
        let inputs = ["x", "h0", "c0"].map { dir.appendingPathComponent("\($0).npy").path }
            .filter { FileManager.default.fileExists(atPath: $0) }
        let expected = ["output", "h_n", "c_n"].map { dir.appendingPathComponent("expected/\($0).npy").path }
            .filter { FileManager.default.fileExists(atPath: $0) }
        let r = rnnrt(["verify", dir.appendingPathComponent("model.pt").path] + inputs + expected.flatMap { ["--expect", $0] }
                      + (try Self.flags(name, "model.pt")))
        #expect(r.status == 0 && r.out.contains("result: PASS"), "\(r.out) \(r.err)")
    }

    /// `--input h0=…`/`c0=…` for the exported graph, the states given as `[1, N, H]` (the graph's form).
    static func onnxStateInputs(_ dir: URL) throws -> [String] {
        try ["h0", "c0"].flatMap { s -> [String] in
            let url = dir.appendingPathComponent("\(s).npy")
            guard FileManager.default.fileExists(atPath: url.path) else { return [] }
            let state = try NPY.read(contentsOf: url).floatTensor()
            let shaped = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(UUID().uuidString).npy")
            try NPY.write(Tensor(shape: [1] + state.shape, scalars: state.scalars), to: shaped)
            return ["--input", "\(s)=\(shaped.path)"]
        }
    }

    /// `rnnrt convert source -o X.safetensors` writes exactly the cell's tensors of `original`, named as
    /// the bare cell names them, and prints the cell to construct.
    func expectCellTensors(from source: String, equal original: String, module: String, in tmp: URL, flags: [String] = []) throws {
        let st = tmp.appendingPathComponent("\(UUID().uuidString).safetensors")
        let r = rnnrt(["convert", source, "-o", st.path] + flags)
        #expect(r.status == 0 && r.out.contains("m = torch.\(module); m.load_state_dict("), "\(r.out) \(r.err)")
        let back = try StateDict(contentsOf: st), reference = try StateDict(contentsOf: URL(fileURLWithPath: original))
        let cellNames = reference.names.filter { $0.contains("_cell.") }
        #expect(Set(back.names) == Set(cellNames.map { String($0.split(separator: ".").last!) }), "\(back.names)")
        for name in cellNames {
            let local = String(name.split(separator: ".").last!)
            #expect(back[local]?.bytes == reference[name]?.bytes, "\(source): \(local) differs")
        }
    }
}
