import Foundation
import RNNRTCore
import RNNRTKernels

/// Reads PyTorch's zip archives — `torch.save` checkpoints (PyTorch ≥ 1.6) and TorchScript archives
/// (`torch.jit.save`) — and turns any unpickled torch object into state-dict names; the legacy non-zip
/// format (`TorchLegacyCheckpoint`) shares everything after unpickling.
///
/// Zip layout: `<prefix>/data.pkl` interpreted by `PickleMachine`, storages in `<prefix>/data/<key>`, byte
/// order in `<prefix>/byteorder`; a TorchScript archive also has `constants.pkl` and `code/`.
enum TorchCheckpoint {
    /// Deepest container nesting accepted when flattening names (real checkpoints use under 10).
    static let maxNestingDepth = 256
    /// A view may expand its storage (stride 0) to at most this many bytes more than the storage holds.
    static let maxViewExpansionBytes = 256 << 20

    static let formatName = "PyTorch zip (torch.save)"
    static let scriptFormatName = "TorchScript (torch.jit.save)"

    /// Reads a `torch.save` or `torch.jit.save` zip archive into a state dict.
    static func read(_ archive: ZipArchive) throws -> StateDict {
        guard let pickleEntry = dataPickle(in: archive) else {
            throw RNNRTError(.malformed, "zip archive has no data.pkl: not a torch.save checkpoint")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        let script = archive.entry(named: prefix + "constants.pkl") == nil
            ? nil : TorchScriptCode(archive: archive, prefix: prefix)
        var bigEndian = false
        if let order = archive.entry(named: prefix + "byteorder") {
            let record = try archive.read(order)
            // ASCII white space trimmed by hand: Foundation's trimmingCharacters(in:) is a noticeable share of a
            // small checkpoint's load.
            var word = record[...]
            while let c = word.first, c == 0x20 || (0x09...0x0D).contains(c) { word.removeFirst() }
            while let c = word.last, c == 0x20 || (0x09...0x0D).contains(c) { word.removeLast() }
            switch String(decoding: word, as: UTF8.self) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default:
                throw RNNRTError(.malformed, "byteorder record says '\(String(decoding: record, as: UTF8.self))', expected 'little' or 'big'")
            }
        }
        var machine = PickleMachine(try archive.read(pickleEntry))
        let root = try withContext("reading \(pickleEntry.name)") { try machine.run() }
        return try stateDict(from: root, machine: machine, format: script == nil ? formatName : scriptFormatName,
                             bigEndian: bigEndian, scriptClass: { script?.scriptClass(named: $0) },
                             storage: storages(in: archive, prefix: prefix, bigEndian: bigEndian))
    }

    /// The loader of the archive's storage records `<prefix>data/<key>`: float32 in host order is used in
    /// place in the archive's read-only mapping when it can be (`ZipArchive.mappedFloats`), else read
    /// straight into floats; either way the tensors then share it. Other dtypes, and big-endian archives
    /// (swapped after reading), are read as bytes.
    static func storages(in archive: ZipArchive, prefix: String,
                         bigEndian: Bool) -> (String, DType) throws -> StorageRecord {
        { key, dtype in
            guard let entry = archive.entry(named: prefix + "data/" + key) else {
                throw RNNRTError(.malformed, "storage record 'data/\(key)' is missing from the archive")
            }
            if dtype == .float32, !bigEndian, hostIsLittleEndian, entry.size % 4 == 0 {
                if let mapped = archive.mappedFloats(entry) { return .floats(mapped) }
                return .floats(FloatStorage(try archive.read(entry, as: Float.self)))
            }
            return .bytes(try archive.read(entry))
        }
    }

    static let hostIsLittleEndian = 1.littleEndian == 1

    /// A storage record's contents: raw bytes, or float32 elements when read for a float32 tensor (which
    /// may be borrowed from the archive's mapping: read only).
    enum StorageRecord {
        case bytes([UInt8])
        case floats(FloatStorage)

