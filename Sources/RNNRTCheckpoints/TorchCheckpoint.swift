import Foundation
import RNNRTCore

/// Reads `torch.save` zip archives (PyTorch ≥ 1.6): `<prefix>/data.pkl` interpreted by `PickleMachine`,
/// storages from `<prefix>/data/<key>`, byte order from `<prefix>/byteorder`.
enum TorchCheckpoint {
    /// Deepest container nesting accepted when flattening names (real checkpoints use under 10).
    static let maxNestingDepth = 256
    /// A view may expand its storage (stride 0) to at most this many bytes more than the storage holds.
    static let maxViewExpansionBytes = 256 << 20

    static let formatName = "PyTorch zip (torch.save)"

    /// Reads the archive at `path` into a state dict.
    static func read(_ archive: ZipArchive) throws -> StateDict {
        guard let pickleEntry = dataPickle(in: archive) else {
            throw RNNRTError(.malformed, "zip archive has no data.pkl: not a torch.save checkpoint")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if archive.entry(named: prefix + "constants.pkl") != nil {
            throw RNNRTError(.unsupported, "this is a TorchScript archive (torch.jit.save); rnnrt reads torch.save checkpoints — save the module's state_dict() with torch.save")
        }
        var bigEndian = false
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: try archive.read(order), as: UTF8.self)
            switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw RNNRTError(.malformed, "byteorder record says '\(text)', expected 'little' or 'big'")
            }
        }
        var machine = PickleMachine(try archive.read(pickleEntry))
        let root = try withContext("reading \(pickleEntry.name)") { try machine.run() }

        var storages: [String: [UInt8]] = [:]
        var stateDict = StateDict(format: formatName)
        try flatten(root, machine: machine) { name, leaf in
            switch leaf {
            case .tensor(let ref):
                let stored = try withContext("reading tensor '\(name)'") {
                    try materialize(ref, bigEndian: bigEndian) { key in
                        if let cached = storages[key] { return cached }
                        guard let entry = archive.entry(named: prefix + "data/" + key) else {
                            throw RNNRTError(.malformed, "storage record 'data/\(key)' is missing from the archive")
                        }
                        let bytes = try archive.read(entry)
                        storages[key] = bytes
                        return bytes
                    }
                }
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
           let e = archive.entry(named: first.name[...slash] + "data.pkl") {
            return e
        }
        return archive.entries.first { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
    }

    enum Leaf {
        case tensor(TensorReference)
        case value(String)
    }

    /// Walks the unpickled object depth-first in insertion order, calling `visit` for every tensor and
    /// scalar leaf with its dotted name (dict keys and sequence indices joined by `.`). Iterative, with a
    /// depth limit and cycle detection.
    static func flatten(_ root: PickleValue, machine: PickleMachine,
                        visit: (String, Leaf) throws -> Void) throws {
        // Explicit stack of (value, name, depth); children pushed in reverse to keep file order.
        var work: [(PickleValue, String, Int)] = [(root, "", 0)]
        var onPath: [Int: Int] = [:]  // node index → count of pending children on the current path
        var exits: [(Int, Int)] = []   // (node, work count when its children are done)
        while let (value, name, depth) = work.popLast() {
            while let (nodeIndex, mark) = exits.last, work.count < mark {
                onPath[nodeIndex] = nil
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
                case .storage, .set: continue
                case .tuple(let items), .list(let items):
                    children = items.enumerated().map { ($0.element, join(String($0.offset))) }
                case .dict(let d):
                    for (k, v) in zip(d.keys, d.values) {
                        let key: String
                        switch k {
                        case .string(let s): key = s
                        case .int(let i): key = String(i)
                        case .bool(let b): key = b ? "True" : "False"
                        default: continue
                        }
                        children.append((v, join(key)))
                    }
                }
                guard onPath[index] == nil else {
                    throw RNNRTError(.malformed, "checkpoint contains a container that includes itself at '\(name)'")
                }
                onPath[index] = 1
                exits.append((index, work.count))
                for (child, childName) in children.reversed() { work.append((child, childName, depth + 1)) }
            }
        }
    }

    /// Copies a strided view out of its storage into a contiguous C-order `StoredTensor`, checking every
    /// bound before indexing.
    static func materialize(_ ref: TensorReference, bigEndian: Bool,
                            storage load: (String) throws -> [UInt8]) throws -> StoredTensor {
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
        let data = try load(ref.storage.key)
        guard data.count >= storageBytes else {
            throw RNNRTError(.malformed, "storage '\(ref.storage.key)' should hold \(storageBytes) bytes, the record has \(data.count)")
        }
        var out = [UInt8](repeating: 0, count: count * size)
        if count > 0 {
            let rank = ref.shape.count
            let contiguous = isContiguous(ref.shape, ref.strides)
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
