import Foundation

/// How many threads rnnrt's engine may use (directions of a bidirectional layer run side by side).
/// Defaults to the number of active cores; `rnnrt bench --threads N` sets it.
public enum RNNRTThreads {
    nonisolated(unsafe) public static var count = ProcessInfo.processInfo.activeProcessorCount
}
