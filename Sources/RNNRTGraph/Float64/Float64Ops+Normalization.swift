import RNNRTCore

/// The float64 forms of `NormalizationOps`' `LayerNormalization` and `BatchNormalization`.
extension Float64Ops {
    static func registerNormalization(_ r: inout [String: Operator]) {
        r["LayerNormalization"] = layerNormalization
        r["BatchNormalization"] = batchNormalization
    }

    static func layerNormalization(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
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

    static func batchNormalization(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
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
}
