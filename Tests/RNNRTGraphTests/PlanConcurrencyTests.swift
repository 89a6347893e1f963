import Dispatch
import Foundation
import RNNRTCheckpoints
import RNNRTGraph
import RNNRTONNX
import RNNRTTestSupport
import Synchronization
import Testing

/// Eight threads sharing one plan at once: every result is bit for bit what one thread computes. Run under
/// ThreadSanitizer by `tools/test.sh`.
@Suite struct PlanConcurrencyTests {
    static let threads = 8, calls = 40

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
}
