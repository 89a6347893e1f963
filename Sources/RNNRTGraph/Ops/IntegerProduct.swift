import CRNNRTKernels
import RNNRTCore
import RNNRTKernels

/// A constant 8-bit right operand `B [k × n]` with its zero points subtracted, bound once for exact int32 products
/// `(A − aZero) · (B − bZero)`. Every value of `A − aZero` and `B − bZero` is an integer of magnitude at most 255 (an
/// 8-bit value minus a zero point of its type). Three forms:
///
/// - with AVX-512 VNNI, B − offset (as below) in groups of four rows for `vpdpbusd`, which multiplies A as uint8 (its
///   values plus their offset) by the int8 values four at a time into int32; the zero points come back as
///   `(offset − bZero[column]) · rowsum(A − aZero) − aZero' · colsum(B − offset)` (`rnnrt_add_zero_point_terms`, with
///   aZero' the offset that made A uint8);
/// - with the AVX2 kernels, B as bytes packed in pairs of rows (`rnnrt_pack_pair_bytes_8bit`) for
///   `IntegerKernels.pairBytes`, which widens them to int16 as it reads them and sums in int32. The bytes hold
///   `B − offset`, with offset 128 for uint8 and 0 for int8 so that every value fits int8, and the product gains the
///   rank-one term `rowsum(A − aZero) · (offset − bZero[column])` (`rnnrt_add_row_sums_times`; none when that is 0
///   throughout). A byte a value: half the memory of int16 pairs, and as fast (a product streams B from memory);
/// - otherwise B as float matrices for the float product kernels, its rows split into blocks short enough that the sum
///   of the magnitudes of one output's terms within a block stays at most 2^24: every partial sum, in whatever order a
///   kernel adds the terms, is then an integer float32 holds exactly. The blocks' sums are added in int32.
///
/// Both wrap as onnxruntime's integer kernels do should a sum pass int32.
struct IntegerWeights: Sendable {
    let k: Int
    let n: Int
    private enum Form: Sendable {
        /// B − offset as int8 in groups of four rows (`rnnrt_pack_quads_8bit`), each column's sum of B − offset, and
        /// `offset − bZero` per column.
        case quads([Int8], columnSums: [Int32], column: [Int32])
        /// B − offset as bytes, and `offset − bZero` per column when any is not 0.
        case pairBytes([Int8], correction: [Int32]?)
        /// Rows of B per block, and per block `Bᵀ` of its rows as a product's right operand.
        case floatBlocks(rows: Int, [WeightMatrix])
    }
    private let form: Form

    /// The largest magnitude of `A − aZero` for 8-bit A.
    static let operandBound = 255

    /// Rows per float block for a B whose largest magnitude is `largest`: the most for which the terms' magnitudes sum
    /// to at most 2^24.
    static func blockRows(largest: Int) -> Int { max(1, (1 << 24) / (operandBound * max(largest, 1))) }

    /// Values per row of an int16 left operand for the bytes form: k rounded up to even.
    var pairedWidth: Int { (k + 1) / 2 * 2 }

    /// From a 2-D 8-bit B `[k × n]` minus `zeroPoints` (one per column).
    init(_ b: EightBitTensor, zeroPoints: [Int32], _ label: String) throws {
        guard b.rank == 2 else {
            throw RNNRTError(.invalidArgument, "\(label): B must be a 2-D uint8 or int8 tensor, got \(b.type.rawValue) \(b.shape.shapeDescription)")
        }
        try self.init(b, at: 0, k: b.shape[0], n: b.shape[1], zeroPoints: zeroPoints, label)
    }

