import RNNRTCore

/// Index-driven operators on tensors of any element kind: `GatherElements`, `GatherND`, `ScatterND` (reduction none,
/// add, mul, max, min), `Trilu`, `OneHot` and `TopK` (ties to the lower index, as onnxruntime resolves them).
enum IndexingOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["GatherElements"] = gatherElements
        r["GatherND"] = gatherND
        r["ScatterND"] = scatterND
        r["Trilu"] = trilu
        r["OneHot"] = oneHot
        r["TopK"] = { try TopKOp(context: $0) }
    }

    static func gatherElements(_ ctx: OperatorContext) throws -> GraphOperator {
        let axis = try ctx.node.int("axis", default: 0)
        return ClosureOperator { inputs in
            try checkSizes(inputs)
            return [try gatherElements(try Check.input(inputs, 0, "data"), try Check.input(inputs, 1, "indices"), axis: axis)]
        }
    }

    static func gatherND(_ ctx: OperatorContext) throws -> GraphOperator {
        let batchDims = try ctx.node.int("batch_dims", default: 0)
        return ClosureOperator { inputs in
            try checkSizes(inputs)
            return [try gatherND(try Check.input(inputs, 0, "data"), try Check.input(inputs, 1, "indices"), batchDims: batchDims)]
        }
    }

    static func scatterND(_ ctx: OperatorContext) throws -> GraphOperator {
        let reduction = try ctx.node.string("reduction", default: "none")
        guard ["none", "add", "mul", "max", "min"].contains(reduction) else {
            throw RNNRTError(.malformed, "\(ctx.node.label): reduction must be none, add, mul, max or min, found '\(reduction)'")
        }
        return ClosureOperator { inputs in
            try checkSizes(inputs)
            return [try scatterND(try Check.input(inputs, 0, "data"), try Check.input(inputs, 1, "indices"),
                                  try Check.input(inputs, 2, "updates"), reduction: reduction)]
        }
    }

    static func trilu(_ ctx: OperatorContext) throws -> GraphOperator {
        let upper = try ctx.node.int("upper", default: 1) != 0
        return ClosureOperator { inputs in
            try checkSizes(inputs)
            let k = try inputs.count > 1 ? inputs[1].map { try Check.intList($0, "Trilu k") } : nil
            guard k == nil || k?.count == 1 else { throw RNNRTError(.invalidArgument, "Trilu k must be a single value") }
            return [try trilu(try Check.input(inputs, 0, "input"), k: k?[0] ?? 0, upper: upper)]
        }
    }

    static func oneHot(_ ctx: OperatorContext) throws -> GraphOperator {
        let axis = try ctx.node.int("axis", default: -1)
        return ClosureOperator { inputs in
            try checkSizes(inputs)
            return [try oneHot(try Check.input(inputs, 0, "indices"), depth: try Check.input(inputs, 1, "depth"),
                               values: try Check.input(inputs, 2, "values"), axis: axis)]
        }
    }

    /// ONNX `GatherND`: for each of the `batch_dims` leading positions shared by `data` and `indices`, each tuple of
    /// `k` indices (the last axis of `indices`) names the slice `data[batch..., i_1, ..., i_k, ...]`; the output is
    /// `indices.shape[..<-1] + data.shape[batch_dims + k...]`.
    static func gatherND(_ data: GraphTensor, _ idx: GraphTensor, batchDims b64: Int64) throws -> GraphTensor {
        let indices = try idx.ints("GatherND indices")
        guard idx.rank >= 1, b64 >= 0, b64 < Int64(min(data.rank, idx.rank)), let k = idx.shape.last,
              k >= 1, Int64(k) <= Int64(data.rank) - b64, data.shape[..<Int(b64)] == idx.shape[..<Int(b64)] else {
            throw RNNRTError(.shapeMismatch, "GatherND: indices \(idx.shape.shapeDescription) with batch_dims \(b64) do not fit data \(data.shape.shapeDescription)")
        }
        let b = Int(b64)
        let shape = Array(idx.shape.dropLast()) + data.shape[(b + k)...]
        // The index of each output element, then the output.
        let count = try Check.elementCount(shape, "GatherND output", elementSize: MemoryLayout<Int>.size + data.elements.elementSize)
        let strides = data.shape.strides, slice = data.shape[(b + k)...].reduce(1, *)
        let batchStride = b == 0 ? 0 : strides[b - 1]
        let tuplesPerBatch = idx.shape[b..<(idx.rank - 1)].reduce(1, *)
        var picks = [Int]()
        picks.reserveCapacity(count)
        for t in 0..<(indices.count / k) {
            var offset = (t / max(tuplesPerBatch, 1)) * batchStride
            for d in 0..<k {
                offset += try index(indices[t * k + d], extent: data.shape[b + d], "GatherND") * strides[b + d]
            }
            for i in 0..<slice { picks.append(offset + i) }
        }
        return GraphTensor(shape: shape, elements: data.elements.picking(picks))
    }

    /// Refuses inputs whose shapes give no element count (a negative extent, an overflowing product) or more than
    /// `ElementCount.maximum` elements, so `count` and extent products are safe to take.
    static func checkSizes(_ inputs: [GraphTensor?]) throws {
        for case let t? in inputs { _ = try Check.elementCount(t.shape, "input shape", elementSize: 0) }
    }

    /// `count` elements, element `p` being `f(p)` (floats from the running plan's arena).
    static func generate<T: BitwiseCopyable>(_ count: Int, _ f: (Int) -> T) -> [T] {
        outputArray(count) { out in for p in 0..<count { out[p] = f(p) } }
    }

    /// Non-negative index `i` along an axis of `extent` (negative indices count from the end).
    static func index(_ i: Int64, extent: Int, _ what: String) throws -> Int {
        let j = i < 0 ? i &+ Int64(extent) : i
        guard j >= 0, j < Int64(extent) else {
            throw RNNRTError(.invalidArgument, "\(what) index \(i) is out of range for an axis of extent \(extent)")
        }
        return Int(j)
    }

    /// `out[p] = data[p with its axis coordinate replaced by indices[p]]`.
    static func gatherElements(_ data: GraphTensor, _ idx: GraphTensor, axis a: Int64) throws -> GraphTensor {
        let axis = try Check.axis(a, rank: data.rank, "GatherElements axis")
        guard idx.rank == data.rank, zip(idx.shape, data.shape).enumerated().allSatisfy({ $0.offset == axis || $0.element.0 <= $0.element.1 }) else {
            throw RNNRTError(.shapeMismatch, "GatherElements: indices \(idx.shape.shapeDescription) must have data's rank and fit in data \(data.shape.shapeDescription)")
        }
        let indices = try idx.ints("GatherElements indices")
        let strides = data.shape.strides, extent = data.shape[axis]
        var picks = [Int](repeating: 0, count: indices.count)
        var position = [Int](repeating: 0, count: idx.rank)
        for p in 0..<indices.count {
            var offset = 0
            for d in 0..<idx.rank where d != axis { offset += position[d] * strides[d] }
            picks[p] = offset + (try index(indices[p], extent: extent, "GatherElements")) * strides[axis]
            position.advance(within: idx.shape)
        }
        return GraphTensor(shape: idx.shape, elements: data.elements.picking(picks))
    }

    /// `data` with `updates` written (or combined by `reduction`) at the slices `indices` names.
    static func scatterND(_ data: GraphTensor, _ idx: GraphTensor, _ updates: GraphTensor, reduction: String) throws -> GraphTensor {
        let indices = try idx.ints("ScatterND indices")
        guard idx.rank >= 1, let k = idx.shape.last, k <= data.rank,
              updates.shape == Array(idx.shape.dropLast()) + Array(data.shape[k...]) else {
            throw RNNRTError(.shapeMismatch, "ScatterND: indices \(idx.shape.shapeDescription) and updates \(updates.shape.shapeDescription) do not fit data \(data.shape.shapeDescription)")
        }
        let strides = data.shape.strides, slice = data.shape[k...].reduce(1, *)
        guard slice > 0 else { return data }
        let tuples = k == 0 ? updates.count / slice : indices.count / k
        let offsets = try (0..<tuples).map { t in
            try (0..<k).reduce(0) { offset, d in
                offset + (try index(indices[t * k + d], extent: data.shape[d], "ScatterND")) * strides[d]
            }
        }
        func apply<T: BitwiseCopyable>(_ base: [T], _ values: [T], _ combine: (T, T) -> T) -> [T] {
            outputArray(base.count) { out in
                for i in base.indices { out[i] = base[i] }
                for (t, offset) in offsets.enumerated() {
                    for i in 0..<slice { out[offset + i] = combine(out[offset + i], values[t * slice + i]) }
                }
            }
        }
        switch (data.elements, updates.elements, reduction) {
        case (.float(let d), .float(let u), _):
            return GraphTensor(shape: data.shape, floats: apply(d, u, combiner(reduction, +, *, { Swift.max($0, $1) }, { Swift.min($0, $1) })))
        case (.int(let d), .int(let u), _):
            return GraphTensor(shape: data.shape, ints: apply(d, u, combiner(reduction, (&+), (&*), { Swift.max($0, $1) }, { Swift.min($0, $1) })))
        case (.bool(let d), .bool(let u), "none"):
            return GraphTensor(shape: data.shape, bools: apply(d, u) { $1 })
        default:
            throw RNNRTError(.invalidArgument, "ScatterND: data \(data.typeName) and updates \(updates.typeName) must be of one numeric kind (bool only with reduction none)")
        }
    }

    private static func combiner<T>(_ reduction: String, _ add: @escaping (T, T) -> T, _ mul: @escaping (T, T) -> T,
                                    _ max: @escaping (T, T) -> T, _ min: @escaping (T, T) -> T) -> (T, T) -> T {
        switch reduction {
        case "add": return add
        case "mul": return mul
        case "max": return max
        case "min": return min
        default: return { $1 }
        }
    }

    /// The upper (`j − i ≥ k`) or lower (`j − i ≤ k`) triangle of each matrix of the last two axes; zeros elsewhere.
    static func trilu(_ x: GraphTensor, k: Int, upper: Bool) throws -> GraphTensor {
        guard x.rank >= 2 else { throw RNNRTError(.shapeMismatch, "Trilu input must have rank ≥ 2, got \(x.shape.shapeDescription)") }
        let rows = x.shape[x.rank - 2], cols = x.shape[x.rank - 1]
        let keep: (Int) -> Bool = { p in
            let i = (p / max(cols, 1)) % max(rows, 1), j = p % max(cols, 1)
            let d = j - i
            return upper ? d >= k : d <= k
        }
        switch x.elements {
        case .float(let v): return GraphTensor(shape: x.shape, floats: generate(v.count) { keep($0) ? v[$0] : 0 })
        case .int(let v): return GraphTensor(shape: x.shape, ints: generate(v.count) { keep($0) ? v[$0] : 0 })
        case .bool(let v): return GraphTensor(shape: x.shape, bools: generate(v.count) { keep($0) && v[$0] })
        }
    }

    /// A `depth` axis inserted at `axis`: `values[1]` where it equals the index, `values[0]` elsewhere.
    static func oneHot(_ idx: GraphTensor, depth depthT: GraphTensor, values: GraphTensor, axis a: Int64) throws -> GraphTensor {
        let axis = try Check.axis(a, rank: idx.rank + 1, "OneHot axis")
        guard depthT.count == 1, values.rank == 1, values.count == 2 else {
            throw RNNRTError(.invalidArgument, "OneHot: depth must be one value and values [off, on], got \(depthT.shape.shapeDescription) and \(values.shape.shapeDescription)")
        }
        let depthValue: Int64
        switch depthT.elements {
        case .float(let v): depthValue = v[0].saturatingInt64
        default: depthValue = try depthT.ints("OneHot depth")[0]
        }
        guard depthValue >= 1, depthValue <= 1 << 24 else { throw RNNRTError(.invalidArgument, "OneHot depth \(depthValue) must be from 1 to 2^24") }
        let depth = Int(depthValue)
        let indices: [Int64]
        switch idx.elements {
        case .float(let v): indices = v.map(\.saturatingInt64)
        default: indices = try idx.ints("OneHot indices")
        }
        let shape = Array(idx.shape[..<axis]) + [depth] + Array(idx.shape[axis...])
        let count = try Check.elementCount(shape, "OneHot output", elementSize: values.elements.elementSize)
        let inner = idx.shape[axis...].reduce(1, *)
        // Element p: outer o, depth d, inner i; on where indices[o·inner + i] (wrapped) equals d.
        let hot: (Int) -> Bool = { p in
            let i = p % max(inner, 1), d = (p / max(inner, 1)) % depth, o = p / (max(inner, 1) * depth)
            let v = indices[o * inner + i]
            return (v < 0 ? v + Int64(depth) : v) == Int64(d)
        }
        switch values.elements {
        case .float(let v): return GraphTensor(shape: shape, floats: generate(count) { hot($0) ? v[1] : v[0] })
        case .int(let v): return GraphTensor(shape: shape, ints: generate(count) { hot($0) ? v[1] : v[0] })
        case .bool(let v): return GraphTensor(shape: shape, bools: generate(count) { hot($0) ? v[1] : v[0] })
        }
    }
}

