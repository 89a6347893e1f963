import Foundation
import RNNRTKernels

/// What one call may use: threads, memory and time.
///
/// `Plan` and `RecurrentModule` keep the options they are made with and use them for every call that passes none;
/// a call may pass its own (`plan.run(inputs, options:)`, `module.forward(x, options:)`); a `RecurrentStream` has
/// options of its own, its module's to begin with.
///
/// The defaults use every core and set no memory or time limit. An application that runs models it does not trust
/// sets both (the `rnnrt` command sets 4 GiB and 600 s unless told otherwise).
public struct RunOptions: Sendable {
    /// Threads a call may use (at least 1). With two or more, the directions of a bidirectional layer run side by
    /// side, a long unidirectional sequence splits its hidden units over two threads, and a module's large batch
    /// splits in two.
    public var threads: Int
    /// Bytes a call's values may hold at once; nil: no limit. Checked before every tensor whose size comes from the
    /// model (an operator's output sized by a shape input, repeats, pads or broadcasting; a recurrence's outputs and
    /// scratch) of more than 2^16 elements, counting the float values the call holds already; a call that would
    /// pass it throws `RNNRTError` `.limit`.
    public var memoryLimit: Int?
    /// Seconds a call may take; nil: no limit. Checked before each node of a graph, each `Loop` iteration and `If`
    /// branch, and between chunks of a recurrence's steps (about a millisecond of work each); a call past it throws
    /// `RNNRTError` `.limit`. Loading a `Plan` with these options holds the nodes it computes once (constant folding)
    /// to the same limit, all of them together.
    public var timeLimit: Double?
    /// Stops the calls that use these options, from any thread, at their next check.
    public var cancellation: Cancellation?

    /// Multiply-adds of a whole sequence (steps · batch · G·H · (inputs + H)) from which a unidirectional layer splits
    /// its units over two threads: below it, starting the second thread and its first barriers cost more than the
    /// split saves. (Options, not constants, so that tests can run small models on the two-thread path.)
    package var pairMinimumWork = 1 << 26
    /// Multiply-adds of one recurrent step (batch · G·H · H) from which the split pays for the barrier between steps.
    package var pairMinimumStepWork = 1 << 15

    /// Options with `threads` (at least 1; default every active core), `memoryLimit` in bytes and `timeLimit` in
    /// seconds (nil: none; a negative one counts as 0) and a `cancellation`.
    public init(threads: Int = RunOptions.cores, memoryLimit: Int? = nil, timeLimit: Double? = nil,
                cancellation: Cancellation? = nil) {
        self.threads = max(1, threads)
        self.memoryLimit = memoryLimit.map { max(0, $0) }
        self.timeLimit = timeLimit.map { $0 > 0 ? $0 : 0 }
        self.cancellation = cancellation
    }

    /// The active cores of this machine: the default `threads`.
    public static let cores = ProcessInfo.processInfo.activeProcessorCount
}

/// A flag that stops the calls whose `RunOptions` hold it: `cancel()` from any thread, and each such call throws
/// `.limit` at its next check (the next node of a graph, `Loop` iteration, or chunk of a recurrence's steps).
public final class Cancellation: Sendable {
    package let flag = AtomicFlag()

    /// A flag not yet set.
    public init() {}

    /// Sets the flag, from any thread: the calls using it stop at their next check, and every later call using it
    /// stops at its first. It cannot be cleared; make a new `Cancellation` for the next call.
    public func cancel() { flag.set() }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { flag.isSet }
}

/// What a call holds in memory already, counted against its memory limit: a graph run's arena.
package protocol MemoryHolder: AnyObject {
    var heldBytes: Int { get }
}

/// One call's limits, made from its `RunOptions` as it starts: its deadline, cancellation flag and memory limit, and
/// its threads. The executor checks them before each node, `Loop` and `If` before each iteration and branch, a
/// recurrence between chunks of steps, and `ElementCount` before each tensor sized from the model. Read-only but for
/// what `holder` counts, so the threads of one call share it.
package final class RunLimits: @unchecked Sendable {
    /// The limits of the graph run in progress on this thread (or of the node being constant-folded): bound by a
    /// plan's outermost `run`, read once per run by the plans of its `If` and `Loop` bodies, by the operators that
    /// need them, and by `ElementCount` for large counts only.
    @TaskLocal package static var current: RunLimits?

    package let options: RunOptions
    /// The most elements one tensor may have: `ElementCount.maximum`, fewer while a node is constant-folded.
    package let elements: Int
    /// Bytes the call may hold; `Int.max`: no limit.
    package let memoryLimit: Int
    /// What the call holds already (a graph run's arena), or nil.
    package let holder: (any MemoryHolder)?
    /// Whether `check` can throw: a time limit or a cancellation is set.
    package let stops: Bool
    /// `coarseClockNanoseconds()` past which the call stops; `.max`: never.
    package let deadline: UInt64
    private let flag: AtomicFlag?

    package init(_ options: RunOptions = RunOptions(), elements: Int = ElementCount.maximum,
                 holder: (any MemoryHolder)? = nil) {
        self.options = options
        self.elements = elements
        self.holder = holder
        memoryLimit = options.memoryLimit ?? .max
        flag = options.cancellation?.flag
        if let seconds = options.timeLimit {
            // Saturating: a limit of centuries is no limit.
            let nanoseconds = seconds * 1e9
            deadline = nanoseconds < 1e18 ? coarseClockNanoseconds() &+ UInt64(nanoseconds) : .max
        } else {
            deadline = .max
        }
        stops = flag != nil || deadline != .max
    }

    /// These limits with `elements` as the element limit and nothing held: the same deadline and cancellation, for the
    /// nodes a load runs once (constant folding), so one load spends one time limit.
    package func folding(elements: Int) -> RunLimits { RunLimits(copying: self, elements: elements) }

    private init(copying other: RunLimits, elements: Int) {
        options = other.options
        self.elements = elements
        holder = nil
        memoryLimit = other.memoryLimit
        flag = other.flag
        deadline = other.deadline
        stops = other.stops
    }

    /// Whether `check` would throw now: the call was cancelled or its time is up.
    @inline(__always)
    package var hasStopped: Bool {
        stops && ((flag?.isSet ?? false) || (deadline != .max && coarseClockNanoseconds() > deadline))
    }

    /// The cancellation flag for C code that checks it (`rnnrt_flag_get`), or nil.
    package var flagPointer: UnsafePointer<Int32>? { flag.map { UnsafePointer($0.pointer) } }

    /// Throws `.limit` when the call was cancelled or its time is up; `place` says where it stopped (`before Add node
    /// 'x'`). Costs a flag load and, with a time limit, a read of the coarse clock (a few ns).
    @inline(__always)
    package func check(_ place: @autoclosure () -> String) throws {
        if hasStopped { throw stopped(place()) }
    }

    /// The error of a call whose time ran out at `place`.
    package func timeUp(_ place: String) -> RNNRTError {
        let seconds = options.timeLimit ?? 0
        let text = seconds == seconds.rounded() && seconds < 1e15 ? "\(Int(seconds))" : "\(seconds)"
        return RNNRTError(.limit, "the time limit of \(text) s ran out \(place)")
    }

    /// The error of a call stopped at `place` by its cancellation or its deadline, whichever holds (C code that
    /// checks both reports only that it stopped).
    package func stopped(_ place: String) -> RNNRTError {
        if let flag, flag.isSet { return RNNRTError(.limit, "the call was cancelled \(place)") }
        return timeUp(place)
    }
}
