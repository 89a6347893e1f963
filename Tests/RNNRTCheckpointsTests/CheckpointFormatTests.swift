import Foundation
import Testing
import RNNRTCheckpoints
import RNNRTLayers
import RNNRTTestSupport

/// The same recurrent models saved in every format rnnrt reads — legacy torch.save, TorchScript (scripted,
/// traced, deflated), whole pickled modules, training checkpoints, float64/16/bfloat16 weights, safetensors,
/// .npz — detected from their content, bound, and run, agree with PyTorch within `Tolerance.pytorch`.
@Suite struct CheckpointFormatTests {
    static let cases = Fixture.folders(in: "formats")

    @Test func fixturesArePresent() {
        #expect(CheckpointFormatTests.cases.count >= 20)
    }

    @Test(arguments: cases)
    func runsLikePyTorch(_ name: String) throws {
        let dir = Fixture.url("formats/\(name)")
        let spec = try FormatCase.load(name)
        let stateDict = try StateDict(contentsOf: dir.appendingPathComponent(spec.model))
        #expect(stateDict.format == spec.format, "\(name)")
        let module = try RecurrentModule(stateDict: stateDict, prefix: spec.prefix,
                                         nonlinearity: spec.nonlinearity.flatMap(Nonlinearity.init(rawValue:)),
                                         batchFirst: spec.batch_first)
        #expect(module.configuration.torchDescription == spec.module, "\(name)")
        #expect(module.prefix == spec.prefix)
        guard let x = try loadIfPresent(dir, "x.npy") else { Issue.record("\(name): no x.npy"); return }
        try expectMatchesPyTorch(try module.forward(x), expectedIn: dir, case: name)
    }

    /// Non-tensor values read as Python prints them, and other tensors/arrays (numpy arrays pickled in a
    /// checkpoint, buffers of a whole module) exactly as stored.
    @Test(arguments: cases)
    func keepsValuesAndArrays(_ name: String) throws {
        let dir = Fixture.url("formats/\(name)")
        let spec = try FormatCase.load(name)
        let stateDict = try StateDict(contentsOf: dir.appendingPathComponent(spec.model))
        let valuesFile = dir.appendingPathComponent("values.json")
        if FileManager.default.fileExists(atPath: valuesFile.path) {
            let values = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: valuesFile))
            for (key, repr) in values { #expect(stateDict.value(named: key) == repr, "\(name): \(key)") }
        }
        let arrays = dir.appendingPathComponent("arrays")
        for file in (try? FileManager.default.contentsOfDirectory(atPath: arrays.path)) ?? [] {
            let key = String(file.dropLast(".npy".count))
            let expected = try NPY.read(contentsOf: arrays.appendingPathComponent(file))
            let actual = stateDict[key]
            #expect(actual?.dtype == expected.dtype && actual?.shape == expected.shape, "\(name): \(key)")
            #expect(actual?.bytes == expected.bytes, "\(name): \(key) values differ")
        }
    }

    @Test func wholeModuleFollowsStateDictNaming() throws {
        // PyTorch's state_dict(): parameters and persistent buffers, never non-persistent ones; the
        // module's hyperparameters and user attributes are kept as values.
        let sd = try StateDict(contentsOf: Fixture.url("formats/whole_module/tagger.pt"))
        #expect(sd.names.first == "steps")
        #expect(sd.names.contains("embed.weight") && sd.names.contains("rnn.weight_hh_l0_reverse"))
        #expect(!sd.names.contains("scratch"))
        #expect(sd.value(named: "temperature") == "0.5")
        #expect(sd.value(named: "rnn.batch_first") == "True")
        #expect(sd["steps"]?.dtype == .int64)
    }

    @Test func scriptedModuleKeepsParametersNotBookkeeping() throws {
        let sd = try StateDict(contentsOf: Fixture.url("formats/script_lstm_proj/scripted_lstm.pt"))
        #expect(sd.count == 20)  // 2 layers × 2 directions × 5 parameters; no `_flat_weights.N` copies
        #expect(!sd.names.contains { $0.hasPrefix("_") })
        #expect(sd.value(named: "proj_size") == "3")
    }

    @Test func explicitFlagsOverrideStoredHyperparameters() throws {
        let sd = try StateDict(contentsOf: Fixture.url("formats/whole_module/tagger.pt"))
        let stored = try RecurrentModule(stateDict: sd, prefix: "rnn.")
        let overridden = try RecurrentModule(stateDict: sd, prefix: "rnn.", batchFirst: false)
        #expect(stored.configuration.batchFirst)
        #expect(!overridden.configuration.batchFirst)
    }

    @Test func trainingCheckpointValuesSurviveLegacyFormat() throws {
        let sd = try StateDict(contentsOf: Fixture.url("formats/legacy_training_checkpoint/checkpoint.tar"))
        #expect(sd.value(named: "epoch") == "4")
        #expect(sd.value(named: "loss") == "1.5")
        #expect(sd.names.contains("optimizer_state_dict.state.0.exp_avg"))
    }
}
