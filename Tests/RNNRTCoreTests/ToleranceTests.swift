import Testing
@testable import RNNRTCore

@Suite struct ToleranceTests {
    @Test func equalTensorsPass() {
        let a = Tensor(shape: [2], scalars: [1, -2])
        #expect(Tolerance.pytorch.compare(a, a).passed)
    }

    @Test func boundIsAbsolutePlusRelative() {
        let expected = Tensor(shape: [2], scalars: [0, 100])
        let inside = Tensor(shape: [2], scalars: [0.9e-5, 100 + 0.0099])
        let outside = Tensor(shape: [2], scalars: [0, 100 + 0.0102])
        #expect(Tolerance.pytorch.compare(inside, expected).passed)
        let c = Tolerance.pytorch.compare(outside, expected)
        #expect(!c.passed)
        #expect(c.mismatches == 1)
        #expect(c.worstIndex == [1])
    }

    @Test func shapeMismatchFails() {
        let c = Tolerance.pytorch.compare(Tensor(shape: [2], scalars: [0, 0]), Tensor(shape: [1, 2], scalars: [0, 0]))
        #expect(!c.passed)
    }

    @Test func nanAgainstNumberFails() {
        let c = Tolerance.pytorch.compare(Tensor(shape: [1], scalars: [.nan]), Tensor(shape: [1], scalars: [0]))
        #expect(!c.passed)
    }

    /// Both sides within `multiple` noise floors (rnnrt's float32 distance from float64) plus the ulps term pass;
    /// one side beyond fails, and the report names it and where.
    @Test func noiseJudgementMeasuresBothSidesAgainstTheFloor() {
        let exact = Tensor64(shape: [3], scalars: [0.5, -0.25, 2])
        let rnnrt = Tensor(shape: [3], scalars: [0.5 + 1e-4, -0.25, 2])
        let noise = NoiseTolerance(multiple: 4, ulps: 8)
        let close = Tensor(shape: [3], scalars: [0.5, -0.25 - 3e-4, 2])
        let c = noise.compare(a: rnnrt, b: close, exact: exact, float32: rnnrt)
        #expect(c.passed)
        // (Float rounds 0.5 + 1e-4 and −0.25 − 3e-4 by up to 3e-8.)
        #expect(abs(c.floor - 1e-4) < 1e-7 && abs(c.distanceB - 3e-4) < 1e-7 && abs(c.ratio - 3) < 1e-2)
        #expect(abs(c.bound - (4 * c.floor + 8 * Double(Float.ulpOfOne) * 2)) < 1e-15)
        let far = Tensor(shape: [3], scalars: [0.5, -0.25, 2 + 1e-3])
        let f = noise.compare(a: rnnrt, b: far, exact: exact, float32: rnnrt)
        #expect(!f.passed)
        #expect(f.worstSide == "B" && f.worstIndex == [2])
    }

    /// A floor of zero leaves the ulps term: a few ulps pass, more fail; NaN against a number and a shape that
    /// differs from the reference's fail.
    @Test func noiseJudgementEdges() {
        let exact = Tensor64(shape: [2], scalars: [1, 0])
        let rnnrt = Tensor(shape: [2], scalars: [1, 0])
        let noise = NoiseTolerance.standard
        #expect(noise.compare(a: rnnrt, b: Tensor(shape: [2], scalars: [1 + 4 * .ulpOfOne, 0]), exact: exact, float32: rnnrt).passed)
        #expect(!noise.compare(a: rnnrt, b: Tensor(shape: [2], scalars: [1 + 16 * .ulpOfOne, 0]), exact: exact, float32: rnnrt).passed)
        #expect(!noise.compare(a: rnnrt, b: Tensor(shape: [2], scalars: [.nan, 0]), exact: exact, float32: rnnrt).passed)
        #expect(!noise.compare(a: rnnrt, b: Tensor(shape: [1, 2], scalars: [1, 0]), exact: exact, float32: rnnrt).passed)
    }

    @Test func halfDecodingIsExact() {
        #expect(Float(halfBits: 0x3C00) == 1)
        #expect(Float(halfBits: 0xC000) == -2)
        #expect(Float(halfBits: 0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(Float(halfBits: 0x7C00) == .infinity)
        #expect(Float(halfBits: 0x7E00).isNaN)
        #expect(Float(halfBits: 0x7BFF) == 65504)
    }
}
