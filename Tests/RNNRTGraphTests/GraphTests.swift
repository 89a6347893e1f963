import Testing
import RNNRTGraph
import RNNRTCore

@Suite struct GraphTests {
    @Test func runtimeInputsExcludeInitializers() throws {
        let g = Graph(initializers: [("w", .init(Tensor(repeating: 1, shape: [2])))],
                      inputs: [ValueInfo(name: "x"), ValueInfo(name: "w")])
        #expect(g.runtimeInputs.map(\.name) == ["x"])
    }
}
