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

    @Test func halfDecodingIsExact() {
        #expect(Float(halfBits: 0x3C00) == 1)
        #expect(Float(halfBits: 0xC000) == -2)
        #expect(Float(halfBits: 0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(Float(halfBits: 0x7C00) == .infinity)
        #expect(Float(halfBits: 0x7E00).isNaN)
        #expect(Float(halfBits: 0x7BFF) == 65504)
    }
}
