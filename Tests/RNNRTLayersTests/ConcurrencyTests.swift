import Dispatch
import Foundation
import RNNRT
@testable import RNNRTLayers
import RNNRTKernels
import RNNRTTestSupport
import Synchronization
import Testing

/// Eight threads sharing one module at once: every result is bit for bit what one thread computes. Run under
/// ThreadSanitizer by `tools/test.sh`.
@Suite struct ConcurrencyTests {
    static let threads = 8, calls = 40

    /// The bit patterns of every output, for comparing results exactly.
    static func bits(_ tensors: [Tensor]) -> [[UInt32]] { tensors.map { $0.scalars.map(\.bitPattern) } }

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

    /// A `Cancellation` set from another thread stops a long forward pass at its next check: between chunks of steps
    /// on one thread, and at the barrier between steps when two threads split the units (the check in C).
    @Test(arguments: [1, 2])
    func aCancellationFromAnotherThreadStopsALongForwardPass(_ threads: Int) throws {
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 8, hiddenSize: 128)
        var rng = SeededGenerator(seed: 4)
        var sd = StateDict()
        for (name, shape) in TorchParameterNames.expected(for: config) {
            try sd.insert(StoredTensor(Tensor(shape: shape, scalars: rng.floats(shape.reduce(1, *), in: -0.1...0.1))), named: name)
        }
        let module = try RecurrentModule(configuration: config, stateDict: sd)
        let x = Tensor(shape: [20_000, 2, 8], scalars: rng.floats(20_000 * 2 * 8))
        let cancellation = Cancellation()
        var options = RunOptions(threads: threads, cancellation: cancellation)
        // Split the units over two threads however little work each step has.
        options.pairMinimumWork = 0
        options.pairMinimumStepWork = 0
        // A thread of its own: the tests' worker threads may all be busy.
        Thread {
            Thread.sleep(forTimeInterval: 0.05)
            cancellation.cancel()
        }.start()
        let start = ContinuousClock.now
        do {
            _ = try module.forward(x, options: options)
            Issue.record("not stopped")
        } catch let e as RNNRTError {
            #expect(e.kind == .limit)
            #expect(e.message.hasPrefix("nn.LSTM(8, 128): the call was cancelled"), "\(e)")
            // Two threads split the units where the AVX2 kernels run: the pair stops itself, between two steps.
            if threads == 2 && KernelSet.avx2 { #expect(e.message.hasSuffix("during layer 0"), "\(e)") }
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
