import Testing
import RNNRTGraph

/// Max pooling picks inputs and computes nothing, so its outputs are the reference's bit for bit: every `MaxPool` and
/// `GlobalMaxPool` operator fixture (onnxruntime's outputs; PyTorch's where windows hold NaN), through the kernel
/// this CPU runs and, in the suite's portable pass, the portable one.
@Suite struct MaxPoolTests {
    static let cases = ONNXConformanceTests.ops.filter { $0.hasPrefix("onnx/ops/maxpool_") || $0.hasPrefix("onnx/ops/globalmaxpool_") }

    @Test func everyFormHasACase() {
        #expect(MaxPoolTests.cases.count >= 25)
        #expect(MaxPoolTests.cases.contains("onnx/ops/maxpool_wide_nan"))
    }

    @Test(arguments: cases)
    func outputsAreTheReferencesBits(_ folder: String) throws {
        for (name, actual, expected) in try runONNXCaseOutputs(folder) {
            #expect(actual.shape == expected.shape, "\(folder) \(name)")
            let a = try actual.floats(name), e = try expected.floats(name)
            #expect(a.count == e.count, "\(folder) \(name)")
            let differing = a.indices.filter { i in
                i < e.count && !(a[i].isNaN && e[i].isNaN) && a[i].bitPattern != e[i].bitPattern
            }
            #expect(differing.isEmpty, "\(folder) \(name): \(differing.count) outputs differ, first at \(differing.first ?? 0)")
        }
    }
}
