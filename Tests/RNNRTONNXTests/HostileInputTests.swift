import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
import RNNRTGraph
import RNNRTCheckpoints
import RNNRTCore

/// Every operator, fed seeded random inputs of the wrong rank, shape, size or element type (scalars,
/// empty tensors, mismatched kinds), either runs or throws `RNNRTError`; none traps. A trap would end the
/// test process.
@Suite struct HostileInputTests {
    static let cases = Fixture.folders(in: "onnx/ops").map { "onnx/ops/\($0)" }
        + ["onnx/node/test_lstm_with_peepholes", "onnx/node/test_gru_seq_length", "onnx/node/test_simple_rnn_batchwise"]

    @Test(arguments: cases)
    func wrongInputsNeverTrap(_ folder: String) throws {
        let dir = Fixture.url(folder)
        let spec = try JSONDecoder().decode(ONNXCase.self, from: Data(contentsOf: dir.appendingPathComponent("case.json")))
        let plan = try Plan(model: try ONNXModelFile.read(contentsOf: dir.appendingPathComponent("model.onnx")))
        var rng = SeededGenerator(seed: UInt64(folder.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let originals = try spec.inputs.indices.map { try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("inputs/\($0).npy"))) }
        for _ in 0..<(Int(ProcessInfo.processInfo.environment["RNNRT_FUZZ_ITERATIONS"] ?? "") ?? 12) {
            var feeds: [String: GraphTensor] = [:]
            for (k, name) in spec.inputs.enumerated() {
                feeds[name] = Int.random(in: 0..<3, using: &rng) == 0 ? originals[k] : Self.random(&rng)
            }
            do { _ = try plan.run(feeds) } catch is RNNRTError {}
        }
    }

    /// A tensor of random rank (0–4), extents (0–5) and element kind, values including negatives and
    /// large magnitudes.
    static func random(_ rng: inout SeededGenerator) -> GraphTensor {
        let rank = Int.random(in: 0...4, using: &rng)
        let shape = (0..<rank).map { _ in Int.random(in: 0...5, using: &rng) }
        let n = shape.reduce(1, *)
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: return GraphTensor(shape: shape, floats: (0..<n).map { _ in Float.random(in: -100...100, using: &rng) })
        case 1: return GraphTensor(shape: shape, ints: (0..<n).map { _ in Int64.random(in: -6...6, using: &rng) })
        default: return GraphTensor(shape: shape, bools: (0..<n).map { _ in Bool.random(using: &rng) })
        }
    }
}
