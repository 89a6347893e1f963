/// Element counts of shapes that come from files, graphs or the command line: every reader and operator sizes
/// what it allocates through these, so a hostile shape is refused with an error naming it instead of trapping on
/// overflow or allocating without bound.
public enum ElementCount {
    /// The most elements an operator creates from sizes it is given (a shape input, repeats, pads, scales, broadcast
    /// extents): 2^28, 1 GiB of float32. Tensors a caller or a file supplies are limited only by their own size.
    public static let maximum = 1 << 28

    /// The limit `of(_:_:)` applies: `maximum`, or less where rnnrt computes ahead of need (constant folding at
    /// load sets it for the duration of one node).
    @TaskLocal package static var limit = maximum
    /// Elements every limit allows (constant folding's too).
    package static let alwaysAllowed = 1 << 22

    /// The product of `shape`'s extents, checked: throws `.invalidArgument` naming `what` and the shape when an
    /// extent is negative, the product overflows, or it exceeds `limit`.
    public static func of(_ shape: [Int], _ what: @autoclosure () -> String) throws -> Int {
        guard let n = shape.checkedElementCount() else {
            throw RNNRTError(.invalidArgument, "\(what()) \(shape.shapeDescription) has a negative extent or more elements than an Int counts")
        }
        // (The limit is never below `alwaysAllowed`: small counts skip reading the task-local value.)
        guard n <= alwaysAllowed || n <= limit else {
            throw RNNRTError(.invalidArgument, "\(what()) \(shape.shapeDescription) has \(n) elements, more than the \(limit) rnnrt creates in one tensor")
        }
        return n
    }

    /// `a · b`, or `.invalidArgument` naming `what` when it overflows `Int`.
    public static func product(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw RNNRTError(.invalidArgument, "\(what()): \(a) × \(b) overflows") }
        return p
    }

    /// `a + b`, or `.invalidArgument` naming `what` when it overflows `Int`.
    public static func sum(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (s, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw RNNRTError(.invalidArgument, "\(what()): \(a) + \(b) overflows") }
        return s
    }
}

extension Array where Element == Int {
    /// The product of the extents, or nil when one is negative or the product of the non-zero extents overflows
    /// `Int`. A shape that passes can have the product of any of its axes taken unchecked (an empty tensor of shape
    /// `[0, 2^40, 2^40]` does not: the last two axes alone overflow), which is what operators do.
    public func checkedElementCount() -> Int? {
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
