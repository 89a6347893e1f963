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

    /// Models with random byte edits (attributes, shapes, types, node wiring) that still decode are planned
    /// and run on the fixture's inputs: each step either works or throws `RNNRTError`.
    @Test(arguments: ["onnx/ops/slice_negative", "onnx/ops/conv1d_groups2_bias", "onnx/ops/loop_trip_count_scan",
                      "onnx/ops/gather_axis1", "onnx/ops/reducemean_axes_keepdims", "onnx/ops/split_opset18_input",
                      "onnx/node/test_lstm_with_peepholes", "onnx/node/test_gru_seq_length", "onnx/spec/gru_seq_lens_bidirectional",
                      "examples/tagger.onnx"])
    func mutatedModelsNeverTrap(_ folder: String) throws {
        var feeds: [String: GraphTensor] = [:]
        let original: [UInt8]
        if folder.hasSuffix(".onnx") {
            original = [UInt8](try Data(contentsOf: Fixture.url(folder)))
            feeds["ids"] = try GraphTensor(try NPY.read(contentsOf: Fixture.url("examples/ids.npy")))
        } else {
            let dir = Fixture.url(folder)
            let spec = try JSONDecoder().decode(ONNXCase.self, from: Data(contentsOf: dir.appendingPathComponent("case.json")))
            original = [UInt8](try Data(contentsOf: dir.appendingPathComponent("model.onnx")))
            for (k, name) in spec.inputs.enumerated() {
                feeds[name] = try GraphTensor(try NPY.read(contentsOf: dir.appendingPathComponent("inputs/\(k).npy")))
            }
        }
        var rng = SeededGenerator(seed: UInt64(original.count))
        let rounds = Int(ProcessInfo.processInfo.environment["RNNRT_FUZZ_ITERATIONS"] ?? "") ?? 150
        for _ in 0..<rounds {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF][Int.random(in: 0..<6, using: &rng)]
            }
            do {
                let plan = try Plan(model: try ONNXModelFile.decode(bytes, modelDirectory: nil))
                _ = try plan.run(feeds)
            } catch is RNNRTError {}
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
