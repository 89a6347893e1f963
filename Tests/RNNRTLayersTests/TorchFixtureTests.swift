import Foundation
import Testing
import RNNRT
import RNNRTTestSupport

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
        let spec = try TorchCase.load(name)
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
        let spec = try TorchCase.load(name)
        let module = try RecurrentModule(
            stateDict: StateDict(contentsOf: dir.appendingPathComponent("model.pt")),
            nonlinearity: spec.nonlinearity == "relu" ? .relu : .tanh, batchFirst: spec.batch_first)
        guard let x = try loadIfPresent(dir, "x.npy") else { Issue.record("\(name): no x.npy"); return }
        let h0 = try loadIfPresent(dir, "h0.npy"), c0 = try loadIfPresent(dir, "c0.npy")
        let exact = try module.forwardFloat64(Tensor64(x), h0: h0.map(Tensor64.init), c0: c0.map(Tensor64.init))
        try expectMatchesPyTorch(exact.float32, expectedIn: dir, case: name + " (float64)")
    }
}
