import CLibzip
import Foundation
import RNNRTCore

/// Writes a new zip archive through libzip: every entry stored (method 0), in the order added, optionally
/// with each entry's data aligned to a multiple of `alignment` bytes from the start of the file.
///
/// Alignment uses the extra field `torch.save` uses (id 0x4246, "FB", payload of `Z` bytes) in the local
/// header only. Offsets are predicted from libzip's layout (30-byte local header + name + extra fields,
/// data right after, no data descriptor on a seekable output, a zip64 extra only for entries of
/// 0xFFFFFFFF bytes or more, which is accounted for). Readers never need the alignment; it only lets a
/// reader map storages in place.
///
/// The archive is written to a temporary file in the destination folder and renamed over the
/// destination, so a failed write never leaves a partial file behind.
/// Memory: each entry's bytes are copied once into a buffer libzip reads at close.
struct ZipWriter {
    /// One entry to write.
    struct Entry {
        let name: String
        let bytes: [UInt8]
    }

    /// The extra-field id `torch.save` (miniz) uses for alignment padding: `46 42` ("FB").
    static let paddingFieldID: UInt16 = 0x4246

    private(set) var entries: [Entry] = []
    /// Each entry's data starts at a multiple of this many bytes (1: no padding). At most 4096.
    let alignment: Int

    /// A writer with no entries yet; `alignment` is clamped to 1…4096.
    init(alignment: Int = 1) {
        self.alignment = min(max(alignment, 1), 4096)
    }

    /// Appends an entry (written in the order added).
    mutating func add(_ name: String, _ bytes: [UInt8]) {
        entries.append(Entry(name: name, bytes: bytes))
    }

    /// Appends an entry holding `text`'s UTF-8 bytes.
    mutating func add(_ name: String, text: String) {
        add(name, Array(text.utf8))
    }

    /// Where each entry's data will start, and the padding extra field (whole field: id, length, `Z`s)
    /// each local header gets, as libzip lays the archive out.
    func layout() -> [(dataOffset: Int, extraField: [UInt8])] {
        var offset = 0
        var out: [(Int, [UInt8])] = []
        for entry in entries {
            var header = 30 + entry.name.utf8.count
            // libzip adds a zip64 extra to a local header when a size is ≥ 0xFFFFFFFF: 4 bytes of field
            // header, plus both 8-byte sizes when a size is > 0xFFFFFFFF.
            if entry.bytes.count >= 0xFFFF_FFFF { header += entry.bytes.count > 0xFFFF_FFFF ? 20 : 4 }
            var field: [UInt8] = []
            if alignment > 1 {
                let unpadded = offset + header + 4
                let pad = (alignment - unpadded % alignment) % alignment
                field = [0x46, 0x42, UInt8(pad & 0xFF), UInt8(pad >> 8)] + [UInt8](repeating: 0x5A, count: pad)
            }
            let dataOffset = offset + header + field.count
            out.append((dataOffset, field))
            offset = dataOffset + entry.bytes.count
        }
        return out
    }

    /// Writes the archive to `url`, replacing any file there.
    /// - Throws: `.io` naming the path and libzip's (or the system's) message; `.invalidArgument` for
    ///   an archive without entries (libzip does not create empty archives) or with a name that is not
    ///   a valid zip entry name.
    func write(to url: URL) throws {
        let path = url.path
        guard !entries.isEmpty else {
            throw RNNRTError(.invalidArgument, "cannot write \(path): a zip archive needs at least one entry")
        }
        for entry in entries where entry.name.isEmpty || entry.name.utf8.count > 0xFFFF || entry.name.utf8.contains(0) {
            throw RNNRTError(.invalidArgument, "cannot write \(path): '\(entry.name.prefix(80))' is not a valid zip entry name")
        }
        let temporary = TemporaryFile.path(beside: url)
        var error: Int32 = 0
        guard let za = zip_open(temporary, ZIP_CREATE | ZIP_TRUNCATE, &error) else {
            throw RNNRTError(.io, "cannot create zip archive \(path): \(ZipArchive.describe(code: error))")
        }
        // libzip reads the buffers at zip_close; they stay ours (freep = 0) and are freed afterwards.
        var buffers: [UnsafeMutableRawPointer] = []
        defer { for b in buffers { b.deallocate() } }
        func fail(_ what: String) -> RNNRTError {
            let message = String(cString: zip_strerror(za))
            zip_discard(za)
            TemporaryFile.remove(temporary)
            return RNNRTError(.io, "cannot write zip archive \(path): \(what): \(message)")
        }
        for (entry, place) in zip(entries, layout()) {
            let count = entry.bytes.count
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
            buffers.append(buffer)
            entry.bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress, count > 0 { buffer.copyMemory(from: base, byteCount: count) }
            }
            guard let source = zip_source_buffer(za, buffer, UInt64(count), 0) else {
                throw fail("entry '\(entry.name)'")
            }
            let index = zip_file_add(za, entry.name, source, zip_flags_t(ZIP_FL_ENC_UTF_8))
            guard index >= 0 else {
                zip_source_free(source)
                throw fail("entry '\(entry.name)'")
            }
            guard zip_set_file_compression(za, UInt64(index), ZIP_CM_STORE, 0) == 0 else {
                throw fail("storing entry '\(entry.name)' uncompressed")
            }
            if !place.extraField.isEmpty {
                let payload = Array(place.extraField.dropFirst(4))
                let status = payload.withUnsafeBufferPointer { p in
                    zip_file_extra_field_set(za, UInt64(index), ZipWriter.paddingFieldID, UInt16.max,
                                             p.baseAddress, UInt16(payload.count), zip_flags_t(ZIP_FL_LOCAL))
                }
                guard status == 0 else { throw fail("aligning entry '\(entry.name)'") }
            }
        }
        guard zip_close(za) == 0 else { throw fail("finishing the archive") }
        try TemporaryFile.moveIntoPlace(temporary, destination: path)
    }
}

/// Temporary files beside a destination, renamed over it once complete (used by every rnnrt writer).
enum TemporaryFile {
    /// A fresh hidden path in `url`'s folder: `.<name>.rnnrt-<uuid>.tmp`.
    static func path(beside url: URL) -> String {
        let folder = url.deletingLastPathComponent().path
        let name = ".\(url.lastPathComponent).rnnrt-\(UUID().uuidString).tmp"
        return folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// Renames `temporary` over `destination` (atomic on one file system); removes `temporary` on failure.
    /// - Throws: `.io` naming the destination and the system's message.
    static func moveIntoPlace(_ temporary: String, destination: String) throws {
        guard rename(temporary, destination) == 0 else {
            let message = String(cString: strerror(errno))
            remove(temporary)
            throw RNNRTError(.io, "cannot write \(destination): \(message)")
        }
    }

    /// Deletes `path`, ignoring a missing file.
    static func remove(_ path: String) {
        _ = unlink(path)
    }
}