/// ONNX `TopK`: the `k` largest (or smallest) elements along an axis, in order (ties: the lower index first), and
/// their indices. `k` is input 1 (opset 10 on) or the `k` attribute (before).
struct TopKOp: GraphOperator {
    let axis: Int64
    let largest: Bool
    let attributeK: Int64?
    let label: String

    init(context ctx: OperatorContext) throws {
        axis = try ctx.node.int("axis", default: -1)
        largest = try ctx.node.int("largest", default: 1) != 0
        attributeK = ctx.opset < 10 ? try ctx.node.int("k", default: -1) : nil
        label = ctx.node.label
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        try IndexingOps.checkSizes(inputs)
        let x = try Check.input(inputs, 0, "X")
        let axis = try Check.axis(self.axis, rank: x.rank, "TopK axis")
        let kList = try attributeK.map { [Int($0)] } ?? Check.intList(try Check.input(inputs, 1, "K"), "TopK K")
        let extent = x.shape[axis]
        guard kList.count == 1, kList[0] >= 0, kList[0] <= extent else {
            throw RNNRTError(.invalidArgument, "\(label): K \(kList) must be one value from 0 to the axis extent \(extent)")
        }
        let k = kList[0]
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        var shape = x.shape
        shape[axis] = k
        var picks = [Int](repeating: 0, count: outer * k * inner), chosen = [Int64](repeating: 0, count: outer * k * inner)
        let order = try comparator(x)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * extent * inner + i
                let best = (0..<extent).sorted { order(base + $0 * inner, base + $1 * inner) }.prefix(k)
                for (r, j) in best.enumerated() {
                    picks[(o * k + r) * inner + i] = base + j * inner
                    chosen[(o * k + r) * inner + i] = Int64(j)
                }
            }
        }
        return [GraphTensor(shape: shape, elements: x.elements.picking(picks)), GraphTensor(shape: shape, ints: chosen)]
    }

    /// Whether element `a` comes before element `b`: larger (or smaller) first, the lower index on ties.
    private func comparator(_ x: GraphTensor) throws -> (Int, Int) -> Bool {
        switch x.elements {
        case .float(let v):
            // NaN ranks above every number, so the order is total.
            return TopKOp.order(v, largest: largest) { a, b in a.isNaN ? !b.isNaN : a > b }
        case .int(let v):
            return TopKOp.order(v, largest: largest) { a, b in a > b }
        case .bool:
            throw RNNRTError(.invalidArgument, "\(label): X must be numeric, got bool")
        }
    }

    /// Positions in `v` ordered by `above` (reversed for the smallest), ties to the lower position.
    private static func order<T>(_ v: [T], largest: Bool, _ above: @escaping (T, T) -> Bool) -> (Int, Int) -> Bool {
        if largest { return { a, b in above(v[a], v[b]) || (!above(v[b], v[a]) && a < b) } }
        return { a, b in above(v[b], v[a]) || (!above(v[a], v[b]) && a < b) }
    }
}
