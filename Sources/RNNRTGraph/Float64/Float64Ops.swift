import Foundation
import RNNRTCore
import RNNRTKernels
import RNNRTLayers

/// The float64 forms of the executor's float operators, for `Plan.runFloat64`: the same semantics (attributes,
/// opset forms, broadcasting, checks) as the float32 operators in `Ops/`, computed in float64. A node whose inputs
/// are all integer or bool does not come here: the executor's operator computes it exactly.
enum Float64Ops {
    struct Context: Sendable {
        let node: GraphNode
        let opset: Int64
    }

    typealias Operator = @Sendable (Context, [GraphTensor64?]) throws -> [GraphTensor64]

    /// Operators that make float values without float inputs, so they come here whatever their inputs are.
    static let createsFloats: Set<String> = ["Constant", "ConstantOfShape", "Cast", "CastLike"]

    static let table: [String: Operator] = {
        var r: [String: Operator] = [:]
        registerUnary(&r)
        registerArithmetic(&r)
        registerComparison(&r)
        registerCast(&r)
        registerLinearAlgebra(&r)
        registerReductions(&r)
        registerNormalization(&r)
        registerCreation(&r)
        r["LSTM"] = recurrent(.lstm)
        r["GRU"] = recurrent(.gru)
        r["RNN"] = recurrent(.rnn)
        return r
    }()

    /// The recurrent operator of `kind` (`LSTM`, `GRU`, `RNN`), built for the node and run in float64.
    static func recurrent(_ kind: RecurrentKind) -> Operator {
        { ctx, args in
            let context = OperatorContext(node: ctx.node, opset: ctx.opset) { _ in nil }
            return try RecurrentOp(kind: kind, context: context).runFloat64(args)
        }
    }

    // MARK: - Helpers

    /// Input `index`, which must be present.
    static func input(_ args: [GraphTensor64?], _ index: Int, _ name: String) throws -> GraphTensor64 {
        guard index < args.count, let t = args[index] else {
            throw RNNRTError(.invalidArgument, "required input \(index) ('\(name)') is missing")
        }
        return t
    }

    /// Input `index` when present.
    static func optional(_ args: [GraphTensor64?], _ index: Int) -> GraphTensor64? {
        index < args.count ? args[index] : nil
    }

    /// The first element of a condition tensor as a truth value (false when empty).
    static func truth(_ t: GraphTensor64, _ what: String) throws -> Bool {
        switch t.elements {
        case .bool(let v): return v.first ?? false
        case .int(let v): return (v.first ?? 0) != 0
        case .double(let v): return (v.first ?? 0) != 0
        }
    }

    /// Integer values of a 1-D (or scalar) integer tensor.
    static func intList(_ t: GraphTensor64, _ what: String) throws -> [Int] {
        try Check.intList(t.float32, what)
    }

    /// Equal-shaped parts stacked along a new first axis.
    static func stack(_ parts: [GraphTensor64]) throws -> GraphTensor64 {
        let shape = [parts.count] + parts[0].shape
        switch parts[0].elements {
        case .double: return GraphTensor64(shape: shape, doubles: try parts.flatMap { try $0.doubles("scan output") })
        case .bool:
            return GraphTensor64(shape: shape, bools: parts.flatMap { p -> [Bool] in if case .bool(let v) = p.elements { return v } else { return [] } })
        case .int:
            var t = GraphTensor64(shape: shape, ints: try parts.flatMap { try $0.float32.ints("scan output") })
            t.integerType = parts[0].integerType
            return t
        }
    }

    /// `f` over two tensors broadcast together (integers and bools taken by value).
    static func broadcast<R>(_ a: GraphTensor64, _ b: GraphTensor64, _ f: (Double, Double) -> R) throws -> ([R], [Int]) {
        let x = a.numericValues, y = b.numericValues
        let shape = try broadcastShape(a.shape, b.shape)
        var out: [R] = []
        out.reserveCapacity(shape.reduce(1, *))
        forEachBroadcast(shape, a.shape, b.shape) { _, ja, jb, _ in out.append(f(x[ja], y[jb])) }
        return (out, shape)
    }

    static func binary(_ a: GraphTensor64, _ b: GraphTensor64, _ f: (Double, Double) -> Double) throws -> GraphTensor64 {
        let (values, shape) = try broadcast(a, b, f)
        return GraphTensor64(shape: shape, doubles: values)
    }
}
