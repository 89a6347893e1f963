import RNNRTCore
import RNNRTKernels

/// The float buffers a run of a plan computes into. An operator takes its output's elements from here
/// (`outputFloats`); the executor gives back every buffer that no value of the run holds any more, so a call with
/// the shapes of the calls before it reuses their buffers instead of allocating. The outputs a run returns leave the
/// arena (they are the caller's), so each call makes new buffers for those alone.
///
/// Buffers are pooled by element count. A call with new shapes makes what it lacks; when the pool holds more than
/// twice the floats the last call took, it is emptied, so calls whose shapes keep changing do not make it grow
/// without bound.
///
/// An arena serves one run at a time (a plan lends one to each run, `ArenaPool`), so it needs no lock. The operators
/// of a run find it through the run's limits, the task-local value the outermost `Plan.run` binds (`RunLimits`,
/// whose `holder` it is: the floats its values hold count against the run's memory limit), so the plans of `If` and
/// `Loop` bodies use their enclosing run's arena; outside a run, `outputFloats` allocates.
final class FloatArena: MemoryHolder, @unchecked Sendable {
    /// The arena of the run in progress on this thread, or nil.
    static var current: FloatArena? { RunLimits.current?.arena }

    /// Pooled buffers by element count: `sizes[i]` and its buffers `stacks[i]` (a handful of sizes, searched without
    /// hashing).
    private var sizes: [Int] = []
    private var stacks: [[[Float]]] = []
    private var pooledFloats = 0
    /// Base addresses of the buffers this arena made that have not left it.
    private var made: Set<UInt> = []
    private var takenFloats = 0
    /// Buffers made since the arena was created.
    private(set) var buffersMade = 0
    /// Floats in buffers made and not yet back in the pool.
    private var floatsOut = 0
    /// Float values steps computed outside the arena (an operator that allocates its output itself), counted by
    /// `Plan.run`: an input or constant passed on as it is does not count.
    private(set) var foreignBuffers = 0
    /// The operator types that computed them.
    private(set) var foreignOperators: Set<String> = []
    /// The values the plan's steps computed from its inputs' shapes in the runs that borrowed this arena, kept for the
    /// next (`ShapeMemo`).
    let shapeMemo = ShapeMemo()

    /// Floats held in the pool and in buffers out on loan: what the arena's buffers add up to.
    var floatsHeld: Int { pooledFloats + floatsOut }

    /// The bytes of the buffers out on loan: the float values the run holds (the pooled ones are free for its next
    /// values of their sizes).
    var heldBytes: Int { floatsOut &* MemoryLayout<Float>.stride }

    func countForeign(_ opType: String) {
        foreignBuffers += 1
        foreignOperators.insert(opType)
    }

    /// An array of `count` floats, its contents unspecified: a pooled buffer of that size, or a new one.
    func take(_ count: Int) -> [Float] {
        guard count > 0 else { return [] }
        takenFloats += count
        floatsOut += count
        if let i = sizes.firstIndex(of: count), let array = stacks[i].popLast() {
            pooledFloats -= count
            return array
        }
        let array = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        buffersMade += 1
        if let address = FloatArena.address(array) { made.insert(address) }
        return array
    }

    /// Whether `array`'s buffer is one this arena made (and has not left it).
    func owns(_ array: [Float]) -> Bool {
        guard !made.isEmpty, let address = FloatArena.address(array) else { return false }
        return made.contains(address)
    }

    /// Takes back a buffer of this arena that nothing in the run holds any more.
    func recycle(_ array: [Float]) {
        guard !array.isEmpty else { return }
        if let i = sizes.firstIndex(of: array.count) {
            stacks[i].append(array)
        } else {
            sizes.append(array.count)
            stacks.append([array])
        }
        pooledFloats += array.count
        floatsOut -= array.count
    }

    /// A buffer of this arena returned to the caller: it is theirs from now on.
    func release(_ array: [Float]) {
        guard let address = FloatArena.address(array), made.remove(address) != nil else { return }
        floatsOut -= array.count
    }

    /// The end of a run, its outputs released: every buffer the run did not give back is gone (a run that failed
    /// leaves some), so the arena's own are the pooled ones; the pool is emptied when it holds more than twice what
    /// the run took.
    func finishRun() {
        if pooledFloats > 2 * takenFloats {
            sizes = []
            stacks = []
            pooledFloats = 0
            made = []
        } else if floatsOut != 0 {
            // Some buffer neither came back nor left as an output.
            made = Set(stacks.joined().compactMap { FloatArena.address($0) })
        }
        floatsOut = 0
        takenFloats = 0
    }

    /// The first element's address, which identifies an array's buffer (nil when empty).
    static func address(_ array: [Float]) -> UInt? {
        array.withUnsafeBufferPointer { $0.baseAddress.map { UInt(bitPattern: $0) } }
    }
}

/// The arenas of a plan: each run borrows one (a new one when all are out, as when threads run the plan at once) and
/// gives it back.
final class ArenaPool: Sendable {
    private let pool = Pool { FloatArena() }

    /// Runs `body` with an arena no other run is using.
    func withArena<R>(_ body: (FloatArena) throws -> R) rethrows -> R { try pool.withItem(body) }

    /// Totals over the arenas, for tests: buffers made, values computed outside them, floats held.
    var buffersMade: Int { pool.items.reduce(0) { $0 + $1.buffersMade } }
    var foreignBuffers: Int { pool.items.reduce(0) { $0 + $1.foreignBuffers } }
    var foreignOperators: Set<String> { pool.items.reduce(into: []) { $0.formUnion($1.foreignOperators) } }
    var floatsHeld: Int { pool.items.reduce(0) { $0 + $1.floatsHeld } }
    /// Runs that took their values known from shapes from a run before them (`ShapeMemo`), for tests.
    var shapeMemoReplays: Int { pool.items.reduce(0) { $0 + $1.shapeMemo.replays } }
}

