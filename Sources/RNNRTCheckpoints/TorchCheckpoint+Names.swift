import Foundation
import RNNRTCore

/// The object-to-names walk every torch format shares: an unpickled object flattened into dotted state-dict names.
extension TorchCheckpoint {
    /// Deepest container nesting accepted when flattening names (real checkpoints use under 10).
    static let maxNestingDepth = 256

    enum Leaf {
        /// A torch tensor: a view of a storage, read when visited.
        case tensor(TensorReference)
        /// An array whose bytes were in the pickle itself (a numpy array).
        case array(StoredTensor)
        case value(String)
    }

    /// Walks the unpickled object depth-first in insertion order, calling `visit` for every tensor and
    /// scalar leaf with its dotted name (dict keys and sequence indices joined by `.`). Iterative, with a
    /// depth limit and cycle detection.
    ///
    /// Inert objects (whole pickled modules, TorchScript modules) are named as PyTorch's `state_dict()`
    /// names them; see `children(ofObject:…)`.
    static func flatten(_ root: PickleValue, machine: PickleMachine,
                        scriptClass: (String) -> TorchScriptClass? = { _ in nil },
                        visit: (String, Leaf) throws -> Void) throws {
        // Explicit stack of (value, name, depth); children pushed in reverse to keep file order.
        var work: [(PickleValue, String, Int)] = [(root, "", 0)]
        // By node index: whether the node is on the current path (an array, not an [Int: …] dictionary, whose
        // first use in a process costs a runtime conformance lookup).
        var onPath = [Bool](repeating: false, count: machine.nodes.count)
        var exits: [(Int, Int)] = []   // (node, work count when its children are done)
        while let (value, name, depth) = work.popLast() {
            while let (nodeIndex, mark) = exits.last, work.count < mark {
                onPath[nodeIndex] = false
                exits.removeLast()
            }
            guard depth <= maxNestingDepth else {
                throw RNNRTError(.malformed, "checkpoint nests containers deeper than \(maxNestingDepth) levels at '\(name.prefix(60))…'")
            }
            func join(_ key: String) -> String { name.isEmpty ? key : name + "." + key }
            switch value {
            case .none: try visit(name.isEmpty ? "value" : name, .value("None"))
            case .bool(let b): try visit(name.isEmpty ? "value" : name, .value(b ? "True" : "False"))
            case .int(let i): try visit(name.isEmpty ? "value" : name, .value(String(i)))
            case .bigInt: try visit(name.isEmpty ? "value" : name, .value("<large integer>"))
            case .float(let d): try visit(name.isEmpty ? "value" : name, .value(pythonFloat(d)))
            case .string(let s): try visit(name.isEmpty ? "value" : name, .value("'\(s)'"))
            case .bytes(let b): try visit(name.isEmpty ? "value" : name, .value("<\(b.count) bytes>"))
            case .global: continue
            case .ref(let index):
                guard let node = machine.node(of: value) else { continue }
                var children: [(PickleValue, String)] = []
                switch node {
                case .tensor(let ref):
                    try visit(name.isEmpty ? "tensor" : name, .tensor(ref))
                    continue
                case .numpyArray(let array?):
                    try visit(name.isEmpty ? "array" : name, .array(array))
                    continue
                case .storage, .set, .numpyDType, .numpyArray(nil): continue
                case .tuple(let items), .list(let items):
                    children = items.enumerated().map { ($0.element, join(String($0.offset))) }
                case .dict(let d):
                    children = stringKeyed(d).map { ($0.value, join($0.key)) }
                case .object(let className, let state):
                    let script = className.hasPrefix("__torch__.") ? scriptClass(className) : nil
                    for (key, text) in script?.constants ?? [] { try visit(join(key), .value(text)) }
                    children = self.children(ofObject: className, state: state, script: script, machine: machine)
                        .map { ($0.value, join($0.key)) }
                }
                guard !onPath[index] else {
                    throw RNNRTError(.malformed, "checkpoint contains a container that includes itself at '\(name)'")
                }
                onPath[index] = true
                exits.append((index, work.count))
                for (child, childName) in children.reversed() { work.append((child, childName, depth + 1)) }
            }
        }
    }

    /// The named children of an inert object, as PyTorch's `state_dict()` would name them:
    /// - an `nn.Module` pickled whole (its state has `_parameters`/`_modules`): its parameters, its
    ///   persistent buffers, its hyperparameters (public scalar attributes such as `batch_first`), then
    ///   its submodules;
    /// - a TorchScript module: the attributes its class lists in `__parameters__`/`__buffers__` (every
    ///   tensor attribute when the class's code is unavailable), public scalar attributes, submodules —
    ///   not bookkeeping such as `_flat_weights`, which repeats the parameters;
    /// - any other object (an `argparse.Namespace` of hyperparameters, ...): every attribute.
    static func children(ofObject className: String, state: PickleValue, script: TorchScriptClass?,
                         machine: PickleMachine) -> [(key: String, value: PickleValue)] {
        var attributes: [(key: String, value: PickleValue)] = []
        switch machine.node(of: state) {
        case .dict(let d)?: attributes = stringKeyed(d)
        case .tuple(let parts)?:  // (__dict__, slots) from objects with __slots__
            for part in parts { if case .dict(let d)? = machine.node(of: part) { attributes += stringKeyed(d) } }
        default: break
        }
        func isObject(_ v: PickleValue) -> Bool { if case .object? = machine.node(of: v) { return true }; return false }
        func isTensor(_ v: PickleValue) -> Bool { if case .tensor? = machine.node(of: v) { return true }; return false }
        func isHyperparameter(_ key: String, _ v: PickleValue) -> Bool {
            guard !key.hasPrefix("_"), key != "training" else { return false }
            switch v {
            case .bool, .int, .float, .string: return true
            default: return false
            }
        }
        func items(_ key: String) -> [(key: String, value: PickleValue)] {
            guard let v = attributes.first(where: { $0.key == key })?.value,
                  case .dict(let d)? = machine.node(of: v) else { return [] }
            return stringKeyed(d).filter { $0.value != .none }
        }
        let keys = Set(attributes.map(\.key))
        if keys.contains("_parameters") || keys.contains("_modules") {
            var nonPersistent: Set<String> = []
            if let v = attributes.first(where: { $0.key == "_non_persistent_buffers_set" })?.value,
               case .set(let names)? = machine.node(of: v) {
                for case .string(let n) in names { nonPersistent.insert(n) }
            }
            return items("_parameters") + items("_buffers").filter { !nonPersistent.contains($0.key) }
                + attributes.filter { isHyperparameter($0.key, $0.value) } + items("_modules")
        }
        if className.hasPrefix("__torch__.") {
            let state = script.map { Set($0.parameters + $0.buffers) }
            return attributes.filter { state?.contains($0.key) ?? isTensor($0.value) }
                + attributes.filter { isHyperparameter($0.key, $0.value) }
                + attributes.filter { isObject($0.value) }
        }
        return attributes
    }

    /// The entries of a pickled dict whose keys can be part of a dotted name (strings, ints, bools).
    private static func stringKeyed(_ d: PickleDict) -> [(key: String, value: PickleValue)] {
        zip(d.keys, d.values).compactMap { k, v in
            switch k {
            case .string(let s): return (s, v)
            case .int(let i): return (String(i), v)
            case .bool(let b): return (b ? "True" : "False", v)
            default: return nil
            }
        }
    }

    /// Python's repr of a float (close enough for display: shortest round-trip digits).
    private static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded() && abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }
}
