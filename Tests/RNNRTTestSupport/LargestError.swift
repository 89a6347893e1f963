import Foundation

/// The largest error the fixture tests see per source of reference data (`torch`, `onnxruntime-op`, ...), printed
/// as it grows: the numbers the README's agreement line quotes.
public enum LargestError {
    nonisolated(unsafe) private static var worst: [String: (error: Float, place: String)] = [:]
    private static let lock = NSLock()

    public static func record(_ error: Float, at place: String, source: String) {
        lock.lock()
        defer { lock.unlock() }
        if error > (worst[source]?.error ?? -1) {
            worst[source] = (error, place)
            print("largest error for \(source) so far: \(error) (\(place))")
        }
    }
}