/// One run of a plan (or of a body inside it) and the arena's buffers: how many of the run's slots hold each buffer
/// the run computed, and each given back when the last slot lets go. A value passed on from an input, a constant or
/// the enclosing run's values is not the run's to give back.
struct RunBuffers {
    let arena: FloatArena?
    private var holders = AddressCounts()

    init(arena: FloatArena?) { self.arena = arena }

    /// Whether `address` is the buffer of one of a step's arguments.
    private static func passesOn(_ address: UInt, _ args: [GraphTensor?]) -> Bool {
        args.contains { $0.flatMap { FloatArena.address($0.floatsUnchecked) } == address }
    }

    /// `value`, a result of `step` reading `args`, now held by a slot.
    mutating func hold(_ value: GraphTensor, from step: Plan.Step, readingFrom args: [GraphTensor?]) {
        guard let arena, case .float(let v) = value.elements, let address = FloatArena.address(v) else { return }
        let passedOn = RunBuffers.passesOn(address, args)
        if holders.contains(address) || (!passedOn && arena.owns(v)) {
            holders.hold(address)
        } else if !passedOn && !(step.op is IfOp || step.op is LoopOp) {
            // (What an If or a Loop returns, its bodies' steps computed, or is a constant of theirs.)
            arena.countForeign(step.node.opType)
        }
    }

    /// A slot lets go of `value`.
    mutating func drop(_ value: GraphTensor) {
        guard let arena, case .float(let v) = value.elements, let address = FloatArena.address(v),
              holders.release(address) else { return }
        arena.recycle(v)
    }

    /// A result no slot takes: given back at once if the step computed it.
    func discard(_ value: GraphTensor, readingFrom args: [GraphTensor?]) {
        guard let arena, case .float(let v) = value.elements, arena.owns(v), let address = FloatArena.address(v),
              !holders.contains(address), !RunBuffers.passesOn(address, args) else { return }
        arena.recycle(v)
    }
}

/// How many slots of a run hold each arena buffer, by address: a few dozen at a time, so kept in two arrays searched
/// from the end (the latest buffers are the likeliest), with no hashing.
struct AddressCounts {
    private var addresses: [UInt] = []
    private var counts: [Int] = []

    func contains(_ address: UInt) -> Bool { addresses.lastIndex(of: address) != nil }

    /// One more slot holds `address`.
    mutating func hold(_ address: UInt) {
        if let i = addresses.lastIndex(of: address) { counts[i] += 1; return }
        addresses.append(address)
        counts.append(1)
    }

    /// One slot fewer holds `address`: true when it was the last (and the buffer may go back).
    mutating func release(_ address: UInt) -> Bool {
        guard let i = addresses.lastIndex(of: address) else { return false }
        if counts[i] > 1 { counts[i] -= 1; return false }
        addresses.swapAt(i, addresses.count - 1)
        counts.swapAt(i, counts.count - 1)
        addresses.removeLast()
        counts.removeLast()
        return true
    }
}

extension RunLimits {
    /// The arena of a graph run's limits (the only holder a run has).
    var arena: FloatArena? { holder.map { unsafeDowncast($0, to: FloatArena.self) } }
}

/// `count` floats for an operator's output, each written by `fill`: from the running plan's arena (`FloatArena`), or
/// new outside a run.
func outputFloats(_ count: Int, _ fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> [Float] {
    var array = FloatArena.current?.take(count) ?? [Float](unsafeUninitializedCapacity: count) { $1 = count }
    try array.withUnsafeMutableBufferPointer { try fill($0) }
    return array
}

/// `outputFloats` for any element type: floats come from the arena, other elements are allocated.
func outputArray<T: BitwiseCopyable>(_ count: Int, _ fill: (UnsafeMutableBufferPointer<T>) throws -> Void) rethrows -> [T] {
    if T.self == Float.self {
        return unsafeBitCast(try outputFloats(count) { try fill(unsafeBitCast($0, to: UnsafeMutableBufferPointer<T>.self)) },
                             to: [T].self)
    }
    return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        try fill(buffer)
        initialized = count
    }
}

/// `count` floats an operator works in and gives back before it returns (valid inside `body`): from the running
/// plan's arena, or new outside a run.
func withTemporaryFloats<R>(_ count: Int, _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
    guard let arena = FloatArena.current else {
        var array = [Float](unsafeUninitializedCapacity: count) { $1 = count }
        return try array.withUnsafeMutableBufferPointer { try body($0) }
    }
    var array = arena.take(count)
    defer { arena.recycle(array) }
    return try array.withUnsafeMutableBufferPointer { try body($0) }
}

extension Array where Element: BitwiseCopyable {
    /// `map(f)` into an operator's output (floats from the running plan's arena).
    func mapOutput<R: BitwiseCopyable>(_ f: (Element) throws -> R) rethrows -> [R] {
        try withUnsafeBufferPointer { source in
            try outputArray(source.count) { out in
                for i in 0..<source.count { out[i] = try f(source[i]) }
            }
        }
    }
}

/// Gives an operator's own intermediate result (one it computed and returns to no one) back to the running plan's
/// arena. Never for a value the operator was given: the run may still hold it.
func recycleIntermediate(_ t: GraphTensor) {
    guard let arena = FloatArena.current, case .float(let v) = t.elements, arena.owns(v) else { return }
    arena.recycle(v)
}
