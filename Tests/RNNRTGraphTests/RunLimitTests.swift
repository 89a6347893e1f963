import Dispatch
import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTGraph
import RNNRTCore

/// A graph run held to `RunOptions`: a memory limit refuses the node that asks for more, naming it, the size and the
/// limit; a time limit or a cancellation stops a `Loop` between iterations and a recurrent node between chunks of
/// steps; the thread count is the plan's or the call's, with the same results.
@Suite struct RunLimitTests {
    /// The error `body` throws (nil when it throws none).
    static func error(_ body: () throws -> Void) -> RNNRTError? {
        do {
            try body()
            return nil
        } catch let e as RNNRTError {
            return e
        } catch {
            return RNNRTError(.io, "unexpected \(error)")
        }
    }

    static func expectLimit(_ e: RNNRTError?, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        expectRNNRTError(e, .limit, containing: words, sourceLocation: sourceLocation)
        #expect(e?.context.isEmpty != false, "\(String(describing: e))", sourceLocation: sourceLocation)
    }

    /// `ConstantOfShape` named `big` making the shape it is given.
    static let constantOfShape = Graph(nodes: [GraphNode(name: "big", opType: "ConstantOfShape", inputs: ["s"], outputs: ["y"])],
                                       inputs: [GraphValueInfo(name: "s")], outputs: [GraphValueInfo(name: "y")])

    @Test func aNodeAskingForMoreThanTheMemoryLimitIsRefusedByName() throws {
        let plan = try Plan(graph: Self.constantOfShape, opset: 17, options: RunOptions(memoryLimit: 1 << 20))
        let large = GraphTensor(shape: [2], ints: [1024, 1024])
        Self.expectLimit(Self.error { _ = try plan.run(["s": large]) },
                         ["ConstantOfShape node 'big'", "[1024, 1024]", "4 MiB", "memory limit of 1 MiB"])
        // Within the limit; and the call's own options replace the plan's.
        #expect(try plan.run(["s": GraphTensor(shape: [2], ints: [256, 256])])[0].tensor.shape == [256, 256])
        #expect(try plan.run(["s": large], options: RunOptions(memoryLimit: 8 << 20))[0].tensor.shape == [1024, 1024])
        // int64 values take 8 bytes each.
        let ints = Graph(nodes: [GraphNode(name: "big", opType: "ConstantOfShape", inputs: ["s"], outputs: ["y"],
                                      attributes: ["value": .tensor(try StoredTensor(dtype: .int64, shape: [1], bytes: GraphTensor.bytes([7], as: .int64)))])],
                         inputs: [GraphValueInfo(name: "s")], outputs: [GraphValueInfo(name: "y")])
        Self.expectLimit(Self.error { _ = try Plan(graph: ints, opset: 17).run(["s": large], options: RunOptions(memoryLimit: 6 << 20)) },
                         ["ConstantOfShape node 'big'", "8 MiB", "memory limit of 6 MiB"])

        let expand = Graph(nodes: [GraphNode(name: "wide", opType: "Expand", inputs: ["x", "s"], outputs: ["y"])],
                           inputs: [GraphValueInfo(name: "x"), GraphValueInfo(name: "s")], outputs: [GraphValueInfo(name: "y")])
        let feeds = ["x": GraphTensor(shape: [1], floats: [1]), "s": GraphTensor(shape: [2], ints: [1024, 2048])]
        Self.expectLimit(Self.error { _ = try Plan(graph: expand, opset: 17).run(feeds, options: RunOptions(memoryLimit: 1 << 20)) },
                         ["Expand node 'wide'", "[1024, 2048]", "8 MiB", "memory limit of 1 MiB"])
    }

    /// A shape that is a constant is not folded at load past the plan's memory limit either: the node runs with the
    /// plan and is refused there.
    @Test func constantFoldingKeepsToThePlansMemoryLimit() throws {
        let node = GraphNode(name: "big", opType: "ConstantOfShape", inputs: ["s"], outputs: ["y"])
        let shape = try StoredTensor(dtype: .int64, shape: [2], bytes: GraphTensor.bytes([1024, 1024], as: .int64))
        let graph = Graph(nodes: [node], initializers: [("s", shape)], outputs: [GraphValueInfo(name: "y")])
        let plan = try Plan(graph: graph, opset: 17, options: RunOptions(memoryLimit: 1 << 20))
        #expect(plan.steps.map(\.node.name) == ["big"])
        Self.expectLimit(Self.error { _ = try plan.run([:]) }, ["ConstantOfShape node 'big'", "memory limit of 1 MiB"])
        #expect(try Plan(graph: graph, opset: 17).steps.isEmpty)
    }

