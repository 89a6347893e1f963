import RNNRTCore

/// The float64 forms of `LogicOps`' comparisons (`Equal`, `Less`, `LessOrEqual`, `Greater`, `GreaterOrEqual`), to
/// bool tensors with broadcasting; the logic operators take bools only and run as they are.
extension Float64Ops {
    static func registerComparison(_ r: inout [String: Operator]) {
        r["Equal"] = equal
        r["Less"] = less
        r["LessOrEqual"] = lessOrEqual
        r["Greater"] = greater
        r["GreaterOrEqual"] = greaterOrEqual
    }

    /// `f` over inputs 0 and 1 broadcast together, as bools.
    static func comparison(_ args: [GraphTensor64?], _ f: (Double, Double) -> Bool) throws -> [GraphTensor64] {
        let (values, shape) = try broadcast(try input(args, 0, "A"), try input(args, 1, "B"), f)
        return [GraphTensor64(shape: shape, bools: values)]
    }

    static func equal(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try comparison(args, ==) }
    static func less(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try comparison(args, <) }
    static func lessOrEqual(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try comparison(args, <=) }
    static func greater(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try comparison(args, >) }

    static func greaterOrEqual(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try comparison(args, >=)
    }
}
