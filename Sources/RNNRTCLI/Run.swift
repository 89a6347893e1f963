import ArgumentParser
import Foundation
import RNNRT

/// `rnnrt run MODEL INPUT...`: runs a checkpoint's recurrent module or an ONNX model and writes its
/// outputs as .npy.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recurrent module from a checkpoint, or an ONNX model, on its inputs.",
        discussion: """
            Checkpoint: one input, [L, N, input_size] ([N, L, input_size] with --batch-first) or unbatched \
            [L, input_size]; writes DIR/output.npy, DIR/h_n.npy and, for an LSTM, DIR/c_n.npy, with \
            PyTorch's shapes. A cell (nn.LSTMCell, nn.GRUCell, nn.RNNCell) is stepped over the sequence \
            with its state carried, as the one-layer module with its weights: output holds each step's h, \
            h_n and c_n are [1, N, H]. ONNX: positional inputs bind in order to the graph's inputs (initializers \
            excluded; trailing optional inputs may be omitted), --input NAME=PATH by name; writes each \
            graph output to DIR/NAME.npy (characters other than letters, digits, '.', '_' and '-' \
            become '_'). Inputs are .npy files, .npz archives holding one array, or FILE.npz:NAME, in any \
            numeric dtype: float for float inputs; integer inputs (token ids) stay integers.
            """)

    @Argument(help: "The model: ONNX, or a checkpoint (torch.save zip or legacy, TorchScript, whole pickled module, training checkpoint, safetensors, .npz); detected from its content.")
    var model: String

    @Argument(help: "Inputs in order: X.npy, X.npz (one array) or X.npz:NAME.")
    var inputs: [String] = []

    @Option(name: .customLong("input"), help: "ONNX: an input by name, NAME=PATH (repeatable).")
    var namedInputs: [String] = []

    @Option(name: .customLong("h0"), help: "Initial hidden state .npy, [num_layers*directions, N, H_out] (a cell's: [1, N, H] or [N, H]).")
    var h0: String?

    @Option(name: .customLong("c0"), help: "Initial cell state .npy (LSTM), [num_layers*directions, N, H] (an LSTM cell's: [1, N, H] or [N, H]).")
    var c0: String?

    @OptionGroup var limits: LimitOptions

    @Option(name: [.customShort("o"), .customLong("output-dir")], help: "Folder for the outputs (created if missing).")
    var outputDir: String = "."

    @Option(help: "float32 (the engine) or float64 (the reference computation `verify` measures against: slow, exact up to float64 rounding).")
    var precision: Precision = .float32

    @Option(name: .customLong("output-dtype"), help: "The float type the .npy outputs are written in: float32, or float64 (a float64 run's values unrounded).")
    var outputDType: Precision = .float32

    @OptionGroup var moduleOptions: ModuleOptions

    func run() throws {
        switch try ModelFile(contentsOf: URL(fileURLWithPath: model)) {
        case .checkpoint(let stateDict): try runCheckpoint(stateDict)
        case .onnx(let onnx): try runONNX(onnx)
        }
    }

    private func outputFolder() throws -> URL {
        let dir = URL(fileURLWithPath: outputDir)
        try withContext("creating output folder \(outputDir)") {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        return dir
    }

    private func runONNX(_ onnx: GraphModel) throws {
        let flags = [("--h0", h0 != nil), ("--c0", c0 != nil)].filter(\.1).map(\.0) + moduleOptions.given
        guard flags.isEmpty else {
            throw RNNRTError(.invalidArgument, "\(flags.joined(separator: ", ")) apply to checkpoints; an ONNX model's inputs are given positionally or with --input NAME=PATH")
        }
        let plan = try Plan(model: onnx, options: limits.options())
        let declared = plan.runtimeInputs
        guard inputs.count <= declared.count else {
            throw RNNRTError(.invalidArgument, "\(inputs.count) inputs given, the model has \(declared.count): " + declared.map { "'\($0.name)'" }.joined(separator: ", "))
        }
        var feeds: [(String, String)] = zip(declared, inputs).map { ($0.name, $1) }
        for spec in namedInputs {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw RNNRTError(.invalidArgument, "--input '\(spec)' is not NAME=PATH")
            }
            let name = String(spec[..<eq])
            guard !feeds.contains(where: { $0.0 == name }) else {
                throw RNNRTError(.invalidArgument, "input '\(name)' is given twice")
            }
            feeds.append((name, String(spec[spec.index(after: eq)...])))
        }
        var values: [String: GraphTensor64] = [:]
        for (name, path) in feeds { values[name] = try GraphTensor64(try readArray(path, role: "input '\(name)'")) }
        let producer = [onnx.producerName, onnx.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        say("model:  \(model) (ONNX, opset \(onnx.opset)\(producer.isEmpty ? "" : ", from \(producer)"), \(onnx.graph.nodes.count) nodes)")
        for (name, path) in feeds { say("input:  \(name) = \(path) \(values[name]?.shape.shapeDescription ?? "")") }
        let outputs: [(name: String, tensor: GraphTensor64)]
        if precision == .float64 {
            let run = try plan.runFloat64(values)
            say("precision: float64" + (run.float32Operators.isEmpty ? "" : " (in float32, having no float64 form: \(run.float32Operators.joined(separator: ", ")))"))
            outputs = run.outputs
        } else {
            outputs = try plan.run(values.mapValues(\.float32)).map { ($0.name, GraphTensor64($0.tensor)) }
        }
        let dir = try outputFolder()
        for (name, tensor) in outputs {
            let url = dir.appendingPathComponent(Run.fileName(for: name) + ".npy")
            try NPY.write(outputDType == .float64 ? tensor.stored : tensor.float32.stored, to: url)
            say("wrote  \(url.path) \(tensor.shape.shapeDescription)")
        }
    }

    /// A graph output's file name: every character other than letters, digits, `.`, `_` and `-` → `_`.
    static func fileName(for output: String) -> String {
        let safe = String(output.unicodeScalars.map { c -> Character in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "." || c == "_" || c == "-") ? Character(c) : "_"
        })
        return safe.isEmpty || safe == "." || safe == ".." ? "_" + safe : safe
    }

    private func runCheckpoint(_ stateDict: StateDict) throws {
        guard inputs.count == 1, namedInputs.isEmpty else {
            throw RNNRTError(.invalidArgument, "a checkpoint's module takes exactly one input sequence (plus --h0/--c0), got \(inputs.count + namedInputs.count)")
        }
        let input = inputs[0]
        let module = try moduleOptions.module(in: stateDict, options: limits.options())
        let x = try readArray(input, role: "input").doubleTensor()
        let h0 = try self.h0.map { try readArray($0, role: "h0").doubleTensor() }
        let c0 = try self.c0.map { try readArray($0, role: "c0").doubleTensor() }
        var written: [(String, Tensor64)]
        if precision == .float64 {
            let result = try module.forwardFloat64(x, h0: h0, c0: c0)
            written = [("output", result.output), ("h_n", result.hN)] + (result.cN.map { [("c_n", $0)] } ?? [])
        } else {
            let result = try module.forward(x.float32, h0: h0?.float32, c0: c0?.float32)
            written = [("output", Tensor64(result.output)), ("h_n", Tensor64(result.hN))] + (result.cN.map { [("c_n", Tensor64($0))] } ?? [])
        }
        let dir = try outputFolder()

        let config = module.configuration
        let stored = RecurrentConfiguration.storedHyperparameters(in: stateDict, prefix: module.prefix)
        var fromFile: [String] = []
        if moduleOptions.batchFirst == nil, let b = stored.batchFirst { fromFile.append("batch_first=\(b ? "True" : "False")") }
        if moduleOptions.nonlinearity == nil, config.kind == .rnn, let n = stored.nonlinearity { fromFile.append("nonlinearity='\(n.rawValue)'") }
        say("model:  \(model) (\(stateDict.format), \(stateDict.count) tensors)")
        say("module: \(config.torchDescription)\(module.prefix.isEmpty ? "" : " at prefix '\(module.prefix)'")"
            + (fromFile.isEmpty ? "" : " (\(fromFile.joined(separator: ", ")) as stored in the file)")
            + (config.isCell ? ", stepped over the sequence as \(config.asModule.torchDescription)" : ""))
        say("input:  \(input) \(x.shape.shapeDescription)")
        if precision == .float64 { say("precision: float64") }
        for (name, tensor) in written {
            let url = dir.appendingPathComponent("\(name).npy")
            try NPY.write(outputDType == .float64 ? StoredTensor(tensor) : StoredTensor(tensor.float32), to: url)
            say("wrote  \(url.path) \(tensor.shape.shapeDescription)")
        }
    }
}

/// Reads an input array as stored (any dtype), naming its role in any error: `X.npy`, `X.npz` holding one array,
/// or `X.npz:NAME` (when no file is called exactly that).
func readArray(_ spec: String, role: String) throws -> StoredTensor {
    try withContext("reading \(role) \(spec)") {
        var path = spec, name: String?
        if !FileManager.default.fileExists(atPath: spec), let colon = spec.lastIndex(of: ":") {
            path = String(spec[..<colon])
            name = String(spec[spec.index(after: colon)...])
        }
        return try NPZ.array(contentsOf: URL(fileURLWithPath: path), named: name)
    }
}

/// The float type of a computation (`--precision`) or of the values written (`--output-dtype`).
enum Precision: String, ExpressibleByArgument {
    case float32, float64
}