    /// The limit counts what the run's values hold already: two tensors that each fit, but not together.
    @Test func theMemoryLimitCountsWhatTheRunHolds() throws {
        let graph = Graph(nodes: [GraphNode(name: "first", opType: "ConstantOfShape", inputs: ["s"], outputs: ["a"]),
                                  GraphNode(name: "second", opType: "ConstantOfShape", inputs: ["s"], outputs: ["b"])],
                          inputs: [GraphValueInfo(name: "s")], outputs: [GraphValueInfo(name: "a"), GraphValueInfo(name: "b")])
        let feeds = ["s": GraphTensor(shape: [2], ints: [512, 512])]
        let plan = try Plan(graph: graph, opset: 17)
        Self.expectLimit(Self.error { _ = try plan.run(feeds, options: RunOptions(memoryLimit: 3 << 19)) },
                         ["ConstantOfShape node 'second'", "1 MiB", "memory limit of 1.5 MiB", "1 MiB held already"])
        #expect(try plan.run(feeds, options: RunOptions(memoryLimit: 2 << 20)).count == 2)
    }

    /// A `Loop` of `tripCount` iterations, named `loop`, adding 1 to a carried value: from the graph input `v0`, or
    /// from 0 (a loop computed at load).
    static func counter(tripCount: Int64, fromZero: Bool = false) throws -> Graph {
        let body = Graph(nodes: [GraphNode(opType: "Add", inputs: ["v", "one"], outputs: ["v_out"]),
                                 GraphNode(opType: "Identity", inputs: ["c"], outputs: ["c_out"])],
                         initializers: [("one", try StoredTensor(shape: [1], floats: [1]))],
                         inputs: [GraphValueInfo(name: "i"), GraphValueInfo(name: "c"), GraphValueInfo(name: "v")],
                         outputs: [GraphValueInfo(name: "c_out"), GraphValueInfo(name: "v_out")])
        let m = try StoredTensor(dtype: .int64, shape: [], bytes: GraphTensor.bytes([tripCount], as: .int64))
        let v0 = fromZero ? [("v0", try StoredTensor(shape: [1], floats: [0]))] : []
        return Graph(nodes: [GraphNode(name: "loop", opType: "Loop", inputs: ["m", "", "v0"], outputs: ["v"], attributes: ["body": .graph(body)])],
                     initializers: [("m", m)] + v0, inputs: fromZero ? [] : [GraphValueInfo(name: "v0")],
                     outputs: [GraphValueInfo(name: "v")])
    }

    @Test func aLoopWithAHugeTripCountStopsAtTheTimeLimit() throws {
        let plan = try Plan(graph: try Self.counter(tripCount: 1_000_000), opset: 17, options: RunOptions(timeLimit: 0.1))
        let start = ContinuousClock.now
        let e = Self.error { _ = try plan.run(["v0": GraphTensor(shape: [1], floats: [0])]) }
        #expect(ContinuousClock.now - start < .seconds(10))
        Self.expectLimit(e, ["Loop node 'loop'", "the time limit of 0.1 s ran out"])
        // A short loop finishes within it.
        let three = try Plan(graph: try Self.counter(tripCount: 3), opset: 17, options: RunOptions(timeLimit: 0.1))
        #expect(try three.run(["v0": GraphTensor(shape: [1], floats: [0])])[0].tensor.floats("v") == [3])
    }

    /// Loading computes once what depends on constants only, `Loop`s and the bodies of `If` branches too: one time
    /// limit holds all of it, and a load past it fails, as the run would (it would repeat the same work).
    @Test func constantWorkAtLoadStopsAtTheLoadsTimeLimit() throws {
        let looped = try Self.counter(tripCount: 1_000_000, fromZero: true)
        let start = ContinuousClock.now
        Self.expectLimit(Self.error { _ = try Plan(graph: looped, opset: 17, options: RunOptions(timeLimit: 0.05)) },
                         ["the time limit of 0.05 s ran out while Loop node 'loop' was computed at load"])
        // The same loop in an `If` branch: the branch's plan is made, and computes it, within the same load.
        let guarded = Graph(nodes: [GraphNode(name: "if", opType: "If", inputs: ["c"], outputs: ["v"],
                                              attributes: ["then_branch": .graph(looped), "else_branch": .graph(looped)])],
                            inputs: [GraphValueInfo(name: "c")], outputs: [GraphValueInfo(name: "v")])
        expectRNNRTError(Self.error { _ = try Plan(graph: guarded, opset: 17, options: RunOptions(timeLimit: 0.05)) }, .limit,
                         containing: ["ran out while Loop node 'loop' was computed at load"])
        #expect(ContinuousClock.now - start < .seconds(10))
        // A short one is computed at load.
        let plan = try Plan(graph: try Self.counter(tripCount: 3, fromZero: true), opset: 17, options: RunOptions(timeLimit: 0.05))
        #expect(plan.steps.isEmpty)
        #expect(try plan.run([:])[0].tensor.floats("v") == [3])
    }

