import Foundation

/// How many threads rnnrt's engine may use. Defaults to the number of active cores; `rnnrt bench --threads N` sets it.
///
/// With two or more, the directions of a bidirectional layer run side by side, and a unidirectional layer's sequence
/// runs on two threads that split its hidden units (a barrier between steps) when there is enough work.
public enum RNNRTThreads {
    nonisolated(unsafe) public static var count = ProcessInfo.processInfo.activeProcessorCount

    /// Multiply-adds of a whole sequence (steps · batch · G·H · (inputs + H)) from which a unidirectional layer splits
    /// its units over two threads (starting the second thread costs tens of µs).
    static let pairMinimumWork = 1 << 23
    /// Multiply-adds of one recurrent step (batch · G·H · H) from which the split pays for the barrier between steps.
    static let pairMinimumStepWork = 1 << 15
}
