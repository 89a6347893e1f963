import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTLayers
import RNNRTCore

/// A module's calls held to `RunOptions`: the threads, per module or per call, change no bit of what a bidirectional
/// layer computes; a time limit makes each direction run in chunks of steps, which changes no bit either; the memory
/// and time limits stop a call with `.limit` naming the module.
@Suite struct RunOptionsTests {
    static func bits(_ r: RecurrentOutput) -> [[UInt32]] {
        ([r.output, r.hN] + (r.cN.map { [$0] } ?? [])).map { $0.scalars.map(\.bitPattern) }
    }

    static func input(_ config: RecurrentConfiguration, steps: Int, batch: Int, seed: UInt64 = 11) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let shape = config.batchFirst ? [batch, steps, config.inputSize] : [steps, batch, config.inputSize]
        return Tensor(shape: shape, scalars: rng.floats(steps * batch * config.inputSize))
    }

    /// Each form of the recurrence over enough steps for several chunks: the batch-1 step layouts (narrow inputs, and
    /// wide ones projected up front), the C loops at larger batches, the Swift loop of a projected LSTM, reverse
    /// directions (their chunks run from the end).
    @Test(arguments: [(RecurrentConfiguration(kind: .lstm, inputSize: 4, hiddenSize: 64), 1, 1000),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 40, hiddenSize: 64), 1, 1000),
                      (RecurrentConfiguration(kind: .gru, inputSize: 16, hiddenSize: 64), 3, 600),
                      (RecurrentConfiguration(kind: .rnn, inputSize: 8, hiddenSize: 96, nonlinearity: .relu), 5, 800),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 16, hiddenSize: 64, projSize: 24), 2, 600),
                      (RecurrentConfiguration(kind: .gru, inputSize: 12, hiddenSize: 48, numLayers: 2, bidirectional: true), 2, 500),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 8, hiddenSize: 32, bidirectional: true), 1, 3000)])
    func chunksAndThreadsChangeNoBit(_ config: RecurrentConfiguration, _ batch: Int, _ steps: Int) throws {
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config), options: RunOptions(threads: 1))
        let x = Self.input(config, steps: steps, batch: batch)
        let one = Self.bits(try module.forward(x))
        #expect(Self.bits(try module.forward(x, options: RunOptions(threads: 1, timeLimit: 600))) == one)
        if config.bidirectional {
            #expect(Self.bits(try module.forward(x, options: RunOptions(threads: 2))) == one)
            #expect(Self.bits(try module.forward(x, options: RunOptions(threads: 2, timeLimit: 600, cancellation: Cancellation()))) == one)
            var two = module
            two.options = RunOptions(threads: 2)
            #expect(Self.bits(try two.forward(x)) == one)
        }
    }

    @Test func aForwardPassPastTheMemoryLimitIsRefused() throws {
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 8, hiddenSize: 16)
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config))
        let x = Self.input(config, steps: 100, batch: 4)
        // 100 · 4 · (16 + 64) floats: 125 KiB.
        expectRNNRTError(.limit, containing: ["nn.LSTM(8, 16)", "125 KiB", "memory limit of 100 KiB"]) {
            try module.forward(x, options: RunOptions(memoryLimit: 100 << 10))
        }
        #expect(try module.forward(x, options: RunOptions(memoryLimit: 1 << 20)).output.shape == [100, 4, 16])
    }

    @Test func aLongSequenceStopsAtTheTimeLimit() throws {
        let config = RecurrentConfiguration(kind: .gru, inputSize: 4, hiddenSize: 64)
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config), options: RunOptions(timeLimit: 0.05))
        let x = Self.input(config, steps: 100_000, batch: 1)
        let start = ContinuousClock.now
        do {
            _ = try module.forward(x)
            Issue.record("no error")
        } catch let e as RNNRTError {
            #expect(e.kind == .limit)
            #expect(e.message.hasPrefix("nn.GRU(4, 64): the time limit of 0.05 s ran out before step"), "\(e)")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    /// A stream takes its module's options and may be given others; `process` is held to them, a step is not checked.
    @Test func aStreamsChunksKeepToItsOptions() throws {
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 8)
        let cancelled = Cancellation()
        cancelled.cancel()
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config), options: RunOptions(cancellation: cancelled))
        let stream = try RecurrentStream(module: module)
        #expect(stream.options.cancellation === cancelled)
        let chunk = try Self.input(config, steps: 5, batch: 1).reshaped([5, 3])
        #expect(throws: RNNRTError.self) { try stream.process(chunk) }
        _ = try stream.step(Tensor(shape: [3], scalars: [1, 2, 3]))
        stream.options = RunOptions()
        try stream.reset()
        #expect(try stream.process(chunk).scalars == module.forward(chunk, options: RunOptions()).output.scalars)
    }
}