    @Test func aCancellationFromAnotherThreadStopsALongRun() throws {
        let plan = try Plan(graph: try Self.counter(tripCount: 1_000_000), opset: 17)
        let cancellation = Cancellation()
        // A thread of its own: the tests' worker threads may all be busy.
        Thread {
            Thread.sleep(forTimeInterval: 0.05)
            cancellation.cancel()
        }.start()
        let start = ContinuousClock.now
        let e = Self.error { _ = try plan.run(["v0": GraphTensor(shape: [1], floats: [0])], options: RunOptions(cancellation: cancellation)) }
        #expect(ContinuousClock.now - start < .seconds(10))
        Self.expectLimit(e, ["Loop node 'loop'", "cancelled"])
        #expect(cancellation.isCancelled)
        // A cancelled flag stops every later call at once, before its first node.
        Self.expectLimit(Self.error { _ = try plan.run(["v0": GraphTensor(shape: [1], floats: [0])], options: RunOptions(cancellation: cancellation)) },
                         ["cancelled before Loop node 'loop'"])
    }

    /// One `LSTM` node named `rnn` over `[T, N, I]` with seeded weights: forward, or bidirectional.
    static func lstm(input: Int, hidden: Int, bidirectional: Bool) throws -> Graph {
        var rng = SeededGenerator(seed: 5)
        let d = bidirectional ? 2 : 1
        let bound = Float(1 / Double(hidden).squareRoot())
        func weights(_ shape: [Int]) throws -> StoredTensor {
            try StoredTensor(shape: shape, floats: .random(count: shape.reduce(1, *), in: -bound...bound, using: &rng))
        }
        let node = GraphNode(name: "rnn", opType: "LSTM", inputs: ["x", "w", "r", "b"], outputs: ["y", "h", "c"],
                        attributes: ["hidden_size": .int(Int64(hidden)), "direction": .string(bidirectional ? "bidirectional" : "forward")])
        return Graph(nodes: [node], initializers: [("w", try weights([d, 4 * hidden, input])), ("r", try weights([d, 4 * hidden, hidden])),
                                                   ("b", try weights([d, 8 * hidden]))],
                     inputs: [GraphValueInfo(name: "x")], outputs: [GraphValueInfo(name: "y"), GraphValueInfo(name: "h"), GraphValueInfo(name: "c")])
    }

    @Test func aRecurrentNodeStopsBetweenChunksOfSteps() throws {
        let plan = try Plan(graph: try Self.lstm(input: 4, hidden: 64, bidirectional: false), opset: 17)
        let steps = 50_000
        var rng = SeededGenerator(seed: 9)
        let x = GraphTensor(shape: [steps, 1, 4], floats: .random(count: steps * 4, in: -1...1, using: &rng))
        let start = ContinuousClock.now
        let e = Self.error { _ = try plan.run(["x": x], options: RunOptions(timeLimit: 0.05)) }
        #expect(ContinuousClock.now - start < .seconds(10))
        Self.expectLimit(e, ["LSTM node 'rnn'", "the time limit of 0.05 s ran out before step", "of 50000 of layer 0"])
    }

    /// The thread count is per plan or per call; either way every output is bit for bit what one thread computes (the
    /// two directions of a layer run side by side on two), and a time limit, which makes the recurrence run in
    /// chunks of steps, changes no bit either.
    @Test func threadsPerPlanOrPerCallGiveOneThreadsBits() throws {
        let graph = try Self.lstm(input: 24, hidden: 48, bidirectional: true)
        var rng = SeededGenerator(seed: 3)
        let x = GraphTensor(shape: [300, 4, 24], floats: .random(count: 300 * 4 * 24, in: -1...1, using: &rng))
        func bits(_ plan: Plan, _ options: RunOptions? = nil) throws -> [[UInt32]] {
            try plan.run(["x": x], options: options).map { try $0.tensor.floats("output").map(\.bitPattern) }
        }
        let one = try bits(try Plan(graph: graph, opset: 17, options: RunOptions(threads: 1)))
        let twoPlan = try Plan(graph: graph, opset: 17, options: RunOptions(threads: 2))
        #expect(try bits(twoPlan) == one)
        #expect(try bits(twoPlan, RunOptions(threads: 1)) == one)
        #expect(try bits(twoPlan, RunOptions(threads: 2, timeLimit: 600)) == one)
        #expect(try bits(twoPlan, RunOptions(threads: 1, memoryLimit: 1 << 30, timeLimit: 600, cancellation: Cancellation())) == one)
    }
}
