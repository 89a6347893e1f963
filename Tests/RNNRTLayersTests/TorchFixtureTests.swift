import Foundation
import Testing
import RNNRT
import RNNRTTestSupport

/// One `Fixtures/rnn/<case>/case.json`, as written by `tools/fixtures/make_rnn_fixtures.py`.
struct TorchCase: Decodable {
    let kind: String
    let nonlinearity: String?
    let batch_first: Bool
    let seq_len: Int
}

/// Every PyTorch-made case in `Fixtures/rnn/` agrees with PyTorch within `Tolerance.pytorch`, reading the
/// checkpoint with `StateDict(contentsOf:)` and the tensors with `NPY.read` exactly as `rnnrt run` does.
@Suite struct TorchFixtureTests {
    static let cases = Fixture.folders(in: "rnn")

    @Test func fixturesArePresent() {
        #expect(TorchFixtureTests.cases.count >= 80)
    }

    @Test(arguments: cases)
    func matchesPyTorch(_ name: String) throws {
        let dir = Fixture.url("rnn/\(name)")
        let spec = try JSONDecoder().decode(TorchCase.self, from: Data(contentsOf: dir.appendingPathComponent("case.json")))
        let module = try RecurrentModule(
            stateDict: StateDict(contentsOf: dir.appendingPathComponent("model.pt")),
            nonlinearity: spec.nonlinearity == "relu" ? .relu : .tanh, batchFirst: spec.batch_first)
        #expect(module.configuration.kind.rawValue.lowercased() == spec.kind)

        guard let x = try loadIfPresent(dir, "x.npy") else { Issue.record("\(name): no x.npy"); return }
        let result = try module.forward(x, h0: try loadIfPresent(dir, "h0.npy"), c0: try loadIfPresent(dir, "c0.npy"))
        try expectMatchesPyTorch(result, expectedIn: dir, case: name)
    }
}

/// The float64 path (`forwardFloat64`) over every module case: PyTorch's float32 outputs lie within
/// `Tolerance.pytorch` of it, as the engine's do.
@Suite struct TorchFixtureFloat64Tests {
    @Test(arguments: TorchFixtureTests.cases)
    func float64MatchesPyTorch(_ name: String) throws {
        let dir = Fixture.url("rnn/\(name)")
        let spec = try JSONDecoder().decode(TorchCase.self, from: Data(contentsOf: dir.appendingPathComponent("case.json")))
        let module = try RecurrentModule(
            stateDict: StateDict(contentsOf: dir.appendingPathComponent("model.pt")),
            nonlinearity: spec.nonlinearity == "relu" ? .relu : .tanh, batchFirst: spec.batch_first)
        guard let x = try loadIfPresent(dir, "x.npy") else { Issue.record("\(name): no x.npy"); return }
        let h0 = try loadIfPresent(dir, "h0.npy"), c0 = try loadIfPresent(dir, "c0.npy")
        let exact = try module.forwardFloat64(Tensor64(x), h0: h0.map(Tensor64.init), c0: c0.map(Tensor64.init))
        try expectMatchesPyTorch(exact.float32, expectedIn: dir, case: name + " (float64)")
    }
}

/// `verify --expect` with PyTorch's float32 outputs of every module case: the float64 judgement passes them all.
@Suite struct TorchFixtureVerifyTests {
    @Test(arguments: TorchFixtureTests.cases)
    func pytorchOutputsPassTheFloat64Judgement(_ name: String) throws {
        let dir = Fixture.url("rnn/\(name)")
        let spec = try JSONDecoder().decode(TorchCase.self, from: Data(contentsOf: dir.appendingPathComponent("case.json")))
        let model = try VerifiableModel(contentsOf: dir.appendingPathComponent("model.pt"),
                                        nonlinearity: spec.nonlinearity == "relu" ? .relu : .tanh, batchFirst: spec.batch_first)
        let inputs = try ["x.npy", "h0.npy", "c0.npy"].compactMap { try loadIfPresent(dir, $0) }.map(GraphTensor.init)
        let expected = try ["output", "h_n", "c_n"].compactMap { try loadIfPresent(dir, "expected/\($0).npy") }.map(GraphTensor.init)
        let report = Verifier.check(model, inputs: inputs, expected: expected, labels: (name, "PyTorch"))
        #expect(report.passed, "\(name): \(report.trials.flatMap(\.outputs).map { "\($0.nameA) \(String(describing: $0.noise))" })")
    }
}

/// The tensor in `dir/file`, or nil when the file does not exist.
func loadIfPresent(_ dir: URL, _ file: String) throws -> Tensor? {
    let url = dir.appendingPathComponent(file)
    return FileManager.default.fileExists(atPath: url.path) ? try NPY.read(contentsOf: url).floatTensor() : nil
}

/// Checks `result` against PyTorch's `dir/expected/{output,h_n,c_n}.npy` within `Tolerance.pytorch`.
func expectMatchesPyTorch(_ result: RecurrentOutput, expectedIn dir: URL, case name: String) throws {
    var outputs = [("output", result.output), ("h_n", result.hN)]
    if let cN = result.cN { outputs.append(("c_n", cN)) }
    #expect((try loadIfPresent(dir, "expected/c_n.npy") != nil) == (result.cN != nil), "\(name): c_n presence")
    for (label, actual) in outputs {
        guard let expected = try loadIfPresent(dir, "expected/\(label).npy") else {
            Issue.record("\(name): no expected \(label)")
            continue
        }
        let c = Tolerance.pytorch.compare(actual, expected)
        #expect(c.passed, "\(name) \(label): \(c)")
        LargestError.record(c.maxAbsError, at: "\(name) \(label)", source: "torch")
    }
}

