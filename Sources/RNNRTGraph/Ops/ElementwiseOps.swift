import Foundation
import RNNRTCore
import RNNRTKernels

/// NumPy-style broadcasting of two shapes (ONNX multidirectional broadcasting).
func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard da == db || da == 1 || db == 1 else {
            throw RNNRTError(.shapeMismatch, "shapes \(a.shapeDescription) and \(b.shapeDescription) cannot be broadcast together (axis \(i): \(da) vs \(db))")
        }
        out[i] = da == 1 ? db : da
    }
    _ = try Check.elementCount(out, "broadcast of \(a.shapeDescription) and \(b.shapeDescription) to")
    return out
}

/// For each output element (C order) of `shape`, the index of the element it reads in a tensor of
/// `source` shape broadcast to `shape`. Nil when no broadcasting is needed (same shape).
func broadcastIndices(from source: [Int], to shape: [Int]) -> [Int]? {
    if source == shape { return nil }
    let rank = shape.count
    let padded = [Int](repeating: 1, count: rank - source.count) + source
    let srcStrides = padded.strides
    let n = shape.reduce(1, *)
    var out = [Int](repeating: 0, count: n)
    if n == 0 { return out }
    var index = [Int](repeating: 0, count: rank)
    var offset = 0
    for i in 0..<n {
        out[i] = offset
        var axis = rank - 1
        while axis >= 0 {
            index[axis] += 1
            if padded[axis] != 1 { offset += srcStrides[axis] }
            if index[axis] < shape[axis] { break }
            if padded[axis] != 1 { offset -= srcStrides[axis] * shape[axis] }
            index[axis] = 0
            axis -= 1
        }
    }
    return out
}

/// The strides (in source elements) of a tensor of `source` shape viewed broadcast to `shape`: 0 along the axes it
/// repeats, so a strided walk or copy reads it without an index per output element.
func broadcastStrides(from source: [Int], to shape: [Int]) -> [Int] {
    let padded = [Int](repeating: 1, count: shape.count - source.count) + source
    let strides = padded.strides
    return shape.indices.map { padded[$0] == 1 ? 0 : strides[$0] }
}

