/// Elementwise agreement test `|actual − expected| ≤ atol + rtol·|expected|`, as `torch.allclose`.
///
/// The default (`.pytorch`) is rnnrt's contract with PyTorch on float32: atol 1e-5, rtol 1e-4.
public struct Tolerance: Sendable, Equatable, Codable {
    public var atol: Float
    public var rtol: Float

    public init(atol: Float, rtol: Float) {
        self.atol = atol
        self.rtol = rtol
    }

    /// rnnrt's agreement contract with PyTorch: atol 1e-5, rtol 1e-4.
    public static let pytorch = Tolerance(atol: 1e-5, rtol: 1e-4)

    /// Compares `actual` against `expected` element by element.
    public func compare(_ actual: Tensor, _ expected: Tensor) -> Comparison {
        guard actual.shape == expected.shape else {
            return Comparison(actualShape: actual.shape, expectedShape: expected.shape, maxAbsError: .infinity,
                              maxRelError: .infinity, worstIndex: nil, mismatches: max(actual.count, expected.count, 1))
        }
        var maxAbs: Float = 0, maxRel: Float = 0, worst: Int? = nil, worstExcess: Float = -.infinity
        var mismatches = 0
        for i in 0..<actual.count {
            let a = actual.scalars[i], e = expected.scalars[i]
            if a.isNaN && e.isNaN { continue }
            if a == e { continue }  // equal infinities included
            let diff = abs(a - e)
            let bound = atol + rtol * abs(e)
            let ok = diff <= bound
            if !ok { mismatches += 1 }
            if diff.isNaN || diff > maxAbs { maxAbs = diff.isNaN ? .nan : max(maxAbs, diff) }
            let rel = e == 0 ? (diff == 0 ? 0 : Float.infinity) : diff / abs(e)
            if rel > maxRel || rel.isNaN { maxRel = rel }
            let excess = diff.isNaN ? Float.infinity : diff - bound
            if excess > worstExcess { worstExcess = excess; worst = i }
        }
        return Comparison(actualShape: actual.shape, expectedShape: expected.shape, maxAbsError: maxAbs,
                          maxRelError: maxRel, worstIndex: worst.map { unravel($0, expected.shape) },
                          mismatches: mismatches)
    }

    private func unravel(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }
}

/// The result of `Tolerance.compare`.
public struct Comparison: Sendable, Equatable, Codable {
    public let actualShape: [Int]
    public let expectedShape: [Int]
    /// Largest `|actual − expected|` over all elements.
    public let maxAbsError: Float
    /// Largest `|actual − expected| / |expected|` (infinite where expected is 0 and they differ).
    public let maxRelError: Float
    /// The element that exceeds its bound the most (or comes closest to it), if any differs.
    public let worstIndex: [Int]?
    /// How many elements are outside the tolerance (all of them when shapes differ).
    public let mismatches: Int

    /// True when shapes agree and every element is within tolerance.
    public var passed: Bool { actualShape == expectedShape && mismatches == 0 }
}