    /// From the `k × n` values of `b` from its value `start` on, minus `zeroPoints` (one per column).
    init(_ b: EightBitTensor, at start: Int, k: Int, n: Int, zeroPoints: [Int32], _ label: String) throws {
        guard start >= 0, k >= 0, n >= 0, start + k * n <= b.count, zeroPoints.count == n else {
            throw RNNRTError(.invalidArgument, "\(label): B must hold [\(k), \(n)] values with \(n) zero points, got \(b.shape.shapeDescription) and \(zeroPoints.count)")
        }
        self.k = k
        self.n = n
        // B − offset fits int8 in the packed forms.
        let signed: Int32 = b.isSigned ? 1 : 0, offset: Int32 = b.isSigned ? 0 : 128
        if KernelSet.avx512vnni {
            let count = Int(rnnrt_quads_packed_count(k, n))
            var sums = [Int32](repeating: 0, count: n)
            let packed = [Int8](unsafeUninitializedCapacity: count) { out, initialized in
                b.bytes.withUnsafeBufferPointer { src in
                    sums.withUnsafeMutableBufferPointer {
                        rnnrt_pack_quads_8bit(k, n, src.baseAddress.map { $0 + start }, signed, offset, out.baseAddress, $0.baseAddress)
                    }
                }
                initialized = count
            }
            form = .quads(packed, columnSums: sums, column: zeroPoints.map { offset - $0 })
            return
        }
        if KernelSet.avx2 {
            let packedCount = Int(rnnrt_pairs_packed_count(k, n))
            let packed = [Int8](unsafeUninitializedCapacity: packedCount) { out, initialized in
                b.bytes.withUnsafeBufferPointer { rnnrt_pack_pair_bytes_8bit(k, n, $0.baseAddress.map { $0 + start }, signed, offset, out.baseAddress) }
                initialized = packedCount
            }
            let correction = zeroPoints.map { offset - $0 }
            form = .pairBytes(packed, correction: correction.allSatisfy { $0 == 0 } ? nil : correction)
            return
        }
        let shifted = (0..<(k * n)).map { Float(b[start + $0] - zeroPoints[$0 % max(n, 1)]) }
        let rows = IntegerWeights.blockRows(largest: Int(shifted.reduce(Float(0)) { max($0, abs($1)) }))
        form = .floatBlocks(rows: rows, shifted.withUnsafeBufferPointer { f in
            stride(from: 0, to: k, by: rows).map { first in
                WeightMatrix.transposing(f.baseAddress! + first * n, k: min(rows, k - first), n: n, ldb: n, layout: .constantOperand)
            }
        })
    }

    /// The int32 product `acc [m × n] = A [m × k] · B`: A's rows `lda` apart, each value an 8-bit value minus its zero
    /// point, so that adding `aOffset` (the zero point for uint8 A, the zero point plus 128 for int8 A) brings it into
    /// 0…255.
    func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, aOffset: Int32, into acc: UnsafeMutablePointer<Int32>) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else { return acc.update(repeating: 0, count: m * n) }
        switch form {
        case .quads(let packed, let columnSums, let column):
            let width = (k + 3) / 4 * 4
            let a8 = UnsafeMutablePointer<UInt8>.allocate(capacity: m * width)
            defer { a8.deallocate() }
            rnnrt_float_rows_to_uint8(a, m, k, lda, aOffset, a8, width)
            packed.withUnsafeBufferPointer { rnnrt_igemm_quads_vnni(m, n, k, a8, width, $0.baseAddress!, acc, n) }
            rnnrt_add_zero_point_terms(acc, m, n, n, a8, width, k, aOffset, columnSums, column)
        case .pairBytes(let packed, let correction):
            let width = pairedWidth
            let a16 = UnsafeMutablePointer<Int16>.allocate(capacity: m * width)
            defer { a16.deallocate() }
            rnnrt_float_rows_to_int16(a, m, k, lda, a16, width)
            packed.withUnsafeBufferPointer { IntegerKernels.pairBytes(m, n, k, a16, width, $0.baseAddress!, acc, n) }
            if let correction { rnnrt_add_row_sums_times(acc, m, n, n, a16, width, k, correction) }
        case .floatBlocks(let rows, let blocks):
            withTemporaryFloats(m * n) { sums in
                for (index, block) in blocks.enumerated() {
                    block.multiply(m: m, a: a + index * rows, lda: lda, c: sums.baseAddress!, ldc: n, accumulate: false)
                    rnnrt_add_exact_integers(sums.baseAddress!, acc, m * n, index == 0 ? 1 : 0)
                }
            }
        }
    }

    /// `Float(acc)` of the int32 product `acc = A · B` into `c [m × n]`: what scaling the accumulators starts from.
    func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, aOffset: Int32, into c: UnsafeMutablePointer<Float>) {
        guard m > 0, n > 0 else { return }
        if case .floatBlocks(_, let blocks) = form, blocks.count == 1 {
            // One block: its float sums are the accumulators, exactly.
            blocks[0].multiply(m: m, a: a, lda: lda, c: c, ldc: n, accumulate: false)
            return
        }
        let acc = UnsafeMutablePointer<Int32>.allocate(capacity: m * n)
        defer { acc.deallocate() }
        multiply(m: m, a: a, lda: lda, aOffset: aOffset, into: acc)
        rnnrt_int32_to_float(acc, c, m * n)
    }
}

