/// A dense float32 array in C (row-major) order: the type every rnnrt computation takes and returns.
///
/// Shapes use PyTorch's conventions; a 0-d tensor has shape `[]` and one scalar.
public struct Tensor: Sendable, Equatable {
    /// Extent of each axis.
    public let shape: [Int]
    /// The elements in C order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    /// A tensor over `scalars`; the count must match the shape (a programmer error otherwise).
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(scalars.count == shape.reduce(1, *), "\(scalars.count) scalars for shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Float = 0, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { scalars.count }

    /// The same elements with another shape of equal element count.
    /// - Throws: `RNNRTError` `.shapeMismatch` when the counts differ or an extent is negative.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.allSatisfy({ $0 >= 0 }), newShape.reduce(1, *) == count else {
            throw RNNRTError(.shapeMismatch, "cannot reshape \(shape.shapeDescription) to \(newShape.shapeDescription)")
        }
        return Tensor(shape: newShape, scalars: scalars)
    }

    /// Swaps axes 0 and 1 (time-major ↔ batch-major) of a tensor of rank ≥ 2.
    package func swappingFirstTwoAxes() -> Tensor {
        precondition(rank >= 2)
        let a = shape[0], b = shape[1]
        let inner = shape.dropFirst(2).reduce(1, *)
        var out = [Float](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                swapFirstTwoAxes(s, a, b, inner, into: d)
            }
        }
        var newShape = shape
        newShape.swapAt(0, 1)
        return Tensor(shape: newShape, scalars: out)
    }
}

/// `[a, b, inner]` C-order values at `source` written as `[b, a, inner]` to `destination` (time-major ↔ batch-major):
/// one run of `inner` values per (i, j).
package func swapFirstTwoAxes(_ source: UnsafePointer<Float>, _ a: Int, _ b: Int, _ inner: Int,
                              into destination: UnsafeMutablePointer<Float>) {
    for i in 0..<a {
        for j in 0..<b {
            (destination + (j * a + i) * inner).update(from: source + (i * b + j) * inner, count: inner)
        }
    }
}

extension Array where Element == Int {
    /// `[2, 3]` → `"[2, 3]"`; used in every message that names a shape.
    package var shapeDescription: String { "[" + map(String.init).joined(separator: ", ") + "]" }

    /// Steps this multi-index to the next position in C order over the first `count` axes of `extents` (the last
    /// axis fastest); past the end it wraps to all zeros.
    package mutating func advance(within extents: [Int]) {
        var axis = count - 1
        while axis >= 0 {
            self[axis] += 1
            if self[axis] < extents[axis] { return }
            self[axis] = 0
            axis -= 1
        }
    }
}
