import CLibzip
import Foundation
import RNNRTCore
import RNNRTKernels

/// A zip archive read through libzip: the only file in rnnrt that touches libzip.
///
/// Entries are listed once at open. Reading is bounded before anything is allocated: a stored entry
/// cannot be larger than the archive, a deflated one cannot inflate more than `maxDeflateRatio` times.
/// Stored entries are read raw: straight from the file at the offset `ZipStoredData` finds (no CRC pass),
/// or through libzip when that offset is not known. An archive opened from a path is mapped read-only
/// (`MappedFile`), so a stored entry can also be used in place (`mappedFloats(_:)`) with no read at all.
final class ZipArchive {
    /// How stored entries whose data offset is known are read from an archive opened from a path.
    enum StoredReads {
        /// From a read-only mapping of the whole file (float32 entries can be used in place); `pread`
        /// where the file cannot be mapped (an empty file, a failed `mmap`).
        case mapped
        /// With one `pread` each, into fresh memory.
        case pread
        /// Through libzip, like deflated entries (no direct reads).
        case libzip
    }

    /// One entry of the central directory.
    struct Entry {
        let index: UInt64
        let name: String
        let size: Int
        let compressedSize: Int
        let method: Int
    }

    /// Deflate cannot expand data by more than about 1032:1.
    static let maxDeflateRatio = 1032

    let entries: [Entry]
    /// Index in `entries` of the first entry of each name.
    private let indexByName: [String: Int]
    private let handle: OpaquePointer
    private let archiveSize: Int
    private let label: String

    /// Number of stored entries read directly from the file (the rest go through libzip).
    var directlyReadableCount: Int { storedData.offsets.count }

    /// Whether the archive's file is mapped (stored entries are read from, or used in, the mapping).
    var isMapped: Bool { mapping != nil }

    /// Opens the zip archive at `path`, reading stored entries as `storedReads` says.
    ///
    /// Mapped, libzip reads the archive from the mapping too: the file is mapped (see `MappedFile`) before
    /// anything else of it is read, so a cold file comes into the page cache
    /// through the mapping's huge-page advice rather than through libzip's small reads.
    convenience init(path: String, storedReads: StoredReads = .mapped) throws {
        // A file that cannot be mapped is read with zip_open and pread, as before mapping existed.
        if storedReads == .mapped, let mapping = try? MappedFile(path: path), let base = mapping.bytes.baseAddress {
            let za = try ZipArchive.openBuffer(base, count: mapping.count)
            try self.init(handle: za, archiveSize: mapping.count, label: path, mapping: mapping)
            return
        }
        var error: Int32 = 0
        guard let za = zip_open(path, ZIP_RDONLY, &error) else {
            throw RNNRTError(.malformed, "not a readable zip archive: \(ZipArchive.describe(code: error))")
        }
        let fd = storedReads != .libzip ? open(path, O_RDONLY | O_CLOEXEC) : -1
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        try self.init(handle: za, archiveSize: size ?? Int.max, label: path, descriptor: fd >= 0 ? fd : nil)
    }

