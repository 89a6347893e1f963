import Testing
import RNNRTTestSupport
@testable import RNNRTLayers
import RNNRTCore

/// A state dict with random weights for `config`, named as PyTorch names them, under `prefix`, drawn as
/// PyTorch initializes them (uniform in ±1/√hidden). Larger weights make a wide tanh RNN chaotic: rounding
/// differences between kernels (different summation orders) then grow to O(1) within a few dozen steps.
func randomStateDict(_ config: RecurrentConfiguration, prefix: String = "", seed: UInt64 = 7) throws -> StateDict {
    var rng = SeededGenerator(seed: seed)
    var sd = StateDict()
    let bound = Float(1 / Double(config.hiddenSize).squareRoot())
    for (name, shape) in TorchParameterNames.expected(for: config) {
        let t = Tensor(shape: shape, scalars: rng.floats(shape.reduce(1, *), in: -bound...bound))
        try sd.insert(StoredTensor(t), named: prefix + name)
    }
    return sd
}

@Suite struct RecurrentModuleTests {
    @Test(arguments: [
        RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 2),
        RecurrentConfiguration(kind: .gru, inputSize: 1, hiddenSize: 1, bias: false),
        RecurrentConfiguration(kind: .rnn, inputSize: 4, hiddenSize: 3, numLayers: 3),
        RecurrentConfiguration(kind: .lstm, inputSize: 2, hiddenSize: 4, numLayers: 1, bidirectional: true, bias: false),
    ])
    func infersEveryOptionFromNamesAndShapes(_ config: RecurrentConfiguration) throws {
        let sd = try randomStateDict(config, prefix: "encoder.rnn.")
        #expect(try RecurrentConfiguration.infer(from: sd, prefix: "encoder.rnn.") == config)
        #expect(RecurrentConfiguration.modulePrefixes(in: sd) == ["encoder.rnn."])
        #expect(try RecurrentModule(stateDict: sd).configuration == config)
    }

    @Test func reportsEveryBindingProblemAtOnce() throws {
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2)
        var sd = StateDict()
        for (name, t) in try randomStateDict(config).tensors where name != "bias_hh_l1" {
            if name == "weight_hh_l1" {
                try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [16, 5])), named: name)
            } else {
                try sd.insert(t, named: name)
            }
        }
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [16, 4])), named: "weight_hh_l0_reverse")
        expectRNNRTError(.binding, containing: ["missing 'bias_hh_l1'", "'weight_hh_l1' has shape [16, 5], expected [16, 4]",
                                                "unexpected 'weight_hh_l0_reverse'"]) {
            try RecurrentModule(configuration: config, stateDict: sd)
        }
    }

    @Test func severalModulesNeedAPrefix() throws {
        let a = try randomStateDict(RecurrentConfiguration(kind: .gru, inputSize: 2, hiddenSize: 3), prefix: "enc.")
        var sd = a
        for (n, t) in try randomStateDict(RecurrentConfiguration(kind: .rnn, inputSize: 3, hiddenSize: 3), prefix: "dec.").tensors {
            try sd.insert(t, named: n)
        }
        let error = #expect(throws: RNNRTError.self) { try RecurrentModule(stateDict: sd) }
        #expect(error?.message.contains("'enc.', 'dec.'") == true)
        #expect(try RecurrentModule(stateDict: sd, prefix: "dec.").configuration.kind == .rnn)
    }

    @Test func reluOnlyForRNN() throws {
        let sd = try randomStateDict(RecurrentConfiguration(kind: .gru, inputSize: 2, hiddenSize: 3))
        #expect(throws: RNNRTError.self) { try RecurrentModule(stateDict: sd, nonlinearity: .relu) }
    }

    @Test func noModuleIsAClearError() throws {
        var sd = StateDict()
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [2, 2])), named: "fc.weight")
        let error = #expect(throws: RNNRTError.self) { try RecurrentModule(stateDict: sd) }
        #expect(error?.message.contains("no recurrent module") == true)
    }

    @Test func rejectsInputWithWrongFeatureSize() throws {
        let m = try RecurrentModule(stateDict: randomStateDict(RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 2)))
        expectRNNRTError(.shapeMismatch, containing: ["4 features"]) { try m.forward(Tensor(repeating: 0, shape: [5, 1, 4])) }
        #expect(throws: RNNRTError.self) { try m.forward(Tensor(repeating: 0, shape: [3])) }
        #expect(throws: RNNRTError.self) { try m.forward(Tensor(repeating: 0, shape: [0, 1, 3])) }
        #expect(throws: RNNRTError.self) { try m.forward(Tensor(repeating: 0, shape: [2, 1, 3]), h0: Tensor(repeating: 0, shape: [1, 2, 2])) }
    }

    @Test func projectionMustBeSmallerThanHidden() throws {
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 2, hiddenSize: 3, projSize: 3)
        #expect(throws: RNNRTError.self) { try RecurrentModule(configuration: config, stateDict: StateDict()) }
    }
}

