import RNNRT

extension Array where Element == Float {
    /// `count` floats drawn uniformly from `range` by `generator` (seeded: the same values on every run).
    public static func random(count: Int, in range: ClosedRange<Float>, using generator: inout some RandomNumberGenerator) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &generator) }
    }
}

extension Tensor {
    /// A tensor of `shape` whose values are drawn uniformly from `range` by `generator`.
    public static func random(_ shape: [Int], in range: ClosedRange<Float> = -0.5...0.5,
                              using generator: inout some RandomNumberGenerator) -> Tensor {
        Tensor(shape: shape, scalars: .random(count: shape.reduce(1, *), in: range, using: &generator))
    }
}
