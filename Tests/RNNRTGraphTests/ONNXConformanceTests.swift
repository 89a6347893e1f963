import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
import RNNRTGraph
import RNNRTCheckpoints
import RNNRTCore

/// Runs one fixture folder: feeds `inputs/<k>.npy` by name, compares every output with
/// `expected/<k>.npy` within the case's tolerance (rnnrt's contract 1e-5 + 1e-4·|ref| unless the
/// reference itself is less precise, as for float16 inputs).
func runONNXCase(_ folder: String) throws -> [(name: String, comparison: Comparison)] {
    let spec = try ONNXCase.load(Fixture.url(folder))
    let tolerance = Tolerance(atol: spec.atol, rtol: spec.rtol)
    return try runONNXCaseOutputs(folder, spec: spec).map { name, actual, expected in
        // Integer and bool outputs compare exactly (as floats, which hold them exactly at these sizes).
        func floats(_ t: GraphTensor) -> Tensor {
            switch t.elements {
            case .float(let v): return Tensor(shape: t.shape, scalars: v)
            case .int(let v): return Tensor(shape: t.shape, scalars: v.map { Float($0) })
            case .bool(let v): return Tensor(shape: t.shape, scalars: v.map { $0 ? 1 : 0 })
            }
        }
        if case .float = expected.elements {
            return (name, tolerance.compare(floats(actual), floats(expected)))
        }
        return (name, Tolerance(atol: 0, rtol: 0).compare(floats(actual), floats(expected)))
    }
}

/// Runs one fixture folder: each output by name beside its expected value (`expected/<k>.npy`). `spec`: the folder's
/// case, when the caller has read it.
func runONNXCaseOutputs(_ folder: String, spec: ONNXCase? = nil) throws -> [(name: String, actual: GraphTensor, expected: GraphTensor)] {
    let dir = Fixture.url(folder)
    let spec = try spec ?? ONNXCase.load(dir)
    let model = try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx"))
    let plan = try Plan(model: model)
    let outputs = Dictionary(try plan.run(try spec.feeds(in: dir)).map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    return try spec.outputs.enumerated().map { k, name in
        let expected = try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("expected/\(k).npy")))
        guard let actual = outputs[name] else { throw RNNRTError(.invalidArgument, "no output '\(name)'") }
        return (name, actual, expected)
    }
}

/// The ONNX backend node test cases for LSTM, GRU and RNN (`Fixtures/onnx/node/SUPPORTED.txt`), the
/// NumPy spec cases for every attribute (`spec/`, cross-checked against onnxruntime), models exported
/// from PyTorch with both exporters (`torch/`, PyTorch's outputs), single operators (`ops/`) and graphs with
/// constant weights at kernel sizes (`graphs/`, onnxruntime's outputs) all pass.
@Suite struct ONNXConformanceTests {
    static let node = Fixture.folders(in: "onnx/node").map { "onnx/node/\($0)" }
    static let spec = Fixture.folders(in: "onnx/spec").map { "onnx/spec/\($0)" }
    static let torch = Fixture.folders(in: "onnx/torch").map { "onnx/torch/\($0)" }
    static let ops = Fixture.folders(in: "onnx/ops").map { "onnx/ops/\($0)" }
    static let graphs = Fixture.folders(in: "onnx/graphs").map { "onnx/graphs/\($0)" }

    @Test(arguments: node + spec + torch + ops + graphs)
    func matchesReference(_ folder: String) throws {
        let spec = try ONNXCase.load(Fixture.url(folder))
        if spec.expect_failure == true {
            #expect(throws: RNNRTError.self, "\(folder) should fail") { try runONNXCase(folder) }
            return
        }
        for (name, c) in try runONNXCase(folder) {
            #expect(c.passed, "\(folder) \(name): \(c)")
            LargestError.record(c.maxAbsError, at: "\(folder) \(name)", source: spec.source)
        }
    }

    @Test func everyNodeTestIsClaimed() throws {
        let claimed = try String(contentsOf: Fixture.url("onnx/node/SUPPORTED.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(Set(claimed) == Set(ONNXConformanceTests.node.map { String($0.dropFirst("onnx/node/".count)) }))
        #expect(claimed.count >= 18)
    }
}

/// `runONNXCase` on the float64 run (`Plan.runFloat64`): the outputs rounded to float32, with the float32 operators it
/// used.
func runONNXCaseFloat64(_ folder: String) throws -> (outputs: [(name: String, comparison: Comparison)], float32: [String]) {
    let dir = Fixture.url(folder)
    let spec = try ONNXCase.load(dir)
    let plan = try Plan(model: try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx")))
    let run = try plan.runFloat64(try spec.feeds(in: dir, as: GraphTensor64.init))
    let outputs = Dictionary(run.outputs.map { ($0.name, $0.tensor.float32) }, uniquingKeysWith: { a, _ in a })
    let tolerance = Tolerance(atol: spec.atol, rtol: spec.rtol)
    let compared = try spec.outputs.enumerated().map { k, name in
        let expected = try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("expected/\(k).npy")))
        guard let actual = outputs[name] else { throw RNNRTError(.invalidArgument, "no output '\(name)'") }
        func floats(_ t: GraphTensor) -> Tensor {
            switch t.elements {
            case .float(let v): return Tensor(shape: t.shape, scalars: v)
            case .int(let v): return Tensor(shape: t.shape, scalars: v.map { Float($0) })
            case .bool(let v): return Tensor(shape: t.shape, scalars: v.map { $0 ? 1 : 0 })
            }
        }
        if case .float = expected.elements {
            return (name, tolerance.compare(floats(actual), floats(expected)))
        }
        return (name, Tolerance(atol: 0, rtol: 0).compare(floats(actual), floats(expected)))
    }
    return (compared, run.float32Operators)
}

/// The same cases on the float64 run: every reference lies within the case's tolerance of it, and the recurrent
/// operators' cases (`node/`, `spec/`) run with no operator in float32.
@Suite struct ONNXFloat64ConformanceTests {
    @Test(arguments: ONNXConformanceTests.node + ONNXConformanceTests.spec + ONNXConformanceTests.torch + ONNXConformanceTests.ops + ONNXConformanceTests.graphs)
    func float64MatchesReference(_ folder: String) throws {
        let spec = try ONNXCase.load(Fixture.url(folder))
        if spec.expect_failure == true {
            #expect(throws: RNNRTError.self, "\(folder) should fail") { try runONNXCaseFloat64(folder) }
            return
        }
        let (outputs, float32) = try runONNXCaseFloat64(folder)
        if folder.hasPrefix("onnx/node/") || folder.hasPrefix("onnx/spec/") {
            #expect(float32.isEmpty, "\(folder): \(float32) in float32")
        }
        for (name, c) in outputs {
            #expect(c.passed, "\(folder) \(name): \(c)")
            LargestError.record(c.maxAbsError, at: "\(folder) \(name)", source: "float64 " + spec.source)
        }
    }
}
