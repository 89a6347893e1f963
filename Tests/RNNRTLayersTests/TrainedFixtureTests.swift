import Foundation
import Testing
import RNNRT
import RNNRTTestSupport

/// The float64 path against PyTorch's float64 on models trained until PyTorch's float32 drifts from float64
/// (`Fixtures/trained/`): every module and cell agrees to 1e-12 of the output's scale.
@Suite struct TrainedFixtureTests {
    static let cases = Fixture.folders(in: "trained")

    @Test func fixturesArePresent() {
        #expect(TrainedFixtureTests.cases.count >= 8)
    }

    @Test(arguments: cases)
    func float64MatchesPyTorchFloat64(_ name: String) throws {
        let spec = try TrainedCase.load(name)
        let module = try spec.module(name)
        #expect(module.configuration.torchDescription == spec.module, "\(name)")
        #expect(module.configuration.isCell == spec.cell && module.prefix == spec.prefix)
        let inputs = try TrainedCase.inputs(name).map(Tensor64.init)
        let r = try module.forwardFloat64(inputs[0], h0: inputs.count > 1 ? inputs[1] : nil, c0: inputs.count > 2 ? inputs[2] : nil)
        let ours = [r.output, r.hN] + (r.cN.map { [$0] } ?? [])
        #expect(Float64Disagreement.measure(ours, try TrainedCase.expected(name, "expected64"), name) <= 1e-12)
    }

    /// The float64 path refuses what the float32 path refuses, with the same typed errors.
    @Test func float64RefusesBadInputs() throws {
        let module = try TrainedCase.load("lstm_bidir").module("lstm_bidir")
        #expect(throws: RNNRTError.self) { try module.forwardFloat64(Tensor64(repeating: 0, shape: [3, 2, 7])) }
        #expect(throws: RNNRTError.self) {
            try module.forwardFloat64(Tensor64(repeating: 0, shape: [3, 2, 8]), h0: Tensor64(repeating: 0, shape: [4, 3, 32]))
        }
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: Fixture.url("trained/lstm_bidir/model.onnx")))
        for bad in [GraphTensor64(shape: [3, 2, 7], doubles: [Double](repeating: 0, count: 42)),
                    GraphTensor64(shape: [3, 8], doubles: [Double](repeating: 0, count: 24)),
                    GraphTensor64(shape: [3, 2, 8], doubles: [0])] {
            #expect(throws: RNNRTError.self) { try plan.runFloat64(["input": bad]) }
        }
        #expect(throws: RNNRTError.self) { try plan.runFloat64(["nope": GraphTensor64(shape: [1], doubles: [0])]) }
    }
}
