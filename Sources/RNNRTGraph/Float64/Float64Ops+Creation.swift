import RNNRTCore

/// The float64 forms of the operators that make values (`Constant`, `ConstantOfShape`, `Range`: `ShapeOps`' in float32).
extension Float64Ops {
    static func registerCreation(_ r: inout [String: Operator]) {
        r["Constant"] = constant
        r["ConstantOfShape"] = constantOfShape
        r["Range"] = range
    }

    static func constant(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let node = ctx.node
        if case .tensor(let t)? = node.attributes["value"] { return [try GraphTensor64(t)] }
        if case .float(let f)? = node.attributes["value_float"] { return [GraphTensor64(shape: [], doubles: [Double(f)])] }
        if case .floats(let f)? = node.attributes["value_floats"] { return [GraphTensor64(shape: [f.count], doubles: f.map { Double($0) })] }
        if case .int(let i)? = node.attributes["value_int"] { return [GraphTensor64(shape: [], ints: [i])] }
        if case .ints(let i)? = node.attributes["value_ints"] { return [GraphTensor64(shape: [i.count], ints: i)] }
        throw RNNRTError(.unsupported, "\(node.label): Constant needs a 'value' tensor or value_float(s)/value_int(s) attribute (sparse and string constants are not supported)")
    }

    static func constantOfShape(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        var fill = GraphTensor64(shape: [1], doubles: [0])
        if case .tensor(let t)? = ctx.node.attributes["value"] { fill = try GraphTensor64(t) }
        let shape = try intList(try input(args, 0, "input"), "ConstantOfShape shape")
        let n = try Check.elementCount(shape, "ConstantOfShape shape")
        switch fill.elements {
        case .double(let v): return [GraphTensor64(shape: shape, doubles: [Double](repeating: v.first ?? 0, count: n))]
        case .int(let v):
            var t = GraphTensor64(shape: shape, ints: [Int64](repeating: v.first ?? 0, count: n))
            t.integerType = fill.integerType
            return [t]
        case .bool(let v): return [GraphTensor64(shape: shape, bools: [Bool](repeating: v.first ?? false, count: n))]
        }
    }

    static func range(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let values = try (0..<3).map { k -> Double in
            guard let v = try input(args, k, ["start", "limit", "delta"][k]).numericValues.first else {
                throw RNNRTError(.invalidArgument, "Range needs scalar start, limit and a non-zero delta")
            }
            return v
        }
        let (start, limit, delta) = (values[0], values[1], values[2])
        guard delta != 0 else { throw RNNRTError(.invalidArgument, "Range needs scalar start, limit and a non-zero delta") }
        let steps = ((limit - start) / delta).rounded(.up)
        guard steps.isFinite, steps <= Double(1 << 31) else {
            throw RNNRTError(.invalidArgument, "Range from \(start) to \(limit) by \(delta) is not a finite, reasonable length")
        }
        let n = try Check.elementCount([Int(max(0, steps))], "Range from \(start) to \(limit) by \(delta): output")
        return [GraphTensor64(shape: [n], doubles: (0..<n).map { start + Double($0) * delta })]
    }
}
