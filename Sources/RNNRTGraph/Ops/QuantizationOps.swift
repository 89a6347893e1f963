import RNNRTCore

/// `QuantizeLinear`, `DequantizeLinear` (per tensor, and per axis from opset 13) and `DynamicQuantizeLinear`, with
/// onnxruntime's arithmetic (`Quantization`). Quantized tensors are integer `GraphTensor`s of type uint8 or int8;
/// block quantization (opset 21 `block_size`) and the 4- and 16-bit and float8 types are refused.
enum QuantizationOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["QuantizeLinear"] = quantizeLinear
        r["DequantizeLinear"] = dequantizeLinear
        r["DynamicQuantizeLinear"] = dynamicQuantizeLinear
    }

    static func quantizeLinear(_ ctx: OperatorContext) throws -> GraphOperator {
        let label = ctx.node.label, axis = try ctx.node.int("axis", default: 1), opset = ctx.opset
        let outputType = try declaredOutputType(ctx)
        try refuseBlocks(ctx)
        return ClosureOperator { inputs in
            [try quantizeLinear(inputs, axis: axis, opset: opset, outputType: outputType, label)]
        }
    }

    static func dequantizeLinear(_ ctx: OperatorContext) throws -> GraphOperator {
        let label = ctx.node.label, axis = try ctx.node.int("axis", default: 1), opset = ctx.opset
        try refuseBlocks(ctx)
        return ClosureOperator { inputs in [try dequantizeLinear(inputs, axis: axis, opset: opset, label)] }
    }

    static func dynamicQuantizeLinear(_ ctx: OperatorContext) throws -> GraphOperator {
        let label = ctx.node.label
        return ClosureOperator { inputs in try dynamicQuantizeLinear(try Check.input(inputs, 0, "x"), label) }
    }

    private static func declaredOutputType(_ ctx: OperatorContext) throws -> DType {
        switch try ctx.node.int("output_dtype", default: 0) {
        case 0, 2: return .uint8
        case 3: return .int8
        case let code: throw RNNRTError(.unsupported, "\(ctx.node.label): output_dtype \(code) is not supported (uint8 and int8 are)")
        }
    }

    private static func refuseBlocks(_ ctx: OperatorContext) throws {
        let block = try ctx.node.int("block_size", default: 0)
        guard block == 0 else { throw RNNRTError(.unsupported, "\(ctx.node.label): block quantization (block_size \(block)) is not supported") }
    }

    /// Scales and zero points for every element of a tensor of `shape`: one pair, or one pair per index of `axis`.
    struct Parameters {
        let scales: [Float]
        let zeroPoints: [Int32]
        /// Elements between consecutive indices of the axis (per-axis only).
        let inner: Int
        let zeroPointType: DType?

        init(shape: [Int], scale sT: GraphTensor, zeroPoint zT: GraphTensor?, axis: Int64, opset: Int64,
             zeroPointTypes: [DType], _ label: String) throws {
            scales = try Quantization.scales(sT, "scale", label)
            let zp = try zT.map { try Quantization.zeroPoints($0, "zero point", label, allowing: zeroPointTypes) }
            zeroPointType = zp?.type
            if let zT, let zp, zp.values.count != scales.count || (scales.count > 1 && zT.shape != sT.shape) {
                throw RNNRTError(.shapeMismatch, "\(label): zero point \(zT.shape.shapeDescription) must have the scale's shape \(sT.shape.shapeDescription)")
            }
            zeroPoints = zp?.values ?? [Int32](repeating: 0, count: scales.count)
            if scales.count == 1 && sT.rank <= 1 {
                inner = 1
                return
            }
            guard opset >= 13, sT.rank == 1 else {
                throw RNNRTError(.invalidArgument, "\(label): scale must be a scalar\(opset >= 13 ? " or 1-D (per axis)" : " before opset 13"), got \(sT.shape.shapeDescription)")
            }
            let a = try Check.axis(axis, rank: shape.count)
            guard shape[a] == scales.count else {
                throw RNNRTError(.shapeMismatch, "\(label): \(scales.count) scales for axis \(a) of extent \(shape[a]) (input \(shape.shapeDescription))")
            }
            inner = shape[(a + 1)...].reduce(1, *)
        }

        /// The parameter index of element `i`.
        @inline(__always)
        func channel(_ i: Int) -> Int { scales.count == 1 ? 0 : (i / inner) % scales.count }
    }

    static func quantizeLinear(_ inputs: [GraphTensor?], axis: Int64, opset: Int64, outputType: DType, _ label: String) throws -> GraphTensor {
        let xT = try Check.input(inputs, 0, "x")
        let x = try xT.floats("\(label) x")
        let zT = inputs.count > 2 ? inputs[2] : nil
        let p = try Parameters(shape: xT.shape, scale: try Check.input(inputs, 1, "y_scale"), zeroPoint: zT, axis: axis,
                               opset: opset, zeroPointTypes: [.uint8, .int8], label)
        let type = p.zeroPointType ?? outputType
        guard let range = Quantization.range(of: type) else { throw RNNRTError(.unsupported, "\(label): output type \(type.rawValue)") }
        var out = [Int64](repeating: 0, count: x.count)
        for i in x.indices {
            let c = p.channel(i)
            out[i] = Int64(Quantization.quantize(x[i], scale: p.scales[c], zeroPoint: p.zeroPoints[c], range: range))
        }
        return GraphTensor(shape: xT.shape, ints: out, type: type)
    }

    static func dequantizeLinear(_ inputs: [GraphTensor?], axis: Int64, opset: Int64, _ label: String) throws -> GraphTensor {
        let xT = try Check.input(inputs, 0, "x")
        guard case .int(let x) = xT.elements, [.uint8, .int8, .int32, .int64].contains(xT.integerType) else {
            throw RNNRTError(.invalidArgument, "\(label): x must be uint8, int8 or int32, got \(xT.typeName) \(xT.shape.shapeDescription)")
        }
        let zT = inputs.count > 2 ? inputs[2] : nil
        let p = try Parameters(shape: xT.shape, scale: try Check.input(inputs, 1, "x_scale"), zeroPoint: zT, axis: axis,
                               opset: opset, zeroPointTypes: [.uint8, .int8, .int32], label)
        if let zpType = p.zeroPointType, xT.integerType != .int64, zpType != xT.integerType {
            throw RNNRTError(.invalidArgument, "\(label): x is \(xT.integerType.rawValue) but its zero point is \(zpType.rawValue)")
        }
        if xT.integerType == .int32 || p.zeroPointType == .int32, p.zeroPoints.contains(where: { $0 != 0 }) {
            throw RNNRTError(.invalidArgument, "\(label): int32 data must have no zero point, or zero points of 0")
        }
        let out = outputFloats(x.count) { y in
            for i in x.indices {
                let c = p.channel(i)
                y[i] = Float(Int32(truncatingIfNeeded: x[i]) &- p.zeroPoints[c]) * p.scales[c]
            }
        }
        return GraphTensor(shape: xT.shape, floats: out)
    }

    /// y (uint8), y_scale and y_zero_point of `x` quantized over its own range.
    static func dynamicQuantizeLinear(_ xT: GraphTensor, _ label: String) throws -> [GraphTensor] {
        let x = try xT.floats("\(label) x")
        var parameters: (scale: Float, zeroPoint: Int32) = (1, 0)
        let q = outputArray(x.count) { (q: UnsafeMutableBufferPointer<Int64>) in
            parameters = x.withUnsafeBufferPointer { Quantization.quantizeDynamically($0, into: q) }
        }
        return dynamicQuantizationOutputs(GraphTensor(shape: xT.shape, ints: q, type: .uint8), parameters)
    }

    /// `DynamicQuantizeLinear`'s outputs: `q`, the scale and the uint8 zero point.
    static func dynamicQuantizationOutputs(_ q: GraphTensor, _ parameters: (scale: Float, zeroPoint: Int32)) -> [GraphTensor] {
        [q, GraphTensor(shape: [], floats: [parameters.scale]),
         GraphTensor(shape: [], ints: [Int64(parameters.zeroPoint)], type: .uint8)]
    }
}
