import CRNNRTKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A constant weight matrix `W [n×k]` as PyTorch stores it (`weight_ih`, `weight_hh`: one row per gate unit),
/// used as the right operand `Wᵀ` of `C = A · Wᵀ`, laid out once at bind by size:
///
/// - with the AVX2 kernels, matrices up to `packLimit` elements (they fit in L2, so every recurrent step
///   reads them from cache) are packed into 16-column slivers: the fastest form for one-row products, and
///   cheap to make at load;
/// - larger ones are used in place, sharing the loaded tensor's `FloatStorage` (no copy at load; from a
///   mapped checkpoint, the file's pages themselves): their products stream the weights from memory anyway,
///   and `rnnrt_sgemm_rows_avx2` reads them as stored, through a `const` pointer;
/// - the portable kernels take `Wᵀ` row-major.
///
/// A recurrence may add a kernel form on first use (`withRecurrentKernelWeights`): row slivers for the batch sizes
/// they suit, or the packed form of a large matrix kept in place or of one bound to be packed later (`packLater`).
/// Each is one more copy of the matrix, made once and kept with it.
package struct WeightMatrix: Sendable {
    /// Elements up to which W is packed (1 MB of float32).
    package static let packLimit = 1 << 18
    /// Rows of A from which a product with a matrix kept in place by size uses its packed copy (made on first use).
    package static let packedFromRows = 8

    /// Which AVX2 form a matrix takes.
    package enum Layout: Sendable {
        /// Packed up to `packLimit` elements, in place above.
        case bySize
        case packed
        case inPlace

        /// `RNNRT_WEIGHT_LAYOUT=packed` or `in-place` forces one form for every matrix (the tests run every
        /// fixture both ways); otherwise by size.
        package static let current: Layout = {
            guard let value = getenv("RNNRT_WEIGHT_LAYOUT").map({ String(cString: $0) }) else { return .bySize }
            switch value {
            case "packed": return .packed
            case "in-place": return .inPlace
            default: return .bySize
            }
        }()

        /// The form of a graph's constant product operand (`Conv`, `Gemm`, `MatMul` weights): packed whatever its
        /// size, since each call multiplies many rows by it (the in-place form would pack it again per call), unless
        /// `RNNRT_WEIGHT_LAYOUT` forces a form.
        package static var constantOperand: Layout { current == .bySize ? .packed : current }
    }

    /// Floats from `KernelMemory` (64-byte aligned at least: the packed slivers are read 32 bytes at a time, and
    /// no load straddles two cache lines).
    final class AlignedFloats: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int

        init(count: Int, fill: (UnsafeMutablePointer<Float>) -> Void) {
            self.count = count
            pointer = KernelMemory.allocate(floats: count)
            fill(pointer)
        }

        deinit { pointer.deallocate() }
    }

    /// A packed copy of an in-place matrix, made on first use by a recurrence (once, under a lock: a bound
    /// module serves many threads) and shared by later uses.
    final class PackedOnUse: @unchecked Sendable {
        private let lock = Lock()
        private var value: AlignedFloats?

        func get(_ make: () -> AlignedFloats) -> AlignedFloats {
            lock.withLock {
                if let value { return value }
                let made = make()
                value = made
                return made
            }
        }
    }

    enum Storage {
        /// `rnnrt_pack_bt` layout (immutable after init).
        case packed(AlignedFloats)
        /// W itself, row-major `[n×k]`, shared with the tensor it was bound from (read only).
        case rows(FloatStorage)
        /// `Wᵀ` row-major `[k×n]`, for the portable kernels.
        case transposed([Float])
    }

    /// Columns of the right operand (inner dimension of the product).
    package let k: Int
    /// Rows of W: outputs of the product.
    package let n: Int
    let storage: Storage
    /// For a matrix kept in place by size or packed later: its packed copy, made on first use.
    private let packedOnUse: PackedOnUse?
    /// Whether every product uses the packed copy (a matrix packed later), not only those of many rows.
    private let packsEveryProduct: Bool
    /// For a matrix packed later and kept as stored: the order of its row blocks (block `b` of W is stored block
    /// `order[b]`, each `rows` rows).
    private let storedBlocks: (order: [Int], rows: Int)?
    /// With the AVX2 kernels: the matrix in row slivers, made on first use (by a recurrence whose batch they suit,
    /// unless forced in place, or by `withRowSlivers`).
    private let rowSliversOnUse: PackedOnUse?
    /// Whether recurrences use the row slivers (not when the in-place form is forced).
    private let recurrentRowSlivers: Bool

    /// From W's row-major elements, `rows` = n outputs × `cols` = k inputs.
    package init(weights w: [Float], rows n: Int, cols k: Int, layout: Layout = .current) {
        self.init(weights: FloatStorage(w), rows: n, cols: k, layout: layout)
    }

    /// From W's row-major elements, `rows` = n outputs × `cols` = k inputs; a matrix used in place keeps
    /// `w` (and whatever owns its memory) alive and only reads it.
    ///
    /// - `rowBlocks`: W's rows are stored in blocks of `rowBlocks.rows` in another order: block `b` of W is block
    ///   `rowBlocks.order[b]` of `w` (a recurrence's gates in ONNX's order, read in PyTorch's). The packed form is made
    ///   from them in place when the blocks are whole slivers; the other forms reorder them first.
    /// - `packLater`: a matrix the packed form suits that some uses never multiply (a recurrence's hidden weights,
    ///   when batch-1 sequences run on a step layout) is kept as W and packed on its first product instead. With
    ///   `rowBlocks` of whole slivers it is kept as stored, blocks unordered (`withStoredRows`); its other kernel forms
    ///   are made from the packed copy.
    package init(weights w: FloatStorage, rows n: Int, cols k: Int, layout: Layout = .current,
                 rowBlocks: (order: [Int], rows: Int)? = nil, packLater: Bool = false) {
        precondition(w.count == k * n)
        self.k = k
        self.n = n
        rowSliversOnUse = KernelSet.avx2 && k > 0 && n > 0 ? PackedOnUse() : nil
        recurrentRowSlivers = layout != .inPlace
        let form = WeightMatrix.form(w, rows: n, cols: k, layout: layout, rowBlocks: rowBlocks, packLater: packLater)
        storage = form.storage
        storedBlocks = form.storedBlocks
        packedOnUse = form.packedOnUse
        packsEveryProduct = form.packsEveryProduct
    }

    /// The kernel form a matrix takes, and how it is packed later if it is.
    private struct Form {
        var storage: Storage
        /// Rows kept as stored, in blocks of another order (`storedBlocks`).
        var storedBlocks: (order: [Int], rows: Int)? = nil
        var packedOnUse: PackedOnUse? = nil
        var packsEveryProduct = false
    }

    /// The form `init(weights:rows:cols:layout:rowBlocks:packLater:)` describes: packed (straight from stored row
    /// blocks when they are whole slivers), rows kept (as stored, or reordered) and packed later or on first use, or,
    /// without the AVX2 kernels, transposed for the portable product.
    private static func form(_ w: FloatStorage, rows n: Int, cols k: Int, layout: Layout,
                             rowBlocks: (order: [Int], rows: Int)?, packLater: Bool) -> Form {
        let kernels = KernelSet.avx2 && k > 0 && n > 0
        let packs = kernels && (layout == .packed || (layout == .bySize && w.count <= packLimit))
        let wholeSlivers = rowBlocks.flatMap { $0.rows % 16 == 0 ? $0 : nil }
        if packs, let blocks = wholeSlivers {
            if packLater { return Form(storage: .rows(w), storedBlocks: blocks, packedOnUse: PackedOnUse(), packsEveryProduct: true) }
            return Form(storage: .packed(pack(w, rows: n, cols: k, blocks: blocks.order, blockRows: blocks.rows)))
        }
        let w = rowBlocks.map { reordered(w, cols: k, blocks: $0.order, blockRows: $0.rows) } ?? w
        if packs && !packLater { return Form(storage: .packed(pack(w, rows: n, cols: k))) }
        if kernels {
            // Kept in place by size (not forced in place), or until its first product: packed on first use.
            return Form(storage: .rows(w), packedOnUse: layout == .bySize || packs ? PackedOnUse() : nil,
                        packsEveryProduct: packs)
        }
        var t = [Float](repeating: 0, count: w.count)
        w.withUnsafeBufferPointer { src in
            for r in 0..<n { for c in 0..<k { t[c * n + r] = src[r * k + c] } }
        }
        return Form(storage: .transposed(t))
    }

    /// `w`'s row blocks in the order `blocks` names (block `b` of the result is block `blocks[b]` of `w`).
    private static func reordered(_ w: FloatStorage, cols k: Int, blocks: [Int], blockRows: Int) -> FloatStorage {
        let size = blockRows * k
        return FloatStorage(KernelMemory.floats(count: w.count) { out in
            w.withUnsafeBufferPointer { src in
                for (b, stored) in blocks.enumerated() where size > 0 {
                    (out.baseAddress! + b * size).initialize(from: src.baseAddress! + stored * size, count: size)
                }
            }
        })
    }

    /// From `Wᵀ = B [k × n]`, row-major with rows `ldb` apart (a `MatMul`'s right operand as stored): packed straight
    /// from B when the packed form is chosen, else transposed into W first.
    package static func transposing(_ b: UnsafePointer<Float>, k: Int, n: Int, ldb: Int,
                                   layout: Layout = .current) -> WeightMatrix {
        let packed = layout == .packed || (layout == .bySize && k * n <= WeightMatrix.packLimit)
        if KernelSet.avx2 && k > 0 && n > 0 && packed {
            let slivers = AlignedFloats(count: Int(rnnrt_packed_b_count(k, n))) { rnnrt_pack_b(k, n, b, ldb, $0) }
            return WeightMatrix(k: k, n: n, packed: slivers, recurrentRowSlivers: layout != .inPlace)
        }
        var w = [Float](repeating: 0, count: k * n)
        w.withUnsafeMutableBufferPointer { w in
            for p in 0..<k { for j in 0..<n { w[j * k + p] = b[p * ldb + j] } }
        }
        return WeightMatrix(weights: w, rows: n, cols: k, layout: layout)
    }

    private init(k: Int, n: Int, packed: AlignedFloats, recurrentRowSlivers: Bool) {
        self.k = k
        self.n = n
        storage = .packed(packed)
        packedOnUse = nil
        packsEveryProduct = false
        storedBlocks = nil
        rowSliversOnUse = PackedOnUse()
        self.recurrentRowSlivers = recurrentRowSlivers
    }

    /// Number of elements of W.
    package var count: Int { k * n }

    /// Whether `other` is this matrix, in the same memory (not a copy of it).
    package func sharesStorage(with other: WeightMatrix) -> Bool {
        switch (storage, other.storage) {
        case (.packed(let a), .packed(let b)): return a === b
        case (.rows(let a), .rows(let b)): return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { x.baseAddress == $0.baseAddress } }
        case (.transposed(let a), .transposed(let b)):
            return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { x.baseAddress == $0.baseAddress } }
        default: return false
        }
    }

    /// The matrix as the AVX2 kernels take it, valid inside `body`; nil for the portable form.
    package func withKernelWeights<R>(_ body: (rnnrt_weights) throws -> R) rethrows -> R? {
        switch storage {
        case .packed(let p):
            return try withExtendedLifetime(p) { try body(packedWeights(p)) }
        case .rows(let w) where storedBlocks != nil:
            let packed = packedCopy(w)
            return try withExtendedLifetime(packed) { try body(packedWeights(packed)) }
        case .rows(let w):
            return try w.withUnsafeBufferPointer { try body(rnnrt_weights(data: $0.baseAddress!, ld: k, packed: 0, row_slivers: nil)) }
        case .transposed:
            return nil
        }
    }

    /// The matrix as stored, with the order of its row blocks when it is kept so (nil: W in order), for a packer
    /// that reads it once; the kernel form otherwise.
    package func withStoredRows<R>(_ body: (rnnrt_weights, [Int32]?) throws -> R) rethrows -> R? {
        if let storedBlocks, case .rows(let w) = storage {
            return try w.withUnsafeBufferPointer {
                try body(rnnrt_weights(data: $0.baseAddress!, ld: k, packed: 0, row_slivers: nil), storedBlocks.order.map(Int32.init))
            }
        }
        return try withKernelWeights { try body($0, nil) }
    }

    /// The packed copy of a matrix kept as rows, made on first use.
    private func packedCopy(_ w: FloatStorage) -> AlignedFloats {
        packedOnUse!.get { WeightMatrix.pack(w, rows: n, cols: k, blocks: storedBlocks?.order, blockRows: storedBlocks?.rows ?? 0) }
    }

    /// The matrix as the AVX2 kernels take it for a recurrence, which multiplies `batch` rows by it at every step
    /// (nil: no row slivers).
    /// Forms made on this first use (a one-time copy, made once and shared by every later use and thread; loading
    /// stays a mapping, and the first forward pass pays for it):
    /// - for a batch `rnnrt_row_slivers_suit` takes (7, 8, 13–16, 31 or 32 rows), row slivers, whose products at
    ///   those batches beat the packed form's;
    /// - otherwise a matrix kept in place by size is packed, since the packed form's small-batch products are faster
    ///   and scale better when two threads split the units. `packable`: false to keep the in-place form (row slivers
    ///   are still added).
    package func withRecurrentKernelWeights<R>(batch: Int? = nil, packable: Bool = true,
                                              _ body: (rnnrt_weights) throws -> R) rethrows -> R? {
        if recurrentRowSlivers, let batch, rnnrt_row_slivers_suit(batch) == 1,
           let result = try withRowSlivers({ slivers in
               try withKernelWeights { weights in
                   var weights = weights
                   weights.row_slivers = slivers
                   return try body(weights)
               }
           }) {
            return result
        }
        guard packable, packedOnUse != nil, case .rows(let w) = storage else { return try withKernelWeights(body) }
        let packed = packedCopy(w)
        return try withExtendedLifetime(packed) { try body(packedWeights(packed)) }
    }

    /// W in slivers of 6 rows, each `[k][6]` (`rnnrt_pack_row_slivers`: the packed left operand of a product
    /// `W · B`), valid inside `body`; made on first use and kept. Nil for the portable form.
    package func withRowSlivers<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R? {
        guard let rowSliversOnUse else { return nil }
        let slivers = rowSliversOnUse.get {
            withKernelWeights { weights in
                AlignedFloats(count: Int(rnnrt_row_slivers_count(k, n))) { rnnrt_pack_row_slivers(n, k, weights, $0) }
            }!
        }
        return try withExtendedLifetime(slivers) { try body(UnsafePointer(slivers.pointer)) }
    }

    /// W packed into 16-column slivers (`rnnrt_pack_bt` writes every element, padding included: no zero-fill first).
    /// With `blocks`, row block `b` of W is block `blocks[b]` of `w`, each `blockRows` (a multiple of 16) rows: the
    /// blocks' slivers follow one another, so each block is packed on its own.
    private static func pack(_ w: FloatStorage, rows n: Int, cols k: Int, blocks: [Int]? = nil, blockRows: Int = 0) -> AlignedFloats {
        AlignedFloats(count: Int(rnnrt_packed_b_count(k, n))) { dst in
            w.withUnsafeBufferPointer { src in
                guard let blocks else { return rnnrt_pack_bt(n, k, src.baseAddress!, dst) }
                for (b, stored) in blocks.enumerated() {
                    rnnrt_pack_bt(blockRows, k, src.baseAddress! + stored * blockRows * k, dst + b * blockRows * k)
                }
            }
        }
    }

    /// A packed copy of this matrix as the kernels take it (valid while `packed` lives).
    private func packedWeights(_ packed: AlignedFloats) -> rnnrt_weights {
        rnnrt_weights(data: packed.pointer, ld: k, packed: 1, row_slivers: nil)
    }

    /// `C[m×w] = (accumulate ? C : 0) + A[m×k] · Wᵀ[:, columns]` (all columns when nil; `w` = their count).
    package func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                         accumulate: Bool, columns: Range<Int>? = nil) {
        let cols = columns ?? 0..<n
        guard m > 0, !cols.isEmpty else { return }
        // A matrix kept in place by size, multiplied by many rows at once (a whole sequence's input projection): its
        // packed copy, made on first use as for a recurrence, instead of reading W as stored.
        var form = storage
        if m >= WeightMatrix.packedFromRows || packsEveryProduct, packedOnUse != nil, case .rows(let w) = storage {
            form = .packed(packedCopy(w))
        }
        switch form {
        case .transposed(let t):
            t.withUnsafeBufferPointer { b in
                portableSgemm(m: m, n: cols.count, k: k, a: a, lda: lda, b: b.baseAddress! + cols.lowerBound, ldb: n,
                              c: c, ldc: ldc, accumulate: accumulate)
            }
        case .rows(let w):
            w.withUnsafeBufferPointer { p in
                rnnrt_sgemm_rows_avx2(m, cols.count, k, a, lda, p.baseAddress! + cols.lowerBound * k, k, c, ldc,
                                      accumulate ? 1 : 0)
            }
        case .packed(let packed) where cols.lowerBound % 16 == 0:
            withExtendedLifetime(packed) {
                rnnrt_sgemm_packed_avx2(m, cols.count, k, a, lda, packed.pointer + (cols.lowerBound / 16) * k * 16,
                                        c, ldc, accumulate ? 1 : 0)
            }
        case .packed(let packed):
            // Unaligned column range (rare: a GRU candidate block): the aligned superset into scratch, then copy.
            let start = cols.lowerBound - cols.lowerBound % 16
            let width = cols.upperBound - start
            var scratch = [Float](repeating: 0, count: m * width)
            withExtendedLifetime(packed) {
                scratch.withUnsafeMutableBufferPointer { s in
                    rnnrt_sgemm_packed_avx2(m, width, k, a, lda, packed.pointer + (start / 16) * k * 16, s.baseAddress!,
                                            width, 0)
                }
            }
            let offset = cols.lowerBound - start
            for i in 0..<m {
                for j in 0..<cols.count {
                    let v = scratch[i * width + offset + j]
                    c[i * ldc + j] = accumulate ? c[i * ldc + j] + v : v
                }
            }
        }
    }
}
