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
        let bigEndian = try isBigEndian(archive, prefix: prefix)
        var machine = PickleMachine(try archive.read(pickleEntry))
        let root = try withContext("reading \(pickleEntry.name)") { try machine.run() }
        return try stateDict(from: root, machine: machine, format: script == nil ? formatName : scriptFormatName,
                             bigEndian: bigEndian, scriptClass: { script?.scriptClass(named: $0) },
                             storage: storages(in: archive, prefix: prefix, bigEndian: bigEndian))
    }

    /// Whether the archive's `<prefix>byteorder` record says big-endian storages (no record: little-endian).
    static func isBigEndian(_ archive: ZipArchive, prefix: String) throws -> Bool {
        guard let order = archive.entry(named: prefix + "byteorder") else { return false }
        let record = try archive.read(order)
        // ASCII white space trimmed by hand: Foundation's trimmingCharacters(in:) is a noticeable share of a
        // small checkpoint's load.
        var word = record[...]
        while let c = word.first, c == 0x20 || (0x09...0x0D).contains(c) { word.removeFirst() }
        while let c = word.last, c == 0x20 || (0x09...0x0D).contains(c) { word.removeLast() }
        switch String(decoding: word, as: UTF8.self) {
        case "little": return false
        case "big": return true
        default:
            throw RNNRTError(.malformed, "byteorder record says '\(String(decoding: record, as: UTF8.self))', expected 'little' or 'big'")
        }
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
}
