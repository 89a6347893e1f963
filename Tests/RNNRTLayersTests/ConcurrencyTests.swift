import Dispatch
import RNNRT
import RNNRTTestSupport
import Synchronization
import Testing

/// Eight threads sharing one plan and one module at once: every result is bit for bit what one thread computes. Run
/// under ThreadSanitizer by `tools/test.sh`.
@Suite struct ConcurrencyTests {
    static let threads = 8, calls = 40

    /// The bit patterns of every output, for comparing results exactly.
    static func bits(_ tensors: [Tensor]) -> [[UInt32]] { tensors.map { $0.scalars.map(\.bitPattern) } }

    @Test func threadsShareAPlan() throws {
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: Fixture.url("examples/tagger.onnx")))
        let ids = try GraphTensor(try NPY.read(contentsOf: Fixture.url("examples/ids.npy")))
        let name = try #require(plan.runtimeInputs.first?.name)
        let run: @Sendable () throws -> [[UInt32]] = {
            try plan.run([name: ids]).map { try $0.tensor.floats("output").map(\.bitPattern) }
        }
        let expected = try run()
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: Self.threads) { _ in
            for _ in 0..<Self.calls where (try? run()) != expected { mismatches.withLock { $0 += 1 } }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }

    @Test func threadsShareAModule() throws {
        let module = try RecurrentModule(stateDict: try StateDict(contentsOf: Fixture.url("examples/lstm.pt")))
        let x = try NPY.read(contentsOf: Fixture.url("examples/x.npy")).floatTensor()
        let run: @Sendable () throws -> [[UInt32]] = {
            let out = try module.forward(x)
            return Self.bits([out.output, out.hN] + (out.cN.map { [$0] } ?? []))
        }
        let expected = try run()
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: Self.threads) { _ in
            for _ in 0..<Self.calls where (try? run()) != expected { mismatches.withLock { $0 += 1 } }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }
}
