import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
@testable import RNNRTGraph
import RNNRTCheckpoints
import RNNRTCore

/// The integer operators against onnxruntime: single operators (`quant_ops/`, tools/fixtures/onnx/make_quant_op_fixtures.py),
/// integer outputs exactly and float outputs within the case's tolerance.
@Suite struct QuantizedConformanceTests {
    static let ops = Fixture.folders(in: "onnx/quant_ops").map { "onnx/quant_ops/\($0)" }

    @Test(arguments: ops)
    func operatorMatchesOnnxruntime(_ folder: String) throws {
        let spec = try ONNXCase.load(Fixture.url(folder))
        for (name, c) in try runONNXCase(folder) {
            #expect(c.passed, "\(folder) \(name): \(c)")
            LargestError.record(c.maxAbsError, at: "\(folder) \(name)", source: spec.source)
        }
    }

    @Test func everyQuantizedOperatorHasFixtures() throws {
        let covered = Set(try Self.ops.map { folder -> String in
            let spec = try ONNXCase.load(Fixture.url(folder))
            let domain = spec.domain ?? "ai.onnx", op = spec.op ?? "?"
            return domain == "ai.onnx" ? op : "\(domain).\(op)"
        })
        let expected: Set<String> = ["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
                                     "QLinearMatMul", "QLinearConv", "com.microsoft.MatMulIntegerToFloat",
                                     "com.microsoft.DynamicQuantizeMatMul", "com.microsoft.DynamicQuantizeLSTM"]
        #expect(covered == expected)
    }
}

/// Whole models quantized with onnxruntime's `quantize_dynamic` and `quantize_static` (QDQ)
/// (`quant_models/`, tools/fixtures/onnx/make_quantized_models.py): every output within one 8-bit step of its range
/// of onnxruntime's, and the class decisions (argmax over the last axis) of the outputs the case names identical.
@Suite struct QuantizedModelTests {
    static let models = Fixture.folders(in: "onnx/quant_models").map { "onnx/quant_models/\($0)" }

    @Test(arguments: models)
    func modelMatchesOnnxruntime(_ folder: String) throws {
        let dir = Fixture.url(folder)
        let spec = try ONNXCase.load(dir)
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx")))
        let outputs = Dictionary(try plan.run(try spec.feeds(in: dir)).map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        for (k, name) in spec.outputs.enumerated() {
            let expected = try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("expected/\(k).npy"))).tensor(name)
            let actual = try #require(outputs[name]).tensor(name)
            let c = Tolerance(atol: spec.atol, rtol: 0).compare(actual, expected)
            #expect(c.passed, "\(folder) \(name): \(c)")
            LargestError.record(c.maxAbsError, at: "\(folder) \(name)", source: spec.source)
            if spec.argmax?.contains(name) == true {
                #expect(Self.argmax(actual) == Self.argmax(expected), "\(folder) \(name): class decisions differ")
            }
        }
    }

    /// The 8-bit weights of dynamically quantized models' products are bound at load from their bytes
    /// (`EightBitTensor`): no product step reads an 8-bit matrix among the plan's values (zero points, of rank 0 or 1,
    /// may stay; so may the 8-bit table a `Gather` reads).
    @Test(arguments: models.filter { $0.hasSuffix("_dynamic") })
    func boundWeightsAreNotKeptAsValues(_ folder: String) throws {
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: Fixture.url(folder).appendingPathComponent("model.onnx")))
        let matrices = Set(plan.constants.filter { slot, value in
            guard case .int = value.elements else { return false }
            return [.uint8, .int8].contains(value.integerType) && value.rank >= 2
        }.map(\.slot))
        let products = plan.steps.filter { ["MatMulInteger", "ConvInteger", "DynamicQuantizeLSTM"].contains($0.node.opType) }
        #expect(!products.isEmpty)
        for step in products {
            #expect(step.inputs.allSatisfy { $0.map { !matrices.contains($0) } ?? true }, "\(folder): \(step.node.label)")
        }
    }

    @Test func fixturesCoverDynamicAndStaticQuantization() {
        #expect(Self.models.filter { $0.hasSuffix("_dynamic") }.count >= 5)
        #expect(Self.models.filter { $0.hasSuffix("_qdq") }.count >= 5)
        #expect(Self.models.contains("onnx/quant_models/crnn_dynamic") && Self.models.contains("onnx/quant_models/crnn_qdq"))
    }

    /// The index of the largest value of every row of the last axis.
    static func argmax(_ t: Tensor) -> [Int] {
        guard let n = t.shape.last, n > 0 else { return [] }
        return stride(from: 0, to: t.count, by: n).map { start in
            (0..<n).max { t.scalars[start + $0] < t.scalars[start + $1] }!
        }
    }
}

/// The decoder reads uint8, int8 and int32 initializers (weights, zero points, biases of quantized models), and the
/// executor keeps their type.
@Suite struct QuantizedInitializerTests {
    @Test func integerInitializersKeepTheirType() throws {
        var seen: Set<DType> = []
        for folder in ["onnx/quant_models/crnn_qdq", "onnx/quant_models/crnn_dynamic", "onnx/quant_models/ts17_lstm_attention_pool_qdq"] {
            let model = try ONNXModelFile.read(contentsOf: Fixture.url(folder).appendingPathComponent("model.onnx"))
            for stored in model.graph.initializers.values where [.uint8, .int8, .int32].contains(stored.dtype) {
                let t = try GraphTensor(stored)
                #expect(t.integerType == stored.dtype)
                #expect(t.stored.dtype == stored.dtype && t.stored.bytes == stored.bytes)
                seen.insert(stored.dtype)
            }
        }
        #expect(seen == [.uint8, .int8, .int32])
    }
}
