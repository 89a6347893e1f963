import Testing
@testable import RNNRTGraph
import RNNRTCore
import RNNRTKernels

/// `IntegerWeights`: every form gives the exact int32 product `(A − aZero) · (B − bZero)`, extremes included.
@Suite struct IntegerProductTests {
    /// B of both 8-bit types with zero points per column (0, the type's ends, 128 and others), A rows of magnitude up to
    /// 255, odd and even inner sizes, column counts off the kernels' 16: the pairs form and the bytes form (products of
    /// few rows) against a product in Int64.
    @Test(arguments: [(DType.uint8, 1, 7, 5), (.uint8, 3, 8, 17), (.int8, 2, 33, 16), (.int8, 5, 64, 40), (.uint8, 4, 1, 3)])
    func everyFormIsExact(_ type: DType, m: Int, k: Int, n: Int) throws {
        var rng = SeededGenerator(seed: UInt64(m * 1000 + k * 10 + n))
        let range = type == .uint8 ? Int64(0)...255 : -128...127
        let ends = [range.lowerBound, range.upperBound]
        let b = (0..<(k * n)).map { i in i % 5 == 0 ? ends[i % 2] : Int64.random(in: range, using: &rng) }
        let zeros = (0..<n).map { j -> Int32 in
            [Int32(range.lowerBound), Int32(range.upperBound), 0, 128, Int32(Int64.random(in: range, using: &rng))][j % 5]
        }.map { type == .int8 ? max(-128, min(127, $0)) : $0 }
        let a = (0..<(m * k)).map { i in i % 3 == 0 ? Float([255, -255][i % 2]) : Float(Int.random(in: -255...255, using: &rng)) }
        var expected = [Int32](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Int64 = 0
                for p in 0..<k { sum += Int64(a[i * k + p]) * (b[p * n + j] - Int64(zeros[j])) }
                expected[i * n + j] = Int32(truncatingIfNeeded: sum)
            }
        }
        for fewRows in [false, true] {
            let weights = try IntegerWeights(b[...], k: k, n: n, type: type, zeroPoints: zeros, fewRows: fewRows, "test")
            var acc = [Int32](repeating: -1, count: m * n)
            a.withUnsafeBufferPointer { ap in acc.withUnsafeMutableBufferPointer { weights.multiply(m: m, a: ap.baseAddress!, lda: k, into: $0.baseAddress!) } }
            #expect(acc == expected, "fewRows \(fewRows)")
        }
    }
}
