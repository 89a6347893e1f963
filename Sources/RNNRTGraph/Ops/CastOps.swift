import RNNRTCore

/// `Cast` and `CastLike`: a tensor converted to float, integer or bool elements.
enum CastOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["Cast"] = cast
        r["CastLike"] = castLike
    }

    static func cast(_ ctx: OperatorContext) throws -> GraphOperator {
        let to = Int32(clamping: try ctx.node.int("to", default: 1))
        guard let kind = ONNXElementKind(code: to) else {
            throw RNNRTError(.unsupported, "\(ctx.node.label): Cast to ONNX element type \(to) is not supported (float, integer and bool types are)")
        }
        return ClosureOperator { inputs in [try cast(try Check.input(inputs, 0, "input"), to: kind)] }
    }

    static func castLike(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            let target = try Check.input(inputs, 1, "target_type")
            let kind: ONNXElementKind
            switch target.elements {
            case .float: kind = .float
            case .int: kind = .int
            case .bool: kind = .bool
            }
            return [try cast(try Check.input(inputs, 0, "input"), to: kind)]
        }
    }

    /// `x` with elements of `kind`: floats to integers toward zero (NaN 0, saturated), numbers to bools non-zero.
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
        case (.bool, _): return GraphTensor(shape: x.shape, bools: try LogicOps.bools(x, "input"))
        }
    }
}
