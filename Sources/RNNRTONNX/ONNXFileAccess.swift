import Foundation
import RNNRTCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system access for the decoder, each failure an `RNNRTError` naming the path.
enum FileAccess {
    /// The size of the model file at `path`, which must be a regular file.
    static func modelFileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            throw RNNRTError(.io, code == ENOENT || code == ENOTDIR ? "no such file: \(path)"
                : "cannot open \(path): \(String(cString: strerror(code)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw RNNRTError(.io, (info.st_mode & S_IFMT) == S_IFDIR ? "\(path) is a folder, not a file" : "\(path) is not a regular file")
        }
        return Int(info.st_size)
    }

    /// The canonical absolute path (symlinks, `.` and `..` resolved); the file must exist.
    static func realPath(_ path: String, role: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            let code = errno
            throw RNNRTError(.io, code == ENOENT || code == ENOTDIR ? "no such file: \(path) (\(role))"
                : "cannot open \(path) (\(role)): \(String(cString: strerror(code)))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The size of a regular file; FIFOs, devices and folders are refused.
    static func regularFileSize(_ path: String, role: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw RNNRTError(.io, "cannot open \(path) (\(role)): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw RNNRTError(.io, "\(path) (\(role)) is not a regular file")
        }
        return Int(info.st_size)
    }

    /// Exactly `length` bytes starting at `offset`.
    static func read(_ path: String, offset: Int, length: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RNNRTError(.io, "cannot open \(path)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            try handle.seek(toOffset: UInt64(offset))
            data = try handle.read(upToCount: length) ?? Data()
        } catch {
            throw RNNRTError(.io, "cannot read \(length) bytes at offset \(offset) of \(path): \((error as NSError).localizedDescription)")
        }
        guard data.count == length else {
            throw RNNRTError(.io, "read \(data.count) of \(length) bytes at offset \(offset) of \(path): the file shrank while reading")
        }
        return [UInt8](data)
    }
}
