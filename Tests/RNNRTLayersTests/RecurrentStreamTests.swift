import Testing
import RNNRTTestSupport
@testable import RNNRTLayers
import RNNRTCore

@Suite struct RecurrentStreamTests {
    static let configs = [
        RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 17, numLayers: 2, projSize: 5),
        RecurrentConfiguration(kind: .lstm, inputSize: 1, hiddenSize: 32),
        RecurrentConfiguration(kind: .gru, inputSize: 4, hiddenSize: 20, numLayers: 3),
        RecurrentConfiguration(kind: .rnn, inputSize: 2, hiddenSize: 9, numLayers: 2, nonlinearity: .relu),
        RecurrentConfiguration(kind: .gru, inputSize: 2, hiddenSize: 6, bias: false, batchFirst: true),
    ]

    @Test(arguments: configs)
    func stepsAndChunksEqualTheWholeSequence(_ config: RecurrentConfiguration) throws {
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config))
        var rng = SeededGenerator(seed: 3)
        let (steps, batch) = (23, 2)
        let xTimeMajor = Tensor(shape: [steps, batch, config.inputSize], scalars: rng.floats(steps * batch * config.inputSize))
        let x = config.batchFirst ? xTimeMajor.swappingFirstTwoAxes() : xTimeMajor
        let whole = try module.forward(x)
        let wholeTimeMajor = config.batchFirst ? whole.output.swappingFirstTwoAxes() : whole.output

        // One step at a time.
        let stream = try RecurrentStream(module: module, batchSize: batch)
        var stepped: [Float] = []
        let width = batch * config.inputSize
        for t in 0..<steps {
            let frame = Tensor(shape: [batch, config.inputSize], scalars: Array(xTimeMajor.scalars[t * width..<(t + 1) * width]))
            stepped += try stream.step(frame).scalars
        }
        #expect(Tolerance.pytorch.compare(Tensor(shape: wholeTimeMajor.shape, scalars: stepped), wholeTimeMajor).passed)
        #expect(Tolerance.pytorch.compare(stream.hN, whole.hN).passed)
        if let cN = whole.cN, let streamC = stream.cN { #expect(Tolerance.pytorch.compare(streamC, cN).passed) }

        // Uneven chunks after a reset.
        try stream.reset()
        var chunked: [Float] = []
        var t = 0
        for size in [1, 5, 10, 7] {
            let part = Tensor(shape: [size, batch, config.inputSize], scalars: Array(xTimeMajor.scalars[t * width..<(t + size) * width]))
            let y = try stream.process(config.batchFirst ? part.swappingFirstTwoAxes() : part)
            chunked += (config.batchFirst ? y.swappingFirstTwoAxes() : y).scalars
            t += size
        }
        #expect(Tolerance.pytorch.compare(Tensor(shape: wholeTimeMajor.shape, scalars: chunked), wholeTimeMajor).passed)
        #expect(Tolerance.pytorch.compare(stream.hN, whole.hN).passed)
    }

    /// The allocation-free buffer step (batch 1: the fused one-call-per-layer kernels where the CPU has
    /// them) equals the whole-sequence run, including across a reset with a given state.
    @Test(arguments: configs + [RecurrentConfiguration(kind: .lstm, inputSize: 1, hiddenSize: 64, numLayers: 2),
                                RecurrentConfiguration(kind: .gru, inputSize: 1, hiddenSize: 32),
                                RecurrentConfiguration(kind: .rnn, inputSize: 3, hiddenSize: 24)])
    func bufferStepsEqualTheWholeSequence(_ config: RecurrentConfiguration) throws {
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config))
        var rng = SeededGenerator(seed: 5)
        let steps = 40
        let x = Tensor(shape: [steps, config.inputSize], scalars: rng.floats(steps * config.inputSize))
        let stack = config.numLayers
        let h0 = Tensor(shape: [stack, config.outputSize], scalars: rng.floats(stack * config.outputSize))
        let c0 = Tensor(shape: [stack, config.hiddenSize], scalars: rng.floats(stack * config.hiddenSize))
        let lstm = config.kind == .lstm
        let whole = try module.forward(x, h0: h0, c0: lstm ? c0 : nil)
        let stream = try RecurrentStream(module: module)
        try stream.reset(h0: Tensor(shape: [stack, 1, config.outputSize], scalars: h0.scalars),
                         c0: lstm ? Tensor(shape: [stack, 1, config.hiddenSize], scalars: c0.scalars) : nil)
        var out = [Float](repeating: 0, count: steps * config.outputSize)
        x.scalars.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { ys in
                for t in 0..<steps {
                    stream.step(input: UnsafeBufferPointer(rebasing: xs[(t * config.inputSize)..<((t + 1) * config.inputSize)]),
                                output: UnsafeMutableBufferPointer(rebasing: ys[(t * config.outputSize)..<((t + 1) * config.outputSize)]))
                }
            }
        }
        let c = Tolerance.pytorch.compare(Tensor(shape: whole.output.shape, scalars: out), whole.output)
        #expect(c.passed, "\(c)")
        #expect(Tolerance.pytorch.compare(stream.hN, try whole.hN.reshaped(stream.hN.shape)).passed)
        if let cN = whole.cN, let streamC = stream.cN { #expect(Tolerance.pytorch.compare(streamC, try cN.reshaped(streamC.shape)).passed) }
    }

    /// The fused step at sizes that leave partial blocks (hidden not a multiple of 8 or of a block), stacked layers
    /// whose input width differs from the first's, every kind: equal to the whole-sequence run.
    @Test(arguments: [RecurrentKind.lstm, .gru, .rnn], [5, 13, 37])
    func fusedStepsAtOddSizes(_ kind: RecurrentKind, _ hidden: Int) throws {
        for relu in kind == .rnn ? [false, true] : [false] {
            let config = RecurrentConfiguration(kind: kind, inputSize: 3, hiddenSize: hidden, numLayers: 2,
                                                nonlinearity: relu ? .relu : .tanh)
            try bufferStepsEqualTheWholeSequence(config)
        }
    }

    @Test func initialStateCarriesOver() throws {
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 2, hiddenSize: 3, numLayers: 2)
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config))
        var rng = SeededGenerator(seed: 11)
        let h0 = Tensor(shape: [2, 1, 3], scalars: rng.floats(6)), c0 = Tensor(shape: [2, 1, 3], scalars: rng.floats(6))
        let x = Tensor(shape: [4, 2], scalars: rng.floats(8))
        let whole = try module.forward(x, h0: Tensor(shape: [2, 3], scalars: h0.scalars), c0: Tensor(shape: [2, 3], scalars: c0.scalars))
        let stream = try RecurrentStream(module: module, h0: h0, c0: c0)
        var out: [Float] = []
        for t in 0..<4 { out += try stream.step(Tensor(shape: [2], scalars: Array(x.scalars[2 * t..<2 * t + 2]))).scalars }
        #expect(Tolerance.pytorch.compare(Tensor(shape: [4, 3], scalars: out), whole.output).passed)
    }

    @Test func bidirectionalCannotStream() throws {
        let config = RecurrentConfiguration(kind: .gru, inputSize: 2, hiddenSize: 3, bidirectional: true)
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config))
        #expect(throws: RNNRTError.self) { try RecurrentStream(module: module) }
    }

    @Test func rejectsWrongStepShape() throws {
        let config = RecurrentConfiguration(kind: .rnn, inputSize: 2, hiddenSize: 3)
        let stream = try RecurrentStream(module: RecurrentModule(configuration: config, stateDict: randomStateDict(config)), batchSize: 2)
        #expect(throws: RNNRTError.self) { try stream.step(Tensor(repeating: 0, shape: [2])) }
        #expect(throws: RNNRTError.self) { try stream.process(Tensor(repeating: 0, shape: [3, 1, 2])) }
    }
}

extension RecurrentConfiguration: CustomTestStringConvertible {
    public var testDescription: String { torchDescription }
}
