import Foundation
import RNNRTCore

/// Reading files for the readers: one place that turns "missing", "a folder" and "unreadable" into a
/// clear `.io` error naming the path.
enum FileBytes {
    /// Up to `count` bytes from the start of the file (what format detection looks at); fewer, or none,
    /// when the file is shorter or cannot be read (a folder opens but reads nothing).
    ///
    /// Plain `open`/`read`: `FileHandle` costs more per call than the small read itself, and loading a checkpoint
    /// detects its format twice.
    static func head(of path: String, count: Int) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw cannotOpen(path) }
        defer { close(descriptor) }
        // No readahead for these few bytes: the rest of a cold file then comes into the page cache through
        // the checkpoint's mapping, in huge pages (see `MappedFile`), not in readahead's small ones.
        #if os(Linux)
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_RANDOM)
        #endif
        var out = [UInt8](repeating: 0, count: max(count, 0))
        var filled = 0
        out.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            while filled < buffer.count {
                let n = read(descriptor, base + filled, buffer.count - filled)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                filled += n
            }
        }
        out.removeSubrange(filled...)
        return out
    }

    /// The whole file.
    static func contents(of path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw cannotOpen(path) }
        return [UInt8](data)
    }

    private static func cannotOpen(_ path: String) -> RNNRTError {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        return RNNRTError(.io, exists ? (isDir.boolValue ? "\(path) is a folder, not a file" : "cannot open \(path)") : "no such file: \(path)")
    }
}