    /// Opens a zip archive held in memory (copied; the archive does not refer to `bytes` afterwards).
    convenience init(bytes: [UInt8], label: String) throws {
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { copy.copyMemory(from: base, byteCount: bytes.count) }
        }
        let za: OpaquePointer
        do {
            za = try ZipArchive.openBuffer(copy, count: bytes.count)
        } catch {
            copy.deallocate()
            throw error
        }
        try self.init(handle: za, archiveSize: bytes.count, label: label, ownedBuffer: copy)
    }

    /// libzip reading the `count` bytes at `base`, which stay the caller's (freep = 0: libzip neither
    /// writes nor frees them) and must outlive the handle (they are freed or unmapped after zip_discard).
    private static func openBuffer(_ base: UnsafeRawPointer, count: Int) throws -> OpaquePointer {
        var zerr = zip_error_t()
        zip_error_init(&zerr)
        defer { zip_error_fini(&zerr) }
        guard let source = zip_source_buffer_create(base, UInt64(count), 0, &zerr) else {
            throw RNNRTError(.malformed, "cannot read the zip archive from memory: \(String(cString: zip_error_strerror(&zerr)))")
        }
        guard let za = zip_open_from_source(source, ZIP_RDONLY, &zerr) else {
            zip_source_free(source)
            throw RNNRTError(.malformed, "not a readable zip archive: \(String(cString: zip_error_strerror(&zerr)))")
        }
        return za
    }

    /// The in-memory archive's bytes, when opened from memory (zip_discard frees the source, not these).
    private let ownedBuffer: UnsafeMutableRawPointer?

    /// The archive file, for reading stored entries directly when it is not mapped (nil in memory).
    private let descriptor: Int32?
    /// The archive file mapped read-only, which libzip reads too (nil in memory, or when it could not be
    /// mapped); unmapped after zip_discard, when the last storage borrowed from it is gone.
    private let mapping: MappedFile?
    /// Where stored entries' data starts (see `ZipStoredData`).
    private var storedData = ZipStoredData(archiveSize: 0, stored: [:]) { _, _, _ in false }

    private init(handle: OpaquePointer, archiveSize: Int, label: String,
                 ownedBuffer: UnsafeMutableRawPointer? = nil, descriptor: Int32? = nil, mapping: MappedFile? = nil) throws {
        self.handle = handle
        self.archiveSize = archiveSize
        self.label = label
        self.ownedBuffer = ownedBuffer
        self.descriptor = descriptor
        self.mapping = mapping
        let count = zip_get_num_entries(handle, 0)
        var list: [Entry] = []
        if count > 0 {
            list.reserveCapacity(Int(min(count, 1 << 20)))
            for i in 0..<UInt64(count) {
                var st = zip_stat_t()
                zip_stat_init(&st)
                guard zip_stat_index(handle, i, 0, &st) == 0, let cname = st.name else {
                    zip_discard(handle)
                    throw RNNRTError(.malformed, "zip entry \(i) of \(label) cannot be read: \(String(cString: zip_strerror(handle)))")
                }
                list.append(Entry(index: i, name: String(cString: cname),
                                  size: Int(clamping: st.size), compressedSize: Int(clamping: st.comp_size),
                                  method: Int(st.comp_method)))
            }
        }
        entries = list
        // First entry of each name (what `entry(named:)` returns), and the names listed more than once.
        var firstIndex: [String: Int] = [:]
        var repeated = Set<String>()
        for (i, e) in list.enumerated() {
            if firstIndex[e.name] == nil { firstIndex[e.name] = i } else { repeated.insert(e.name) }
        }
        indexByName = firstIndex
        var stored: [String: Int] = [:]
        for e in list where e.method == 0 && e.size == e.compressedSize && !repeated.contains(e.name) { stored[e.name] = e.size }
        storedData = ZipStoredData(archiveSize: archiveSize, stored: stored) { [self] offset, count, destination in
            readAt(offset, count, destination)
        }
    }

    deinit {
        zip_discard(handle)
        ownedBuffer?.deallocate()
        if let descriptor { close(descriptor) }
    }

    /// Before a large read into fresh memory: maps all of its pages in one call (Linux 5.14+
    /// `MADV_POPULATE_WRITE`) instead of taking one page fault per 4 KB during the copy, faults that would take
    /// most of a large checkpoint's load time. Huge pages (`MADV_HUGEPAGE`) are not asked for: they can stall a
    /// load in memory compaction. Advice only: ignored where unsupported.
    private static func prepareDestination(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        #if os(Linux)
        let page = 4096
        guard byteCount >= 64 * page else { return }
        let first = (Int(bitPattern: base) + page - 1) & ~(page - 1)
        let last = (Int(bitPattern: base) + byteCount) & ~(page - 1)
        if last > first, let pages = UnsafeMutableRawPointer(bitPattern: first) {
            _ = madvise(pages, last - first, 23)  // MADV_POPULATE_WRITE
        }
        #endif
    }

    /// `count` bytes of the archive at `offset` (bounds checked by the caller, against the mapping's size
    /// when mapped), from the buffer, the mapping or the file.
    private func readAt(_ offset: Int, _ count: Int, _ destination: UnsafeMutableRawPointer) -> Bool {
        if let ownedBuffer {
            destination.copyMemory(from: ownedBuffer + offset, byteCount: count)
            return true
        }
        if let mapping {
            guard let base = mapping.bytes.baseAddress, offset >= 0, count >= 0, offset <= mapping.count - count else { return false }
            destination.copyMemory(from: base + offset, byteCount: count)
            return true
        }
        guard let descriptor else { return false }
        var done = 0
        while done < count {
            let n = pread(descriptor, destination + done, count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// The float32 elements of stored entry `entry` used in place in the archive's mapping: no read and no
    /// copy; the storage keeps the mapping alive and is read only. Nil unless the archive is mapped, the
    /// entry's data offset is known (`ZipStoredData`: directory and local header agree, data inside the file)
    /// and 4-byte aligned (torch.save aligns records to 64 bytes), and its size is a whole number of floats;
    /// then read it with `read(_:as:)`.
    func mappedFloats(_ entry: Entry) -> FloatStorage? {
        guard let mapping, entry.method == 0, entry.size == entry.compressedSize,
              entry.size % MemoryLayout<Float>.stride == 0,
              let offset = storedData.offsets[entry.name] else { return nil }
        return mapping.floats(at: offset, count: entry.size / MemoryLayout<Float>.stride)
    }

    /// The entry called `name` (the first, if the archive lists it twice), if any.
    func entry(named name: String) -> Entry? {
        indexByName[name].map { entries[$0] }
    }

    /// The uncompressed bytes of `entry`.
    /// - Throws: `.malformed` when the entry claims more bytes than can exist or be read,
    ///   `.unsupported` for compression methods other than stored and deflate.
    func read(_ entry: Entry) throws -> [UInt8] {
        try read(entry, as: UInt8.self)
    }

    /// The uncompressed contents of `entry` read straight into elements of `T` (host byte order; a float32
    /// storage becomes `[Float]` with no second copy).
    /// - Throws: as `read(_:)`, and `.malformed` when the size is not a whole number of elements.
    func read<T: BitwiseCopyable>(_ entry: Entry, as _: T.Type) throws -> [T] {
        let raw: Bool
        switch entry.method {
        case 0:
            raw = true
            guard entry.size == entry.compressedSize, entry.size <= archiveSize else {
                throw RNNRTError(.malformed, "zip entry '\(entry.name)' claims \(entry.size) bytes, more than the \(archiveSize)-byte archive holds")
            }
        case 8:
            raw = false
            let (bound, overflow) = entry.compressedSize.multipliedReportingOverflow(by: ZipArchive.maxDeflateRatio)
            guard entry.compressedSize <= archiveSize, overflow || entry.size <= bound else {
                throw RNNRTError(.malformed, "zip entry '\(entry.name)' claims \(entry.size) bytes from \(entry.compressedSize) compressed bytes, more than deflate can produce")
            }
        default:
            throw RNNRTError(.unsupported, "zip entry '\(entry.name)' uses compression method \(entry.method); rnnrt reads stored (0) and deflate (8)")
        }
        let stride = MemoryLayout<T>.stride
        guard entry.size % stride == 0 else {
            throw RNNRTError(.malformed, "zip entry '\(entry.name)' holds \(entry.size) bytes, not a whole number of \(stride)-byte elements")
        }
        if raw, let offset = storedData.offsets[entry.name] {
            var ok = true
            let out = [T](unsafeUninitializedCapacity: entry.size / stride) { buffer, initialized in
                initialized = buffer.count
                guard let base = buffer.baseAddress else { return }
                ZipArchive.prepareDestination(UnsafeMutableRawPointer(base), byteCount: entry.size)
                ok = readAt(offset, entry.size, UnsafeMutableRawPointer(base))
            }
            guard ok else {
                throw RNNRTError(.malformed, "zip entry '\(entry.name)' claims \(entry.size) bytes at offset \(offset) but they could not be read")
            }
            return out
        }
        guard let file = zip_fopen_index(handle, entry.index, raw ? zip_flags_t(ZIP_FL_COMPRESSED) : 0) else {
            throw RNNRTError(.malformed, "zip entry '\(entry.name)' cannot be opened: \(String(cString: zip_strerror(handle)))")
        }
        defer { zip_fclose(file) }
        var filled = 0
        var failed = false
        // Uninitialized: every element is read into, or the array is discarded by the throw below.
        let out = [T](unsafeUninitializedCapacity: entry.size / stride) { buffer, initialized in
            initialized = buffer.count
            guard let base = buffer.baseAddress else { return }
            let raw = UnsafeMutableRawPointer(base)
            while filled < entry.size {
                let n = zip_fread(file, raw + filled, UInt64(entry.size - filled))
                if n < 0 { failed = true; return }
                if n == 0 { return }
                filled += Int(n)
            }
        }
        guard !failed, filled == entry.size else {
            let why = failed ? String(cString: zip_file_strerror(file)) : "the archive ends early"
            throw RNNRTError(.malformed, "zip entry '\(entry.name)' claims \(entry.size) bytes but only \(filled) could be read (\(why))")
        }
        return out
    }

    /// libzip's message for the error `code` (shared with `ZipWriter`).
    static func describe(code: Int32) -> String {
        var zerr = zip_error_t()
        zip_error_init_with_code(&zerr, code)
        defer { zip_error_fini(&zerr) }
        return String(cString: zip_error_strerror(&zerr))
    }
}
