// Streams frames through an LSTM loaded from a PyTorch checkpoint, then runs an ONNX tagger, and checks both
// against the outputs PyTorch saved next to the models.
//
//     swift run StreamFrames [EXAMPLES_DIR]      # default: the repository's Fixtures/examples
import Foundation
import RNNRT

let examples = CommandLine.arguments.count > 1
    ? URL(fileURLWithPath: CommandLine.arguments[1])
    : URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // Examples/StreamFrames
        .deletingLastPathComponent().deletingLastPathComponent()                                // the repository
        .appendingPathComponent("Fixtures/examples")

func file(_ name: String) -> URL { examples.appendingPathComponent(name) }
func tensor(_ name: String) throws -> Tensor { try NPY.read(contentsOf: file(name)).floatTensor() }
func values(_ t: Tensor, _ count: Int = 4) -> String {
    t.scalars.prefix(count).map { String(format: "%+.4f", $0) }.joined(separator: " ") + " ..."
}

/// Prints how far `ours` lies from PyTorch's `reference`; whether it is within `Tolerance.pytorch`.
func report(_ what: String, _ ours: Tensor, _ reference: Tensor) -> Bool {
    let comparison = Tolerance.pytorch.compare(ours, reference)
    print("  \(what): max |difference| \(comparison.maxAbsError)  \(comparison.passed ? "ok" : "MISMATCH")")
    return comparison.passed
}

/// Runs both models; whether every output agrees with PyTorch's.
func run() throws -> Bool {
    var allAgree = true
    // 1. A checkpoint: the state dict of nn.LSTM(8, 16, num_layers=2, batch_first=True).
    let weights = try StateDict(contentsOf: file("lstm.pt"))
    let lstm = try RecurrentModule(stateDict: weights, batchFirst: true)
    print("checkpoint: \(weights.format), \(lstm.configuration.torchDescription)")

    // 2. Stream it: one frame at a time, as frames arrive; the state stays in the stream between calls.
    let x = try tensor("x.npy")                                   // [1, 20, 8]: batch 1, 20 frames of 8 features
    let (frames, features) = (x.shape[1], x.shape[2])
    let stream = try RecurrentStream(module: lstm)
    var outputs: [Float] = []
    for t in 0..<frames {
        let frame = Tensor(shape: [features], scalars: Array(x.scalars[t * features ..< (t + 1) * features]))
        let y = try stream.step(frame)                            // [16]
        outputs += y.scalars
        if t % 5 == 0 || t == frames - 1 { print("  frame \(t): \(values(y))") }
    }
    let streamed = Tensor(shape: [1, frames, lstm.configuration.outputSize], scalars: outputs)
    print("streamed \(frames) frames, one step a call; against PyTorch on the whole sequence:")
    allAgree = report("output", streamed, try tensor("expected_output.npy")) && allAgree
    allAgree = report("h_n", stream.hN, try tensor("expected_h_n.npy")) && allAgree
    allAgree = report("c_n", stream.cN!, try tensor("expected_c_n.npy")) && allAgree

    // The same frames again from a reset state, through caller-owned buffers: no allocation per step.
    try stream.reset()
    var output = [Float](repeating: 0, count: lstm.configuration.outputSize)
    var same = true
    for t in 0..<frames {
        x.scalars[t * features ..< (t + 1) * features].withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { stream.step(input: input, output: $0) }
        }
        same = same && output[...] == outputs[t * output.count ..< (t + 1) * output.count]
    }
    allAgree = allAgree && same
    print("after reset, the buffer steps give \(same ? "the same" : "OTHER") outputs")

    // 3. An ONNX model: a tagger (Embedding, bidirectional LSTM, Linear, log_softmax) exported by PyTorch.
    let model = try ONNXModelFile.read(contentsOf: file("tagger.onnx"))
    let plan = try Plan(model: model)                              // operators resolved, weights bound, once
    let ids = try GraphTensor(try NPY.read(contentsOf: file("ids.npy")))   // int64 token ids [2, 12]
    let input = plan.runtimeInputs[0].name
    let results = try plan.run([input: ids])
    print("onnx: opset \(model.opset), \(model.graph.nodes.count) nodes; \(input) \(ids.shape)")
    for (name, value) in results {
        let logprobs = try value.tensor(name)                      // [2, 12, 5]: a log-probability per tag
        let (steps, tags) = (logprobs.shape[1], logprobs.shape[2])
        for sequence in 0..<logprobs.shape[0] {
            let best = (0..<steps).map { step in
                let first = (sequence * steps + step) * tags
                let row = Array(logprobs.scalars[first ..< first + tags])
                return row.indices.max { row[$0] < row[$1] }!
            }
            print("  \(name)[\(sequence)] best tags: \(best.map(String.init).joined(separator: " "))")
        }
        allAgree = report(name, logprobs, try tensor("expected_tag_logprobs.npy")) && allAgree
    }
    return allAgree
}

do {
    let allAgree = try run()
    print(allAgree ? "every output agrees with PyTorch" : "some output differs from PyTorch")
    exit(allAgree ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("StreamFrames: error: \(error)\n".utf8))
    exit(1)
}
