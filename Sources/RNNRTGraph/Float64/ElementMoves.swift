import RNNRTCore

/// Operators that only move, repeat or select elements (reshapes, transposes, slices, gathers, concatenations, ...),
/// run in a float64 run by the executor's own operators on the elements' positions: each float64 input is replaced
/// by an integer tensor numbering its elements (from 1, consecutively across the inputs that move), the operator
/// runs on those numbers, and each number in its output is replaced by the element it names. The float64 values
/// move exactly, with the executor's semantics for every attribute and opset.
///
/// 0 in an output is a zero the operator wrote itself (`Trilu`, `Pad` with no constant); `Pad`'s constant is passed
/// as −1 and comes back as the constant's float64 value.
enum ElementMoves {
    /// The inputs of `node` whose elements move to its outputs, or nil when the operator is not one of these (or its
    /// attributes make it compute: `ScatterND` with a reduction).
    static func movingInputs(_ node: GraphNode, inputCount: Int) -> Set<Int>? {
        switch node.opType {
        case "Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Split", "Slice",
             "Gather", "GatherElements", "GatherND", "Expand", "Tile", "Trilu", "Pad":
            return [0]
        case "Concat": return Set(0..<inputCount)
        case "Where": return [1, 2]
        case "OneHot": return [2]
        case "ScatterND":
            return (try? node.string("reduction", default: "none")) == "none" ? [0, 2] : nil
        default: return nil
        }
    }

    /// `node` run on the positions of its float64 inputs, or nil when it is not an operator that only moves elements,
    /// or when some input it moves is not float (the executor then runs it as it is).
    static func run(_ node: GraphNode, _ args: [GraphTensor64?], opset: Int64,
                    build: (GraphNode, [GraphTensor?]) throws -> GraphOperator) throws -> [GraphTensor64]? {
        guard let moving = movingInputs(node, inputCount: args.count) else { return nil }
        var pool: [Double] = []
        var inputs = args.map { $0?.float32 }
        var constant = 0.0
        for (k, arg) in args.enumerated() {
            guard let arg else { continue }
            if moving.contains(k) {
                guard case .double(let v) = arg.elements else { return nil }
                let base = Int64(pool.count) + 1
                inputs[k] = GraphTensor(shape: arg.shape, ints: (0..<Int64(v.count)).map { base + $0 })
                pool += v
            } else if arg.isFloat {
                switch (node.opType, k) {
                case ("Pad", 2):
                    // The constant comes back as −1.
                    constant = (try arg.doubles("constant_value")).first ?? 0
                    inputs[k] = GraphTensor(shape: arg.shape, ints: [Int64](repeating: -1, count: arg.elementCount))
                case ("Dropout", 1):
                    break  // the ratio, unused at inference
                default:
                    return nil
                }
            }
        }
        // Before opset 11 Pad's constant is an attribute, which cannot be renumbered: only 0 is written as 0.
        if node.opType == "Pad", opset < 11, try node.float("value", default: 0) != 0 { return nil }
        let results = try build(node, inputs).run(inputs)
        return try results.map { result in
            switch result.elements {
            case .int(let positions):
                let values = try positions.map { p -> Double in
                    if p == 0 { return 0 }
                    if p == -1 { return constant }
                    guard p > 0, p <= Int64(pool.count) else {
                        throw RNNRTError(.invalidArgument, "\(node.label): an element position \(p) outside the \(pool.count) moved")
                    }
                    return pool[Int(p - 1)]
                }
                return GraphTensor64(shape: result.shape, doubles: values)
            default:
                return GraphTensor64(result)
            }
        }
    }
}
