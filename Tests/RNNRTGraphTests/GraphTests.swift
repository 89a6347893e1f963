import Testing
import RNNRTGraph
import RNNRTONNX
import RNNRTCore
import Foundation
import RNNRTTestSupport

@Suite struct GraphTests {
    @Test func runtimeInputsExcludeInitializers() throws {
        let g = Graph(initializers: [("w", .init(Tensor(repeating: 1, shape: [2])))],
                      inputs: [GraphValueInfo(name: "x"), GraphValueInfo(name: "w")])
        #expect(g.runtimeInputs.map(\.name) == ["x"])
    }
}

/// A model with operators rnnrt lacks decodes (so `inspect` works) but refuses to load for running, naming every
/// missing operator at once.
@Suite struct UnknownOperatorTests {
    @Test func unknownOperatorsAreListedAtLoad() throws {
        let model = try ONNXModelFile.read(contentsOf: Fixture.url("malformed/onnx/unknown_ops.onnx"))
        let error = expectRNNRTError(.unsupported) { try Plan(model: model) }
        #expect(error?.message == "the model uses operators rnnrt does not support: FancyOp (2 nodes), com.microsoft.Attention (1 node)")
    }
}

/// docs/ONNX.md's list of supported operators is generated from the registry (`Plan.supportedOperators`): the test
/// compares the paragraph with the generated one, and `RNNRT_UPDATE_DOCS=1 swift test --filter
/// SupportedOperatorDocumentationTests` writes the generated paragraph into the document.
@Suite struct SupportedOperatorDocumentationTests {
    static let document = Fixture.root.deletingLastPathComponent().appendingPathComponent("docs/ONNX.md")

    /// "Supported operators (N): A, B, ….", wrapped at 120 columns.
    static var generated: String {
        let operators = Plan.supportedOperators
        var lines = ["Supported operators (\(operators.count)):"]
        for (index, name) in operators.enumerated() {
            let word = name + (index == operators.count - 1 ? "." : ",")
            if lines[lines.count - 1].count + 1 + word.count > 120 { lines.append(word) } else { lines[lines.count - 1] += " " + word }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func documentationListsExactlyTheRegisteredOperators() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        guard let start = text.range(of: "Supported operators ("), let end = text[start.lowerBound...].range(of: ".\n") else {
            Issue.record("docs/ONNX.md has no operator list")
            return
        }
        let paragraph = String(text[start.lowerBound..<end.upperBound])
        if paragraph != Self.generated, ProcessInfo.processInfo.environment["RNNRT_UPDATE_DOCS"] == "1" {
            try text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: Self.generated)
                .write(to: Self.document, atomically: true, encoding: .utf8)
            return
        }
        #expect(paragraph == Self.generated, "regenerate with RNNRT_UPDATE_DOCS=1 swift test --filter SupportedOperatorDocumentationTests")
    }
}

/// ONNX stores a recurrent node's gates in its own order (GRU z, r, h; LSTM i, o, f, c). A batch-1 run of a layer
/// small enough for a step layout reads R as stored, through that order; a larger batch multiplies R's packed copy,
/// packed from the same order on first use. The two agree for every kind, with hidden sizes of whole 16-column
/// slivers (R kept as stored) and not (R reordered at bind).
@Suite struct RecurrentGateOrderTests {
    @Test(arguments: ["GRU", "LSTM", "RNN"], [16, 32, 20])
    func batchOneOnTheStoredOrderAgreesWithABatchOfTwo(_ op: String, _ hidden: Int) throws {
        let gates = ["GRU": 3, "LSTM": 4, "RNN": 1][op]!, input = 12, steps = 9
        var rng = SeededGenerator(seed: UInt64(hidden))
        let bound = Float(1 / Double(hidden).squareRoot())
        func weights(_ shape: [Int]) throws -> StoredTensor {
            try StoredTensor(shape: shape, floats: .random(count: shape.reduce(1, *), in: -bound...bound, using: &rng))
        }
        let node = GraphNode(name: "rnn", opType: op, inputs: ["x", "w", "r", "b"], outputs: ["y", "h"],
                             attributes: ["hidden_size": .int(Int64(hidden))])
        let graph = Graph(nodes: [node], initializers: [("w", try weights([1, gates * hidden, input])),
                                                        ("r", try weights([1, gates * hidden, hidden])),
                                                        ("b", try weights([1, 2 * gates * hidden]))],
                          inputs: [GraphValueInfo(name: "x")], outputs: [GraphValueInfo(name: "y"), GraphValueInfo(name: "h")])
        let plan = try Plan(graph: graph, opset: 17, options: RunOptions(threads: 1))
        let one = (0..<(steps * input)).map { _ in Float.random(in: -1...1, using: &rng) }
        // Batch 2: the sequence twice, side by side at each step ([T, N, I]).
        var two: [Float] = []
        for t in 0..<steps { for _ in 0..<2 { two += one[(t * input)..<((t + 1) * input)] } }
        let y1 = try plan.run(["x": GraphTensor(shape: [steps, 1, input], floats: one)])[0].tensor.floats("y")
        let y2 = try plan.run(["x": GraphTensor(shape: [steps, 2, input], floats: two)])[0].tensor.floats("y")
        for t in 0..<steps {
            for u in 0..<hidden {
                let a = y1[t * hidden + u], b = y2[t * 2 * hidden + u], c = y2[(t * 2 + 1) * hidden + u]
                #expect(abs(a - b) <= 1e-5 + 1e-4 * abs(b) && b == c, "\(op) \(hidden): step \(t) unit \(u): \(a) vs \(b), \(c)")
            }
        }
    }
}

/// A `Transpose` whose last two output axes swap a contiguous source axis and a strided one (NCHW to NHWC) copies in
/// tiles; every element lands where a per-element copy puts it, for extents off the tile size and outer axes around.
@Suite struct TransposeTileTests {
    @Test(arguments: [[1, 64, 100, 48], [2, 3, 17, 9], [5, 8, 8], [3, 40, 7, 33]])
    func tiledTransposesPlaceEveryElement(_ shape: [Int]) throws {
        let rank = shape.count
        let perm = [0] + Array(2..<rank) + [1]
        let n = shape.reduce(1, *)
        let x = GraphTensor(shape: shape, floats: (0..<n).map(Float.init))
        let plan = try Plan(graph: Graph(nodes: [GraphNode(opType: "Transpose", inputs: ["x"], outputs: ["y"],
                                                           attributes: ["perm": .ints(perm.map(Int64.init))])],
                                         inputs: [GraphValueInfo(name: "x")], outputs: [GraphValueInfo(name: "y")]), opset: 17)
        let y = try plan.run(["x": x])[0].tensor
        let outShape = perm.map { shape[$0] }
        #expect(y.shape == outShape)
        // Each output index's source index, counted in C order.
        var inStrides = [Int](repeating: 1, count: rank)
        for a in stride(from: rank - 2, through: 0, by: -1) { inStrides[a] = inStrides[a + 1] * shape[a + 1] }
        let values = try y.floats("y")
        var index = [Int](repeating: 0, count: rank), wrong = 0
        for o in 0..<n {
            let source = (0..<rank).reduce(0) { $0 + index[$1] * inStrides[perm[$1]] }
            if values[o] != Float(source) { wrong += 1 }
            var a = rank - 1
            while a >= 0 { index[a] += 1; if index[a] < outShape[a] { break }; index[a] = 0; a -= 1 }
        }
        #expect(wrong == 0)
    }
}