/// Calls `body(i, a, b, c)` for every element `i` (C order) of `shape` with the offsets it reads in operands of
/// shapes `a`, `b` and `c` broadcast to it (`[]` for an unused one), stepping the offsets as the index advances: no
/// index arrays, which cost 8 bytes per output element each.
func forEachBroadcast(_ shape: [Int], _ a: [Int], _ b: [Int], _ c: [Int] = [],
                      _ body: (Int, Int, Int, Int) throws -> Void) rethrows {
    let rank = shape.count, n = shape.reduce(1, *)
    let sa = broadcastStrides(from: a, to: shape), sb = broadcastStrides(from: b, to: shape), sc = broadcastStrides(from: c, to: shape)
    var index = [Int](repeating: 0, count: rank)
    var (oa, ob, oc) = (0, 0, 0)
    for i in 0..<n {
        try body(i, oa, ob, oc)
        var axis = rank - 1
        while axis >= 0 {
            index[axis] += 1
            oa += sa[axis]; ob += sb[axis]; oc += sc[axis]
            if index[axis] < shape[axis] { break }
            oa -= sa[axis] * shape[axis]; ob -= sb[axis] * shape[axis]; oc -= sc[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Whether `part`, without its leading 1s, is the trailing axes of `shape`.
func isTrailing(_ part: [Int], of shape: [Int]) -> Bool {
    let inner = part.drop { $0 == 1 }
    return inner.count <= shape.count && shape.suffix(inner.count).elementsEqual(inner)
}

/// Applies `f` elementwise over two arrays broadcast to a common shape, into an operator's output.
@inline(__always)
func broadcastMap<A, B, R: BitwiseCopyable>(_ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], _ f: (A, B) -> R) throws -> ([R], [Int]) {
    let shape = try broadcastShape(aShape, bShape)
    let n = shape.reduce(1, *)
    if aShape == bShape {
        return (outputArray(n) { out in for i in 0..<n { out[i] = f(a[i], b[i]) } }, shape)
    }
    if b.count == 1, aShape == shape { let v = b[0]; return (outputArray(n) { out in for i in 0..<n { out[i] = f(a[i], v) } }, shape) }
    if a.count == 1, bShape == shape { let v = a[0]; return (outputArray(n) { out in for i in 0..<n { out[i] = f(v, b[i]) } }, shape) }
    // One operand repeats along leading axes (a bias over the last axes): its index is the output's modulo its size.
    if aShape == shape, b.count > 0, isTrailing(bShape, of: shape) {
        let m = b.count
        return (outputArray(n) { out in
            for start in stride(from: 0, to: n, by: m) { for j in 0..<m { out[start + j] = f(a[start + j], b[j]) } }
        }, shape)
    }
    if bShape == shape, a.count > 0, isTrailing(aShape, of: shape) {
        let m = a.count
        return (outputArray(n) { out in
            for start in stride(from: 0, to: n, by: m) { for j in 0..<m { out[start + j] = f(a[j], b[start + j]) } }
        }, shape)
    }
    return (try outputArray(n) { out in
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let (a, b, out) = (a.baseAddress!, b.baseAddress!, out.baseAddress!)
                broadcastRuns(aShape, bShape, to: shape) { o, i, j, count, si, sj in
                    switch (si, sj) {
                    case (1, 0): let v = b[j]; for k in 0..<count { out[o + k] = f(a[i + k], v) }
                    case (0, 1): let v = a[i]; for k in 0..<count { out[o + k] = f(v, b[j + k]) }
                    default: for k in 0..<count { out[o + k] = f(a[i + k * si], b[j + k * sj]) }
                    }
                }
            }
        }
    }, shape)
}

/// The output of two operands broadcast to `shape` (C order) in runs along its innermost axes: `body(o, i, j, count,
/// si, sj)` for the `count` outputs from `o`, which read the first operand from `i` by steps of `si` (0: one element
/// for the whole run) and the second from `j` by `sj`. Axes both operands step through alike are merged first, so a
/// per-channel constant over a `[N, C, H, W]` value makes runs of `H·W`.
func broadcastRuns(_ aShape: [Int], _ bShape: [Int], to shape: [Int],
                   _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
    let rank = shape.count
    if rank == 0 { body(0, 0, 0, 1, 0, 0); return }
    func strides(_ operand: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: rank - operand.count) + operand
        var result = [Int](repeating: 0, count: rank), step = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            result[axis] = padded[axis] == 1 ? 0 : step
            step *= padded[axis]
        }
        return result
    }
    var extents = shape, sa = strides(aShape), sb = strides(bShape)
    // Merge axis k into the one after it while both operands step through the pair as through one axis.
    var k = rank - 2
    while k >= 0 {
        if sa[k] == sa[k + 1] * extents[k + 1] && sb[k] == sb[k + 1] * extents[k + 1] {
            extents[k + 1] *= extents[k]
            extents.remove(at: k); sa.remove(at: k); sb.remove(at: k)
        }
        k -= 1
    }
    guard let inner = extents.last, inner > 0, !extents.contains(0) else { return }
    let outer = extents.dropLast().reduce(1, *), last = extents.count - 1
    var index = [Int](repeating: 0, count: max(last, 0)), i = 0, j = 0
    for run in 0..<outer {
        body(run * inner, i, j, inner, sa[last], sb[last])
        var axis = last - 1
        while axis >= 0 {
            index[axis] += 1
            i += sa[axis]; j += sb[axis]
            if index[axis] < extents[axis] { break }
            i -= sa[axis] * extents[axis]; j -= sb[axis] * extents[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Elementwise operators: unary math and activations, binary arithmetic and comparisons, `Where`,
/// variadic `Sum`/`Mean`/`Max`/`Min`, `Clip`, `Cast`.
enum ElementwiseOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        func unary(_ name: String, _ f: @escaping @Sendable (Float) -> Float) {
            r[name] = { _ in ClosureOperator { inputs in
                let x = try Check.input(inputs, 0, "X")
                return [GraphTensor(shape: x.shape, floats: try x.floats("\(name) input").mapOutput(f))]
            } }
        }
        for (name, f) in [("Relu", ActivationFunction.relu), ("Sigmoid", .sigmoid), ("Tanh", .tanh)] {
            r[name] = { _ in ActivationOp(function: f, name: name) }
        }
        unary("Exp") { Foundation.exp($0) }
        unary("Log") { Foundation.log($0) }
        unary("Sqrt") { $0.squareRoot() }
        unary("Reciprocal") { 1 / $0 }
        unary("Erf") { Foundation.erf($0) }
        unary("Sin") { Foundation.sin($0) }
        unary("Cos") { Foundation.cos($0) }
        unary("Floor") { $0.rounded(.down) }
        unary("Ceil") { $0.rounded(.up) }
        unary("Round") { $0.rounded(.toNearestOrEven) }
        unary("Softsign") { $0 / (1 + abs($0)) }
        unary("Softplus") { x in x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }
        unary("HardSwish") { x in x * max(0, min(1, x / 6 + 0.5)) }
        unary("Mish") { x in x * hyperbolicTangent(x > 20 ? x : Foundation.log1p(Foundation.exp(x))) }

        // Unary ops that keep integer tensors integer.
        func signed(_ name: String, _ f: @escaping @Sendable (Float) -> Float, _ g: @escaping @Sendable (Int64) -> Int64) {
            r[name] = { _ in ClosureOperator { inputs in
                let x = try Check.input(inputs, 0, "X")
                switch x.elements {
                case .float(let v): return [GraphTensor(shape: x.shape, floats: v.mapOutput(f))]
                case .int(let v): return [GraphTensor(shape: x.shape, ints: v.map(g))]
                case .bool: throw RNNRTError(.invalidArgument, "\(name) does not take bool tensors")
                }
            } }
        }
        signed("Neg", { -$0 }, { 0 &- $0 })
        signed("Abs", { abs($0) }, { $0 == .min ? .max : abs($0) })
        signed("Sign", { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }, { $0.signum() })

        // Activations with attributes.
        r["LeakyRelu"] = { ctx in
            let alpha = try ctx.node.float("alpha", default: 0.01)
            return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 >= 0 ? $0 : alpha * $0 }] }
        }
        r["Elu"] = { ctx in
            let alpha = try ctx.node.float("alpha", default: 1)
            return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 >= 0 ? $0 : alpha * (Foundation.exp($0) - 1) }] }
        }
        r["Celu"] = { ctx in
            let alpha = try ctx.node.float("alpha", default: 1)
            return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { max(0, $0) + min(0, alpha * (Foundation.exp($0 / alpha) - 1)) }] }
        }
        r["Selu"] = { ctx in
            let alpha = try ctx.node.float("alpha", default: 1.67326319217681884765625)
            let gamma = try ctx.node.float("gamma", default: 1.05070102214813232421875)
            return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 > 0 ? gamma * $0 : gamma * alpha * (Foundation.exp($0) - 1) }] }
        }
        r["HardSigmoid"] = { ctx in
            let alpha = try ctx.node.float("alpha", default: 0.2), beta = try ctx.node.float("beta", default: 0.5)
            return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { max(0, min(1, alpha * $0 + beta)) }] }
        }
        r["ThresholdedRelu"] = { ctx in
            let alpha = try ctx.node.float("alpha", default: 1)
            return ClosureOperator { inputs in try [Check.input(inputs, 0, "X").mapElements { $0 > alpha ? $0 : 0 }] }
        }
        r["Gelu"] = { ctx in
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
        r["PRelu"] = { _ in ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X"), slope = try Check.input(inputs, 1, "slope")
            let (v, shape) = try broadcastMap(try x.floats("X"), x.shape, try slope.floats("slope"), slope.shape) { $0 >= 0 ? $0 : $0 * $1 }
            return [GraphTensor(shape: shape, floats: v)]
        } }

        // Binary arithmetic: float or integer (both operands the same kind).
        func arithmetic(_ name: String, _ f: @escaping @Sendable (Float, Float) -> Float,
                        _ g: @escaping @Sendable (Int64, Int64) throws -> Int64) {
            r[name] = { _ in ClosureOperator { inputs in
                [try binaryArithmetic(name, try Check.input(inputs, 0, "A"), try Check.input(inputs, 1, "B"), f, g)]
            } }
        }
        arithmetic("Add", +, { $0 &+ $1 })
        arithmetic("Sub", -, { $0 &- $1 })
        arithmetic("Mul", *, { $0 &* $1 })
        arithmetic("Div", /, { a, b in
            guard b != 0 else { throw RNNRTError(.invalidArgument, "integer division by zero") }
            // ONNX integer Div truncates toward zero (like C).
            return a == .min && b == -1 ? .min : a / b
        })
        arithmetic("Pow", { Foundation.pow($0, $1) }, { a, b in
            guard b >= 0 else { return 0 }
            var result: Int64 = 1
            for _ in 0..<min(b, 64) { result = result &* a }
            return result
        })
        // A float raised to the scalar 2 (how PyTorch exports x ** 2): x · x, which is powf(x, 2) correctly rounded.
        let power = r["Pow"]!
        r["Pow"] = { ctx in
            let general = try power(ctx)
            return ClosureOperator { inputs in
                if inputs.count > 1, let e = inputs[1], case .float(let exponent) = e.elements, exponent == [2],
                   let x = inputs[0], case .float(let v) = x.elements, e.rank <= x.rank {
                    return [GraphTensor(shape: x.shape, floats: v.mapOutput { $0 * $0 })]
                }
                return try general.run(inputs)
            }
        }
        r["Mod"] = { ctx in
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

        // Comparisons and logic → bool.
        func compare(_ name: String, _ f: @escaping @Sendable (Float, Float) -> Bool, _ g: @escaping @Sendable (Int64, Int64) -> Bool) {
            r[name] = { _ in ClosureOperator { inputs in
                let a = try Check.input(inputs, 0, "A"), b = try Check.input(inputs, 1, "B")
                switch (a.elements, b.elements) {
                case (.float(let x), .float(let y)):
                    let (v, s) = try broadcastMap(x, a.shape, y, b.shape, f)
                    return [GraphTensor(shape: s, bools: v)]
                case (.float(let x), _):
                    let (v, s) = try broadcastMap(x, a.shape, try b.ints("B").map { Float($0) }, b.shape, f)
                    return [GraphTensor(shape: s, bools: v)]
                case (_, .float(let y)):
                    let (v, s) = try broadcastMap(try a.ints("A").map { Float($0) }, a.shape, y, b.shape, f)
                    return [GraphTensor(shape: s, bools: v)]
                default:
                    let (v, s) = try broadcastMap(try a.ints("A"), a.shape, try b.ints("B"), b.shape, g)
                    return [GraphTensor(shape: s, bools: v)]
                }
            } }
        }
        compare("Equal", { $0 == $1 }, { $0 == $1 })
        compare("Less", { $0 < $1 }, { $0 < $1 })
        compare("LessOrEqual", { $0 <= $1 }, { $0 <= $1 })
        compare("Greater", { $0 > $1 }, { $0 > $1 })
        compare("GreaterOrEqual", { $0 >= $1 }, { $0 >= $1 })

        func logic(_ name: String, _ f: @escaping @Sendable (Bool, Bool) -> Bool) {
            r[name] = { _ in ClosureOperator { inputs in
                let a = try Check.input(inputs, 0, "A"), b = try Check.input(inputs, 1, "B")
                let (v, s) = try broadcastMap(try bools(a, "A"), a.shape, try bools(b, "B"), b.shape, f)
                return [GraphTensor(shape: s, bools: v)]
            } }
        }
        logic("And") { $0 && $1 }
        logic("Or") { $0 || $1 }
        logic("Xor") { $0 != $1 }
        r["Not"] = { _ in ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X")
            return [GraphTensor(shape: x.shape, bools: try bools(x, "X").map { !$0 })]
        } }

        r["Where"] = { _ in ClosureOperator { inputs in
            let c = try Check.input(inputs, 0, "condition"), x = try Check.input(inputs, 1, "X"), y = try Check.input(inputs, 2, "Y")
            let cond = try bools(c, "condition")
            let shape = try broadcastShape(try broadcastShape(c.shape, x.shape), y.shape)
            let n = shape.reduce(1, *)
            func pick<T: BitwiseCopyable>(_ a: [T], _ b: [T]) -> [T] {
                outputArray(n) { out in
                    forEachBroadcast(shape, c.shape, x.shape, y.shape) { i, jc, jx, jy in out[i] = cond[jc] ? a[jx] : b[jy] }
                }
            }
            switch (x.elements, y.elements) {
            case (.float(let a), .float(let b)): return [GraphTensor(shape: shape, floats: pick(a, b))]
            case (.bool(let a), .bool(let b)): return [GraphTensor(shape: shape, bools: pick(a, b))]
            default: return [GraphTensor(shape: shape, ints: pick(try x.ints("X"), try y.ints("Y")))]
            }
        } }

        // Variadic.
        func variadic(_ name: String, _ f: @escaping @Sendable (Float, Float) -> Float, _ g: @escaping @Sendable (Int64, Int64) -> Int64, mean: Bool = false) {
            r[name] = { _ in ClosureOperator { inputs in
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
            } }
        }
        variadic("Sum", +, { $0 &+ $1 })
        variadic("Mean", +, { $0 &+ $1 }, mean: true)
        variadic("Max", { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }, max)
        variadic("Min", { $0.isNaN || $1.isNaN ? .nan : min($0, $1) }, min)

        r["Clip"] = { ctx in
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

        r["Cast"] = { ctx in
            let to = Int32(clamping: try ctx.node.int("to", default: 1))
            guard let kind = ONNXElementKind(code: to) else {
                throw RNNRTError(.unsupported, "\(ctx.node.label): Cast to ONNX element type \(to) is not supported (float, integer and bool types are)")
            }
            return ClosureOperator { inputs in [try cast(try Check.input(inputs, 0, "input"), to: kind)] }
        }
        r["CastLike"] = { _ in ClosureOperator { inputs in
            let target = try Check.input(inputs, 1, "target_type")
            let kind: ONNXElementKind
            switch target.elements {
            case .float: kind = .float
            case .int: kind = .int
            case .bool: kind = .bool
            }
            return [try cast(try Check.input(inputs, 0, "input"), to: kind)]
        } }
    }

    static func bools(_ t: GraphTensor, _ what: String) throws -> [Bool] {
        switch t.elements {
        case .bool(let v): return v
        case .int(let v): return v.map { $0 != 0 }
        case .float(let v): return v.map { $0 != 0 }
        }
    }

    static func cast(_ x: GraphTensor, to kind: ONNXElementKind) throws -> GraphTensor {
        switch (kind, x.elements) {
        case (.float, .float): return x
        case (.float, .int(let v)): return GraphTensor(shape: x.shape, floats: v.mapOutput { Float($0) })
        case (.float, .bool(let v)): return GraphTensor(shape: x.shape, floats: v.mapOutput { $0 ? 1 : 0 })
        case (.int, .int): return x
        case (.int, .float(let v)):
            return GraphTensor(shape: x.shape, ints: v.map { f in
                f.isNaN ? 0 : (f >= 9.2e18 ? .max : (f <= -9.2e18 ? .min : Int64(f.rounded(.towardZero))))
            })
        case (.int, .bool(let v)): return GraphTensor(shape: x.shape, ints: v.map { $0 ? 1 : 0 })
        case (.bool, _): return GraphTensor(shape: x.shape, bools: try bools(x, "input"))
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
    return (try outputFloats(n) { out in
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