/// With two threads a unidirectional module splits its hidden units between them (PyTorch's cell forms, with a
/// barrier between steps; batch 1 too) or, with a projection, runs its batch in two shards; either way the result
/// agrees with the one-thread run. Cases cover each kind, the fused step layout at batch 1 (projected and not), hidden
/// sizes the packed kernels cannot split (the layer then runs on one thread), unit tails, and batches whose products
/// run on row slivers (16, 13, 32 and 8 rows).
@Suite(.serialized) struct TwoThreadTests {
    @Test(arguments: [(RecurrentConfiguration(kind: .lstm, inputSize: 32, hiddenSize: 64, numLayers: 2), 7, 64),
                      (RecurrentConfiguration(kind: .gru, inputSize: 48, hiddenSize: 64, batchFirst: true), 7, 64),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 40, hiddenSize: 64, projSize: 24), 7, 64),
                      (RecurrentConfiguration(kind: .rnn, inputSize: 64, hiddenSize: 96, numLayers: 3), 7, 64),
                      (RecurrentConfiguration(kind: .gru, inputSize: 80, hiddenSize: 128, numLayers: 2), 1, 300),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 40, hiddenSize: 96), 1, 300),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 8, hiddenSize: 128), 1, 300),
                      (RecurrentConfiguration(kind: .rnn, inputSize: 64, hiddenSize: 200, nonlinearity: .relu), 1, 300),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 50, hiddenSize: 100, numLayers: 2), 3, 200),
                      (RecurrentConfiguration(kind: .gru, inputSize: 30, hiddenSize: 90), 5, 200),
                      (RecurrentConfiguration(kind: .lstm, inputSize: 24, hiddenSize: 64, numLayers: 2), 16, 50),
                      (RecurrentConfiguration(kind: .gru, inputSize: 20, hiddenSize: 90), 13, 40),
                      (RecurrentConfiguration(kind: .rnn, inputSize: 12, hiddenSize: 70), 32, 30),
                      (RecurrentConfiguration(kind: .gru, inputSize: 16, hiddenSize: 48, numLayers: 2), 8, 30)])
    func twoThreadsAgreeWithOne(_ config: RecurrentConfiguration, _ batch: Int, _ steps: Int) throws {
        let module = try RecurrentModule(configuration: config, stateDict: randomStateDict(config))
        var rng = SeededGenerator(seed: 21)
        let shape = config.batchFirst ? [batch, steps, config.inputSize] : [steps, batch, config.inputSize]
        let x = Tensor(shape: shape, scalars: rng.floats(steps * batch * config.inputSize))
        let stack = config.numLayers * config.directionCount
        let h0 = Tensor(shape: [stack, batch, config.outputSize], scalars: rng.floats(stack * batch * config.outputSize))
        let c0 = config.kind == .lstm ? Tensor(shape: [stack, batch, config.hiddenSize], scalars: rng.floats(stack * batch * config.hiddenSize)) : nil
        let single = try module.forward(x, h0: h0, c0: c0, options: RunOptions(threads: 1))
        // These models are small: split them however little work they have.
        var options = RunOptions(threads: 2)
        options.pairMinimumWork = 0
        options.pairMinimumStepWork = 0
        let two = try module.forward(x, h0: h0, c0: c0, options: options)
        #expect(Tolerance.pytorch.compare(two.output, single.output).passed)
        #expect(Tolerance.pytorch.compare(two.hN, single.hN).passed)
        if let a = two.cN, let b = single.cN { #expect(Tolerance.pytorch.compare(a, b).passed) }
        #expect(two.output.shape == single.output.shape)
    }
}

/// PyTorch's parameter names parse into role, layer and direction; anything else does not.
@Suite struct TorchParameterNamesTests {
    @Test func parsesOnlyPyTorchNames() {
        #expect(TorchParameterNames.parse("weight_ih_l0").map { $0 == (.weightIH, 0, false) } == true)
        #expect(TorchParameterNames.parse("bias_hh_l12_reverse").map { $0 == (.biasHH, 12, true) } == true)
        #expect(TorchParameterNames.parse("weight_hr_l999999").map { $0 == (.weightHR, 999_999, false) } == true)
        for name in ["weight_ih_l", "weight_ih_l_reverse", "weight_ih_l01", "weight_ih_l1234567", "weight_ih_lx",
                     "weight_ih_l1_reverse_reverse", "weight_ih_l\u{0663}", "weight_ih_l+1", "weight_l0", "", "bias_ih_l0.x"] {
            #expect(TorchParameterNames.parse(name) == nil, "\(name)")
        }
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 3, bidirectional: true, projSize: 2)
        for (name, _) in TorchParameterNames.expected(for: config) {
            #expect(TorchParameterNames.parse(name).map { TorchParameterNames.name($0.role, layer: $0.layer, reverse: $0.reverse) } == name)
        }
    }
}
