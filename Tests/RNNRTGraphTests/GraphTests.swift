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
