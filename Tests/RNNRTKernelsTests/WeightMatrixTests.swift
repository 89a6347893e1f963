import CRNNRTKernels
import RNNRTCore
@testable import RNNRTKernels
import Testing

/// Every weight form and product path against a float64 reference: one-row products, the few-row tiles
/// (6×16 and 12×8, with partial tiles), the many-row path (in blocks of inner values, and for up to 96 rows with A
/// packed whole) and GRU-style column ranges, with k tails.
@Suite struct WeightMatrixTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 8, 8), (1, 13, 5), (1, 128, 32), (1, 77, 33), (2, 40, 17), (5, 96, 64), (6, 50, 9), (7, 12, 40),
        (8, 31, 24), (9, 100, 16), (12, 7, 3), (16, 64, 48), (17, 45, 30), (24, 66, 1), (40, 96, 70),
        (49, 70, 20), (100, 48, 64), (130, 35, 19), (25, 70, 300), (3, 33, 520), (96, 20, 257), (100, 20, 300),
    ]

    /// The largest error of `c` (`[m × columns.count]`) against the float64 `(accumulate ? start : 0) + A · W[columns]ᵀ`
    /// (A `[m×k]`, W `[n×k]`, start `[m×n]`), in units of the bound 1e-6 · Σ|terms|.
    static func worstError(_ c: [Float], a: [Float], w: [Float], start: [Float], m: Int, n: Int, k: Int,
                           columns: Range<Int>, accumulate: Bool) -> Double {
        let width = columns.count
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<width {
                var exact = accumulate ? Double(start[i * n + j]) : 0
                var magnitude = abs(exact)
                for p in 0..<k {
                    let term = Double(a[i * k + p]) * Double(w[(columns.lowerBound + j) * k + p])
                    exact += term
                    magnitude += abs(term)
                }
                worst = max(worst, abs(Double(c[i * width + j]) - exact) / (magnitude * 1e-6 + 1e-30))
            }
        }
        return worst
    }

    @Test(arguments: [WeightMatrix.Layout.packed, .inPlace, .bySize])
    func productsMatchTheReference(layout: WeightMatrix.Layout) {
        var generator = SeededGenerator(seed: 7)
        for (m, n, k) in Self.shapes {
            let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
            let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &generator) }
            let start = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &generator) }
            let matrix = WeightMatrix(weights: w, rows: n, cols: k, layout: layout)
            for accumulate in [false, true] {
                for columns in [0..<n, (n / 3)..<n] {
                    let width = columns.count
                    var c = [Float](repeating: 0, count: m * width)
                    for i in 0..<m { for j in 0..<width { c[i * width + j] = start[i * n + j] } }
                    a.withUnsafeBufferPointer { ap in
                        c.withUnsafeMutableBufferPointer { cp in
                            matrix.multiply(m: m, a: ap.baseAddress!, lda: k, c: cp.baseAddress!, ldc: width,
                                            accumulate: accumulate, columns: columns)
                        }
                    }
                    let worst = Self.worstError(c, a: a, w: w, start: start, m: m, n: n, k: k, columns: columns,
                                                accumulate: accumulate)
                    #expect(worst <= 1, "m \(m) n \(n) k \(k) columns \(columns) accumulate \(accumulate): error \(worst)× bound")
                }
            }
        }
    }

    /// A matrix whose row blocks are stored in another order (a recurrence's gates in ONNX's order) computes what the
    /// reordered matrix computes, packed block by block (blocks of 16 rows) or reordered first (blocks of 5, or a form
    /// kept as stored); one packed later stays as given until its first product.
    @Test(arguments: [WeightMatrix.Layout.packed, .inPlace, .bySize])
    func rowBlocksStoredInAnotherOrder(layout: WeightMatrix.Layout) {
        var generator = SeededGenerator(seed: 17)
        let order = [1, 2, 0]
        for (blockRows, k) in [(16, 24), (5, 9), (32, 70)] {
            let n = 3 * blockRows
            let stored = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &generator) }
            var w: [Float] = []
            for b in order { w += stored[(b * blockRows * k)..<((b + 1) * blockRows * k)] }
            for packLater in [false, true] {
                let matrix = WeightMatrix(weights: FloatStorage(stored), rows: n, cols: k, layout: layout,
                                          rowBlocks: (order, blockRows), packLater: packLater)
                if KernelSet.avx2, packLater || layout == .inPlace, case .packed = matrix.storage {
                    Issue.record("a matrix packed later or in place is not packed at bind")
                }
                for m in [1, 3, 9] {
                    let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
                    let start = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &generator) }
                    var c = start
                    a.withUnsafeBufferPointer { ap in
                        c.withUnsafeMutableBufferPointer { cp in
                            matrix.multiply(m: m, a: ap.baseAddress!, lda: k, c: cp.baseAddress!, ldc: n, accumulate: true)
                        }
                    }
                    let worst = Self.worstError(c, a: a, w: w, start: start, m: m, n: n, k: k, columns: 0..<n, accumulate: true)
                    #expect(worst <= 1, "blocks of \(blockRows) k \(k) m \(m) later \(packLater): error \(worst)× bound")
                }
            }
        }
    }

    /// A recurrence's batch of 7, 8, 13–16, 31 or 32 rows gets row slivers (made on first use, from the packed form or
    /// from the matrix in place) and its products match the float64 reference, partial slivers and transposes
    /// included; other batches and matrices forced in place get none.
    @Test(arguments: [WeightMatrix.Layout.packed, .inPlace, .bySize])
    func rowSliverProductsMatchTheReference(layout: WeightMatrix.Layout) throws {
        guard KernelSet.avx2 else { return }
        var generator = SeededGenerator(seed: 13)
        // (600, 440): above the packing limit, so .bySize makes the slivers from the matrix in place.
        for (n, k) in [(6, 1), (37, 19), (96, 64), (50, 8), (600, 440)] {
            let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &generator) }
            let matrix = WeightMatrix(weights: w, rows: n, cols: k, layout: layout)
            for m in [6, 7, 8, 12, 13, 16, 24, 29, 31, 32] {
                let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
                let start = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &generator) }
                for accumulate in [false, true] {
                    var c = start
                    let slivers = try #require(matrix.withRecurrentKernelWeights(batch: m) { weights -> Bool in
                        a.withUnsafeBufferPointer { ap in
                            c.withUnsafeMutableBufferPointer { cp in
                                rnnrt_weights_multiply(m, n, k, ap.baseAddress!, k, weights, cp.baseAddress!, n,
                                                       accumulate ? 1 : 0)
                            }
                        }
                        return weights.row_slivers != nil
                    } as Bool?)
                    #expect(slivers == (layout != .inPlace && [7, 8, 13, 16, 31, 32].contains(m)), "n \(n) k \(k) m \(m)")
                    let worst = Self.worstError(c, a: a, w: w, start: start, m: m, n: n, k: k, columns: 0..<n,
                                                accumulate: accumulate)
                    #expect(worst <= 1, "n \(n) k \(k) m \(m) accumulate \(accumulate): error \(worst)× bound")
                }
            }
        }
    }

    /// A matrix kept in place by size is packed on its first use by a recurrence: the packed copy gives the
    /// in-place form's products, is made once (the second use gets the same copy), and the in-place form stays
    /// available (`packable: false`).
    @Test func recurrentUsePacksALargeMatrixOnce() throws {
        guard KernelSet.avx2 else { return }
        let (n, k, m) = (1200, 240, 3)  // 288 000 elements: above the 1 MB packing limit
        var generator = SeededGenerator(seed: 11)
        let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &generator) }
        let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
        let matrix = WeightMatrix(weights: w, rows: n, cols: k, layout: .bySize)
        func product(_ weights: rnnrt_weights) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { ap in
                c.withUnsafeMutableBufferPointer { cp in
                    rnnrt_weights_multiply(m, n, k, ap.baseAddress!, k, weights, cp.baseAddress!, n, 0)
                }
            }
            return c
        }
        let inPlace = try #require(matrix.withRecurrentKernelWeights(packable: false) { w -> [Float] in
            #expect(w.packed == 0)
            return product(w)
        })
        let first = try #require(matrix.withRecurrentKernelWeights { w -> (UnsafePointer<Float>?, [Float]) in
            #expect(w.packed == 1)
            return (w.data, product(w))
        })
        let second = try #require(matrix.withRecurrentKernelWeights { $0.data })
        #expect(first.0 == second)
        #expect(Tolerance.pytorch.compare(Tensor(shape: [m, n], scalars: first.1), Tensor(shape: [m, n], scalars: inPlace)).passed)
    }

    /// A product of many rows with a matrix kept in place by size (a sequence's input projection) runs on the same
    /// packed copy a recurrence makes, and agrees with the product of a few rows (which reads W as stored).
    @Test func manyRowsUseThePackedCopy() throws {
        guard KernelSet.avx2 else { return }
        let (n, k, m) = (1200, 240, WeightMatrix.packedFromRows + 5)
        var generator = SeededGenerator(seed: 12)
        let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &generator) }
        let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
        let matrix = WeightMatrix(weights: w, rows: n, cols: k, layout: .bySize)
        func product(rows: Int) -> [Float] {
            var c = [Float](repeating: 0, count: rows * n)
            a.withUnsafeBufferPointer { ap in
                c.withUnsafeMutableBufferPointer { cp in
                    matrix.multiply(m: rows, a: ap.baseAddress!, lda: k, c: cp.baseAddress!, ldc: n, accumulate: false)
                }
            }
            return c
        }
        let many = product(rows: m)
        var few: [Float] = []
        for start in stride(from: 0, to: m, by: 2) {
            let rows = min(2, m - start)
            var c = [Float](repeating: 0, count: rows * n)
            a.withUnsafeBufferPointer { ap in
                c.withUnsafeMutableBufferPointer { cp in
                    matrix.multiply(m: rows, a: ap.baseAddress! + start * k, lda: k, c: cp.baseAddress!, ldc: n, accumulate: false)
                }
            }
            few += c
        }
        #expect(Tolerance.pytorch.compare(Tensor(shape: [m, n], scalars: many), Tensor(shape: [m, n], scalars: few)).passed)
        // The copy is the recurrence's: made once.
        let first = try #require(matrix.withRecurrentKernelWeights { $0.data })
        _ = product(rows: m)
        #expect(try #require(matrix.withRecurrentKernelWeights { $0.data }) == first)
    }
}
