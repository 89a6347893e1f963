import Foundation

/// How many threads rnnrt's engine may use. Defaults to the number of active cores; `rnnrt bench --threads N` sets it.
///
/// With two or more, the directions of a bidirectional layer run side by side, and a unidirectional layer's sequence
/// runs on two threads that split its hidden units (a barrier between steps) when there is enough work.
public enum RNNRTThreads {
    nonisolated(unsafe) public static var count = ProcessInfo.processInfo.activeProcessorCount

    /// (Both thresholds are variables so that tests can run small models on the two-thread path.)
    /// Multiply-adds of a whole sequence (steps · batch · G·H · (inputs + H)) from which a unidirectional layer splits
    /// its units over two threads: ~2–4 ms on one core. Starting the second thread and its first barriers cost up to
    /// a few hundred µs on a VM (LSTM(64, 128) over 100 steps, 10 M: 0.45 ms on one thread, 1.0 ms on two).
    nonisolated(unsafe) package static var pairMinimumWork = 1 << 26
    /// Multiply-adds of one recurrent step (batch · G·H · H) from which the split pays for the barrier between steps.
    nonisolated(unsafe) package static var pairMinimumStepWork = 1 << 15
}
