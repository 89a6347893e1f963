import Foundation
import RNNRTCore
import RNNRTKernels
import RNNRTLayers

/// The float64 forms of the executor's float operators, for `Plan.runFloat64`: the same semantics (attributes,
/// opset forms, broadcasting, checks) as the float32 operators in `Ops/`, computed in float64. A node whose inputs
/// are all integer or bool does not come here: the executor's operator computes it exactly.
enum Float64Ops {
    struct Context: Sendable {
        let node: Node
        let opset: Int64
    }

    typealias Operator = @Sendable (Context, [GraphTensor64?]) throws -> [GraphTensor64]

    /// Operators that make float values without float inputs, so they come here whatever their inputs are.
    static let createsFloats: Set<String> = ["Constant", "ConstantOfShape", "Cast", "CastLike"]

    static let table: [String: Operator] = {
        var r: [String: Operator] = [:]
        registerElementwise(&r)
        registerLinearAlgebra(&r)
        registerReductions(&r)
        registerCreation(&r)
        for (name, kind) in [("LSTM", RecurrentKind.lstm), ("GRU", .gru), ("RNN", .rnn)] {
            r[name] = { ctx, args in
                let context = OperatorContext(node: ctx.node, opset: ctx.opset) { _ in nil }
                return try RecurrentOp(kind: kind, context: context).runFloat64(args)
            }
        }
        return r
    }()

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

    // MARK: - Elementwise

