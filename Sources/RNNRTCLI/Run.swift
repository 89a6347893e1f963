import ArgumentParser
import Foundation
import RNNRT

/// `rnnrt run MODEL X.npy`: runs a recurrent module on an input and writes PyTorch's outputs as .npy.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recurrent module from a checkpoint on an input sequence.",
        discussion: """
            Writes DIR/output.npy, DIR/h_n.npy and, for an LSTM, DIR/c_n.npy, with PyTorch's shapes. \
            The input is [L, N, input_size] ([N, L, input_size] with --batch-first) or unbatched \
            [L, input_size], in any numeric dtype (converted to float32): a .npy file, a .npz holding \
            one array, or FILE.npz:NAME for one array of a .npz (also for --h0 and --c0).
            """)

    @Argument(help: "The model: torch.save (zip or legacy), TorchScript, whole pickled module, training checkpoint, safetensors or .npz; detected from its content.")
    var model: String

    @Argument(help: "The input sequence: X.npy, X.npz (one array) or X.npz:NAME.")
    var input: String

    @Option(name: .customLong("h0"), help: "Initial hidden state .npy, [num_layers*directions, N, H_out].")
    var h0: String?

    @Option(name: .customLong("c0"), help: "Initial cell state .npy (LSTM), [num_layers*directions, N, H].")
    var c0: String?

    @Flag(inversion: .prefixedNo,
          help: "Input and output are [N, L, features] (PyTorch's batch_first=True). Default: what the file stores (whole pickled modules, TorchScript), else --no-batch-first.")
    var batchFirst: Bool?

    @Option(help: "nn.RNN's nonlinearity: tanh or relu. Default: what the file stores (whole pickled modules, TorchScript), else tanh.")
    var nonlinearity: Nonlinearity?

    @Option(help: "Dotted name prefix of the module's parameters, e.g. 'model_state_dict.encoder.rnn.'.")
    var prefix: String = ""

    @Option(name: [.customShort("o"), .customLong("output-dir")], help: "Folder for the outputs (created if missing).")
    var outputDir: String = "."

    func run() throws {
        let stateDict = try StateDict(contentsOf: URL(fileURLWithPath: model))
        let module = try RecurrentModule(stateDict: stateDict, prefix: prefix, nonlinearity: nonlinearity,
                                         batchFirst: batchFirst)
        let x = try readFloatTensor(input, role: "input")
        let result = try module.forward(x, h0: try h0.map { try readFloatTensor($0, role: "h0") },
                                        c0: try c0.map { try readFloatTensor($0, role: "c0") })

        let dir = URL(fileURLWithPath: outputDir)
        try withContext("creating output folder \(outputDir)") {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        var written: [(String, Tensor)] = [("output", result.output), ("h_n", result.hN)]
        if let cN = result.cN { written.append(("c_n", cN)) }

        let config = module.configuration
        let stored = RecurrentConfiguration.storedHyperparameters(in: stateDict, prefix: module.prefix)
        var fromFile: [String] = []
        if batchFirst == nil, let b = stored.batchFirst { fromFile.append("batch_first=\(b ? "True" : "False")") }
        if nonlinearity == nil, config.kind == .rnn, let n = stored.nonlinearity { fromFile.append("nonlinearity='\(n.rawValue)'") }
        say("model:  \(model) (\(stateDict.format), \(stateDict.count) tensors)")
        say("module: \(config.torchDescription)\(module.prefix.isEmpty ? "" : " at prefix '\(module.prefix)'")"
            + (fromFile.isEmpty ? "" : " (\(fromFile.joined(separator: ", ")) as stored in the file)"))
        say("input:  \(input) \(x.shape.shapeDescription)")
        for (name, tensor) in written {
            let url = dir.appendingPathComponent("\(name).npy")
            try NPY.write(tensor, to: url)
            say("wrote  \(url.path) \(tensor.shape.shapeDescription)")
        }
    }
}

/// Reads an input array as float32, naming its role in any error: `X.npy`, `X.npz` holding one array,
/// or `X.npz:NAME` (when no file is called exactly that).
func readFloatTensor(_ spec: String, role: String) throws -> Tensor {
    try withContext("reading \(role) \(spec)") {
        var path = spec, name: String?
        if !FileManager.default.fileExists(atPath: spec), let colon = spec.lastIndex(of: ":") {
            path = String(spec[..<colon])
            name = String(spec[spec.index(after: colon)...])
        }
        return try NPZ.array(contentsOf: URL(fileURLWithPath: path), named: name).floatTensor()
    }
}

extension Nonlinearity: ExpressibleByArgument {}
