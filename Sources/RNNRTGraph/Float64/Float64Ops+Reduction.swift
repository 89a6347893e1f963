import Foundation
import RNNRTCore

/// The float64 forms of `ReductionOps`: `Reduce*`, `ArgMax`/`ArgMin`, `Softmax`/`LogSoftmax`, `CumSum`.
extension Float64Ops {
    static func registerReductions(_ r: inout [String: Operator]) {
        r["ReduceSum"] = reduceSum
        r["ReduceMean"] = reduceMean
        r["ReduceMax"] = reduceMax
        r["ReduceMin"] = reduceMin
        r["ReduceProd"] = reduceProd
        r["ReduceL1"] = reduceL1
        r["ReduceL2"] = reduceL2
        r["ReduceSumSquare"] = reduceSumSquare
        r["ReduceLogSumExp"] = reduceLogSumExp
        r["ArgMax"] = argMax
        r["ArgMin"] = argMin
        r["Softmax"] = softmax
        r["LogSoftmax"] = logSoftmax
        r["CumSum"] = cumSum
    }

    // MARK: Reduce*

    /// A `Reduce*` operator: `combine` over each group of values; the axes come from the `axes` attribute before
    /// `opset` and from the second input from it on.
    static func reduce(_ ctx: Context, _ args: [GraphTensor64?], axesInputFrom opset: Int64,
                       _ combine: ([Double]) -> Double) throws -> [GraphTensor64] {
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

    static func reduceSum(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 13) { $0.reduce(0, +) }
    }

    static func reduceMean(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { $0.isEmpty ? .nan : $0.reduce(0, +) / Double($0.count) }
    }

    static func reduceMax(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { $0.max() ?? -.infinity }
    }

    static func reduceMin(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { $0.min() ?? .infinity }
    }

    static func reduceProd(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { $0.reduce(1, *) }
    }

    static func reduceL1(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { $0.reduce(0) { $0 + abs($1) } }
    }

    static func reduceL2(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    }

    static func reduceSumSquare(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { $0.reduce(0) { $0 + $1 * $1 } }
    }

    static func reduceLogSumExp(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try reduce(ctx, args, axesInputFrom: 18) { v in
            guard let m = v.max(), m.isFinite else { return v.max() ?? -.infinity }
            return m + Foundation.log(v.reduce(0) { $0 + Foundation.exp($1 - m) })
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

    // MARK: ArgMax, ArgMin

    /// The index along `axis` of each lane's best value, `better(v, best)` saying when `v` replaces it.
    static func argReduce(_ ctx: Context, _ args: [GraphTensor64?],
                          _ better: (Double, Double) -> Bool) throws -> [GraphTensor64] {
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

    static func argMax(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try argReduce(ctx, args, >) }
    static func argMin(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] { try argReduce(ctx, args, <) }

    // MARK: Softmax, LogSoftmax

    /// `Softmax` (`log` false) or `LogSoftmax` along an axis (`name` for messages).
    static func axisSoftmax(_ ctx: Context, _ args: [GraphTensor64?], _ name: String, log: Bool) throws -> [GraphTensor64] {
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

    static func softmax(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try axisSoftmax(ctx, args, "Softmax", log: false)
    }

    static func logSoftmax(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        try axisSoftmax(ctx, args, "LogSoftmax", log: true)
    }

    // MARK: CumSum

    static func cumSum(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
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
