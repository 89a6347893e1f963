import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
import RNNRTGraph
import RNNRTCheckpoints
import RNNRTCore

/// The integer operators against onnxruntime: single operators (`quant_ops/`, tools/fixtures/onnx/make_quant_op_fixtures.py),
/// integer outputs exactly and float outputs within the case's tolerance.
@Suite struct QuantizedConformanceTests {
    static let ops = Fixture.folders(in: "onnx/quant_ops").map { "onnx/quant_ops/\($0)" }

    @Test(arguments: ops)
    func operatorMatchesOnnxruntime(_ folder: String) throws {
        let spec = try JSONDecoder().decode(ONNXCase.self, from: Data(contentsOf: Fixture.url(folder).appendingPathComponent("case.json")))
        for (name, c) in try runONNXCase(folder) {
            #expect(c.passed, "\(folder) \(name): \(c)")
            ONNXLargestError.record(c.maxAbsError, at: "\(folder) \(name)", source: spec.source)
        }
    }

    @Test func everyQuantizedOperatorHasFixtures() throws {
        let covered = Set(try Self.ops.map { folder -> String in
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixture.url(folder).appendingPathComponent("case.json"))) as? [String: Any]
            let domain = json?["domain"] as? String ?? "ai.onnx"
            let op = json?["op"] as? String ?? "?"
            return domain == "ai.onnx" ? op : "\(domain).\(op)"
        })
        let expected: Set<String> = ["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
                                     "QLinearMatMul", "QLinearConv", "com.microsoft.MatMulIntegerToFloat",
                                     "com.microsoft.DynamicQuantizeMatMul", "com.microsoft.DynamicQuantizeLSTM"]
        #expect(covered == expected)
    }
}
