import Foundation

/// Where each stored (uncompressed) entry's data starts, from the archive's own directory, so a stored
/// record — a checkpoint's tensor storage — is read with one `pread` straight into its destination.
///
/// libzip stays the reader of record: it opens and checks the archive, lists the entries and reads every
/// deflated one. libzip 1.7 runs a CRC-32 over every stored read, a large share of a checkpoint's load
/// time; this path skips that, as `torch.load(mmap=True)` does. An entry is
/// taken only when its central directory record and its local header agree with libzip's name, sizes and
/// method and the data lies inside the file; anything unexpected (including ZIP64 fields this parser
/// does not follow) leaves the entry to libzip.
struct ZipStoredData {
    /// Data offset of each stored entry, by name.
    private(set) var offsets: [String: Int] = [:]

    /// Reads `count` bytes at `offset` into `destination`; false when they cannot all be read.
    typealias ReadAt = (_ offset: Int, _ count: Int, _ destination: UnsafeMutableRawPointer) -> Bool

    init(archiveSize: Int, stored: [String: Int], readAt: ReadAt) {
        guard archiveSize >= 22, archiveSize < Int(UInt32.max), !stored.isEmpty else { return }
        func bytes(_ offset: Int, _ count: Int) -> [UInt8]? {
            guard offset >= 0, count >= 0, offset <= archiveSize - count else { return nil }
            var out = [UInt8](repeating: 0, count: count)
            let ok = out.withUnsafeMutableBytes { buffer in
                buffer.baseAddress.map { readAt(offset, count, $0) } ?? (count == 0)
            }
            return ok ? out : nil
        }
        func u16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func u32(_ b: [UInt8], _ i: Int) -> Int { u16(b, i) | u16(b, i + 2) << 16 }

        // End of central directory: the last signature within the final 64 KiB + 22 bytes.
        let tailCount = min(archiveSize, 65_557)
        guard let tail = bytes(archiveSize - tailCount, tailCount) else { return }
        var eocd = -1
        var i = tailCount - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { return }
        let entryCount = u16(tail, eocd + 10), directorySize = u32(tail, eocd + 12), directoryOffset = u32(tail, eocd + 16)
        // ZIP64 archives (0xFFFF / 0xFFFFFFFF markers) are left to libzip.
        guard entryCount != 0xFFFF, directorySize != 0xFFFF_FFFF, directoryOffset != 0xFFFF_FFFF,
              let directory = bytes(directoryOffset, directorySize) else { return }

        var seen = Set<String>()
        var at = 0
        for _ in 0..<entryCount {
            guard at + 46 <= directory.count, u32(directory, at) == 0x0201_4B50 else { return }
            let method = u16(directory, at + 10)
            let compressed = u32(directory, at + 20), size = u32(directory, at + 24)
            let nameLength = u16(directory, at + 28), extraLength = u16(directory, at + 30)
            let commentLength = u16(directory, at + 32), headerOffset = u32(directory, at + 42)
            let next = at + 46 + nameLength + extraLength + commentLength
            guard next <= directory.count else { return }
            let name = String(decoding: directory[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            at = next
            // A name listed twice is ambiguous: libzip decides which entry it means.
            guard seen.insert(name).inserted else {
                offsets[name] = nil
                continue
            }
            guard method == 0, compressed == size, stored[name] == size, size != 0xFFFF_FFFF,
                  headerOffset != 0xFFFF_FFFF,
                  let header = bytes(headerOffset, 30), u32(header, 0) == 0x0403_4B50, u16(header, 8) == 0,
                  u16(header, 26) == nameLength,
                  let localName = bytes(headerOffset + 30, nameLength), localName.elementsEqual(name.utf8)
            else { continue }
            let dataOffset = headerOffset + 30 + nameLength + u16(header, 28)
            guard dataOffset <= archiveSize - size else { continue }
            offsets[name] = dataOffset
        }
    }
}