extension Quantization {
    /// An 8-bit tensor's values minus `zeroPoint`, as floats, inside `body`; `.invalidArgument` for a value outside
    /// the tensor's type.
    static func withShiftedFloats<R>(_ t: GraphTensor, zeroPoint: Int32, _ what: String, _ label: String,
                                     _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) throws -> R {
        guard case .int(let v) = t.elements, let range = range(of: t.integerType) else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must be uint8 or int8, got \(t.typeName) \(t.shape.shapeDescription)")
        }
        return try withTemporaryFloats(v.count) { out in
            let inside = v.withUnsafeBufferPointer { src in
                src.isEmpty || rnnrt_shifted_to_float(src.baseAddress!, src.count, Int64(range.lowerBound),
                                                      Int64(range.upperBound), Float(zeroPoint), out.baseAddress!) == 1
            }
            guard inside else {
                let bad = v.first { !range.contains(Int32(clamping: $0)) || $0 != Int64(Int32(clamping: $0)) } ?? 0
                throw RNNRTError(.invalidArgument, "\(label): \(what) value \(bad) is outside \(t.integerType.rawValue)")
            }
            return try body(out)
        }
    }
}

extension IntegerWeights {
    /// int32 accumulators as the int64 values an integer `GraphTensor` holds.
    static func widened(_ acc: [Int32]) -> [Int64] {
        outputArray(acc.count) { (out: UnsafeMutableBufferPointer<Int64>) in
            acc.withUnsafeBufferPointer { src in for i in 0..<src.count { out[i] = Int64(src[i]) } }
        }
    }
}

/// The exact int32 products of int16 pairs on the kernels this CPU runs best: AVX-512 VNNI's where it has them
/// (`KernelSet.avx512vnni`), else AVX2's (the same sums). See `rnnrt_igemm_pairs_avx2`.
enum IntegerKernels {
    /// `c [m × n] = a [m × k] · B`, B packed by `rnnrt_pack_pairs`.
    static func pairs(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Int16>, _ lda: Int, _ packed: UnsafePointer<Int16>,
                      _ c: UnsafeMutablePointer<Int32>, _ ldc: Int) {
        if KernelSet.avx512vnni { rnnrt_igemm_pairs_vnni(m, n, k, a, lda, packed, c, ldc) }
        else { rnnrt_igemm_pairs_avx2(m, n, k, a, lda, packed, c, ldc) }
    }

    /// `c [m × n] = a [m × k] · B`, B packed by `rnnrt_pack_pair_bytes`.
    static func pairBytes(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Int16>, _ lda: Int, _ packed: UnsafePointer<Int8>,
                          _ c: UnsafeMutablePointer<Int32>, _ ldc: Int) {
        if KernelSet.avx512vnni { rnnrt_igemm_pair_bytes_vnni(m, n, k, a, lda, packed, c, ldc) }
        else { rnnrt_igemm_pair_bytes_avx2(m, n, k, a, lda, packed, c, ldc) }
    }
}
