import CRNNRTKernels
import RNNRTCore

/// The arithmetic onnxruntime's CPU kernels use for 8-bit linear quantization, shared by every quantized
/// operator: `q = saturate(roundHalfToEven(x / scale) + zeroPoint)`, `x = (q − zeroPoint) · scale`, the scale and
/// zero point of dynamic quantization from a tensor's range, and requantization of int32 accumulators.
enum Quantization {
    /// The value range of the 8-bit quantized types (nil for every other type).
    static func range(of type: DType) -> ClosedRange<Int32>? {
        switch type {
        case .uint8: return 0...255
        case .int8: return -128...127
        default: return nil
        }
    }

    /// `x / scale` rounded half to even, plus `zeroPoint`, saturated to `range`; NaN gives the bottom of the range
    /// (where the vector kernels' clamping puts it).
    @inline(__always)
    static func quantize(_ x: Float, scale: Float, zeroPoint: Int32, range: ClosedRange<Int32>) -> Int32 {
        saturate((x / scale).rounded(.toNearestOrEven), zeroPoint: zeroPoint, range: range)
    }

    /// A rounded value plus `zeroPoint`, saturated to `range` (NaN to its bottom).
    @inline(__always)
    static func saturate(_ rounded: Float, zeroPoint: Int32, range: ClosedRange<Int32>) -> Int32 {
        let low = Float(range.lowerBound - zeroPoint), high = Float(range.upperBound - zeroPoint)
        guard rounded > low else { return range.lowerBound }
        guard rounded < high else { return range.upperBound }
        return Int32(rounded) + zeroPoint
    }

    /// Requantization of an int32 accumulator (bias already added): `acc · multiplier` rounded half to even,
    /// plus `zeroPoint`, saturated.
    @inline(__always)
    static func requantize(_ acc: Int32, multiplier: Float, zeroPoint: Int32, range: ClosedRange<Int32>) -> Int32 {
        saturate((Float(acc) * multiplier).rounded(.toNearestOrEven), zeroPoint: zeroPoint, range: range)
    }

    /// The uint8 scale and zero point of dynamic quantization: the range of `x` widened to hold 0, spread over
    /// 0…255 (scale 1 for an all-zero range), the zero point `−min / scale` rounded half to even into 0…255.
    static func dynamicParameters(_ x: UnsafeBufferPointer<Float>) -> (scale: Float, zeroPoint: Int32) {
        var low: Float = 0, high: Float = 0
        if let base = x.baseAddress { rnnrt_min_max(base, x.count, &low, &high) }
        let scale = high == low ? 1 : (high - low) / 255
        let initial = 0 - low / scale
        let clamped = initial.isNaN ? 0 : Swift.max(0, Swift.min(255, initial))
        return (scale, Int32(clamped.rounded(.toNearestOrEven)))
    }

    /// `x` quantized to uint8 with its dynamic parameters.
    static func quantizeDynamically(_ x: UnsafeBufferPointer<Float>, into q: UnsafeMutableBufferPointer<Int64>) -> (scale: Float, zeroPoint: Int32) {
        let (scale, zeroPoint) = dynamicParameters(x)
        if let base = x.baseAddress { rnnrt_quantize_uint8(base, x.count, scale, Float(zeroPoint), q.baseAddress!) }
        return (scale, zeroPoint)
    }

    /// `x` quantized to uint8 with its dynamic parameters, minus the zero point, as floats (a product's exact operand).
    static func quantizeDynamically(_ x: UnsafeBufferPointer<Float>, shiftedInto q: UnsafeMutablePointer<Float>) -> (scale: Float, zeroPoint: Int32) {
        let (scale, zeroPoint) = dynamicParameters(x)
        if let base = x.baseAddress { rnnrt_quantize_uint8_shifted(base, x.count, scale, Float(zeroPoint), q) }
        return (scale, zeroPoint)
    }

    /// The scales of a scale input: float, each finite and positive.
    static func scales(_ t: GraphTensor, _ what: String, _ label: String) throws -> [Float] {
        guard case .float(let v) = t.elements else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must be a float tensor, got \(t.typeName) \(t.shape.shapeDescription)")
        }
        guard v.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must hold finite positive scales, got \(v.prefix(4).map { "\($0)" }.joined(separator: ", "))")
        }
        return v
    }

    /// The values of a zero-point input of an 8-bit type, with that type.
    static func zeroPoints(_ t: GraphTensor, _ what: String, _ label: String, allowing types: [DType] = [.uint8, .int8]) throws -> (values: [Int32], type: DType) {
        guard case .int(let v) = t.elements, types.contains(t.integerType) else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must be \(types.map(\.rawValue).joined(separator: " or ")), got \(t.typeName) \(t.shape.shapeDescription)")
        }
        return (try int32s(v, of: t.integerType, what, label), t.integerType)
    }

    /// The values of an integer input of an 8-bit (or `types`) type as Int32, checked against the type's range.
    static func integers(_ t: GraphTensor, _ what: String, _ label: String, allowing types: [DType] = [.uint8, .int8]) throws -> [Int32] {
        guard case .int(let v) = t.elements, types.contains(t.integerType) else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must be \(types.map(\.rawValue).joined(separator: " or ")), got \(t.typeName) \(t.shape.shapeDescription)")
        }
        return try int32s(v, of: t.integerType, what, label)
    }

    private static func int32s(_ v: [Int64], of type: DType, _ what: String, _ label: String) throws -> [Int32] {
        let bounds = range(of: type).map { Int64($0.lowerBound)...Int64($0.upperBound) } ?? Int64(Int32.min)...Int64(Int32.max)
        return try v.map { x in
            guard bounds.contains(x) else { throw RNNRTError(.invalidArgument, "\(label): \(what) value \(x) is outside \(type.rawValue)") }
            return Int32(x)
        }
    }

    /// A scalar (rank 0, or one element of rank 1) parameter's value, or `.invalidArgument`.
    static func scalar<T>(_ values: [T], _ t: GraphTensor, _ what: String, _ label: String) throws -> T {
        guard values.count == 1, t.rank <= 1 else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must be a scalar (per-tensor), got shape \(t.shape.shapeDescription)")
        }
        return values[0]
    }

    /// Per-column parameters for a product with `n` columns: one value for all, or a 1-D tensor of `n`.
    static func perColumn<T>(_ values: [T], _ t: GraphTensor, n: Int, _ what: String, _ label: String) throws -> [T] {
        if values.count == 1 && t.rank <= 1 { return [T](repeating: values[0], count: n) }
        guard t.rank == 1, values.count == n else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must be a scalar or 1-D of \(n) (one per column), got shape \(t.shape.shapeDescription)")
        }
        return values
    }
}
