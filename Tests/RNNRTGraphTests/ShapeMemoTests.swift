import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
import RNNRTCheckpoints
@testable import RNNRTGraph
import RNNRTCore

/// `ShapeMemo`: the values a plan computes from its inputs' shapes alone are computed once per input shape, and every
/// run's outputs are those of a plan that computes everything.
@Suite struct ShapeMemoTests {
    /// The same graph as one that runs every step: bit for bit, in every order of input shapes.
    static func expectSameAsFreshPlans(_ plan: Plan, _ feeds: [[String: GraphTensor]], model: GraphModel) throws {
        for (index, feed) in feeds.enumerated() {
            let got = try plan.run(feed)
            let fresh = try Plan(model: model).run(feed)
            #expect(got.map(\.tensor) == fresh.map(\.tensor), "run \(index)")
        }
    }

    /// A PyTorch export's shape arithmetic (`Shape → Slice → Concat → Reshape`, the zero state `Expand`ed to the batch)
    /// is taken from the run before when the inputs' shapes repeat, and computed again when they change; every output
    /// agrees with PyTorch's.
    @Test(arguments: ["dynamo20_linear_layernorm_gelu_gru", "dynamo19_embed_lstm_classifier", "dynamo19_lstm_attention_pool"])
    func exportedShapeArithmeticRunsOncePerInputShape(_ name: String) throws {
        let folders = [Fixture.url("onnx/torch/\(name)"), Fixture.url("onnx/torch/\(name)_T9")]
        let model = try ONNXModelFile.read(contentsOf: folders[0].appendingPathComponent("model.onnx"))
        let plan = try Plan(model: model)
        // Shape(x) → Concat → Expand → Slice (the zero state), Shape(y) → four Slices → Mul → Reshape → Concat.
        #expect(plan.fromShapes.filter { $0 }.count == 12)
        let cases = try folders.map { try ONNXCase.load($0) }
        let feeds = try zip(cases, folders).map { try $0.feeds(in: $1) }
        let order = [0, 0, 1, 1, 0]
        for k in order {
            let outputs = try plan.run(feeds[k])
            for (position, output) in outputs.enumerated() {
                let expected = try NPY.read(contentsOf: folders[k].appendingPathComponent("expected/\(position).npy")).floatTensor()
                let got = try output.tensor.tensor(output.name)
                #expect(got.shape == expected.shape)
                let within = zip(got.scalars, expected.scalars).allSatisfy { abs($0 - $1) <= cases[k].atol + cases[k].rtol * abs($1) }
                #expect(within, "\(name) run with inputs \(k): \(output.name)")
            }
        }
        #expect(plan.arenas.shapeMemoReplays == 2)
        try Self.expectSameAsFreshPlans(plan, order.map { feeds[$0] }, model: model)
    }

    /// Values that depend on an input's elements, not only its shape, are computed in every run: a `Reshape` to a
    /// shape given as an input, `Shape` of that, and `ConstantOfShape` of it.
    @Test func valuesOfInputElementsAreComputedEachRun() throws {
        let graph = Graph(nodes: [
            GraphNode(opType: "Reshape", inputs: ["x", "s"], outputs: ["y"]),
            GraphNode(opType: "Shape", inputs: ["y"], outputs: ["shape"]),
            GraphNode(opType: "ConstantOfShape", inputs: ["s"], outputs: ["zeros"]),
            GraphNode(opType: "Shape", inputs: ["x"], outputs: ["xShape"]),
        ], inputs: [GraphValueInfo(name: "x"), GraphValueInfo(name: "s")],
           outputs: [GraphValueInfo(name: "shape"), GraphValueInfo(name: "zeros"), GraphValueInfo(name: "xShape")])
        let plan = try Plan(graph: graph, opset: 17)
        #expect(plan.fromShapes == [false, false, false, true])
        let x = GraphTensor(shape: [6], floats: [1, 2, 3, 4, 5, 6])
        for target: [Int64] in [[2, 3], [3, 2], [2, 3], [6, 1]] {
            let outputs = try plan.run(["x": x, "s": GraphTensor(shape: [2], ints: target)])
            #expect(outputs[0].tensor == GraphTensor(shape: [2], ints: target))
            #expect(outputs[1].tensor.shape == target.map { Int($0) })
            #expect(outputs[2].tensor == GraphTensor(shape: [1], ints: [6]))
        }
        #expect(plan.arenas.shapeMemoReplays == 3)
    }

