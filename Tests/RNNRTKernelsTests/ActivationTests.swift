import Testing
@testable import RNNRTKernels

/// `ActivationFunction.apply` over arrays (the vector kernels where the CPU has them) agrees with the scalar functions:
/// within the vector math's few ulps (2.8 for sigmoid, 5.5 and 3.3e-7 absolute for tanh), exactly for relu, NaN where
/// the input is NaN, and the same whatever an element's position (vector blocks or the masked tail).
@Suite struct ActivationTests {
    static let values: [Float] = {
        var v: [Float] = [.infinity, -.infinity, .nan, 0, -0.0, 1e-30, -1e-30, 17, -17, 88.7, -88.7, 100, -100, 9.02, -9.02]
        var x: Float = -30
        while x <= 30 { v.append(x); x += 0.0173 }
        return v
    }()

    @Test(arguments: [ActivationFunction.sigmoid, .tanh, .relu, .silu])
    func arraysAgreeWithTheScalarFunction(_ f: ActivationFunction) {
        let x = ActivationTests.values
        let y = f.applied(to: x)
        for (input, got) in zip(x, y) {
            let want = f(input)
            if want.isNaN { #expect(got.isNaN, "\(f)(\(input)) = \(got)"); continue }
            if want.isInfinite { #expect(got == want, "\(f)(\(input)) = \(got)"); continue }
            #expect(abs(got - want) <= 4e-7 + 1e-6 * abs(want), "\(f)(\(input)) = \(got), want \(want)")
        }
        // Every offset and length (vector blocks of 32 and 8, tails of 1–7): each element as it is alone.
        for start in 0..<9 {
            for count in [1, 7, 8, 9, 31, 32, 33, 45] where start + count <= x.count {
                let part = f.applied(to: Array(x[start..<(start + count)]))
                for (k, v) in part.enumerated() {
                    let alone = f.applied(to: [x[start + k]])[0]
                    #expect(v.bitPattern == alone.bitPattern || (v.isNaN && alone.isNaN))
                }
            }
        }
    }
}
