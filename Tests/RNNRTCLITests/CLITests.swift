import Foundation
import Testing
import RNNRT
import RNNRTTestSupport
@testable import RNNRTCLI

/// One CLI run at a time: the commands print through one global console.
private let cliLock = NSLock()

/// Runs `rnnrt` in-process and returns (status, stdout, stderr).
func rnnrt(_ arguments: [String]) -> (status: Int32, out: String, err: String) {
    cliLock.lock()
    defer { cliLock.unlock() }
    nonisolated(unsafe) var out: [String] = [], err: [String] = []
    let status = RNNRTCommand.execute(arguments, standardOutput: { out.append($0) }, standardError: { err.append($0) })
    return (status, out.joined(separator: "\n"), err.joined(separator: "\n"))
}

/// The CLI tests share one global console, so they run one at a time.
@Suite(.serialized) struct CLITests {
    @Test func runWritesPyTorchOutputs() throws {
        let dir = try Fixture.temporaryDirectory()
        let r = rnnrt(["run", Fixture.url("examples/lstm.pt").path, Fixture.url("examples/x.npy").path,
                       "--batch-first", "-o", dir.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("nn.LSTM(8, 16, num_layers=2, batch_first=True)"))
        for name in ["output", "h_n", "c_n"] {
            let ours = try NPY.read(contentsOf: dir.appendingPathComponent("\(name).npy")).floatTensor()
            let torch = try NPY.read(contentsOf: Fixture.url("examples/expected_\(name).npy")).floatTensor()
            #expect(Tolerance.pytorch.compare(ours, torch).passed, "\(name)")
        }
    }

    @Test func runWithPrefixStateAndRelu() throws {
        let dir = try Fixture.temporaryDirectory()
        let c = Fixture.url("rnn/rnn_relu_h0").path
        let r = rnnrt(["run", "\(c)/model.pt", "\(c)/x.npy", "--h0", "\(c)/h0.npy", "--nonlinearity", "relu",
                       "--prefix", "", "-o", dir.path])
        #expect(r.status == 0, "\(r.err)")
        let ours = try NPY.read(contentsOf: dir.appendingPathComponent("h_n.npy")).floatTensor()
        let torch = try NPY.read(contentsOf: URL(fileURLWithPath: "\(c)/expected/h_n.npy")).floatTensor()
        #expect(Tolerance.pytorch.compare(ours, torch).passed)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("c_n.npy").path))
    }

    @Test func runSelectsANestedModuleByPrefix() throws {
        let dir = try Fixture.temporaryDirectory()
        let x = dir.appendingPathComponent("x.npy")
        try NPY.write(Tensor(repeating: 0.5, shape: [4, 1, 3]), to: x)
        let r = rnnrt(["run", Fixture.url("checkpoints/training_checkpoint.tar").path, x.path,
                       "--prefix", "model_state_dict.encoder.rnn.", "-o", dir.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("nn.GRU(3, 4) at prefix 'model_state_dict.encoder.rnn.'"))
    }

    @Test func inspectListsTensorsModulesAndValues() throws {
        let r = rnnrt(["inspect", Fixture.url("checkpoints/training_checkpoint.tar").path])
        #expect(r.status == 0)
        #expect(r.out.contains("nn.GRU(3, 4)  --prefix 'model_state_dict.encoder.rnn.'"))
        #expect(r.out.contains("epoch = 12"))
        #expect(r.out.contains("model_state_dict.head.weight"))
    }

    @Test func inspectJSONIsMachineReadable() throws {
        let r = rnnrt(["inspect", "--json", Fixture.url("rnn/lstm_proj_layers2_bidir/model.pt").path])
        #expect(r.status == 0)
        let summary = try JSONDecoder().decode(CheckpointSummary.self, from: Data(r.out.utf8))
        #expect(summary.tensors.count == 20)
        let config = summary.modules.first?.configuration
        #expect(config?.kind == .lstm && config?.projSize == 3 && config?.numLayers == 2 && config?.bidirectional == true)
    }

    /// `rnnrt run` on a file of each kind, with only the flags its format cannot store.
    static let formatRuns: [(String, [String])] = [
        ("legacy_whole_module", ["--prefix", "rnn."]),
        ("script_lstm_proj", []),
        ("traced_tagger_gru", ["--prefix", "rnn.", "--batch-first"]),
        ("whole_bare_rnn_relu", []),
        ("safetensors_rnn_bfloat16", ["--nonlinearity", "relu"]),
        ("npz_deflated", ["--batch-first"]),
    ]

    @Test(arguments: formatRuns)
    func runsEveryFormat(_ name: String, _ flags: [String]) throws {
        let dir = Fixture.url("formats/\(name)")
        let spec = try FormatCase.load(name)
        let out = try Fixture.temporaryDirectory()
        let model = dir.appendingPathComponent(spec.model).path
        let r = rnnrt(["run", model, dir.appendingPathComponent("x.npy").path, "-o", out.path] + flags)
        #expect(r.status == 0, "\(name): \(r.err)")
        #expect(r.out.contains("(\(spec.format), "), "\(name): \(r.out)")
        #expect(r.out.contains("module: \(spec.module)"), "\(name): \(r.out)")
        for file in ["output", "h_n"] {
            let ours = try NPY.read(contentsOf: out.appendingPathComponent("\(file).npy")).floatTensor()
            let torch = try NPY.read(contentsOf: dir.appendingPathComponent("expected/\(file).npy")).floatTensor()
            #expect(Tolerance.pytorch.compare(ours, torch).passed, "\(name) \(file)")
        }
    }

    @Test func runSaysWhichHyperparametersCameFromTheFile() {
        let dir = Fixture.url("formats/whole_module")
        let r = rnnrt(["run", dir.appendingPathComponent("tagger.pt").path, dir.appendingPathComponent("x.npy").path,
                       "--prefix", "rnn.", "-o", (try? Fixture.temporaryDirectory().path) ?? "."])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("nn.LSTM(4, 5, batch_first=True, bidirectional=True) at prefix 'rnn.' (batch_first=True as stored in the file)"))
    }

    @Test func inputsMayComeFromNPZ() throws {
        // x.npz holds one array; inputs.npz holds x and h0 (numpy.savez, made by make_format_fixtures.py).
        let dir = Fixture.url("formats/npz_stored")
        let weights = dir.appendingPathComponent("weights.npz").path
        let tmp = try Fixture.temporaryDirectory()
        for args in [["x.npz"], ["inputs.npz:x", "--h0", "inputs.npz:h0"]] {
            let resolved = args.map { $0.hasPrefix("-") ? $0 : dir.appendingPathComponent($0).path }
            let r = rnnrt(["run", weights] + resolved + ["--batch-first", "-o", tmp.path])
            #expect(r.status == 0, "\(args): \(r.err)")
        }
        let r = rnnrt(["run", weights, dir.appendingPathComponent("inputs.npz").path, "--batch-first"])
        #expect(r.status == 1 && r.err.contains("holds 2 arrays (x, h0)"), "\(r.err)")
        let missing = rnnrt(["run", weights, dir.appendingPathComponent("inputs.npz").path + ":nope", "--batch-first"])
        #expect(missing.status == 1 && missing.err.contains("no array named 'nope'"), "\(missing.err)")
    }

    // MARK: - ONNX

    /// Positional inputs bind in graph order (omitted trailing optional inputs are fine), `--input` by name;
    /// each graph output lands in DIR/NAME.npy and matches the reference.
    @Test func runsAnONNXModel() throws {
        let dir = Fixture.url("onnx/node/test_lstm_with_peepholes")
        let spec = try ONNXCase.load(dir)
        let out = try Fixture.temporaryDirectory()
        let paths = spec.inputs.indices.map { dir.appendingPathComponent("inputs/\($0).npy").path }
        // The first three positionally, the rest by name.
        let named = zip(spec.inputs, paths).dropFirst(3).flatMap { ["--input", "\($0)=\($1)"] }
        let r = rnnrt(["run", dir.appendingPathComponent("model.onnx").path] + paths.prefix(3) + named + ["-o", out.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("(ONNX, opset"))
        for (k, name) in spec.outputs.enumerated() {
            let ours = try NPY.read(contentsOf: out.appendingPathComponent("\(name).npy")).floatTensor()
            let reference = try NPY.read(contentsOf: dir.appendingPathComponent("expected/\(k).npy")).floatTensor()
            #expect(Tolerance.pytorch.compare(ours, reference).passed, "\(name)")
        }
    }

    @Test func runsTheBundledONNXExample() throws {
        let out = try Fixture.temporaryDirectory()
        let r = rnnrt(["run", Fixture.url("examples/tagger.onnx").path, Fixture.url("examples/ids.npy").path, "-o", out.path])
        #expect(r.status == 0, "\(r.err)")
        let ours = try NPY.read(contentsOf: out.appendingPathComponent("tag_logprobs.npy")).floatTensor()
        let torch = try NPY.read(contentsOf: Fixture.url("examples/expected_tag_logprobs.npy")).floatTensor()
        #expect(Tolerance.pytorch.compare(ours, torch).passed)
    }

    @Test func outputFileNamesAreSanitized() {
        #expect(Run.fileName(for: "onnx::LSTM_376") == "onnx__LSTM_376")
        #expect(Run.fileName(for: "y/out put.1") == "y_out_put.1")
        #expect(Run.fileName(for: "..") == "_..")
    }

    @Test func inspectsAnONNXModel() throws {
        let model = Fixture.url("onnx/node/test_gru_seq_length/model.onnx").path
        let r = rnnrt(["inspect", model])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("ONNX, IR") && r.out.contains("GRU '") && r.out.contains("hidden_size=5"))
        let json = rnnrt(["inspect", "--json", model])
        let summary = try JSONDecoder().decode(GraphSummary.self, from: Data(json.out.utf8))
        #expect(summary.operators["GRU"] == 1 && summary.recurrentNodes.first?.attributes["hidden_size"] == "5")
        #expect(summary.inputs.map(\.name).prefix(3) == ["X", "W", "R"])
    }

    static let failures: [(String, [String], Int32, String)] = [
        ("os.system pickle", ["run", "malformed/checkpoints/os_system.pt", "examples/x.npy"], 65, "'os.system' is not allowed"),
        ("truncated", ["inspect", "malformed/checkpoints/truncated.pt"], 65, "zip"),
        ("feature mismatch", ["run", "examples/lstm.pt", "malformed/wrong_features_x.npy", "--batch-first"], 1, "3 features"),
        ("absurd npy", ["run", "examples/lstm.pt", "malformed/npy/absurd_shape.npy"], 65, "needs 4000000000000000000 bytes"),
        ("several modules", ["run", "checkpoints/training_checkpoint.tar", "examples/x.npy", "--prefix", "nope."], 1, "no recurrent module under prefix 'nope.'"),
        ("relu on lstm", ["run", "examples/lstm.pt", "examples/x.npy", "--nonlinearity", "relu"], 64, "applies only to RNN"),
        ("missing file", ["inspect", "does/not/exist.pt"], 1, "no such file"),
        ("calls user code", ["run", "malformed/formats/calls_user_function.pt", "examples/x.npy"], 65, "pickle calls '__main__.steal_keys'"),
        ("legacy count lies", ["inspect", "malformed/formats/legacy_count_lies.pt"], 65, "elements, the tensor that uses it says"),
        ("unknown onnx ops", ["run", "malformed/onnx/unknown_ops.onnx"], 65, "FancyOp (2 nodes), com.microsoft.Attention (1 node)"),
        ("onnx escapes folder", ["inspect", "malformed/onnx/external_dotdot/model.onnx"], 65, "../../etc/passwd"),
        ("onnx truncated", ["inspect", "malformed/onnx/truncated.onnx"], 65, "ONNX"),
        ("onnx wrong rank", ["run", "onnx/node/test_gru_defaults/model.onnx", "npy/f4.npy"], 1, "input 'X' has rank 2 (shape [3, 4]), the model declares rank 3"),
        ("onnx missing input", ["run", "onnx/node/test_gru_defaults/model.onnx", "onnx/node/test_gru_defaults/inputs/0.npy"], 64, "required input 1 ('W') is missing"),
        ("onnx too many inputs", ["run", "onnx/node/test_gru_defaults/model.onnx", "examples/x.npy", "examples/x.npy", "examples/x.npy", "examples/x.npy", "examples/x.npy", "examples/x.npy", "examples/x.npy"], 64, "7 inputs given"),
        ("safetensors overlap", ["inspect", "malformed/safetensors/overlapping_offsets.safetensors"], 65, "overlap"),
    ]

    @Test(arguments: failures)
    func failsWithOneClearMessage(_ label: String, _ args: [String], _ status: Int32, _ phrase: String) {
        let resolved = args.map { $0.contains("/") ? Fixture.url($0).path : $0 }
        let r = rnnrt(resolved)
        #expect(r.status == status, "\(label): \(r.err)")
        #expect(r.err.hasPrefix("rnnrt: error: "), "\(label): \(r.err)")
        #expect(r.err.contains(phrase), "\(label): \(r.err)")
    }

    /// `rnnrt --version` prints the package version alone, and CHANGELOG.md's newest version entry is that version
    /// (an `## Unreleased` section may stand above it).
    @Test func versionPrintsThePackageVersion() throws {
        let r = rnnrt(["--version"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == RNNRTCommand.version)
        #expect(r.out.split(separator: ".").count == 3 && r.out.allSatisfy { $0.isNumber || $0 == "." }, "\(r.out)")
        let changelog = try String(contentsOf: Fixture.root.deletingLastPathComponent().appendingPathComponent("CHANGELOG.md"),
                                   encoding: .utf8)
        let newest = changelog.split(separator: "\n").first { $0.hasPrefix("## ") && $0 != "## Unreleased" }
        #expect(newest?.hasPrefix("## \(RNNRTCommand.version)") == true, "\(newest ?? "no entry")")
    }

    @Test func usageErrorsExit64() {
        let r = rnnrt(["run"])
        #expect(r.status == 64)
        #expect(r.err.contains("Missing expected argument"))
    }

    /// The built binary prints one message on stderr, no stack trace, and exits non-zero.
    @Test func binaryExitsCleanlyOnHostileInput() throws {
        guard let binary = CLITests.builtBinary() else {
            Issue.record("the rnnrt binary was not found next to the test bundle")
            return
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["inspect", Fixture.url("malformed/checkpoints/deep_nesting.pt").path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 65)
        #expect(text.hasPrefix("rnnrt: error: checkpoint nests containers deeper than 256 levels"))
        #expect(!text.contains("Stack dump") && !text.contains("Fatal error"))
    }

    /// `bench --profile` records every node of the graph: time per operator type (shares adding up to the whole)
    /// and the slowest nodes; a checkpoint module, which has no nodes, is refused with one message.
    @Test func benchProfileListsOperatorTypesAndNodes() throws {
        let r = rnnrt(["bench", Fixture.url("examples/tagger.onnx").path, Fixture.url("examples/ids.npy").path,
                       "--iterations", "3", "--warmup", "0", "--threads", "1", "--profile", "--top", "4", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let profile = try #require(json["profile"] as? [String: Any])
        #expect(profile["runs"] as? Int == 3)
        let types = try #require(profile["operator_types"] as? [[String: Any]])
        #expect(types.contains { $0["name"] as? String == "LSTM" || $0["name"] as? String == "GRU" })
        let share = types.compactMap { $0["share"] as? Double }.reduce(0, +)
        #expect(abs(share - 1) < 1e-6)
        #expect((profile["slowest_nodes"] as? [Any])?.count == 4)

        let text = rnnrt(["bench", Fixture.url("examples/tagger.onnx").path, Fixture.url("examples/ids.npy").path,
                          "--iterations", "1", "--warmup", "0", "--profile"])
        #expect(text.status == 0)
        #expect(text.out.contains("operator type") && text.out.contains("slowest nodes"))

        let module = rnnrt(["bench", Fixture.url("examples/lstm.pt").path, "--iterations", "1", "--profile"])
        #expect(module.status != 0)
        #expect(module.err.contains("--profile records the nodes of an ONNX graph"))

        // The steps whose values follow from the inputs' shapes run in the first run only, and are counted apart.
        let exported = Fixture.url("onnx/torch/dynamo20_linear_layernorm_gelu_gru")
        let memo = rnnrt(["bench", exported.appendingPathComponent("model.onnx").path,
                          exported.appendingPathComponent("inputs/0.npy").path, "--iterations", "2", "--warmup", "1",
                          "--profile", "--json"])
        #expect(memo.status == 0, "\(memo.err)")
        let memoJSON = try #require(try JSONSerialization.jsonObject(with: Data(memo.out.utf8)) as? [String: Any])
        #expect((memoJSON["profile"] as? [String: Any])?["steps_from_shapes_per_run"] as? Int == 12)
    }

    /// `--memory-limit` and `--time-limit` on run, verify and bench: sizes and seconds parse (anything else is a usage
    /// error naming the flag), and a model stopped at a limit fails with one line naming the limit and its flag.
    @Test func limitFlagsParseAndAreReportedInErrors() throws {
        let dir = try Fixture.temporaryDirectory()
        let lstm = Fixture.url("examples/lstm.pt").path, x = Fixture.url("examples/x.npy").path
        for (memory, time) in [("512M", "30"), ("2G", "0.5"), ("1048576", "none"), ("none", "600s"), ("1.5GiB", "10")] {
            let r = rnnrt(["run", lstm, x, "--batch-first", "-o", dir.path, "--memory-limit", memory, "--time-limit", time])
            #expect(r.status == 0, "\(memory) \(time): \(r.err)")
        }
        // 20 steps of nn.LSTM(8, 16, num_layers=2): output, inner layers' outputs and input projection, 8.8 KiB.
        let refused = rnnrt(["run", lstm, x, "--batch-first", "-o", dir.path, "--memory-limit", "1K"])
        #expect(refused.status == 1)
        #expect(refused.err.hasPrefix("rnnrt: error: nn.LSTM(8, 16, num_layers=2, batch_first=True) over 20 steps of a batch of 1"), "\(refused.err)")
        #expect(refused.err.hasSuffix("needs 8.8 KiB, over the memory limit of 1 KiB (--memory-limit)"), "\(refused.err)")
        let bench = rnnrt(["bench", lstm, x, "--iterations", "1", "--warmup", "0", "--threads", "1", "--memory-limit", "4K"])
        #expect(bench.status == 1)
        #expect(bench.err.hasSuffix("over the memory limit of 4 KiB (--memory-limit)"), "\(bench.err)")
        let verify = rnnrt(["verify", lstm, x, "--expect", Fixture.url("examples/expected_output.npy").path, "--memory-limit", "1K"])
        #expect(verify.status == 2)
        #expect(verify.out.contains("over the memory limit of 1 KiB"), "\(verify.out)")
        #expect(rnnrt(["bench", lstm, x, "--iterations", "1", "--warmup", "0", "--threads", "2", "--time-limit", "none"]).status == 0)
        for bad in [["--memory-limit", "12Q"], ["--memory-limit", "-1G"], ["--memory-limit", ""], ["--time-limit", "0"],
                    ["--time-limit", "soon"], ["--time-limit", "-5"]] {
            let r = rnnrt(["run", lstm, x, "-o", dir.path] + bad)
            #expect(r.status == 64, "\(bad)")
            #expect(r.err.contains(bad[0]), "\(bad): \(r.err)")
        }
        let help = rnnrt(["run", "--help"])
        #expect(help.out.contains("--memory-limit <SIZE>") && help.out.contains("(default: 4G)") && help.out.contains("(default: 600)"), "\(help.out)")
    }

    static func builtBinary() -> URL? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rnnrt")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
