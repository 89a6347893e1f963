import Foundation
import RNNRTCore

/// The float64 forms of `ArithmeticOps`: binary arithmetic and the variadic `Sum`, `Mean`, `Max`, `Min`, with
/// broadcasting.
extension Float64Ops {
    static func registerArithmetic(_ r: inout [String: Operator]) {
        r["Add"] = add
        r["Sub"] = sub
        r["Mul"] = mul
        r["Div"] = div
        r["Pow"] = pow
        r["Mod"] = mod
        r["Sum"] = sum
        r["Mean"] = mean
        r["Max"] = maximum
        r["Min"] = minimum
    }

    /// `f` over inputs 0 and 1 broadcast together.
    static func arithmetic(_ args: [GraphTensor64?], _ f: (Double, Double) -> Double) throws -> [GraphTensor64] {
        [try binary(try input(args, 0, "A"), try input(args, 1, "B"), f)]
    }

    static func add(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try arithmetic(args, +) }
    static func sub(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try arithmetic(args, -) }
    static func mul(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try arithmetic(args, *) }
    static func div(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try arithmetic(args, /) }

    static func pow(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try arithmetic(args) { x, e in e == 2 ? x * x : Foundation.pow(x, e) }
    }

    static func mod(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let fmod = try ctx.node.int("fmod", default: 0) != 0
        return [try binary(try input(args, 0, "A"), try input(args, 1, "B")) { a, b in
            fmod ? Foundation.fmod(a, b) : a - (a / b).rounded(.down) * b
        }]
    }

    // MARK: Variadic

    /// The present inputs (at least one) folded with `f`, broadcasting, then divided by their number when `mean`.
    static func variadic(_ args: [GraphTensor64?], _ name: String, mean: Bool = false,
                         _ f: (Double, Double) -> Double) throws -> [GraphTensor64] {
        let present = args.compactMap { $0 }
        guard var acc = present.first else { throw RNNRTError(.invalidArgument, "\(name) needs at least one input") }
        if !acc.isFloat { acc = GraphTensor64(shape: acc.shape, doubles: acc.numericValues) }
        for next in present.dropFirst() { acc = try binary(acc, next, f) }
        if mean { acc = GraphTensor64(shape: acc.shape, doubles: try acc.doubles("Mean").map { $0 / Double(present.count) }) }
        return [acc]
    }

    static func sum(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try variadic(args, "Sum", +) }

    static func mean(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try variadic(args, "Mean", mean: true, +)
    }

    static func maximum(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try variadic(args, "Max") { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
    }

    static func minimum(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try variadic(args, "Min") { $0.isNaN || $1.isNaN ? .nan : min($0, $1) }
    }
}
