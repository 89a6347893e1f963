import RNNRTCore
import RNNRTKernels
import Testing

/// Every weight form and product path against a float64 reference: one-row products, the few-row tiles
/// (6×16 and 12×8, with partial tiles), the many-row path and GRU-style column ranges, with k tails.
@Suite struct WeightMatrixTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 8, 8), (1, 13, 5), (1, 128, 32), (1, 77, 33), (2, 40, 17), (5, 96, 64), (6, 50, 9), (7, 12, 40),
        (8, 31, 24), (9, 100, 16), (12, 7, 3), (16, 64, 48), (17, 45, 30), (24, 66, 1), (40, 96, 70),
        (49, 70, 20), (100, 48, 64), (130, 35, 19),
    ]

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
                    #expect(worst <= 1, "m \(m) n \(n) k \(k) columns \(columns) accumulate \(accumulate): error \(worst)× bound")
                }
            }
        }
    }
}
