import ArgumentParser
import Foundation
import RNNRT

/// The options that pick and configure a checkpoint's recurrent module, shared by run, verify, convert
/// and bench (ONNX models ignore them).
struct ModuleOptions: ParsableArguments {
    @Option(help: "Dotted name prefix of the module's or cell's parameters, e.g. 'model_state_dict.encoder.rnn.'.")
    var prefix: String = ""

    @Flag(inversion: .prefixedNo,
          help: "Input and output are [N, L, features] (PyTorch's batch_first=True; for a cell, how the stepped sequence is laid out). Default: what the file stores (whole pickled modules, TorchScript), else --no-batch-first.")
    var batchFirst: Bool?

    @Option(help: "nn.RNN's and nn.RNNCell's nonlinearity: tanh or relu. Default: what the file stores (whole pickled modules, TorchScript), else tanh.")
    var nonlinearity: Nonlinearity?

    /// The module these options select in `stateDict`, its calls held to `options`.
    func module(in stateDict: StateDict, options: RunOptions = RunOptions()) throws -> RecurrentModule {
        try RecurrentModule(stateDict: stateDict, prefix: prefix, nonlinearity: nonlinearity, batchFirst: batchFirst,
                            options: options)
    }

    /// The model at `path`, with these options applied when it is a checkpoint, its runs held to `options`.
    func verifiable(_ path: String, options: RunOptions = RunOptions()) throws -> VerifiableModel {
        try VerifiableModel(contentsOf: URL(fileURLWithPath: path), prefix: prefix, nonlinearity: nonlinearity, batchFirst: batchFirst,
                            options: options)
    }

    /// The flags given, for messages that say they do not apply.
    var given: [String] {
        [("--batch-first", batchFirst != nil), ("--nonlinearity", nonlinearity != nil), ("--prefix", !prefix.isEmpty)].filter(\.1).map(\.0)
    }
}

extension Nonlinearity: ExpressibleByArgument {}
