import Foundation
import Testing
import RNNRT
import RNNRTTestSupport

/// `nn.LSTMCell`, `nn.GRUCell` and `nn.RNNCell` (tanh, relu), with and without bias, saved in every
/// checkpoint format and stepped over a sequence by PyTorch (batched, batch-first, unbatched, given or zero
/// state): rnnrt detects each as a cell, runs it as the one-layer module and as a stream, and agrees with
/// PyTorch within `Tolerance.pytorch`.
@Suite struct CellFixtureTests {
    static let cases = Fixture.folders(in: "cells")
    /// Every (case, checkpoint file) pair.
    static let files: [(String, String)] = cases.flatMap { name in
        ((try? CellCase.load(name))?.files.keys.sorted() ?? []).map { (name, $0) }
    }

    @Test func fixturesArePresent() {
        #expect(CellFixtureTests.cases.count >= 40)
        #expect(CellFixtureTests.files.count >= 200)
    }

    @Test(arguments: files)
    func runsLikePyTorch(_ name: String, _ file: String) throws {
        let dir = Fixture.url("cells/\(name)")
        let spec = try CellCase.load(name)
        let stateDict = try StateDict(contentsOf: dir.appendingPathComponent(file))
        #expect(stateDict.format == spec.files[file]?.format, "\(name)/\(file)")
        let module = try RecurrentModule(stateDict: stateDict, nonlinearity: spec.nonlinearity(for: file),
                                         batchFirst: spec.batch_first)
        #expect(module.configuration.isCell)
        #expect(module.configuration.torchDescription == spec.module, "\(name)/\(file)")
        #expect(module.prefix == spec.files[file]?.prefix, "\(name)/\(file)")
        guard let x = try loadIfPresent(dir, "x.npy") else { Issue.record("\(name): no x.npy"); return }
        let result = try module.forward(x, h0: try loadIfPresent(dir, "h0.npy"), c0: try loadIfPresent(dir, "c0.npy"))
        try expectMatchesPyTorch(result, expectedIn: dir, case: "\(name)/\(file)")
    }

    /// The float64 path runs a cell as the float32 one does (state in the cell's form too): PyTorch's float32
    /// outputs lie within `Tolerance.pytorch` of it.
    @Test(arguments: cases)
    func float64RunsLikePyTorch(_ name: String) throws {
        let dir = Fixture.url("cells/\(name)")
        let spec = try CellCase.load(name)
        let module = try RecurrentModule(stateDict: StateDict(contentsOf: dir.appendingPathComponent("model.pt")),
                                         nonlinearity: spec.nonlinearity(for: "model.pt"), batchFirst: spec.batch_first)
        guard let x = try loadIfPresent(dir, "x.npy") else { Issue.record("\(name): no x.npy"); return }
        let h0 = try loadIfPresent(dir, "h0.npy"), c0 = try loadIfPresent(dir, "c0.npy")
        let exact = try module.forwardFloat64(Tensor64(x), h0: h0.map(Tensor64.init), c0: c0.map(Tensor64.init))
        try expectMatchesPyTorch(exact.float32, expectedIn: dir, case: "\(name) (float64)")
    }

    /// The state as a one-layer module takes it (`[1, N, H]`) gives what PyTorch's cell form (`[N, H]`) gives.
    @Test(arguments: cases)
    func takesTheStateInEitherForm(_ name: String) throws {
        let dir = Fixture.url("cells/\(name)")
        let spec = try CellCase.load(name)
        guard spec.h0, let x = try loadIfPresent(dir, "x.npy") else { return }
        let module = try RecurrentModule(stateDict: StateDict(contentsOf: dir.appendingPathComponent("model.pt")),
                                         nonlinearity: spec.nonlinearity(for: "model.pt"), batchFirst: spec.batch_first)
        let lead = { (t: Tensor?) in t.map { Tensor(shape: [1] + $0.shape, scalars: $0.scalars) } }
        let result = try module.forward(x, h0: lead(try loadIfPresent(dir, "h0.npy")), c0: lead(try loadIfPresent(dir, "c0.npy")))
        try expectMatchesPyTorch(result, expectedIn: dir, case: "\(name) [1, N, H] state")
    }

    /// One `step` per time step, as PyTorch calls the cell: each step's `h` and the final state match.
    @Test(arguments: cases)
    func streamsOneCallPerStep(_ name: String) throws {
        let dir = Fixture.url("cells/\(name)")
        let spec = try CellCase.load(name)
        let module = try RecurrentModule(stateDict: StateDict(contentsOf: dir.appendingPathComponent("model.pt")),
                                         nonlinearity: spec.nonlinearity(for: "model.pt"), batchFirst: spec.batch_first)
        guard let x = try loadIfPresent(dir, "x.npy"), let expected = try loadIfPresent(dir, "expected/output.npy") else {
            Issue.record("\(name): no x.npy or expected output")
            return
        }
        let batch = spec.unbatched ? 1 : x.shape[spec.batch_first ? 0 : 1]
        let stream = try RecurrentStream(module: module, batchSize: batch, h0: try loadIfPresent(dir, "h0.npy"),
                                         c0: try loadIfPresent(dir, "c0.npy"))
        for t in 0..<x.shape[spec.batch_first ? 1 : 0] {
            let y = try stream.step(CellFixtureTests.step(t, of: x, batchFirst: spec.batch_first, unbatched: spec.unbatched))
            let want = CellFixtureTests.step(t, of: expected, batchFirst: spec.batch_first, unbatched: spec.unbatched)
            let c = Tolerance.pytorch.compare(y, want)
            #expect(c.passed, "\(name) step \(t): \(c)")
        }
        for (label, state) in [("h_n", stream.hN), ("c_n", stream.cN)] {
            guard let state, let want = try loadIfPresent(dir, "expected/\(label).npy") else { continue }
            guard state.count == want.count else {
                Issue.record("\(name) stream \(label): shape \(state.shape), PyTorch's \(want.shape)")
                continue
            }
            let c = Tolerance.pytorch.compare(Tensor(shape: want.shape, scalars: state.scalars), want)
            #expect(c.passed, "\(name) stream \(label): \(c)")
            LargestError.record(c.maxAbsError, at: "\(name) stream \(label)", source: "torch")
        }
    }

    /// Time step `t` of a sequence laid out `[L, N, F]`, `[N, L, F]` (batch-first) or `[L, F]` (unbatched).
    static func step(_ t: Int, of x: Tensor, batchFirst: Bool, unbatched: Bool) -> Tensor {
        if unbatched {
            let f = x.shape[1]
            return Tensor(shape: [f], scalars: Array(x.scalars[(t * f)..<((t + 1) * f)]))
        }
        let (n, f) = batchFirst ? (x.shape[0], x.shape[2]) : (x.shape[1], x.shape[2])
        let rows = (0..<n).flatMap { b -> ArraySlice<Float> in
            let start = batchFirst ? (b * x.shape[1] + t) * f : (t * n + b) * f
            return x.scalars[start..<(start + f)]
        }
        return Tensor(shape: [n, f], scalars: rows)
    }
}
