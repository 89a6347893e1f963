/// A dense float64 array in C (row-major) order: what the float64 reference computations take and return
/// (`RecurrentModule.forwardFloat64`, `Plan.runFloat64`).
///
/// Shapes follow `Tensor`'s conventions. A float32 `Tensor` widens to one exactly (`init(_:)`); `float32` rounds
/// back to nearest.
public struct Tensor64: Sendable, Equatable {
    /// Extent of each axis.
    public let shape: [Int]
    /// The elements in C order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Double]

    /// A tensor over `scalars`; the count must match the shape (a programmer error otherwise).
    public init(shape: [Int], scalars: [Double]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(scalars.count == shape.reduce(1, *), "\(scalars.count) scalars for shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Double = 0, shape: [Int]) {
        self.init(shape: shape, scalars: [Double](repeating: value, count: shape.reduce(1, *)))
    }

    /// The elements of a float32 tensor, widened (exactly).
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape, scalars: tensor.scalars.map { Double($0) })
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { scalars.count }

    /// The elements rounded to the nearest float32.
    public var float32: Tensor { Tensor(shape: shape, scalars: scalars.map { Float($0) }) }

    /// Swaps axes 0 and 1 (time-major ↔ batch-major) of a tensor of rank ≥ 2.
    package func swappingFirstTwoAxes() -> Tensor64 {
        precondition(rank >= 2)
        let a = shape[0], b = shape[1]
        let inner = shape.dropFirst(2).reduce(1, *)
        var out = [Double](repeating: 0, count: count)
        for i in 0..<a {
            for j in 0..<b {
                for k in 0..<inner { out[(j * a + i) * inner + k] = scalars[(i * b + j) * inner + k] }
            }
        }
        var newShape = shape
        newShape.swapAt(0, 1)
        return Tensor64(shape: newShape, scalars: out)
    }
}
