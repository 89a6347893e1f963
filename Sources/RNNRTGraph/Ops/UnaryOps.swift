import Foundation
import RNNRTCore
import RNNRTKernels

/// Elementwise functions of one tensor: unary math, activations (with their attributes; `PRelu` with a broadcast
/// slope), `Clip`.
enum UnaryOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["Relu"] = relu
        r["Sigmoid"] = sigmoid
        r["Tanh"] = tanh
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
        r["Softsign"] = softsign
        r["Softplus"] = softplus
        r["HardSwish"] = hardSwish
        r["Mish"] = mish
        r["Neg"] = neg
        r["Abs"] = absolute
        r["Sign"] = sign
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

    // MARK: Activations on the vector kernels

    static func relu(_ ctx: OperatorContext) throws -> GraphOperator { ActivationOp(function: .relu, name: "Relu") }
    static func sigmoid(_ ctx: OperatorContext) throws -> GraphOperator { ActivationOp(function: .sigmoid, name: "Sigmoid") }
    static func tanh(_ ctx: OperatorContext) throws -> GraphOperator { ActivationOp(function: .tanh, name: "Tanh") }

    // MARK: Float functions

    /// An operator applying `f` to every element of its float input (`name` for messages).
    static func floatMap(_ name: String, _ f: @escaping @Sendable (Float) -> Float) -> GraphOperator {
        ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X")
            return [GraphTensor(shape: x.shape, floats: try x.floats("\(name) input").mapOutput(f))]
        }
    }

    static func exp(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Exp") { Foundation.exp($0) } }
    static func log(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Log") { Foundation.log($0) } }
    static func sqrt(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Sqrt") { $0.squareRoot() } }
    static func reciprocal(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Reciprocal") { 1 / $0 } }
    static func erf(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Erf") { Foundation.erf($0) } }
    static func sin(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Sin") { Foundation.sin($0) } }
    static func cos(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Cos") { Foundation.cos($0) } }
    static func floor(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Floor") { $0.rounded(.down) } }
    static func ceil(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Ceil") { $0.rounded(.up) } }
    static func round(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Round") { $0.rounded(.toNearestOrEven) } }
    static func softsign(_ ctx: OperatorContext) throws -> GraphOperator { floatMap("Softsign") { $0 / (1 + abs($0)) } }

    static func softplus(_ ctx: OperatorContext) throws -> GraphOperator {
        floatMap("Softplus") { x in x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }
    }

    static func hardSwish(_ ctx: OperatorContext) throws -> GraphOperator {
        floatMap("HardSwish") { x in x * max(0, min(1, x / 6 + 0.5)) }
    }

    static func mish(_ ctx: OperatorContext) throws -> GraphOperator {
        floatMap("Mish") { x in x * hyperbolicTangent(x > 20 ? x : Foundation.log1p(Foundation.exp(x))) }
    }

    // MARK: Functions that keep integer tensors integer

    /// An operator applying `f` to a float input's elements and `g` to an integer input's (`name` for messages).
    static func signedMap(_ name: String, _ f: @escaping @Sendable (Float) -> Float,
                          _ g: @escaping @Sendable (Int64) -> Int64) -> GraphOperator {
        ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X")
            switch x.elements {
            case .float(let v): return [GraphTensor(shape: x.shape, floats: v.mapOutput(f))]
            case .int(let v): return [GraphTensor(shape: x.shape, ints: v.map(g))]
            case .bool: throw RNNRTError(.invalidArgument, "\(name) does not take bool tensors")
            }
        }
    }

    static func neg(_ ctx: OperatorContext) throws -> GraphOperator { signedMap("Neg", { -$0 }, { 0 &- $0 }) }

    static func absolute(_ ctx: OperatorContext) throws -> GraphOperator {
        signedMap("Abs", { abs($0) }, { $0 == .min ? .max : abs($0) })
    }

    static func sign(_ ctx: OperatorContext) throws -> GraphOperator {
        signedMap("Sign", { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }, { $0.signum() })
    }

    // MARK: Activations with attributes

    static func leakyRelu(_ ctx: OperatorContext) throws -> GraphOperator {
        let alpha = try ctx.node.float("alpha", default: 0.01)
        return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 >= 0 ? $0 : alpha * $0 }] }
    }

    static func elu(_ ctx: OperatorContext) throws -> GraphOperator {
        let alpha = try ctx.node.float("alpha", default: 1)
        return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 >= 0 ? $0 : alpha * (Foundation.exp($0) - 1) }] }
    }

    static func celu(_ ctx: OperatorContext) throws -> GraphOperator {
        let alpha = try ctx.node.float("alpha", default: 1)
        return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { max(0, $0) + min(0, alpha * (Foundation.exp($0 / alpha) - 1)) }] }
    }

    static func selu(_ ctx: OperatorContext) throws -> GraphOperator {
        let alpha = try ctx.node.float("alpha", default: 1.67326319217681884765625)
        let gamma = try ctx.node.float("gamma", default: 1.05070102214813232421875)
        return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 > 0 ? gamma * $0 : gamma * alpha * (Foundation.exp($0) - 1) }] }
    }

    static func hardSigmoid(_ ctx: OperatorContext) throws -> GraphOperator {
        let alpha = try ctx.node.float("alpha", default: 0.2), beta = try ctx.node.float("beta", default: 0.5)
        return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { max(0, min(1, alpha * $0 + beta)) }] }
    }

    static func thresholdedRelu(_ ctx: OperatorContext) throws -> GraphOperator {
        let alpha = try ctx.node.float("alpha", default: 1)
        return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 > alpha ? $0 : 0 }] }
    }

    static func gelu(_ ctx: OperatorContext) throws -> GraphOperator {
        let tanhApprox = try ctx.node.string("approximate", default: "none") == "tanh"
        return ClosureOperator { inputs in
            try [Check.input(inputs, 0, "X").mapElements { x in
                if tanhApprox {
                    let inner = 0.7978845608028654 * (Double(x) + 0.044715 * Double(x) * Double(x) * Double(x))
                    return Float(0.5 * Double(x) * (1 + Foundation.tanh(inner)))
                }
                return Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot())))
            }]
        }
    }

    static func pRelu(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X"), slope = try Check.input(inputs, 1, "slope")
            let (v, shape) = try broadcastMap(try x.floats("X"), x.shape, try slope.floats("slope"), slope.shape) { $0 >= 0 ? $0 : $0 * $1 }
            return [GraphTensor(shape: shape, floats: v)]
        }
    }

    // MARK: Clip

    static func clip(_ ctx: OperatorContext) throws -> GraphOperator {
        let attrMin = ctx.opset < 11 ? try ctx.node.float("min", default: -.greatestFiniteMagnitude) : nil
        let attrMax = ctx.opset < 11 ? try ctx.node.float("max", default: .greatestFiniteMagnitude) : nil
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "input")
            func bound(_ i: Int) throws -> Float? {
                guard i < inputs.count, let t = inputs[i] else { return nil }
                switch t.elements {
                case .float(let v): return v.first
                default: return try t.ints("bound").first.map { Float($0) }
                }
            }
            let lo = try attrMin ?? bound(1), hi = try attrMax ?? bound(2)
            switch x.elements {
            case .int(let v):
                let l = lo.map(\.saturatingInt64) ?? .min, h = hi.map(\.saturatingInt64) ?? .max
                return [GraphTensor(shape: x.shape, ints: v.map { min(max($0, l), h) })]
            default:
                let l = lo ?? -.infinity, h = hi ?? .infinity
                return [try x.mapElements { $0.isNaN ? $0 : min(max($0, l), h) }]
            }
        }
    }
}

/// An operator applying `function` to every element of its float input (`Relu`, `Sigmoid`, `Tanh`, and the fused
/// `x * sigmoid(x)`; `name` for messages).
struct ActivationOp: GraphOperator {
    let function: ActivationFunction
    let name: String

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let x = try Check.input(inputs, 0, "X")
        let values = try x.floats("\(name) input")
        return [GraphTensor(shape: x.shape, floats: outputFloats(values.count) { out in
            values.withUnsafeBufferPointer { function.apply($0.baseAddress!, out.baseAddress!, count: values.count) }
        })]
    }
}
