import Foundation
import RNNRTCore

extension StateDict {
    /// Reads the checkpoint at `url`, detecting its format from its first bytes (never its extension).
    ///
    /// Supported: `torch.save` zip archives (`.pt`, `.pth`, `.bin`, `.tar`, any name), read with rnnrt's
    /// own allow-listed pickle machine — nothing in the file is ever executed.
    /// - Throws: `RNNRTError`: `.io` when the file cannot be read, `.malformed` for corrupt content,
    ///   `.unsupported` for formats rnnrt recognizes but does not read yet, `.unsafe` for pickles that
    ///   name anything outside the allow-list.
    public init(contentsOf url: URL) throws {
        let path = url.path
        self = try withContext("reading \(path)") {
            let head = try StateDict.firstBytes(of: path, count: 16)
            switch CheckpointFormat(detecting: head) {
            case .torchZip:
                return try TorchCheckpoint.read(try ZipArchive(path: path))
            case .torchLegacy:
                throw RNNRTError(.unsupported, "this is a legacy (PyTorch < 1.6, non-zip) torch.save file, which rnnrt does not read yet; re-save it with a current torch.save")
            case .numpy:
                throw RNNRTError(.unsupported, "this is a .npy array, not a checkpoint")
            case .safetensors:
                throw RNNRTError(.unsupported, "safetensors files are not read yet")
            case .unknown:
                let hex = head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
                throw RNNRTError(.malformed, "not a checkpoint rnnrt can read: first bytes \(hex.isEmpty ? "(empty file)" : hex); expected a PyTorch zip archive (50 4b 03 04)")
            }
        }
    }

    private static func firstBytes(of path: String, count: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            throw RNNRTError(.io, exists ? (isDir.boolValue ? "\(path) is a folder, not a file" : "cannot open \(path)") : "no such file: \(path)")
        }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: count)) ?? Data())
    }
}

/// File formats recognized by their first bytes.
enum CheckpointFormat {
    case torchZip, torchLegacy, numpy, safetensors, unknown

    init(detecting head: [UInt8]) {
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            self = .torchZip
        } else if head.starts(with: [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]) {
            self = .torchLegacy
        } else if head.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) {
            self = .numpy
        } else if head.count >= 9, head[8] == UInt8(ascii: "{") || head[8] == UInt8(ascii: " ") {
            self = .safetensors
        } else {
            self = .unknown
        }
    }
}
