/// Elementwise agreement test `|actual − expected| ≤ atol + rtol·|expected|`, as `torch.allclose`.
///
/// The default (`.pytorch`) is rnnrt's contract with PyTorch on float32: atol 1e-5, rtol 1e-4.
public struct Tolerance: Sendable, Equatable, Codable {
    /// The absolute term: the difference allowed where `expected` is 0.
    public var atol: Float
    /// The relative term: the share of `|expected|` added to `atol`.
    public var rtol: Float

    /// `|actual − expected| ≤ atol + rtol·|expected|`.
    public init(atol: Float, rtol: Float) {
        self.atol = atol
        self.rtol = rtol
    }

    /// rnnrt's agreement contract with PyTorch: atol 1e-5, rtol 1e-4.
    public static let pytorch = Tolerance(atol: 1e-5, rtol: 1e-4)

    /// Compares `actual` against `expected` element by element (NaN agrees with NaN, an infinity with the same
    /// infinity); tensors of different shapes do not agree.
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
                          maxRelError: maxRel, worstIndex: worst.map { expected.shape.unravel($0) },
                          mismatches: mismatches)
    }
}

/// The result of `Tolerance.compare`.
public struct Comparison: Sendable, Equatable, Codable {
    /// The shape of the tensor compared (`actual`).
    public let actualShape: [Int]
    /// The shape of the reference (`expected`).
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

/// `rnnrt verify`'s judgement of two float32 results against a float64 reference of the same model on the same
/// inputs: each side's largest distance from the reference must be within `multiple` times the model's float32
/// noise floor there — how far rnnrt's own float32 result lies from the reference — plus a tiny absolute term,
/// `ulps` float32 ulps of the reference's largest magnitude (at least 1). A correct conversion computed in float32
/// lies about as far from the float64 result as rnnrt's float32 does, whatever the weights make that distance; a
/// conversion mistake lies far beyond it.
public struct NoiseTolerance: Sendable, Equatable, Codable {
    /// How many noise floors a side may lie from the float64 result.
    public var multiple: Double
    /// The absolute term, in float32 ulps (2⁻²³) of `max(1, largest |reference|)`.
    public var ulps: Double

    /// Each side within `multiple` noise floors plus `ulps` float32 ulps of the reference's largest magnitude.
    public init(multiple: Double, ulps: Double) {
        self.multiple = multiple
        self.ulps = ulps
    }

    /// `rnnrt verify`'s default: 16 noise floors plus 8 ulps.
    public static let standard = NoiseTolerance(multiple: 16, ulps: 8)

    /// Compares `a` and `b` with `exact`; `float32` is rnnrt's float32 result of the model `exact` was computed from,
    /// whose distance from `exact` is the noise floor.
    package func compare(a: Tensor, b: Tensor, exact: Tensor64, float32: Tensor) -> NoiseComparison {
        compare(a: a, b: b, exact: exact, floor: float32.shape == exact.shape ? NoiseTolerance.distance(float32, exact).0 : 0)
    }

    /// Compares `a` and `b` with `exact` given the noise floor (a floor that is not finite — rnnrt's float32 result
    /// NaN or infinite where the reference is not — judges nothing: the comparison fails).
    package func compare(a: Tensor, b: Tensor, exact: Tensor64, floor: Double) -> NoiseComparison {
        guard a.shape == exact.shape, b.shape == exact.shape else {
            return NoiseComparison(distanceA: a.shape == exact.shape ? 0 : .infinity, distanceB: b.shape == exact.shape ? 0 : .infinity,
                                   floor: floor, bound: 0, worstIndex: nil, worstSide: a.shape == exact.shape ? "B" : "A", passed: false)
        }
        let (distanceA, worstA) = NoiseTolerance.distance(a, exact)
        let (distanceB, worstB) = NoiseTolerance.distance(b, exact)
        let bound = multiple * floor + ulps * Double(Float.ulpOfOne) * max(1, NoiseTolerance.scale(exact))
        let bWorse = distanceB > distanceA || distanceB.isNaN
        let worst = bWorse ? worstB : worstA
        return NoiseComparison(distanceA: distanceA, distanceB: distanceB, floor: floor, bound: bound,
                               worstIndex: worst.map { exact.shape.unravel($0) }, worstSide: bWorse ? "B" : "A",
                               passed: floor.isFinite && distanceA <= bound && distanceB <= bound)
    }

    /// The largest finite `|exact|` (0 for an empty or all-zero reference).
    package static func scale(_ exact: Tensor64) -> Double {
        exact.scalars.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
    }

    /// The largest `|x − exact|` and where it is: equal values (infinities included) and NaN against NaN count 0, NaN
    /// against a number counts infinite. `x` has `exact`'s element count.
    package static func distance(_ x: Tensor, _ exact: Tensor64) -> (Double, Int?) {
        var largest = 0.0, worst: Int? = nil
        for i in 0..<x.count {
            let v = Double(x.scalars[i]), e = exact.scalars[i]
            if v == e || (v.isNaN && e.isNaN) { continue }
            let d = v.isNaN || e.isNaN ? Double.infinity : abs(v - e)
            if d > largest { largest = d; worst = i }
        }
        return (largest, worst)
    }
}

/// How two float32 results compared with a float64 reference under a `NoiseTolerance`: a
/// `VerificationReport.OutputResult`'s numbers under the float64 judgement.
public struct NoiseComparison: Sendable, Equatable, Codable {
    /// Largest `|A − exact|` (infinite when A's shape differs from the reference's).
    public let distanceA: Double
    /// Largest `|B − exact|` (infinite when B's shape differs from the reference's).
    public let distanceB: Double
    /// The float32 noise floor: largest `|rnnrt's float32 − exact|`.
    public let floor: Double
    /// What each distance may reach: `multiple · floor + ulps · 2⁻²³ · max(1, largest |exact|)`.
    public let bound: Double
    /// Where the side farther from the reference is farthest from it (nil when neither side differs from it).
    public let worstIndex: [Int]?
    /// Which side `worstIndex` is on: `A` or `B`.
    public let worstSide: String?
    /// The larger distance in noise floors (infinite over a zero floor, unless both sides are exact: 0).
    public let ratio: Double
    /// True when both distances are within the bound.
    public let passed: Bool

    package init(distanceA: Double, distanceB: Double, floor: Double, bound: Double, worstIndex: [Int]?, worstSide: String?,
                passed: Bool) {
        self.distanceA = distanceA
        self.distanceB = distanceB
        self.floor = floor
        self.bound = bound
        self.worstIndex = worstIndex
        self.worstSide = worstSide
        let d = max(distanceA, distanceB)
        ratio = d == 0 ? 0 : d / floor
        self.passed = passed
    }
}

extension Array where Element == Int {
    /// The multi-index of C-order position `flat` in a tensor of this shape.
    package func unravel(_ flat: Int) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: count)
        for axis in stride(from: count - 1, through: 0, by: -1) where self[axis] > 0 {
            index[axis] = rest % self[axis]
            rest /= self[axis]
        }
        return index
    }
}
