import Foundation
import RNNRTCore
import RNNRTKernels

/// The float64 forms of `UnaryOps`: unary math, activations (`PRelu` with a broadcast slope), `Clip`.
extension Float64Ops {
    static func registerUnary(_ r: inout [String: Operator]) {
        r["Relu"] = relu
        r["Sigmoid"] = sigmoid
        r["Tanh"] = tanh
        r["Softplus"] = softplus
        r["Softsign"] = softsign
        r["Exp"] = exp
        r["Log"] = log
        r["Sqrt"] = sqrt
        r["Reciprocal"] = reciprocal
        r["Erf"] = erf
        r["Sin"] = sin
        r["Cos"] = cos
        r["Floor"] = floor
        r["Ceil"] = ceil
        r["Round"] = round
        r["Neg"] = neg
        r["Abs"] = absolute
        r["Sign"] = sign
        r["HardSwish"] = hardSwish
        r["Mish"] = mish
        r["LeakyRelu"] = leakyRelu
        r["Elu"] = elu
        r["Celu"] = celu
        r["Selu"] = selu
        r["HardSigmoid"] = hardSigmoid
        r["ThresholdedRelu"] = thresholdedRelu
        r["Gelu"] = gelu
        r["PRelu"] = pRelu
        r["Clip"] = clip
    }

    /// The function `f(ctx)` (read from the node's attributes once the input is found) over every element of input 0.
    static func unary(_ ctx: Context, _ args: [GraphTensor64?], _ name: String,
                      _ f: (Context) throws -> (Double) -> Double) throws -> [GraphTensor64] {
        let x = try input(args, 0, "X")
        let g = try f(ctx)
        return [GraphTensor64(shape: x.shape, doubles: try x.doubles("\(name) input").map(g))]
    }

    /// `f` over every element of input 0.
    static func fixed(_ ctx: Context, _ args: [GraphTensor64?], _ name: String,
                      _ f: @escaping (Double) -> Double) throws -> [GraphTensor64] {
        try unary(ctx, args, name) { _ in f }
    }

    /// `function` (an RNNRTKernels activation, in float64) over every element of input 0.
    static func activation(_ ctx: Context, _ args: [GraphTensor64?], _ name: String,
                           _ function: ActivationFunction) throws -> [GraphTensor64] {
        try fixed(ctx, args, name) { function($0) }
    }

    // MARK: Functions

    static func relu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try activation(ctx, args, "Relu", .relu)
    }

    static func sigmoid(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try activation(ctx, args, "Sigmoid", .sigmoid)
    }

    static func tanh(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try activation(ctx, args, "Tanh", .tanh)
    }

    static func softplus(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try activation(ctx, args, "Softplus", .softplus)
    }

    static func softsign(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try activation(ctx, args, "Softsign", .softsign)
    }

    static func exp(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Exp") { Foundation.exp($0) }
    }

    static func log(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Log") { Foundation.log($0) }
    }

    static func sqrt(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Sqrt") { $0.squareRoot() }
    }

    static func reciprocal(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Reciprocal") { 1 / $0 }
    }

    static func erf(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Erf") { Foundation.erf($0) }
    }

    static func sin(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Sin") { Foundation.sin($0) }
    }

    static func cos(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Cos") { Foundation.cos($0) }
    }

    static func floor(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Floor") { $0.rounded(.down) }
    }

    static func ceil(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Ceil") { $0.rounded(.up) }
    }

    static func round(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Round") { $0.rounded(.toNearestOrEven) }
    }

    static func neg(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Neg") { -$0 }
    }

    static func absolute(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Abs") { abs($0) }
    }

    static func sign(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "Sign") { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
    }

    static func hardSwish(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try fixed(ctx, args, "HardSwish") { x in x * max(0, min(1, x / 6 + 0.5)) }
    }

    static func mish(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let softplus = ActivationFunction.softplus
        return try fixed(ctx, args, "Mish") { x in x * Foundation.tanh(softplus(x)) }
    }

    // MARK: Activations with attributes

    static func leakyRelu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try unary(ctx, args, "LeakyRelu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 0.01))
            return { $0 >= 0 ? $0 : alpha * $0 }
        }
    }

    static func elu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try unary(ctx, args, "Elu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1))
            return { $0 >= 0 ? $0 : alpha * Foundation.expm1($0) }
        }
    }

    static func celu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try unary(ctx, args, "Celu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1))
            return { max(0, $0) + min(0, alpha * Foundation.expm1($0 / alpha)) }
        }
    }

    static func selu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try unary(ctx, args, "Selu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1.67326319217681884765625))
            let gamma = Double(try ctx.node.float("gamma", default: 1.05070102214813232421875))
            return { $0 > 0 ? gamma * $0 : gamma * alpha * Foundation.expm1($0) }
        }
    }

    static func hardSigmoid(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try unary(ctx, args, "HardSigmoid") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 0.2)), beta = Double(try ctx.node.float("beta", default: 0.5))
            return { max(0, min(1, alpha * $0 + beta)) }
        }
    }

    static func thresholdedRelu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try unary(ctx, args, "ThresholdedRelu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1))
            return { $0 > alpha ? $0 : 0 }
        }
    }

    static func gelu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try unary(ctx, args, "Gelu") { ctx in
            let tanhApproximation = try ctx.node.string("approximate", default: "none") == "tanh"
            return { x in
                tanhApproximation ? 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
                    : 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
            }
        }
    }

    static func pRelu(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        [try binary(try input(args, 0, "A"), try input(args, 1, "B")) { x, slope in x >= 0 ? x : x * slope }]
    }

    // MARK: Clip

    static func clip(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let x = try input(args, 0, "input")
        var lo = -Double.infinity, hi = Double.infinity
        if ctx.opset < 11 {
            lo = Double(try ctx.node.float("min", default: -.greatestFiniteMagnitude))
            hi = Double(try ctx.node.float("max", default: .greatestFiniteMagnitude))
        } else {
            if let t = optional(args, 1), let v = t.numericValues.first { lo = v }
            if let t = optional(args, 2), let v = t.numericValues.first { hi = v }
        }
        return [GraphTensor64(shape: x.shape, doubles: try x.doubles("Clip input").map { $0.isNaN ? $0 : min(max($0, lo), hi) })]
    }
}
