import RNNRTCore
import Testing

/// Which text of an `RNNRTError` `expectRNNRTError` searches for its phrases.
public enum RNNRTErrorText: Sendable {
    /// `message` alone.
    case message
    /// `description`: the message and every line of context.
    case description
}

/// Expects `body` to throw an `RNNRTError` of `kind` whose message (or, with `in: .description`, message and context)
/// contains every one of `phrases`. Returns the error for further checks: nil when `body` threw none or another error.
@discardableResult
public func expectRNNRTError<R>(_ kind: RNNRTError.Kind, containing phrases: [String] = [], in text: RNNRTErrorText = .message,
                                _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation,
                                performing body: () throws -> R) -> RNNRTError? {
    let error = #expect(throws: RNNRTError.self, "\(label)", sourceLocation: sourceLocation) { _ = try body() }
    if error != nil { expectRNNRTError(error, kind, containing: phrases, in: text, label, sourceLocation: sourceLocation) }
    return error
}

/// Expects `error` to be an `RNNRTError` of `kind` whose message (or, with `in: .description`, message and context)
/// contains every one of `phrases`; records an issue when `error` is nil.
public func expectRNNRTError(_ error: RNNRTError?, _ kind: RNNRTError.Kind, containing phrases: [String] = [],
                             in text: RNNRTErrorText = .message, _ label: String = "",
                             sourceLocation: SourceLocation = #_sourceLocation) {
    let prefix = label.isEmpty ? "" : "\(label): "
    guard let error else {
        Issue.record("\(prefix)no RNNRTError", sourceLocation: sourceLocation)
        return
    }
    #expect(error.kind == kind, "\(prefix)\(error)", sourceLocation: sourceLocation)
    let searched = text == .message ? error.message : error.description
    for phrase in phrases {
        #expect(searched.contains(phrase), "\(prefix)no '\(phrase)' in \(error)", sourceLocation: sourceLocation)
    }
}
