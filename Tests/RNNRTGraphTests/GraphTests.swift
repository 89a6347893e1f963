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

/// The documented list of supported operators (docs/ONNX.md) is the registry's, so the documentation stays true.
@Suite struct SupportedOperatorDocumentationTests {
    @Test func documentationListsExactlyTheRegisteredOperators() throws {
        let readme = try String(contentsOf: Fixture.root.deletingLastPathComponent().appendingPathComponent("docs/ONNX.md"), encoding: .utf8)
        guard let start = readme.range(of: "Supported operators (") else { Issue.record("docs/ONNX.md has no operator list"); return }
        let rest = readme[start.upperBound...]
        guard let close = rest.firstIndex(of: ")"), let colon = rest.firstIndex(of: ":"),
              let end = rest.range(of: ".\n")?.lowerBound else { Issue.record("malformed operator list"); return }
        let listed = rest[rest.index(after: colon)..<end].split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(listed == Plan.supportedOperators)
        #expect(Int(rest[..<close]) == Plan.supportedOperators.count)
    }
}