    static func registerElementwise(_ r: inout [String: Operator]) {
        func unary(_ name: String, _ f: @escaping @Sendable (Context) throws -> (Double) -> Double) {
            r[name] = { ctx, args in
                let x = try input(args, 0, "X")
                let g = try f(ctx)
                return [GraphTensor64(shape: x.shape, doubles: try x.doubles("\(name) input").map(g))]
            }
        }
        func fixed(_ name: String, _ f: @escaping @Sendable (Double) -> Double) { unary(name) { _ in f } }
        for (name, function) in [("Relu", ActivationFunction.relu), ("Sigmoid", .sigmoid), ("Tanh", .tanh),
                                 ("Softplus", .softplus), ("Softsign", .softsign)] {
            fixed(name) { function($0) }
        }
        fixed("Exp") { Foundation.exp($0) }
        fixed("Log") { Foundation.log($0) }
        fixed("Sqrt") { $0.squareRoot() }
        fixed("Reciprocal") { 1 / $0 }
        fixed("Erf") { Foundation.erf($0) }
        fixed("Sin") { Foundation.sin($0) }
        fixed("Cos") { Foundation.cos($0) }
        fixed("Floor") { $0.rounded(.down) }
        fixed("Ceil") { $0.rounded(.up) }
        fixed("Round") { $0.rounded(.toNearestOrEven) }
        fixed("Neg") { -$0 }
        fixed("Abs") { abs($0) }
        fixed("Sign") { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        fixed("HardSwish") { x in x * max(0, min(1, x / 6 + 0.5)) }
        let softplus = ActivationFunction.softplus
        fixed("Mish") { x in x * Foundation.tanh(softplus(x)) }
        unary("LeakyRelu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 0.01))
            return { $0 >= 0 ? $0 : alpha * $0 }
        }
        unary("Elu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1))
            return { $0 >= 0 ? $0 : alpha * Foundation.expm1($0) }
        }
        unary("Celu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1))
            return { max(0, $0) + min(0, alpha * Foundation.expm1($0 / alpha)) }
        }
        unary("Selu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1.67326319217681884765625))
            let gamma = Double(try ctx.node.float("gamma", default: 1.05070102214813232421875))
            return { $0 > 0 ? gamma * $0 : gamma * alpha * Foundation.expm1($0) }
        }
        unary("HardSigmoid") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 0.2)), beta = Double(try ctx.node.float("beta", default: 0.5))
            return { max(0, min(1, alpha * $0 + beta)) }
        }
        unary("ThresholdedRelu") { ctx in
            let alpha = Double(try ctx.node.float("alpha", default: 1))
            return { $0 > alpha ? $0 : 0 }
        }
        unary("Gelu") { ctx in
            let tanhApproximation = try ctx.node.string("approximate", default: "none") == "tanh"
            return { x in
                tanhApproximation ? 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
                    : 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
            }
        }

        func arithmetic(_ name: String, _ f: @escaping @Sendable (Double, Double) -> Double) {
            r[name] = { _, args in [try binary(try input(args, 0, "A"), try input(args, 1, "B"), f)] }
        }
        arithmetic("Add", +)
        arithmetic("Sub", -)
        arithmetic("Mul", *)
        arithmetic("Div", /)
        arithmetic("Pow") { x, e in e == 2 ? x * x : Foundation.pow(x, e) }
        arithmetic("PRelu") { x, slope in x >= 0 ? x : x * slope }
        r["Mod"] = { ctx, args in
            let fmod = try ctx.node.int("fmod", default: 0) != 0
            return [try binary(try input(args, 0, "A"), try input(args, 1, "B")) { a, b in
                fmod ? Foundation.fmod(a, b) : a - (a / b).rounded(.down) * b
            }]
        }

        func compare(_ name: String, _ f: @escaping @Sendable (Double, Double) -> Bool) {
            r[name] = { _, args in
                let (values, shape) = try broadcast(try input(args, 0, "A"), try input(args, 1, "B"), f)
                return [GraphTensor64(shape: shape, bools: values)]
            }
        }
        compare("Equal", ==)
        compare("Less", <)
        compare("LessOrEqual", <=)
        compare("Greater", >)
        compare("GreaterOrEqual", >=)

        func variadic(_ name: String, mean: Bool = false, _ f: @escaping @Sendable (Double, Double) -> Double) {
            r[name] = { _, args in
                let present = args.compactMap { $0 }
                guard var acc = present.first else { throw RNNRTError(.invalidArgument, "\(name) needs at least one input") }
                if !acc.isFloat { acc = GraphTensor64(shape: acc.shape, doubles: acc.numericValues) }
                for next in present.dropFirst() { acc = try binary(acc, next, f) }
                if mean { acc = GraphTensor64(shape: acc.shape, doubles: try acc.doubles("Mean").map { $0 / Double(present.count) }) }
                return [acc]
            }
        }
        variadic("Sum", +)
        variadic("Mean", mean: true, +)
        variadic("Max") { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
        variadic("Min") { $0.isNaN || $1.isNaN ? .nan : min($0, $1) }

        r["Clip"] = { ctx, args in
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

        r["Cast"] = { ctx, args in
            let to = Int32(clamping: try ctx.node.int("to", default: 1))
            guard let kind = ONNXElementKind(code: to) else {
                throw RNNRTError(.unsupported, "\(ctx.node.label): Cast to ONNX element type \(to) is not supported (float, integer and bool types are)")
            }
            return [try cast(try input(args, 0, "input"), to: kind)]
        }
        r["CastLike"] = { _, args in
            let target = try input(args, 1, "target_type")
            let kind: ONNXElementKind
            switch target.elements {
            case .double: kind = .float
            case .int: kind = .int
            case .bool: kind = .bool
            }
            return [try cast(try input(args, 0, "input"), to: kind)]
        }
    }

    /// ONNX `Cast` to a float, integer or bool type (float to integer truncates toward zero, saturating; NaN is 0).
    static func cast(_ x: GraphTensor64, to kind: ONNXElementKind) throws -> GraphTensor64 {
        switch (kind, x.elements) {
        case (.float, _): return GraphTensor64(shape: x.shape, doubles: x.numericValues)
        case (.int, .double(let v)):
            return GraphTensor64(shape: x.shape, ints: v.map { f in
                f.isNaN ? 0 : (f >= 9.2e18 ? .max : (f <= -9.2e18 ? .min : Int64(f.rounded(.towardZero))))
            })
        case (.int, .bool(let v)): return GraphTensor64(shape: x.shape, ints: v.map { $0 ? 1 : 0 })
        case (.int, .int(let v)): return GraphTensor64(shape: x.shape, ints: v)
        case (.bool, _): return GraphTensor64(shape: x.shape, bools: x.numericValues.map { $0 != 0 })
        }
    }

    // MARK: - Products

    static func registerLinearAlgebra(_ r: inout [String: Operator]) {
        r["MatMul"] = { _, args in [try matmul(try input(args, 0, "A"), try input(args, 1, "B"))] }
        r["Gemm"] = { ctx, args in
            let alpha = Double(try ctx.node.float("alpha", default: 1)), beta = Double(try ctx.node.float("beta", default: 1))
            let transA = try ctx.node.int("transA", default: 0) != 0, transB = try ctx.node.int("transB", default: 0) != 0
            let aT = try input(args, 0, "A"), bT = try input(args, 1, "B")
            guard aT.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm A must be 2-D, got \(aT.shape.shapeDescription)") }
            guard bT.rank == 2 else { throw RNNRTError(.shapeMismatch, "Gemm B must be 2-D, got \(bT.shape.shapeDescription)") }
            let a = aT.numericValues, b = bT.numericValues
            let m = transA ? aT.shape[1] : aT.shape[0], k = transA ? aT.shape[0] : aT.shape[1]
            let kB = transB ? bT.shape[1] : bT.shape[0], n = transB ? bT.shape[0] : bT.shape[1]
            guard k == kB else {
                throw RNNRTError(.shapeMismatch, "Gemm: A is \(m)×\(k) but B is \(kB)×\(n) (after transA=\(transA), transB=\(transB))")
            }
            let count = try Check.elementCount([m, n], "Gemm output")
            var y = [Double](repeating: 0, count: count)
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k {
                        sum += a[transA ? p * m + i : i * k + p] * b[transB ? j * k + p : p * n + j]
                    }
                    y[i * n + j] = alpha * sum
                }
            }
            if let cT = optional(args, 2), beta != 0 {
                guard try broadcastShape([m, n], cT.shape) == [m, n] else {
                    throw RNNRTError(.shapeMismatch, "Gemm C \(cT.shape.shapeDescription) does not broadcast to [\(m), \(n)]")
                }
                let c = cT.numericValues
                forEachBroadcast([m, n], [m, n], cT.shape) { i, _, jc, _ in y[i] += beta * c[jc] }
            }
            return [GraphTensor64(shape: [m, n], doubles: y)]
        }
    }

    /// NumPy `matmul` in float64: 1-D operands promoted and the added axis removed; batch axes broadcast.
    static func matmul(_ aT: GraphTensor64, _ bT: GraphTensor64) throws -> GraphTensor64 {
        guard aT.rank >= 1, bT.rank >= 1 else { throw RNNRTError(.shapeMismatch, "MatMul operands must have rank ≥ 1") }
        let a = aT.numericValues, b = bT.numericValues
        let aShape = aT.rank == 1 ? [1, aT.shape[0]] : aT.shape
        let bShape = bT.rank == 1 ? [bT.shape[0], 1] : bT.shape
        let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1]
        let k2 = bShape[bShape.count - 2], n = bShape[bShape.count - 1]
        guard k == k2 else {
            throw RNNRTError(.shapeMismatch, "MatMul: \(aT.shape.shapeDescription) × \(bT.shape.shapeDescription): inner sizes \(k) and \(k2) differ")
        }
        let batchA = Array(aShape.dropLast(2)), batchB = Array(bShape.dropLast(2))
        let batch = try broadcastShape(batchA, batchB)
        let count = try Check.elementCount(batch + [m, n], "MatMul output")
        var out = [Double](repeating: 0, count: count)
        forEachBroadcast(batch, batchA, batchB) { index, ia, ib, _ in
            let aBase = ia * m * k, bBase = ib * k * n, cBase = index * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += a[aBase + i * k + p] * b[bBase + p * n + j] }
                    out[cBase + i * n + j] = sum
                }
            }
        }
        var shape = batch + [m, n]
        if aT.rank == 1 { shape.remove(at: shape.count - 2) }
        if bT.rank == 1 { shape.removeLast() }
        return GraphTensor64(shape: shape, doubles: out)
    }

    // MARK: - Reductions, softmax, normalizations

    static func registerReductions(_ r: inout [String: Operator]) {
        func reduce(_ name: String, axesInputFrom opset: Int64, _ combine: @escaping @Sendable ([Double]) -> Double) {
            r[name] = { ctx, args in
                let keepDims = try ctx.node.int("keepdims", default: 1) != 0
                let noopWithEmpty = try ctx.node.int("noop_with_empty_axes", default: 0) != 0
                let x = try input(args, 0, "data")
                var axes = ctx.opset < opset ? try ctx.node.ints("axes")?.map { Int($0) } : nil
                if ctx.opset >= opset, let t = optional(args, 1) { axes = try intList(t, "axes") }
                if (axes ?? []).isEmpty && noopWithEmpty { return [x] }
                let reduced = try Set((axes ?? []).isEmpty ? Array(0..<x.rank) : (axes ?? []).map { try Check.axis(Int64($0), rank: x.rank) })
                let (shape, count) = ReductionOps.reducedShape(x.shape, reduced, keepDims: keepDims)
                let groups = Float64Ops.groups(x.numericValues, x.shape, reduced, count: count)
                return [GraphTensor64(shape: shape, doubles: groups.map(combine))]
            }
        }
        reduce("ReduceSum", axesInputFrom: 13) { $0.reduce(0, +) }
        reduce("ReduceMean", axesInputFrom: 18) { $0.isEmpty ? .nan : $0.reduce(0, +) / Double($0.count) }
        reduce("ReduceMax", axesInputFrom: 18) { $0.max() ?? -.infinity }
        reduce("ReduceMin", axesInputFrom: 18) { $0.min() ?? .infinity }
        reduce("ReduceProd", axesInputFrom: 18) { $0.reduce(1, *) }
        reduce("ReduceL1", axesInputFrom: 18) { $0.reduce(0) { $0 + abs($1) } }
        reduce("ReduceL2", axesInputFrom: 18) { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        reduce("ReduceSumSquare", axesInputFrom: 18) { $0.reduce(0) { $0 + $1 * $1 } }
        reduce("ReduceLogSumExp", axesInputFrom: 18) { v in
            guard let m = v.max(), m.isFinite else { return v.max() ?? -.infinity }
            return m + Foundation.log(v.reduce(0) { $0 + Foundation.exp($1 - m) })
        }

        func argReduce(_ name: String, _ better: @escaping @Sendable (Double, Double) -> Bool) {
            r[name] = { ctx, args in
                let axisAttr = try ctx.node.int("axis", default: 0)
                let keepDims = try ctx.node.int("keepdims", default: 1) != 0
                let selectLast = try ctx.node.int("select_last_index", default: 0) != 0
                let x = try input(args, 0, "data")
                let values = x.numericValues
                let axis = try Check.axis(axisAttr, rank: x.rank)
                let outer = x.shape[..<axis].reduce(1, *), extent = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
                var out = [Int64](repeating: 0, count: outer * inner)
                for o in 0..<outer {
                    for i in 0..<inner {
                        var best = 0
                        for k in 1..<max(extent, 1) {
                            let v = values[(o * extent + k) * inner + i], b = values[(o * extent + best) * inner + i]
                            if better(v, b) || (selectLast && v == b) { best = k }
                        }
                        out[o * inner + i] = Int64(best)
                    }
                }
                var shape = x.shape
                if keepDims { shape[axis] = 1 } else { shape.remove(at: axis) }
                return [GraphTensor64(shape: shape, ints: out)]
            }
        }
        argReduce("ArgMax", >)
        argReduce("ArgMin", <)

        func softmax(_ name: String, log: Bool) {
            r[name] = { ctx, args in
                let legacy = ctx.opset < 13
                let x = try input(args, 0, "input")
                var v = try x.doubles("\(name) input")
                let axis = try Check.axis(try ctx.node.int("axis", default: legacy ? 1 : -1), rank: x.rank)
                // Opset < 13 flattens to 2-D at `axis`; ≥ 13 normalizes along that one axis.
                let outer = x.shape[..<axis].reduce(1, *)
                let extent = legacy ? x.shape[axis...].reduce(1, *) : x.shape[axis]
                let inner = legacy ? 1 : x.shape[(axis + 1)...].reduce(1, *)
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * extent * inner + i
                        var m = -Double.infinity
                        for k in 0..<extent { m = max(m, v[base + k * inner]) }
                        var sum = 0.0
                        for k in 0..<extent { sum += Foundation.exp(v[base + k * inner] - m) }
                        let logSum = Foundation.log(sum)
                        for k in 0..<extent {
                            let shifted = v[base + k * inner] - m
                            v[base + k * inner] = log ? shifted - logSum : Foundation.exp(shifted) / sum
                        }
                    }
                }
                return [GraphTensor64(shape: x.shape, doubles: v)]
            }
        }
        softmax("Softmax", log: false)
        softmax("LogSoftmax", log: true)

        r["LayerNormalization"] = { ctx, args in
            let epsilon = Double(try ctx.node.float("epsilon", default: 1e-5))
            let x = try input(args, 0, "X")
            let values = try x.doubles("LayerNormalization X")
            let axis = try Check.axis(try ctx.node.int("axis", default: -1), rank: x.rank)
            let inner = x.shape[axis...].reduce(1, *), outer = x.shape[..<axis].reduce(1, *)
            let normShape = Array(x.shape[axis...])
            func expand(_ t: GraphTensor64?, _ name: String) throws -> [Double]? {
                guard let t else { return nil }
                guard try broadcastShape(normShape, t.shape) == normShape else {
                    throw RNNRTError(.shapeMismatch, "LayerNormalization \(name) \(t.shape.shapeDescription) does not broadcast to \(normShape.shapeDescription)")
                }
                let v = t.numericValues
                var out = [Double](repeating: 0, count: inner)
                forEachBroadcast(normShape, normShape, t.shape) { i, _, j, _ in out[i] = v[j] }
                return out
            }
            let scale = try expand(try input(args, 1, "Scale"), "Scale"), bias = try expand(optional(args, 2), "B")
            var y = [Double](repeating: 0, count: values.count)
            var means = [Double](repeating: 0, count: outer), invStd = [Double](repeating: 0, count: outer)
            for o in 0..<outer {
                let row = values[(o * inner)..<((o + 1) * inner)]
                let mean = row.reduce(0, +) / Double(max(inner, 1))
                let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(inner, 1))
                let inv = 1 / (variance + epsilon).squareRoot()
                for k in 0..<inner {
                    var value = (values[o * inner + k] - mean) * inv
                    if let scale { value *= scale[k] }
                    if let bias { value += bias[k] }
                    y[o * inner + k] = value
                }
                means[o] = mean
                invStd[o] = inv
            }
            guard ctx.node.outputs.count > 1 else { return [GraphTensor64(shape: x.shape, doubles: y)] }
            let statShape = Array(x.shape[..<axis]) + [Int](repeating: 1, count: x.rank - axis)
            return [GraphTensor64(shape: x.shape, doubles: y), GraphTensor64(shape: statShape, doubles: means),
                    GraphTensor64(shape: statShape, doubles: invStd)]
        }
        r["BatchNormalization"] = { ctx, args in
            let epsilon = Double(try ctx.node.float("epsilon", default: 1e-5))
            let x = try input(args, 0, "X")
            var v = try x.doubles("BatchNormalization X")
            let scale = try input(args, 1, "scale").numericValues, bias = try input(args, 2, "B").numericValues
            let mean = try input(args, 3, "input_mean").numericValues, variance = try input(args, 4, "input_var").numericValues
            guard x.rank >= 2 else { throw RNNRTError(.shapeMismatch, "BatchNormalization X must be [N, C, ...], got \(x.shape.shapeDescription)") }
            let c = x.shape[1], inner = x.shape[2...].reduce(1, *)
            guard [scale, bias, mean, variance].allSatisfy({ $0.count == c }) else {
                throw RNNRTError(.shapeMismatch, "BatchNormalization parameters must have \(c) values (one per channel)")
            }
            for n in 0..<x.shape[0] {
                for ch in 0..<c {
                    let inv = 1 / (variance[ch] + epsilon).squareRoot()
                    let base = (n * c + ch) * inner
                    for k in 0..<inner { v[base + k] = (v[base + k] - mean[ch]) * inv * scale[ch] + bias[ch] }
                }
            }
            return [GraphTensor64(shape: x.shape, doubles: v)]
        }
        r["CumSum"] = { ctx, args in
            let exclusive = try ctx.node.int("exclusive", default: 0) != 0, reverse = try ctx.node.int("reverse", default: 0) != 0
            let x = try input(args, 0, "x")
            let axis = try Check.axis(Int64(try intList(try input(args, 1, "axis"), "axis").first ?? 0), rank: x.rank)
            let v = try x.doubles("CumSum x")
            let outer = x.shape[..<axis].reduce(1, *), extent = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
            var out = v
            for o in 0..<outer {
                for i in 0..<inner {
                    var acc = 0.0
                    for s in 0..<extent {
                        let k = reverse ? extent - 1 - s : s
                        let index = (o * extent + k) * inner + i
                        if exclusive { out[index] = acc; acc += v[index] } else { acc += v[index]; out[index] = acc }
                    }
                }
            }
            return [GraphTensor64(shape: x.shape, doubles: out)]
        }
    }

    /// The values of each group a reduction over `axes` combines, in C order of the kept axes (`count` groups).
    static func groups(_ values: [Double], _ shape: [Int], _ axes: Set<Int>, count: Int) -> [[Double]] {
        let group = shape.enumerated().filter { axes.contains($0.offset) }.map(\.element).reduce(1, *)
        guard group > 0, count > 0 else { return [[Double]](repeating: [], count: count) }
        let order = (0..<shape.count).filter { !axes.contains($0) } + (0..<shape.count).filter { axes.contains($0) }
        let strides = shape.strides
        let grouped = stridedCopy(values, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: 0)
        return (0..<count).map { Array(grouped[($0 * group)..<(($0 + 1) * group)]) }
    }

    // MARK: - Values made by the graph

    static func registerCreation(_ r: inout [String: Operator]) {
        r["Constant"] = { ctx, _ in
            let node = ctx.node
            if case .tensor(let t)? = node.attributes["value"] { return [try GraphTensor64(t)] }
            if case .float(let f)? = node.attributes["value_float"] { return [GraphTensor64(shape: [], doubles: [Double(f)])] }
            if case .floats(let f)? = node.attributes["value_floats"] { return [GraphTensor64(shape: [f.count], doubles: f.map { Double($0) })] }
            if case .int(let i)? = node.attributes["value_int"] { return [GraphTensor64(shape: [], ints: [i])] }
            if case .ints(let i)? = node.attributes["value_ints"] { return [GraphTensor64(shape: [i.count], ints: i)] }
            throw RNNRTError(.unsupported, "\(node.label): Constant needs a 'value' tensor or value_float(s)/value_int(s) attribute (sparse and string constants are not supported)")
        }
        r["ConstantOfShape"] = { ctx, args in
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
        r["Range"] = { _, args in
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
}
