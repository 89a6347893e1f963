import Foundation
import RNNRTCore

/// Binary arithmetic (`Add`, `Sub`, `Mul`, `Div`, `Pow`, `Mod`: float or integer, both operands the same kind; mixed
/// kinds compute in float) and the variadic `Sum`, `Mean`, `Max`, `Min`, with broadcasting.
enum ArithmeticOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
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

    // MARK: Binary

    /// An operator computing `f` (float) or `g` (integer) over its two inputs broadcast together.
    static func binary(_ name: String, _ f: @escaping @Sendable (Float, Float) -> Float,
                       _ g: @escaping @Sendable (Int64, Int64) throws -> Int64) -> GraphOperator {
        ClosureOperator { inputs in
            [try binaryArithmetic(name, try Check.input(inputs, 0, "A"), try Check.input(inputs, 1, "B"), f, g)]
        }
    }

    static func add(_ ctx: OperatorContext) throws -> GraphOperator { binary("Add", +, { $0 &+ $1 }) }
    static func sub(_ ctx: OperatorContext) throws -> GraphOperator { binary("Sub", -, { $0 &- $1 }) }
    static func mul(_ ctx: OperatorContext) throws -> GraphOperator { binary("Mul", *, { $0 &* $1 }) }

    static func div(_ ctx: OperatorContext) throws -> GraphOperator {
        binary("Div", /, { a, b in
            guard b != 0 else { throw RNNRTError(.invalidArgument, "integer division by zero") }
            // ONNX integer Div truncates toward zero (like C).
            return a == .min && b == -1 ? .min : a / b
        })
    }

    /// `Pow`; a float raised to the scalar 2 (how PyTorch exports x ** 2) is x · x, which is powf(x, 2) correctly
    /// rounded.
    static func pow(_ ctx: OperatorContext) throws -> GraphOperator {
        let general = binary("Pow", { Foundation.pow($0, $1) }, { a, b in
            guard b >= 0 else { return 0 }
            var result: Int64 = 1
            for _ in 0..<min(b, 64) { result = result &* a }
            return result
        })
        return ClosureOperator { inputs in
            if inputs.count > 1, let e = inputs[1], case .float(let exponent) = e.elements, exponent == [2],
               let x = inputs[0], case .float(let v) = x.elements, e.rank <= x.rank {
                return [GraphTensor(shape: x.shape, floats: v.mapOutput { $0 * $0 })]
            }
            return try general.run(inputs)
        }
    }

    static func mod(_ ctx: OperatorContext) throws -> GraphOperator {
        let fmod = try ctx.node.int("fmod", default: 0) != 0
        return ClosureOperator { inputs in
            [try binaryArithmetic("Mod", try Check.input(inputs, 0, "A"), try Check.input(inputs, 1, "B"),
                                  { a, b in fmod ? Foundation.fmod(a, b) : a - (a / b).rounded(.down) * b },
                                  { a, b in
                guard b != 0 else { throw RNNRTError(.invalidArgument, "integer modulo by zero") }
                if a == .min && b == -1 { return 0 }
                let m = a % b
                return fmod || m == 0 || (m < 0) == (b < 0) ? m : m + b
            })]
        }
    }

    // MARK: Variadic

    /// An operator folding its inputs (at least one) with `f` (float) or `g` (integer), broadcasting, then dividing
    /// by their number when `mean`.
    static func variadic(_ name: String, _ f: @escaping @Sendable (Float, Float) -> Float,
                         _ g: @escaping @Sendable (Int64, Int64) -> Int64, mean: Bool = false) -> GraphOperator {
        ClosureOperator { inputs in
            let present = inputs.compactMap { $0 }
            guard var acc = present.first else { throw RNNRTError(.invalidArgument, "\(name) needs at least one input") }
            // Each partial result after the first is this operator's own, given back when the next replaces it.
            for (k, next) in present.dropFirst().enumerated() {
                let partial = try binaryArithmetic(name, acc, next, f, { g($0, $1) })
                if k > 0 { recycleIntermediate(acc) }
                acc = partial
            }
            if mean, case .float(let v) = acc.elements {
                let k = Float(present.count)
                let averaged = GraphTensor(shape: acc.shape, floats: v.mapOutput { $0 / k })
                if present.count > 1 { recycleIntermediate(acc) }
                acc = averaged
            }
            return [acc]
        }
    }

    static func sum(_ ctx: OperatorContext) throws -> GraphOperator { variadic("Sum", +, { $0 &+ $1 }) }
    static func mean(_ ctx: OperatorContext) throws -> GraphOperator { variadic("Mean", +, { $0 &+ $1 }, mean: true) }

    static func maximum(_ ctx: OperatorContext) throws -> GraphOperator {
        variadic("Max", { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }, max)
    }

    static func minimum(_ ctx: OperatorContext) throws -> GraphOperator {
        variadic("Min", { $0.isNaN || $1.isNaN ? .nan : min($0, $1) }, min)
    }
}

