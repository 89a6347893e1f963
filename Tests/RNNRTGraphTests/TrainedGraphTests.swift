import Foundation
import RNNRTCore
import RNNRTGraph
import RNNRTONNX
import RNNRTTestSupport
import Testing

/// The float64 run of the graphs exported from the trained models of `Fixtures/trained/` against PyTorch's float64:
/// every operator in float64, and agreement to 1e-12 of the output's scale.
@Suite struct TrainedGraphTests {
    @Test func exportedGraphFloat64MatchesPyTorchFloat64() throws {
        for name in Fixture.folders(in: "trained") {
            let url = Fixture.url("trained/\(name)/model.onnx")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let plan = try Plan(model: try ONNXModelFile.read(contentsOf: url))
            let x = try TrainedCase.inputs(name)[0]
            let run = try plan.runFloat64(["input": GraphTensor64(x)])
            #expect(run.float32Operators.isEmpty)
            let ours = try run.outputs.map { output -> Tensor64 in
                guard case .double(let v) = output.tensor.elements else { throw RNNRTError(.invalidArgument, "not float") }
                return Tensor64(shape: output.tensor.shape, scalars: v)
            }
            #expect(Float64Disagreement.measure(ours, try TrainedCase.expected(name, "expected64"), "\(name) ONNX") <= 1e-12)
        }
    }
}