    /// The shape of a value computed from another input's elements is not known from shapes either: `Shape` of a
    /// `Tile` whose repeats are an input.
    @Test func shapesThatFollowFromElementsAreComputedEachRun() throws {
        let graph = Graph(nodes: [
            GraphNode(opType: "Tile", inputs: ["x", "repeats"], outputs: ["tiled"]),
            GraphNode(opType: "Relu", inputs: ["tiled"], outputs: ["r"]),
            GraphNode(opType: "Shape", inputs: ["r"], outputs: ["shape"]),
        ], inputs: [GraphValueInfo(name: "x"), GraphValueInfo(name: "repeats")], outputs: [GraphValueInfo(name: "shape")])
        let plan = try Plan(graph: graph, opset: 17)
        #expect(plan.fromShapes == [false, false, false])
        let x = GraphTensor(shape: [2], floats: [1, -1])
        for n: Int64 in [1, 3, 2] {
            let shape = try plan.run(["x": x, "repeats": GraphTensor(shape: [1], ints: [n])])[0].tensor
            #expect(shape == GraphTensor(shape: [1], ints: [2 * n]))
        }
    }

    /// Values known from shapes too large to keep (more than `ShapeMemo.elementLimit` elements together) are computed
    /// in every run, and the results are the same.
    @Test func largeValuesAreNotKept() throws {
        let graph = Graph(nodes: [
            GraphNode(opType: "Shape", inputs: ["x"], outputs: ["n"]),
            GraphNode(opType: "Concat", inputs: ["n", "width"], outputs: ["target"], attributes: ["axis": .int(0)]),
            GraphNode(opType: "ConstantOfShape", inputs: ["target"], outputs: ["zeros"]),
            GraphNode(opType: "ReduceSum", inputs: ["zeros"], outputs: ["sum"], attributes: ["keepdims": .int(0)]),
            GraphNode(opType: "Add", inputs: ["sum", "x"], outputs: ["y"]),
        ], initializers: [("width", try StoredTensor(dtype: .int64, shape: [1],
                                                     bytes: withUnsafeBytes(of: Int64(1024).littleEndian, Array.init)))],
           inputs: [GraphValueInfo(name: "x")], outputs: [GraphValueInfo(name: "y")])
        let plan = try Plan(graph: graph, opset: 13)
        #expect(plan.fromShapes == [true, true, true, true, false])
        let model = GraphModel(irVersion: 8, opsetImports: ["": 13], graph: graph)
        let small = ["x": GraphTensor(shape: [2], floats: [1, 2])]
        let large = ["x": GraphTensor(shape: [1100], floats: [Float](repeating: 1, count: 1100))]
        try Self.expectSameAsFreshPlans(plan, [small, small, large, large, large, small], model: model)
        #expect(plan.arenas.shapeMemoReplays == 1)
    }

    /// A steady-state call that takes its shape arithmetic from the memo computes into the arena's buffers all the
    /// same, and nothing it kept is written by a later step: a step that updates a kept zero state copies it.
    @Test func keptValuesAreNeverWritten() throws {
        let graph = Graph(nodes: [
            GraphNode(opType: "Shape", inputs: ["x"], outputs: ["n"]),
            GraphNode(opType: "ConstantOfShape", inputs: ["n"], outputs: ["zeros"],
                      attributes: ["value": .tensor(StoredTensor(Tensor(shape: [1], scalars: [0])))]),
            GraphNode(opType: "Add", inputs: ["zeros", "x"], outputs: ["y"]),
        ], inputs: [GraphValueInfo(name: "x")], outputs: [GraphValueInfo(name: "y"), GraphValueInfo(name: "zeros")])
        let plan = try Plan(graph: graph, opset: 17)
        for round in 0..<3 {
            let outputs = try plan.run(["x": GraphTensor(shape: [3], floats: [1, 2, Float(round)])])
            #expect(outputs[0].tensor == GraphTensor(shape: [3], floats: [1, 2, Float(round)]))
            #expect(outputs[1].tensor == GraphTensor(shape: [3], floats: [0, 0, 0]))
        }
        #expect(plan.arenas.shapeMemoReplays == 2)
    }
}