/// `f`/`g` over two float or two integer tensors with broadcasting (mixed kinds compute in float).
@inline(__always)
func binaryArithmetic(_ name: String, _ a: GraphTensor, _ b: GraphTensor,
                      _ f: (Float, Float) -> Float, _ g: (Int64, Int64) throws -> Int64) throws -> GraphTensor {
    switch (a.elements, b.elements) {
    case (.float(let x), .float(let y)):
        if let operation = ArithmeticOperation(rawValue: name) {
            let (v, s) = try floatArithmetic(operation, x, a.shape, y, b.shape)
            return GraphTensor(shape: s, floats: v)
        }
        let (v, s) = try broadcastMap(x, a.shape, y, b.shape, f)
        return GraphTensor(shape: s, floats: v)
    case (.int(let x), .int(let y)):
        let shape = try broadcastShape(a.shape, b.shape)
        if let operation = ArithmeticOperation(rawValue: name), operation != .div {
            return GraphTensor(shape: shape, ints: integerArithmetic(operation, x, a.shape, y, b.shape, to: shape))
        }
        var out = [Int64](repeating: 0, count: shape.reduce(1, *))
        try forEachBroadcast(shape, a.shape, b.shape) { i, ja, jb, _ in out[i] = try g(x[ja], y[jb]) }
        return GraphTensor(shape: shape, ints: out)
    case (.float(let x), _):
        let (v, s) = try broadcastMap(x, a.shape, try b.ints("\(name) B").map { Float($0) }, b.shape, f)
        return GraphTensor(shape: s, floats: v)
    case (_, .float(let y)):
        let (v, s) = try broadcastMap(try a.ints("\(name) A").map { Float($0) }, a.shape, y, b.shape, f)
        return GraphTensor(shape: s, floats: v)
    default:
        let shape = try broadcastShape(a.shape, b.shape)
        let x = try a.ints("A"), y = try b.ints("B")
        var out = [Int64](repeating: 0, count: shape.reduce(1, *))
        try forEachBroadcast(shape, a.shape, b.shape) { i, ja, jb, _ in out[i] = try g(x[ja], y[jb]) }
        return GraphTensor(shape: shape, ints: out)
    }
}

/// The four arithmetic operators, computed in loops of their own (no call per element).
enum ArithmeticOperation: String {
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div"
}

/// `a op b` over two float arrays broadcast to a common shape, into an operator's output.
func floatArithmetic(_ operation: ArithmeticOperation, _ a: [Float], _ aShape: [Int], _ b: [Float],
                     _ bShape: [Int]) throws -> ([Float], [Int]) {
    let shape = try broadcastShape(aShape, bShape)
    let n = shape.reduce(1, *)
    return (outputFloats(n) { out in
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress, let po = out.baseAddress else { return }
                if aShape == bShape { return apply(operation, pa, 1, pb, 1, po, n) }
                broadcastRuns(aShape, bShape, to: shape) { o, i, j, count, si, sj in
                    apply(operation, pa + i, si, pb + j, sj, po + o, count)
                }
            }
        }
    }, shape)
}

/// `a op b` over two integer arrays broadcast to `shape`, wrapping (`Add`, `Sub`, `Mul`; not `Div`).
func integerArithmetic(_ operation: ArithmeticOperation, _ a: [Int64], _ aShape: [Int], _ b: [Int64], _ bShape: [Int],
                       to shape: [Int]) -> [Int64] {
    let n = shape.reduce(1, *)
    return outputArray(n) { (out: UnsafeMutableBufferPointer<Int64>) in
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress, let po = out.baseAddress else { return }
                broadcastRuns(aShape, bShape, to: shape) { o, i, j, count, si, sj in
                    switch operation {
                    case .add: run(pa + i, si, pb + j, sj, po + o, count, &+)
                    case .sub: run(pa + i, si, pb + j, sj, po + o, count, &-)
                    case .mul, .div: run(pa + i, si, pb + j, sj, po + o, count, &*)
                    }
                }
            }
        }
    }
}

/// `out[k] = a[k·sa] op b[k·sb]` for `k < count`.
private func apply(_ operation: ArithmeticOperation, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>,
                   _ sb: Int, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
    switch operation {
    case .add: run(a, sa, b, sb, out, count, +)
    case .sub: run(a, sa, b, sb, out, count, -)
    case .mul: run(a, sa, b, sb, out, count, *)
    case .div: run(a, sa, b, sb, out, count, /)
    }
}

@inline(__always)
private func run<T>(_ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
                    _ out: UnsafeMutablePointer<T>, _ count: Int, _ f: (T, T) -> T) {
    switch (sa, sb) {
    case (1, 1): for k in 0..<count { out[k] = f(a[k], b[k]) }
    case (1, 0): let v = b[0]; for k in 0..<count { out[k] = f(a[k], v) }
    case (0, 1): let v = a[0]; for k in 0..<count { out[k] = f(v, b[k]) }
    default: for k in 0..<count { out[k] = f(a[k * sa], b[k * sb]) }
    }
}
