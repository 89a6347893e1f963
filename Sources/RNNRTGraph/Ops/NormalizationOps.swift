import Foundation
import RNNRTCore

/// Normalization operators: `LayerNormalization` over the trailing axes from `axis`, `BatchNormalization` (inference:
/// the given statistics per channel), and `InstanceNormalization` and `GroupNormalization` on float
/// `[N, C, spatial...]` tensors: each item's channels in groups (one channel per group for instance normalization)
/// normalized by the group's mean and variance, then scaled and shifted per channel (`GroupNormalization` before
/// opset 21 gives scale and bias per group).
enum NormalizationOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["LayerNormalization"] = layerNormalization
        r["BatchNormalization"] = batchNormalization
        r["InstanceNormalization"] = instanceNormalization
        r["GroupNormalization"] = groupNormalization
    }

    static func layerNormalization(_ ctx: OperatorContext) throws -> GraphOperator {
        let axisAttr = try ctx.node.int("axis", default: -1)
        let epsilon = try ctx.node.float("epsilon", default: 1e-5)
        let statistics = ctx.node.outputs.count > 1
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X")
            let values = try x.floats("LayerNormalization X")
            let axis = try Check.axis(axisAttr, rank: x.rank)
            let inner = x.shape[axis...].reduce(1, *), outer = x.shape[..<axis].reduce(1, *)
            let normShape = Array(x.shape[axis...])
            func expand(_ t: GraphTensor?, _ name: String) throws -> [Float]? {
                guard let t else { return nil }
                let values = try t.floats(name)
                if t.shape == normShape { return values }
                guard try broadcastShape(normShape, t.shape) == normShape else {
                    throw RNNRTError(.shapeMismatch, "LayerNormalization \(name) \(t.shape.shapeDescription) does not broadcast to \(normShape.shapeDescription)")
                }
                guard let picks = broadcastIndices(from: t.shape, to: normShape) else { return values }
                return picks.map { values[$0] }
            }
            let scale = try expand(Check.input(inputs, 1, "Scale"), "Scale")
            let bias = try expand(inputs.count > 2 ? inputs[2] : nil, "B")
            var means = statistics ? outputFloats(outer) { _ in } : [], invStd = statistics ? outputFloats(outer) { _ in } : []
            let y = outputFloats(values.count) { out in
                values.withUnsafeBufferPointer { v in
                    for o in 0..<outer {
                        let (mean, inv) = normalizeRow(v.baseAddress! + o * inner, count: inner, epsilon: epsilon,
                                                       scale: scale, bias: bias, into: out.baseAddress! + o * inner)
                        if statistics { means[o] = mean; invStd[o] = inv }
                    }
                }
            }
            guard statistics else { return [GraphTensor(shape: x.shape, floats: y)] }
            let statShape = Array(x.shape[..<axis]) + [Int](repeating: 1, count: x.rank - axis)
            return [GraphTensor(shape: x.shape, floats: y), GraphTensor(shape: statShape, floats: means),
                    GraphTensor(shape: statShape, floats: invStd)]
        }
    }

    /// One row of LayerNormalization: `(x − mean) / √(variance + ε)`, times `scale` and plus `bias` (each `count` values)
    /// when given, the statistics in double; returns the mean and the inverse standard deviation.
    static func normalizeRow(_ x: UnsafePointer<Float>, count: Int, epsilon: Float, scale: [Float]?, bias: [Float]?,
                             into y: UnsafeMutablePointer<Float>) -> (mean: Float, invStd: Float) {
        var mean: Double = 0
        for k in 0..<count { mean += Double(x[k]) }
        mean /= Double(max(count, 1))
        var variance: Double = 0
        for k in 0..<count { let d = Double(x[k]) - mean; variance += d * d }
        variance /= Double(max(count, 1))
        let inv = 1 / (variance + Double(epsilon)).squareRoot()
        for k in 0..<count {
            var value = Float((Double(x[k]) - mean) * inv)
            if let scale { value *= scale[k] }
            if let bias { value += bias[k] }
            y[k] = value
        }
        return (Float(mean), Float(inv))
    }

    static func batchNormalization(_ ctx: OperatorContext) throws -> GraphOperator {
        let epsilon = try ctx.node.float("epsilon", default: 1e-5)
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X")
            var v = try x.floats("BatchNormalization X").mapOutput { $0 }
            let scale = try Check.input(inputs, 1, "scale").floats("scale"), bias = try Check.input(inputs, 2, "B").floats("B")
            let mean = try Check.input(inputs, 3, "input_mean").floats("mean"), variance = try Check.input(inputs, 4, "input_var").floats("var")
            guard x.rank >= 2 else { throw RNNRTError(.shapeMismatch, "BatchNormalization X must be [N, C, ...], got \(x.shape.shapeDescription)") }
            let c = x.shape[1], inner = x.shape[2...].reduce(1, *)
            guard [scale, bias, mean, variance].allSatisfy({ $0.count == c }) else {
                throw RNNRTError(.shapeMismatch, "BatchNormalization parameters must have \(c) values (one per channel)")
            }
            for n in 0..<x.shape[0] {
                for ch in 0..<c {
                    let a = scale[ch] / (variance[ch] + epsilon).squareRoot(), b = bias[ch] - mean[ch] * a
                    let base = (n * c + ch) * inner
                    for k in 0..<inner { v[base + k] = v[base + k] * a + b }
                }
            }
            return [GraphTensor(shape: x.shape, floats: v)]
        }
    }

    static func instanceNormalization(_ ctx: OperatorContext) throws -> GraphOperator {
        let epsilon = try ctx.node.float("epsilon", default: 1e-5)
        let label = ctx.node.label
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "input")
            let channels = x.rank >= 2 ? x.shape[1] : 0
            let scale = try NormalizationOps.perChannel(inputs, 1, "scale", channels: channels, groups: channels, label)
            let bias = try NormalizationOps.perChannel(inputs, 2, "B", channels: channels, groups: channels, label)
            return [try NormalizationOps.normalize(x, groups: channels, scale: scale, bias: bias, epsilon: epsilon, label)]
        }
    }

    static func groupNormalization(_ ctx: OperatorContext) throws -> GraphOperator {
        let epsilon = try ctx.node.float("epsilon", default: 1e-5)
        let groups = try ctx.node.int("num_groups", default: 0)
        let label = ctx.node.label, perGroup = ctx.opset < 21
        guard groups >= 1, groups <= 1 << 24 else {
            throw RNNRTError(.malformed, "\(label): num_groups must be from 1 to 2^24, found \(groups)")
        }
        return ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X")
            let channels = x.rank >= 2 ? x.shape[1] : 0, g = Int(groups)
            guard x.rank >= 2, channels % g == 0 else {
                throw RNNRTError(.shapeMismatch, "\(label): X \(x.shape.shapeDescription) must be [N, C, ...] with C a multiple of num_groups \(g)")
            }
            let given = perGroup ? g : channels
            let scale = try NormalizationOps.perChannel(inputs, 1, "scale", channels: channels, groups: given, label)
            let bias = try NormalizationOps.perChannel(inputs, 2, "bias", channels: channels, groups: given, label)
            return [try NormalizationOps.normalize(x, groups: g, scale: scale, bias: bias, epsilon: epsilon, label)]
        }
    }

    /// Input `index`: `given` values (one per channel, or one per group of channels), expanded to one per channel.
    static func perChannel(_ inputs: [GraphTensor?], _ index: Int, _ name: String, channels: Int, groups given: Int,
                           _ label: String) throws -> [Float] {
        let t = try Check.input(inputs, index, name)
        let values = try t.floats("\(label) \(name)")
        guard t.rank == 1, values.count == given, given > 0 || channels == 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): \(name) must be [\(given)], got \(t.shape.shapeDescription)")
        }
        guard given != channels else { return values }
        let width = channels / given
        return (0..<channels).map { values[$0 / width] }
    }

    /// `x` normalized over each item's groups of channels (all their positions), then `scale · x̂ + bias` per channel.
    static func normalize(_ xT: GraphTensor, groups: Int, scale: [Float], bias: [Float], epsilon: Float,
                          _ label: String) throws -> GraphTensor {
        let x = try xT.floats("\(label) input")
        guard xT.rank >= 2, let count = xT.shape.checkedElementCount(), groups > 0 || count == 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): input must be [N, C, ...] with C ≥ 1, got \(xT.shape.shapeDescription)")
        }
        let channels = xT.shape[1], items = xT.shape[0]
        let positions = channels == 0 || items == 0 ? 0 : count / (items * channels)
        let width = groups == 0 ? 0 : channels / groups
        let out = outputFloats(count) { y in
            x.withUnsafeBufferPointer { xp in
                for block in 0..<(items * groups) {
                    let start = block * width * positions
                    let (mean, inverse) = statistics(xp, start..<(start + width * positions), epsilon: epsilon)
                    for k in 0..<width {
                        let c = (block % groups) * width + k
                        let a = scale[c] * inverse, b = bias[c] - a * mean
                        let row = start + k * positions
                        for i in row..<(row + positions) { y[i] = a * xp[i] + b }
                    }
                }
            }
        }
        return GraphTensor(shape: xT.shape, floats: out)
    }

    /// The mean of `x[range]` and `1 / √(variance + epsilon)` (the variance over the range, not the sample's).
    private static func statistics(_ x: UnsafeBufferPointer<Float>, _ range: Range<Int>, epsilon: Float) -> (Float, Float) {
        guard !range.isEmpty else { return (0, 1 / Float(epsilon).squareRoot()) }
        var sum = 0.0
        for i in range { sum += Double(x[i]) }
        let mean = sum / Double(range.count)
        var squares = 0.0
        for i in range {
            let d = Double(x[i]) - mean
            squares += d * d
        }
        let variance = squares / Double(range.count)
        return (Float(mean), Float(1 / (variance + Double(epsilon)).squareRoot()))
    }
}
