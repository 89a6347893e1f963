/// The one error type rnnrt throws for anything that comes from a file, a buffer or the command line.
///
/// `kind` is small and stable so callers (and tests) can branch on it; `message` names what was expected
/// and what was found; `context` grows as the error travels outward ("reading tensor 'weight_ih_l0'",
/// "in file model.pt"), innermost first.
public struct RNNRTError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, coarsely.
    public enum Kind: String, Sendable {
        /// The file could not be opened or read.
        case io
        /// The bytes do not follow the format they claim (truncated, inconsistent, out of bounds).
        case malformed
        /// Valid input that rnnrt does not handle (a dtype, an opcode, a format version).
        case unsupported
        /// The input asks for something rnnrt refuses on principle (a pickle global outside the allow-list).
        case unsafe
        /// Tensor shapes do not agree with each other or with the model.
        case shapeMismatch
        /// Parameters missing, unexpected or mis-shaped when binding weights to a module.
        case binding
        /// A caller-supplied argument is not acceptable.
        case invalidArgument
        /// A limit the caller set was reached (`RunOptions`: the memory or time limit), or the call was cancelled.
        case limit
    }

    /// What went wrong, coarsely: the case to branch on.
    public let kind: Kind
    /// One sentence naming what was expected and what was found, without the context lines.
    public let message: String
    /// Where the error happened, innermost first.
    public internal(set) var context: [String]

    package init(_ kind: Kind, _ message: String, context: [String] = []) {
        self.kind = kind
        self.message = message
        self.context = context
    }

    /// This error with one more line of context (outer to what is already there).
    package func adding(context note: String) -> RNNRTError {
        var copy = self
        copy.context.append(note)
        return copy
    }

    /// The message, then one `  while …` line per context entry, innermost first: what the `rnnrt` command prints.
    public var description: String {
        ([message] + context.map { "  while \($0)" }).joined(separator: "\n")
    }
}

/// Runs `body`, adding `note` to any `RNNRTError` it throws; other errors are wrapped as `.io`.
package func withContext<T>(_ note: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as RNNRTError {
        throw error.adding(context: note())
    } catch {
        throw RNNRTError(.io, "\(error)", context: [note()])
    }
}