        var byteCount: Int {
            switch self {
            case .bytes(let b): return b.count
            case .floats(let f): return f.count * 4
            }
        }

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch self {
            case .bytes(let b): return try b.withUnsafeBytes(body)
            case .floats(let f): return try f.withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
            }
        }
    }

    /// The state dict of an unpickled torch object: every tensor under its dotted name, materialized from
    /// the storage `storage(key, dtype)` returns for a tensor of `dtype` (each storage is loaded once), and
    /// every non-tensor leaf.
    static func stateDict(from root: PickleValue, machine: PickleMachine, format: String, bigEndian: Bool,
                          scriptClass: (String) -> TorchScriptClass? = { _ in nil },
                          storage load: (String, DType) throws -> StorageRecord) throws -> StateDict {
        var storages: [String: StorageRecord] = [:]
        var stateDict = StateDict(format: format)
        try flatten(root, machine: machine, scriptClass: scriptClass) { name, leaf in
            switch leaf {
            case .tensor(let ref):
                let stored = try withContext("reading tensor '\(name)'") {
                    try materialize(ref, bigEndian: bigEndian) { key, dtype in
                        if let cached = storages[key] { return cached }
                        let record = try load(key, dtype)
                        storages[key] = record
                        return record
                    }
                }
                try stateDict.insert(stored, named: name)
            case .array(let stored):
                try stateDict.insert(stored, named: name)
            case .value(let text):
                stateDict.insertValue(text, named: name)
            }
        }
        return stateDict
    }

    /// The archive's `data.pkl`: under the first entry's top-level folder, as PyTorch looks for it, or
    /// any `*/data.pkl`.
    static func dataPickle(in archive: ZipArchive) -> ZipArchive.Entry? {
        if let first = archive.entries.first, let slash = first.name.firstIndex(of: "/"),
           let e = archive.entry(named: String(first.name[...slash]) + "data.pkl") {
            return e
        }
        return archive.entries.first { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
    }

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

    /// Copies a strided view out of its storage into a contiguous C-order `StoredTensor`, checking every
    /// bound before indexing.
    static func materialize(_ ref: TensorReference, bigEndian: Bool,
                            storage load: (String, DType) throws -> StorageRecord) throws -> StoredTensor {
        let size = ref.dtype.byteSize
        // Element count of the storage in the tensor's dtype (untyped storages count bytes).
        let storageElements = ref.storage.dtype == nil ? ref.storage.numel / size : ref.storage.numel
        let storageBytes = ref.storage.dtype == nil ? ref.storage.numel : ref.storage.numel * size
        guard let count = ref.shape.checkedElementCount(), count <= Int.max / size else {
            throw RNNRTError(.malformed, "tensor shape \(ref.shape.shapeDescription) is too large")
        }
        if count > 0 {
            var last = ref.offset
            for (extent, stride) in zip(ref.shape, ref.strides) {
                let (step, o1) = (extent - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw RNNRTError(.malformed, "tensor strides overflow") }
                last = sum
            }
            guard last < storageElements else {
                throw RNNRTError(.malformed, "view (offset \(ref.offset), size \(ref.shape.shapeDescription), stride \(ref.strides.shapeDescription)) reaches element \(last) of a \(storageElements)-element storage '\(ref.storage.key)'")
            }
            guard count * size <= storageBytes + maxViewExpansionBytes else {
                throw RNNRTError(.malformed, "view of \(count) elements expands its \(storageElements)-element storage beyond the \(maxViewExpansionBytes >> 20) MiB allowed")
            }
        }
        let data = try load(ref.storage.key, ref.dtype)
        guard data.byteCount >= storageBytes else {
            throw RNNRTError(.malformed, "storage '\(ref.storage.key)' should hold \(storageBytes) bytes, the record has \(data.byteCount)")
        }
        let contiguous = isContiguous(ref.shape, ref.strides)
        // A float32 tensor laid out in order in its storage takes its elements as they are: the whole record
        // shared, or a mapped record's range borrowed in place (no copy either way; an in-memory record's
        // range is copied by `slice`).
        if contiguous, ref.dtype == .float32, case .floats(let floats) = data,
           let view = floats.slice(ref.offset..<(ref.offset + count)) {
            return try StoredTensor(shape: ref.shape, floatStorage: view)
        }
        // A tensor that is its whole byte record, in order, takes the record as it is (no copy; big-endian
        // records are swapped in this copy-on-write array, never in the archive).
        if ref.offset == 0, data.byteCount == count * size, contiguous, case .bytes(var bytes) = data {
            if bigEndian { swapByteOrder(&bytes, dtype: ref.dtype) }
            return try StoredTensor(dtype: ref.dtype, shape: ref.shape, bytes: bytes)
        }
        var out = [UInt8](repeating: 0, count: count * size)
        if count > 0 {
            let rank = ref.shape.count
            data.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    if contiguous {
                        d.copyMemory(from: s + ref.offset * size, byteCount: count * size)
                        return
                    }
                    var index = [Int](repeating: 0, count: rank)
                    var source = ref.offset
                    for i in 0..<count {
                        (d + i * size).copyMemory(from: s + source * size, byteCount: size)
                        var axis = rank - 1
                        while axis >= 0 {
                            index[axis] += 1
                            source += ref.strides[axis]
                            if index[axis] < ref.shape[axis] { break }
                            source -= ref.strides[axis] * ref.shape[axis]
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
        if bigEndian { swapByteOrder(&out, dtype: ref.dtype) }
        return try StoredTensor(dtype: ref.dtype, shape: ref.shape, bytes: out)
    }

    private static func isContiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Python's repr of a float (close enough for display: shortest round-trip digits).
    private static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded() && abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }
}
