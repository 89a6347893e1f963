import Foundation
import RNNRTCore

/// NumPy `.npz` archives (`numpy.savez`, `numpy.savez_compressed`): a zip of `<name>.npy` entries, stored or
/// deflated, each decoded by `NPY.decode`. numpy writes forced-ZIP64 local headers; libzip reads them.
public enum NPZ {
    package static let formatName = "NumPy .npz"

    /// Reads every array of the `.npz` at `url`, named without the `.npy` suffix, in archive order.
    /// - Throws: `RNNRTError` `.io` when the file cannot be read, `.malformed` for a corrupt archive, an
    ///   entry that is not `.npy`, or a bad array (with context naming the entry), `.unsupported` for
    ///   dtypes or compression methods rnnrt does not read.
    public static func read(contentsOf url: URL) throws -> [(name: String, tensor: StoredTensor)] {
        let path = url.path
        return try withContext("reading \(path)") {
            _ = try FileBytes.head(of: path, count: 0)  // a clear .io error for a missing or unreadable file
            return try read(try ZipArchive(path: path))
        }
    }

    /// Reads every array of an open archive, in archive order.
    static func read(_ archive: ZipArchive) throws -> [(name: String, tensor: StoredTensor)] {
        var seen = Set<String>()
        var arrays: [(name: String, tensor: StoredTensor)] = []
        for entry in archive.entries {
            guard entry.name.hasSuffix(".npy"), entry.name.count > 4 else {
                throw RNNRTError(.malformed, "zip entry '\(entry.name)' is not an array: expected every entry of a .npz to be named '<name>.npy'")
            }
            let name = String(entry.name.dropLast(4))
            guard seen.insert(name).inserted else {
                throw RNNRTError(.malformed, "zip entry '\(entry.name)' appears twice: expected one entry per array name")
            }
            let tensor = try withContext("reading entry '\(entry.name)'") {
                try NPY.decode(try archive.read(entry))
            }
            arrays.append((name, tensor))
        }
        return arrays
    }

    /// One array from a file: a `.npy` (then `name` must be nil), or an `.npz` holding exactly one array
    /// (`name` nil) or an array called `name`. The format is detected from the content.
    /// - Throws: `.io` when the file cannot be read, the `.npz` holds several arrays and no name was
    ///   given, or it has no array called `name`; `.malformed`/`.unsupported` for bad content.
    public static func array(contentsOf url: URL, named name: String? = nil) throws -> StoredTensor {
        let path = url.path
        let head = try withContext("reading \(path)") { try FileBytes.head(of: path, count: 6) }
        if head == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] {
            if let name {
                throw RNNRTError(.io, "\(path) is a .npy file holding one unnamed array, so it has no array named '\(name)'", context: ["reading \(path)"])
            }
            return try NPY.read(contentsOf: url)
        }
        guard head.starts(with: [0x50, 0x4B]) else {
            let hex = head.map { String(format: "%02x", $0) }.joined(separator: " ")
            throw RNNRTError(.malformed, "expected a .npy file (93 4e 55 4d 50 59) or an .npz archive (50 4b 03 04), found \(hex.isEmpty ? "an empty file" : "first bytes " + hex)", context: ["reading \(path)"])
        }
        let arrays = try read(contentsOf: url)
        let names = arrays.map(\.name)
        if let name {
            guard let match = arrays.first(where: { $0.name == name }) else {
                throw RNNRTError(.io, "no array named '\(name)' in \(path): expected one of \(names.isEmpty ? "(none: the archive is empty)" : names.joined(separator: ", "))")
            }
            return match.tensor
        }
        guard arrays.count == 1, let only = arrays.first else {
            throw RNNRTError(.io, arrays.isEmpty
                ? "\(path) holds no arrays: expected exactly one"
                : "\(path) holds \(names.count) arrays (\(names.joined(separator: ", "))): expected exactly one, or name one as \(path):NAME")
        }
        return only.tensor
    }

    /// True when the archive is non-empty and every entry is named `*.npy` (what `numpy.savez` writes).
    static func isNPZ(_ archive: ZipArchive) -> Bool {
        !archive.entries.isEmpty && archive.entries.allSatisfy { $0.name.hasSuffix(".npy") && $0.name.count > 4 }
    }
}
