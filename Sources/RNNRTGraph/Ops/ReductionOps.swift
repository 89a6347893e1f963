import Foundation
import RNNRTCore

/// Operators that reduce over axes: `Reduce*`, `ArgMax`/`ArgMin`, `Softmax`/`LogSoftmax`, `CumSum`.
enum ReductionOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
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

    /// A `Reduce*` operator combining each group of values with `combine` (integer inputs reduced in float, the result
    /// saturated back to integers); its axes come from the `axes` attribute before `opset` and from the second input
    /// from it on. `fold`, for the reductions that are a running sum from 0 (`combine` of a group is then its values
    /// added in order, then `finish` with the group's size): axes that form one run are summed row by row, without
    /// gathering each group first.
    static func reduce(_ ctx: OperatorContext, axesInputFrom opset: Int64, fold: (@Sendable (Float, Int) -> Float)? = nil,
                       _ combine: @escaping @Sendable (UnsafeBufferPointer<Float>) -> Float) throws -> GraphOperator {
        let keepDims = try ctx.node.int("keepdims", default: 1) != 0
        let noopWithEmpty = try ctx.node.int("noop_with_empty_axes", default: 0) != 0
        let attrAxes = ctx.opset < opset ? try ctx.node.ints("axes") : nil
        let axesFromInput = ctx.opset >= opset
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "data")
            var axes = attrAxes.map { $0.map { Int($0) } }
            if axesFromInput, inputs.count > 1, let t = inputs[1] { axes = try Check.intList(t, "axes") }
            if (axes ?? []).isEmpty && noopWithEmpty { return [x] }
            let values: [Float]
            switch x.elements {
            case .float(let v): values = v
            default: values = try x.ints("data").map { Float($0) }
            }
            let normalized = try Set((axes ?? []).isEmpty ? Array(0..<x.rank) : (axes ?? []).map { try Check.axis(Int64($0), rank: x.rank) })
            let (shape, count) = reducedShape(x.shape, normalized, keepDims: keepDims)
            if case .int = x.elements {
                return [GraphTensor(shape: shape, ints: withTemporaryFloats(count) { out in
                    reduceAxes(values, x.shape, normalized, combine, into: out)
                    return out.map(\.saturatingInt64)
                })]
            }
            return [GraphTensor(shape: shape, floats: outputFloats(count) { out in
                if let fold, let run = axisRun(x.shape, normalized) {
                    sumRows(values, run, into: out)
                    for i in 0..<out.count { out[i] = fold(out[i], run.group) }
                } else {
                    reduceAxes(values, x.shape, normalized, combine, into: out)
                }
            })]
        }
    }

    static func reduceSum(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 13, fold: { sum, _ in sum }) { $0.reduce(0, +) }
    }

    static func reduceMean(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18, fold: { sum, n in n == 0 ? .nan : sum / Float(n) }) {
            $0.isEmpty ? .nan : $0.reduce(0, +) / Float($0.count)
        }
    }

    static func reduceMax(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18) { $0.max() ?? -.infinity }
    }

    static func reduceMin(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18) { $0.min() ?? .infinity }
    }

    static func reduceProd(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18) { $0.reduce(1, *) }
    }

    static func reduceL1(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18) { $0.reduce(0) { $0 + abs($1) } }
    }

    static func reduceL2(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18) { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    }

    static func reduceSumSquare(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18) { $0.reduce(0) { $0 + $1 * $1 } }
    }

    static func reduceLogSumExp(_ ctx: OperatorContext) throws -> GraphOperator {
        try reduce(ctx, axesInputFrom: 18) { v in
            guard let m = v.max(), m.isFinite else { return v.max() ?? -.infinity }
            return m + Foundation.log(v.reduce(0) { $0 + Foundation.exp($1 - m) })
        }
    }

    // MARK: ArgMax, ArgMin

    /// The index along `axis` of each lane's best value, `better(v, best)` saying when `v` replaces it (the first
    /// best, or the last with `select_last_index`).
    static func argReduce(_ ctx: OperatorContext, _ better: @escaping @Sendable (Float, Float) -> Bool) throws -> GraphOperator {
        let axisAttr = try ctx.node.int("axis", default: 0)
        let keepDims = try ctx.node.int("keepdims", default: 1) != 0
        let selectLast = try ctx.node.int("select_last_index", default: 0) != 0
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "data")
            let values: [Float]
            if case .float(let v) = x.elements { values = v } else { values = try x.ints("data").map { Float($0) } }
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
            return [GraphTensor(shape: shape, ints: out)]
        }
    }

    static func argMax(_ ctx: OperatorContext) throws -> GraphOperator { try argReduce(ctx) { $0 > $1 } }
    static func argMin(_ ctx: OperatorContext) throws -> GraphOperator { try argReduce(ctx) { $0 < $1 } }

    // MARK: Softmax, LogSoftmax

    /// `Softmax` (`log` false) or `LogSoftmax` along an axis (`name` for messages).
    static func axisSoftmax(_ ctx: OperatorContext, _ name: String, log: Bool) throws -> GraphOperator {
        let legacy = ctx.opset < 13
        let axisAttr = try ctx.node.int("axis", default: legacy ? 1 : -1)
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "input")
            var v = try x.floats("\(name) input").mapOutput { $0 }
            let axis = try Check.axis(axisAttr, rank: x.rank)
            // Opset < 13 flattens to 2-D at `axis`; ≥ 13 normalizes along that one axis.
            let outer = x.shape[..<axis].reduce(1, *)
            let extent = legacy ? x.shape[axis...].reduce(1, *) : x.shape[axis]
            let inner = legacy ? 1 : x.shape[(axis + 1)...].reduce(1, *)
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * extent * inner + i
                    var m = -Float.infinity
                    for k in 0..<extent { m = max(m, v[base + k * inner]) }
                    var sum: Float = 0
                    for k in 0..<extent { sum += Foundation.exp(v[base + k * inner] - m) }
                    let logSum = Foundation.log(sum)
                    for k in 0..<extent {
                        let shifted = v[base + k * inner] - m
                        v[base + k * inner] = log ? shifted - logSum : Foundation.exp(shifted) / sum
                    }
                }
            }
            return [GraphTensor(shape: x.shape, floats: v)]
        }
    }

    static func softmax(_ ctx: OperatorContext) throws -> GraphOperator { try axisSoftmax(ctx, "Softmax", log: false) }
    static func logSoftmax(_ ctx: OperatorContext) throws -> GraphOperator { try axisSoftmax(ctx, "LogSoftmax", log: true) }

    // MARK: CumSum

    static func cumSum(_ ctx: OperatorContext) throws -> GraphOperator {
        let exclusive = try ctx.node.int("exclusive", default: 0) != 0, reverse = try ctx.node.int("reverse", default: 0) != 0
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "x")
            let axis = try Check.axis(try Check.input(inputs, 1, "axis").ints("axis").first ?? 0, rank: x.rank)
            let outer = x.shape[..<axis].reduce(1, *), extent = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
            func scan<T: AdditiveArithmetic & BitwiseCopyable>(_ v: [T]) -> [T] {
                var out = v.mapOutput { $0 }
                for o in 0..<outer {
                    for i in 0..<inner {
                        var acc = T.zero
                        for s in 0..<extent {
                            let k = reverse ? extent - 1 - s : s
                            let idx = (o * extent + k) * inner + i
                            if exclusive { out[idx] = acc; acc += v[idx] } else { acc += v[idx]; out[idx] = acc }
                        }
                    }
                }
                return out
            }
            switch x.elements {
            case .float(let v): return [GraphTensor(shape: x.shape, floats: scan(v))]
            default: return [GraphTensor(shape: x.shape, ints: scan(try x.ints("x")))]
            }
        }
    }

    /// The shape of a reduction over `axes` of `shape`, and its element count.
    static func reducedShape(_ shape: [Int], _ axes: Set<Int>, keepDims: Bool) -> (shape: [Int], count: Int) {
        let kept = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        return (keepDims ? kept : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element), kept.reduce(1, *))
    }

    /// `shape` as `[outer, group, inner]` when `axes` are one run of consecutive axes (nil otherwise).
    static func axisRun(_ shape: [Int], _ axes: Set<Int>) -> (outer: Int, group: Int, inner: Int)? {
        guard let first = axes.min(), let last = axes.max(), last - first + 1 == axes.count else { return nil }
        return (shape[..<first].reduce(1, *), shape[first...last].reduce(1, *), shape[(last + 1)...].reduce(1, *))
    }

    /// `out[o·inner + i] = Σ_g values[(o·group + g)·inner + i]`, each sum from 0 in order of g.
    static func sumRows(_ values: [Float], _ run: (outer: Int, group: Int, inner: Int),
                        into out: UnsafeMutableBufferPointer<Float>) {
        let (outer, group, inner) = run
        values.withUnsafeBufferPointer { x in
            for o in 0..<outer {
                let row = out.baseAddress! + o * inner
                row.update(repeating: 0, count: inner)
                for g in 0..<group {
                    let source = x.baseAddress! + (o * group + g) * inner
                    for i in 0..<inner { row[i] += source[i] }
                }
            }
        }
    }

    /// Reduces `values` of `shape` over `axes` into `out` (C order of the kept axes) with `combine`, applied to each
    /// group's values, gathered contiguously in a temporary buffer (the reduced axes moved innermost).
    static func reduceAxes(_ values: [Float], _ shape: [Int], _ axes: Set<Int>, _ combine: (UnsafeBufferPointer<Float>) -> Float,
                           into out: UnsafeMutableBufferPointer<Float>) {
        let group = shape.enumerated().filter { axes.contains($0.offset) }.map(\.element).reduce(1, *)
        let order = (0..<shape.count).filter { !axes.contains($0) } + (0..<shape.count).filter { axes.contains($0) }
        let strides = shape.strides
        withTemporaryFloats(out.count * group) { grouped in
            if group > 0 && !out.isEmpty {
                values.withUnsafeBufferPointer {
                    stridedCopy($0, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: 0,
                                into: grouped.baseAddress!)
                }
            }
            for o in 0..<out.count { out[o] = combine(UnsafeBufferPointer(rebasing: grouped[(o * group)..<((o + 1) * group)])) }
        }
    }
}
