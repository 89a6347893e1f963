/// Element counts of shapes that come from files, graphs or the command line, and the memory a call may spend on
/// them: every reader and operator sizes what it allocates through these, so a hostile shape is refused with an error
/// naming it instead of trapping on overflow or allocating without bound, and a call stays within its
/// `RunOptions.memoryLimit`.
package enum ElementCount {
    /// The most elements an operator creates from sizes it is given (a shape input, repeats, pads, scales, broadcast
    /// extents): 2^28, 1 GiB of float32. Tensors a caller or a file supplies are limited only by their own size.
    package static let maximum = 1 << 28

    /// Counts `of(_:_:elementSize:)` passes without reading the call's limits (a task-local value): 2^16 elements,
    /// 256 KiB of float32, which every element limit allows (constant folding's too) and which costs less to make
    /// than to check. The float values of that size a run makes still count towards what it holds.
    package static let alwaysAllowed = 1 << 16

    /// The product of `shape`'s extents, checked: throws `.invalidArgument` naming `what` and the shape when an
    /// extent is negative, the product overflows, or it exceeds the element limit (`maximum`, or less while a node is
    /// constant-folded); `.limit` when a tensor of that many elements of `elementSize` bytes, with what the call holds
    /// already, would pass the call's memory limit (`RunLimits.current`). `elementSize` 0: a count that allocates
    /// nothing (a shape checked, not made).
    package static func of(_ shape: [Int], _ what: @autoclosure () -> String,
                          elementSize: Int = MemoryLayout<Float>.size) throws -> Int {
        guard let n = shape.checkedElementCount() else {
            throw RNNRTError(.invalidArgument, "\(what()) \(shape.shapeDescription) has a negative extent or more elements than an Int counts")
        }
        guard n > alwaysAllowed else { return n }
        let limits = RunLimits.current
        let limit = limits?.elements ?? maximum
        guard n <= limit else {
            throw RNNRTError(.invalidArgument, "\(what()) \(shape.shapeDescription) has \(n) elements, more than the \(limit) rnnrt creates in one tensor")
        }
        if let limits { try reserve(n, elementSize: elementSize, within: limits, "\(what()) \(shape.shapeDescription)") }
        return n
    }

    /// Throws `.limit` when `count` new elements of `elementSize` bytes, with what `limits.holder` holds, would pass
    /// `limits`' memory limit: the one check of a call's memory (`of` makes it for every count it passes; a
    /// recurrent module makes it for its outputs and scratch).
    package static func reserve(_ count: Int, elementSize: Int, within limits: RunLimits,
                                _ what: @autoclosure () -> String) throws {
        guard limits.memoryLimit != .max, elementSize > 0 else { return }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        let held = limits.holder?.heldBytes ?? 0
        guard overflow || bytes > limits.memoryLimit - min(held, limits.memoryLimit) else { return }
        throw RNNRTError(.limit, "\(what()) needs \(overflow ? "more than \(describe(bytes: .max))" : describe(bytes: bytes)), "
                         + "over the memory limit of \(describe(bytes: limits.memoryLimit))"
                         + (held > 0 ? " (\(describe(bytes: held)) held already)" : ""))
    }

    /// `bytes` for a message: `4 GiB`, `1.5 MiB`, `300 KiB`, `100 bytes`.
    package static func describe(bytes: Int) -> String {
        for (size, unit) in [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] where bytes >= size {
            let tenths = Int((Double(bytes) / Double(size) * 10).rounded())
            return tenths % 10 == 0 ? "\(tenths / 10) \(unit)" : "\(tenths / 10).\(tenths % 10) \(unit)"
        }
        return "\(bytes) bytes"
    }

    /// `a · b`, or `.invalidArgument` naming `what` when it overflows `Int`.
    package static func product(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw RNNRTError(.invalidArgument, "\(what()): \(a) × \(b) overflows") }
        return p
    }

    /// `a + b`, or `.invalidArgument` naming `what` when it overflows `Int`.
    package static func sum(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (s, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw RNNRTError(.invalidArgument, "\(what()): \(a) + \(b) overflows") }
        return s
    }
}

extension Array where Element == Int {
    /// The product of the extents, or nil when one is negative or the product of the non-zero extents overflows
    /// `Int`. A shape that passes can have the product of any of its axes taken unchecked (an empty tensor of shape
    /// `[0, 2^40, 2^40]` does not: the last two axes alone overflow), which is what operators do.
    package func checkedElementCount() -> Int? {
        var n = 1, zero = false
        for d in self {
            guard d >= 0 else { return nil }
            if d == 0 { zero = true; continue }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = p
        }
        return zero ? 0 : n
    }
}
