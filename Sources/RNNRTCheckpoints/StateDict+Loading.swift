import Foundation
import RNNRTCore

extension StateDict {
    /// Whether the file at `url` starts like a format `init(contentsOf:)` knows (zip, legacy torch.save,
    /// safetensors, .npy, tar), without reading further. Missing or unreadable files throw `.io`.
    package static func recognizesFormat(of url: URL) throws -> Bool {
        let head = try withContext("reading \(url.path)") { try FileBytes.head(of: url.path, count: 512) }
        if case .unknown = CheckpointFormat(detecting: head) { return false }
        return true
    }

    /// Reads the checkpoint at `url`, detecting its format from its content (never its extension).
    ///
    /// Reads every kind of file PyTorch users have, with the same result — tensors under their
    /// `state_dict()` names, plus non-tensor values:
    /// - `torch.save` zip archives (`.pt`, `.pth`, `.bin`, `.tar`, any name): state dicts, nested
    ///   training checkpoints, whole pickled modules (`torch.save(model)`);
    /// - the legacy non-zip `torch.save` format (PyTorch < 1.6);
    /// - TorchScript archives (`torch.jit.save`, scripted or traced);
    /// - safetensors files and NumPy `.npz` archives of named arrays.
    ///
    /// Pickles are read by rnnrt's own allow-listed pickle machine: nothing in a file is ever executed or
    /// imported; classes of the user's own code are only recorded by name.
    /// - Throws: `RNNRTError`: `.io` when the file cannot be read, `.malformed` for corrupt content,
    ///   `.unsupported` for formats or dtypes rnnrt recognizes but does not read, `.unsafe` for pickles
    ///   that call or name anything outside the allow-list.
    public init(contentsOf url: URL) throws {
        let path = url.path
        self = try withContext("reading \(path)") {
            let head = try FileBytes.head(of: path, count: 512)
            switch CheckpointFormat(detecting: head) {
            case .zip:
                let archive = try ZipArchive(path: path)
                if TorchCheckpoint.dataPickle(in: archive) == nil, NPZ.isNPZ(archive) {
                    return try StateDict(NPZ.read(archive).map { ($0.name, $0.tensor) }, format: NPZ.formatName)
                }
                return try TorchCheckpoint.read(archive)
            case .torchLegacy:
                return try TorchLegacyCheckpoint.read(try FileBytes.contents(of: path))
            case .safetensors:
                return try SafeTensors.read(try FileBytes.contents(of: path))
            case .numpy:
                throw RNNRTError(.unsupported, "this is a single .npy array, not a checkpoint; save named weights with numpy.savez or torch.save")
            case .torchTar:
                throw RNNRTError(.unsupported, "this is the tar-based torch.save format of PyTorch 0.1–0.3, which rnnrt does not read; load and re-save it with any later torch.save")
            case .unknown:
                let hex = head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
                throw RNNRTError(.malformed, "not a checkpoint rnnrt can read: first bytes \(hex.isEmpty ? "(empty file)" : hex); expected a zip archive (torch.save, TorchScript, .npz: 50 4b 03 04), a legacy torch.save pickle (80 02 8a 0a), or a safetensors header (8-byte length, then '{')")
            }
        }
    }
}

/// File formats recognized by their first bytes.
enum CheckpointFormat {
    case zip, torchLegacy, torchTar, numpy, safetensors, unknown

    init(detecting head: [UInt8]) {
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            self = .zip
        } else if head.starts(with: [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]) {
            self = .torchLegacy
        } else if head.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) {
            self = .numpy
        } else if head.count >= 262, head[257..<262].elementsEqual("ustar".utf8) {
            self = .torchTar
        } else if CheckpointFormat.looksLikeSafetensors(head) {
            self = .safetensors
        } else {
            self = .unknown
        }
    }

    /// An 8-byte little-endian header length, then (after optional whitespace) the header's `{`.
    private static func looksLikeSafetensors(_ head: [UInt8]) -> Bool {
        guard head.count >= 9 else { return false }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(head[i]) << (8 * UInt64(i)) }
        guard length >= 2 else { return false }
        let body = head.dropFirst(8).prefix(Int(min(length, 256)))
        return body.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) } == UInt8(ascii: "{")
    }
}
