import RNNRTCore

/// The float64 forms of `CastOps`: `Cast` and `CastLike`.
extension Float64Ops {
    static func registerCast(_ r: inout [String: Operator]) {
        r["Cast"] = cast
        r["CastLike"] = castLike
    }

    static func cast(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let to = Int32(clamping: try ctx.node.int("to", default: 1))
        guard let kind = ONNXElementKind(code: to) else {
            throw RNNRTError(.unsupported, "\(ctx.node.label): Cast to ONNX element type \(to) is not supported (float, integer and bool types are)")
        }
        return [try cast(try input(args, 0, "input"), to: kind)]
    }

    static func castLike(_ ctx: Context, _ args: [GraphTensor64?]) throws -> [GraphTensor64] {
        let target = try input(args, 1, "target_type")
        let kind: ONNXElementKind
        switch target.elements {
        case .double: kind = .float
        case .int: kind = .int
        case .bool: kind = .bool
        }
        return [try cast(try input(args, 0, "input"), to: kind)]
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
}
