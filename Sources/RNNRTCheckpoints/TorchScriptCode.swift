import Foundation
import RNNRTCore

/// What a TorchScript class declares about its instances, read from the archive's `code/` source: which
/// attributes are parameters and buffers (what `state_dict()` holds), and its `Final` constants — where
/// TorchScript keeps a recurrent module's hyperparameters (`batch_first : Final[bool] = True`).
struct TorchScriptClass: Equatable {
    var parameters: [String] = []
    var buffers: [String] = []
    /// `(name, Python literal)` in declaration order, strings in Python's repr (`'GRU'`).
    var constants: [(String, String)] = []

    static func == (a: TorchScriptClass, b: TorchScriptClass) -> Bool {
        a.parameters == b.parameters && a.buffers == b.buffers
            && a.constants.map(\.0) == b.constants.map(\.0) && a.constants.map(\.1) == b.constants.map(\.1)
    }

    /// Parses the declaration of class `name` in a TorchScript source file: the lines indented under
    /// `class <name>(` up to its first method. Nil when the file does not declare the class.
    init?(named name: String, in source: String) {
        var inside = false
        var found = false
        for raw in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = Substring(raw)
            if !line.hasPrefix(" ") {
                if inside { break }
                inside = line.hasPrefix("class \(name)(") || line.hasPrefix("class \(name):")
                found = found || inside
                continue
            }
            guard inside else { continue }
            let body = line.drop { $0 == " " }
            if body.hasPrefix("def ") { break }
            if body.hasPrefix("__parameters__ =") {
                parameters = TorchScriptClass.quotedStrings(body)
            } else if body.hasPrefix("__buffers__ =") {
                buffers = TorchScriptClass.quotedStrings(body)
            } else if let colon = body.firstIndex(of: ":"), let equals = body.firstIndex(of: "="), colon < equals,
                      body[colon...].dropFirst().drop(while: { $0 == " " }).hasPrefix("Final[") {
                let attribute = body[..<colon].trimmingCharacters(in: .whitespaces)
                let literal = body[body.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                constants.append((attribute, TorchScriptClass.pythonRepr(literal)))
            }
        }
        guard found else { return nil }
    }

    /// `["a", "b", ]` → `["a", "b"]`.
    private static func quotedStrings(_ text: Substring) -> [String] {
        text.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// A TorchScript literal as Python would print it: `"GRU"` → `'GRU'`, `0.` → `0.0`.
    private static func pythonRepr(_ literal: String) -> String {
        if literal.count >= 2, literal.hasPrefix("\""), literal.hasSuffix("\"") {
            return "'" + literal.dropFirst().dropLast() + "'"
        }
        if literal.hasSuffix("."), literal.dropLast().allSatisfy({ $0.isNumber || $0 == "-" }) { return literal + "0" }
        return literal
    }
}

/// The `code/` folder of one TorchScript archive, read lazily: each class is looked up once, in the file
/// its qualified name points to (`__torch__.torch.nn.modules.rnn.___torch_mangle_0.LSTM` →
/// `code/__torch__/torch/nn/modules/rnn/___torch_mangle_0.py`, class `LSTM`).
final class TorchScriptCode {
    private let archive: ZipArchive
    private let prefix: String
    private var sources: [String: String?] = [:]
    private var classes: [String: TorchScriptClass?] = [:]

    init(archive: ZipArchive, prefix: String) {
        self.archive = archive
        self.prefix = prefix
    }

    /// The declaration of the class with this qualified name, or nil when its source is missing or does
    /// not declare it (then tensors are found by type alone).
    func scriptClass(named qualifiedName: String) -> TorchScriptClass? {
        if let known = classes[qualifiedName] { return known }
        var result: TorchScriptClass?
        if let dot = qualifiedName.lastIndex(of: ".") {
            let module = qualifiedName[..<dot], name = String(qualifiedName[qualifiedName.index(after: dot)...])
            let path = prefix + "code/" + module.replacingOccurrences(of: ".", with: "/") + ".py"
            if let source = source(at: path) { result = TorchScriptClass(named: name, in: source) }
        }
        classes[qualifiedName] = .some(result)
        return result
    }

    private func source(at path: String) -> String? {
        if let cached = sources[path] { return cached }
        // An unreadable source only costs the hints it would have given; the tensors are still found.
        let text = archive.entry(named: path).flatMap { try? archive.read($0) }.map { String(decoding: $0, as: UTF8.self) }
        sources[path] = .some(text)
        return text
    }
}
