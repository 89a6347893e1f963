import ArgumentParser
import Foundation
import RNNRT

/// The `rnnrt` command: run and inspect PyTorch recurrent models.
///
/// Exit status (set here, and by `verify` for its documented 0/1/2): 0 success; 1 the model could not run
/// on the given input (shapes, binding, I/O) or stopped at a limit; 64 usage error; 65 a file is malformed,
/// unsupported or refused as unsafe.
package struct RNNRTCommand: ParsableCommand {
    /// The package version, printed by `rnnrt --version` (CHANGELOG.md lists what each version brought).
    package static let version = "0.9.0"

    package static let configuration = CommandConfiguration(
        commandName: "rnnrt",
        abstract: "Run PyTorch recurrent networks (RNN, LSTM, GRU) without Python.",
        version: version,
        subcommands: [Run.self, Inspect.self, Verify.self, Convert.self, Bench.self])

    package init() {}

    /// Parses `arguments` (the process's when nil), runs the command, prints one clear message on
    /// failure and exits with the status documented on the type.
    package static func main(_ arguments: [String]? = nil) -> Never {
        let status = execute(arguments, standardOutput: { print($0) }, standardError: { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        })
        Foundation.exit(status)
    }

    /// Runs `arguments` in-process and returns the exit status; output goes through the two closures.
    /// Used by `main` and by tests.
    package static func execute(_ arguments: [String]?, standardOutput: @escaping (String) -> Void,
                               standardError: @escaping (String) -> Void) -> Int32 {
        Console.out = standardOutput
        Console.err = standardError
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let error as RNNRTError {
            standardError("rnnrt: error: \(error)\(LimitOptions.flag(for: error))")
            return exitStatus(for: error)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if message.isEmpty {
                // An ExitCode thrown after the command printed its own report (verify).
            } else if code == .success {
                standardOutput(message)
            } else {
                standardError(message)
            }
            return code.rawValue
        }
    }

    /// The exit status for an rnnrt error.
    static func exitStatus(for error: RNNRTError) -> Int32 {
        switch error.kind {
        case .malformed, .unsupported, .unsafe: return 65
        case .invalidArgument: return 64
        case .io, .shapeMismatch, .binding, .limit: return 1
        }
    }
}

/// Where commands print: standard output normally, a test's capture in tests.
enum Console {
    nonisolated(unsafe) static var out: (String) -> Void = { print($0) }
    nonisolated(unsafe) static var err: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
}

/// Prints a line on standard output (or the test's capture).
func say(_ line: String) { Console.out(line) }
