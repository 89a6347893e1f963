#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNRTKernels

/// A whole file mapped read-only (`PROT_READ`, `MAP_PRIVATE`), so a checkpoint's float32 storages are used
/// in place instead of copied, and an ONNX file is decoded where it lies instead of being read into memory first.
///
/// Pages are mapped on first touch, as with any file mapping (`torch.load(mmap=True)`, safetensors): `init`
/// maps the file and returns, and the bytes the loader reads (zip directory, pickle) and later the weights the
/// first forward pass reads fault in as they are used. Mapping every page up front would keep that work in the
/// load, but what it costs depends on how the page cache holds the file (little for 2 MB folios, much more for
/// small ones), not on rnnrt. (`rnnrt bench` reports the first forward pass separately, as `first_ms`, so that
/// deferred cost is seen.)
///
/// On Linux the mapping is also advised `MADV_HUGEPAGE` before it is touched: pages not cached yet are then
/// read from disk into 2 MB folios (a quicker cold read), where every later load of the file finds them cheap
/// to map. Pages already cached stay as they are (advice only; it allocates no anonymous huge pages,
/// so it cannot stall a load in memory compaction as those can). That needs the file's first reads to come
/// through the mapping: `ZipArchive` maps before libzip reads, and format detection reads its few bytes without
/// readahead; the page it reads still leaves the 2 MB block around it in small folios.
///
/// Nothing can write through the mapping: its pages are read-only, so a stray write faults instead of
/// changing the weights or the file. Like `torch.load(mmap=True)`, the mapping follows the file: if another
/// process truncates the file while it is mapped, reading the lost pages
/// raises `SIGBUS`, and writing into the file in place changes the weights a bound module computes with.
/// Replacing the file (write a new one, rename it over the old, as `writeTorch` does) is safe: the mapping
/// keeps the old contents. The file is unmapped when the last `FloatStorage` borrowed from it, and the archive,
/// are gone.
///
/// `@unchecked Sendable`: the mapped bytes are never written, and unmapped only in `deinit`.
package final class MappedFile: @unchecked Sendable {
    /// The file's bytes.
    package let bytes: UnsafeRawBufferPointer

    /// Maps the file at `path` (its pages fault in when first read).
    /// - Throws: `RNNRTError` `.io` when the file cannot be opened or mapped, or is empty (nothing to map).
    package init(path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw RNNRTError(.io, "cannot open \(path) to map it: \(MappedFile.lastError())")
        }
        // The mapping holds the file; the descriptor is not needed after mmap.
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw RNNRTError(.io, "cannot read the size of \(path): \(MappedFile.lastError())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0, let size = Int(exactly: info.st_size) else {
            throw RNNRTError(.io, "\(path) is not a non-empty regular file: nothing to map")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0),
              base != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw RNNRTError(.io, "cannot map \(path): \(MappedFile.lastError())")
        }
        #if os(Linux)
        _ = madvise(base, size, MADV_HUGEPAGE)
        #endif
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// Number of bytes mapped (the file's size when mapped).
    package var count: Int { bytes.count }

    /// `count` float32 elements at byte `offset`, used in place (no copy; the storage keeps this mapping
    /// alive). Nil when they do not lie within the file or `offset` is not aligned for `Float`.
    package func floats(at offset: Int, count: Int) -> FloatStorage? {
        let size = MemoryLayout<Float>.stride
        guard let base = bytes.baseAddress, offset >= 0, offset <= bytes.count, count >= 0, count <= (bytes.count - offset) / size,
              offset % MemoryLayout<Float>.alignment == 0 else { return nil }
        let elements = (base + offset).bindMemory(to: Float.self, capacity: count)
        return FloatStorage(unsafeBorrowing: elements, count: count, owner: self)
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
