import CRNNRTKernels
import RNNRTCore

/// The 8-bit left operand of an integer product (`ConvInteger`'s x, `MatMulInteger`'s A): an integer tensor, or a
/// float tensor and the scale and zero point `DynamicQuantizeLinear` found for it, quantized as the product reads it
/// (`QuantizingProductOp`) into the form its kernels take, without the uint8 tensor in between.
enum IntegerOperand {
    case values(GraphTensor)
    /// `x` quantized to uint8: `saturate(round(x / scale) + zeroPoint)`, as `DynamicQuantizeLinear` does.
    case quantized(GraphTensor, scale: Float, zeroPoint: Int32)

    var shape: [Int] {
        switch self {
        case .values(let t), .quantized(let t, _, _): t.shape
        }
    }

    /// The ONNX type of the operand's values.
    var integerType: DType {
        switch self {
        case .values(let t): t.integerType
        case .quantized: .uint8
        }
    }

    /// The operand as an integer tensor.
    func tensor(_ label: String) throws -> GraphTensor {
        guard case .quantized(let x, let scale, let zero) = self else { return valuesTensor! }
        let floats = try x.floats("\(label) x")
        let q = outputArray(floats.count) { (q: UnsafeMutableBufferPointer<Int64>) in
            floats.withUnsafeBufferPointer { src in
                if !src.isEmpty { rnnrt_quantize_uint8(src.baseAddress!, src.count, scale, Float(zero), q.baseAddress!) }
            }
        }
        return GraphTensor(shape: x.shape, ints: q, type: .uint8)
    }

    private var valuesTensor: GraphTensor? { if case .values(let t) = self { t } else { nil } }

    /// The operand's values minus `shift`, as floats, inside `body`; `.invalidArgument` for an integer tensor holding
    /// a value outside its type.
    func withShiftedFloats<R>(shift: Int32, _ what: String, _ label: String,
                              _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) throws -> R {
        guard case .quantized(let x, let scale, let zero) = self else {
            return try Quantization.withShiftedFloats(valuesTensor!, zeroPoint: shift, what, label, body)
        }
        let floats = try x.floats("\(label) \(what)")
        return try withTemporaryFloats(floats.count) { out in
            if !floats.isEmpty {
                floats.withUnsafeBufferPointer { rnnrt_quantize_uint8_shifted($0.baseAddress!, $0.count, scale, Float(zero), out.baseAddress!) }
                if shift != zero { for i in 0..<out.count { out[i] += Float(zero - shift) } }
            }
            return try body(out)
        }
    }

    /// The operand's values minus `shift` as int16; `.invalidArgument` for an integer tensor holding a value outside
    /// its type (or a type that is not 8-bit).
    func shiftedInt16(shift: Int32, _ what: String, _ label: String) throws -> [Int16] {
        switch self {
        case .values(let t):
            guard case .int(let v) = t.elements, let range = Quantization.range(of: t.integerType) else {
                throw RNNRTError(.invalidArgument, "\(label): \(what) must be uint8 or int8, got \(t.typeName) \(t.shape.shapeDescription)")
            }
            return try [Int16](unsafeUninitializedCapacity: v.count) { out, initialized in
                let inside = v.withUnsafeBufferPointer { src in
                    src.isEmpty || rnnrt_shifted_to_int16(src.baseAddress!, src.count, Int64(range.lowerBound),
                                                          Int64(range.upperBound), Int64(shift), out.baseAddress!) == 1
                }
                initialized = v.count
                guard inside else { throw RNNRTError(.invalidArgument, "\(label): \(what) holds a value outside \(t.integerType.rawValue)") }
            }
        case .quantized(let x, let scale, let zero):
            let floats = try x.floats("\(label) \(what)")
            return [Int16](unsafeUninitializedCapacity: floats.count) { out, initialized in
                floats.withUnsafeBufferPointer { src in
                    if !src.isEmpty { rnnrt_quantize_uint8_to_int16(src.baseAddress!, src.count, scale, Float(zero), shift, out.baseAddress!) }
                }
                initialized = floats.count
            }
        }
    }
}

/// An integer product whose left operand is the `q` output of a `DynamicQuantizeLinear` that only it reads: it takes
/// the float input of that node instead (input 0) and the node's scale and zero point (its last two inputs), and
/// quantizes as it reads (`IntegerOperand.quantized`). The `DynamicQuantizeLinear` step then computes only the scale
/// and zero point (`DynamicQuantizationParametersOp`).
struct QuantizingProductOp: IntegerAccumulating {
    let product: any IntegerAccumulating

    var returnsAccumulators: Bool { product.returnsAccumulators }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let (shape, acc) = try accumulators(inputs)
        return [GraphTensor(shape: shape, ints: IntegerWeights.widened(acc), type: .int32)]
    }

    func accumulators(_ x: IntegerOperand, _ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32]) {
        try product.accumulators(x, Array(inputs.dropLast(2)))
    }

    func accumulators(_ inputs: [GraphTensor?]) throws -> (shape: [Int], acc: [Int32]) {
        guard inputs.count >= 3 else { throw RNNRTError(.invalidArgument, "a quantizing product needs its scale and zero point") }
        let x = try Check.input(inputs, 0, "x")
        let scaleT = try Check.input(inputs, inputs.count - 2, "x_scale"), zeroT = try Check.input(inputs, inputs.count - 1, "x_zero_point")
        guard case .float(let scale) = scaleT.elements, scale.count == 1, case .int(let zero) = zeroT.elements, zero.count == 1 else {
            throw RNNRTError(.invalidArgument, "x_scale and x_zero_point must be one float and one integer")
        }
        return try product.accumulators(.quantized(x, scale: scale[0], zeroPoint: Int32(clamping: zero[0])), Array(inputs.dropLast(2)))
    }
}

/// `DynamicQuantizeLinear` when no step reads its quantized output (`QuantizingProductOp` quantizes as it reads): the
/// scale and zero point only, and an empty tensor in the first output's place.
struct DynamicQuantizationParametersOp: GraphOperator {
    let label: String

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let x = try Check.input(inputs, 0, "x").floats("\(label) x")
        return QuantizationOps.dynamicQuantizationOutputs(GraphTensor(shape: [0], ints: [], type: .uint8),
                                                          x.withUnsafeBufferPointer { Quantization.dynamicParameters($0) })
    }
}
