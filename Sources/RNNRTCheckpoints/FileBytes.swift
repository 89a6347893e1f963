import Foundation
import RNNRTCore

/// Reading files for the readers: one place that turns "missing", "a folder" and "unreadable" into a
/// clear `.io` error naming the path.
enum FileBytes {
    /// Up to `count` bytes from the start of the file (what format detection looks at).
    static func head(of path: String, count: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw cannotOpen(path) }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: count)) ?? Data())
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
