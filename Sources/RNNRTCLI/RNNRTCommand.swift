import ArgumentParser

/// The `rnnrt` command: run, inspect (and later verify, convert, bench) recurrent models.
public struct RNNRTCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnnrt",
        abstract: "Run PyTorch recurrent networks (RNN, LSTM, GRU) without Python.",
        subcommands: [])

    public init() {}
}
