import Testing
@testable import RNNRTGraph
import RNNRTCore
import RNNRTKernels
import CRNNRTKernels

/// `IntegerWeights`: every form gives the exact int32 product `(A − aZero) · (B − bZero)`, extremes included.
@Suite struct IntegerProductTests {
    /// B of both 8-bit types with zero points per column (0, the type's ends, 128 and others), A of both 8-bit types
    /// minus a zero point (values of magnitude up to 255, the type's ends included), odd and even inner sizes (and
    /// sizes off the groups of four), column counts off the kernels' 16 and full slivers of 16: the form this CPU runs
    /// (int8 groups of four with AVX-512 VNNI, bytes with AVX2 or `RNNRT_NO_AVX512=1`, float blocks with
    /// `RNNRT_PORTABLE_KERNELS=1`) against a product in Int64.
    @Test(arguments: [(DType.uint8, DType.uint8, 1, 7, 5), (.uint8, .int8, 3, 8, 17), (.int8, .uint8, 2, 33, 16),
                      (.int8, .int8, 5, 64, 40), (.uint8, .uint8, 4, 1, 3), (.int8, .uint8, 7, 6, 33)])
    func everyFormIsExact(_ type: DType, aType: DType, m: Int, k: Int, n: Int) throws {
        var rng = SeededGenerator(seed: UInt64(m * 1000 + k * 10 + n))
        func range(_ t: DType) -> ClosedRange<Int64> { t == .uint8 ? 0...255 : -128...127 }
        let ends = [range(type).lowerBound, range(type).upperBound]
        let b = (0..<(k * n)).map { i in i % 5 == 0 ? ends[i % 2] : Int64.random(in: range(type), using: &rng) }
        let zeros = (0..<n).map { j -> Int32 in
            [Int32(ends[0]), Int32(ends[1]), 0, 128, Int32(Int64.random(in: range(type), using: &rng))][j % 5]
        }.map { type == .int8 ? max(-128, min(127, $0)) : $0 }
        // A's values minus its zero point, the zero point at one end of A's type so that both signs reach 255.
        let aRange = range(aType), aZero = Int32(m % 2 == 0 ? aRange.lowerBound : aRange.upperBound)
        let a = (0..<(m * k)).map { i -> Float in
            let v = i % 3 == 0 ? [aRange.lowerBound, aRange.upperBound][i % 2] : Int64.random(in: aRange, using: &rng)
            return Float(Int32(v) - aZero)
        }
        var expected = [Int32](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Int64 = 0
                for p in 0..<k { sum += Int64(a[i * k + p]) * (b[p * n + j] - Int64(zeros[j])) }
                expected[i * n + j] = Int32(truncatingIfNeeded: sum)
            }
        }
        let bytes = try EightBitTensor(GraphTensor(shape: [k, n], ints: b, type: type), "B", "test")
        let weights = try IntegerWeights(bytes, zeroPoints: zeros, "test")
        var acc = [Int32](repeating: -1, count: m * n)
        let offset = aType == .int8 ? aZero + 128 : aZero
        a.withUnsafeBufferPointer { ap in
            acc.withUnsafeMutableBufferPointer { weights.multiply(m: m, a: ap.baseAddress!, lda: k, aOffset: offset, into: $0.baseAddress!) }
        }
        #expect(acc == expected)
    }
}

extension IntegerProductTests {
    /// The AVX-512 VNNI products give the AVX2 products' sums exactly (both forms of B, every row tail of the
    /// one-sliver and the two-sliver tiles, columns past the last pair of slivers, values at ±255), on a CPU that has
    /// both.
    @Test(.enabled(if: KernelSet.avx512vnni), arguments: [1, 2, 3, 4, 5, 6, 7, 13])
    func vnniProductsEqualAVX2Products(m: Int) {
        var rng = SeededGenerator(seed: UInt64(m))
        let k = 37, n = 85, width = 38
        let a = (0..<(m * width)).map { i -> Int16 in i % width >= k ? 0 : (i % 4 == 0 ? [255, -255][i % 3 == 0 ? 0 : 1] : Int16.random(in: -255...255, using: &rng)) }
        let b16 = (0..<(k * n)).map { i -> Int16 in i % 7 == 0 ? [255, -255][i % 2] : Int16.random(in: -255...255, using: &rng) }
        let b8 = (0..<(k * n)).map { i -> Int8 in i % 5 == 0 ? [127, -128][i % 2] : Int8.random(in: -128...127, using: &rng) }
        let count = Int(rnnrt_pairs_packed_count(k, n))
        var pairs = [Int16](repeating: 0, count: count), bytes = [Int8](repeating: 0, count: count)
        rnnrt_pack_pairs(k, n, b16, n, &pairs)
        rnnrt_pack_pair_bytes(k, n, b8, n, &bytes)
        var avx2 = [Int32](repeating: 0, count: m * n), vnni = [Int32](repeating: 1, count: m * n)
        rnnrt_igemm_pairs_avx2(m, n, k, a, width, pairs, &avx2, n)
        rnnrt_igemm_pairs_vnni(m, n, k, a, width, pairs, &vnni, n)
        #expect(vnni == avx2)
        rnnrt_igemm_pair_bytes_avx2(m, n, k, a, width, bytes, &avx2, n)
        rnnrt_igemm_pair_bytes_vnni(m, n, k, a, width, bytes, &vnni, n)
        #expect(vnni == avx2)
        let expected = (0..<(m * n)).map { index -> Int32 in
            (0..<k).reduce(Int32(0)) { $0 + Int32(a[(index / n) * width + $1]) * Int32(b8[$1 * n + index % n]) }
        }
        #expect(vnni == expected)
    }
}
