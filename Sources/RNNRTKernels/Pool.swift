import CRNNRTKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutual-exclusion lock (a pthread mutex) for state that threads share.
package final class Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock.
    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A flag one thread sets, once, and others read at any time (a caller's cancellation): an atomic `Int32` that C
/// code may read too, through `pointer`.
package final class AtomicFlag: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Int32>

    package init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: 0)
    }

    deinit { pointer.deallocate() }

    package func set() { rnnrt_flag_set(pointer) }

    package var isSet: Bool { rnnrt_flag_get(pointer) != 0 }
}

/// Nanoseconds on a monotonic clock that costs a few ns to read and advances every 1–4 ms (`rnnrt_coarse_clock_ns`):
/// for time limits, checked often, that need no finer resolution.
package func coarseClockNanoseconds() -> UInt64 { UInt64(rnnrt_coarse_clock_ns()) }

/// Objects kept for reuse by runs that may happen on several threads at once: each run borrows an idle one (a new
/// one when all are out) and gives it back, so the runs after the first make none.
package final class Pool<Item: AnyObject>: @unchecked Sendable {
    private let lock = Lock()
    private let make: () -> Item
    // Arrays of `AnyObject`, not of `Item`: operations on an array of a concrete type need no generic metadata looked up
    // at run time, and a plan borrows items once per run.
    private var idle: [AnyObject] = []
    private var made: [AnyObject] = []

    package init(_ make: @escaping () -> Item) {
        self.make = make
    }

    /// Runs `body` with an item no other run is using.
    package func withItem<R>(_ body: (Item) throws -> R) rethrows -> R {
        let item = lock.withLock { () -> Item in
            if let item = idle.popLast() { return unsafeDowncast(item, to: Item.self) }
            let item = make()
            made.append(item)
            return item
        }
        defer { lock.withLock { idle.append(item) } }
        return try body(item)
    }

    /// Every item made so far (for statistics: the items may be in use).
    package var items: [Item] { lock.withLock { made.map { unsafeDowncast($0, to: Item.self) } } }
}
