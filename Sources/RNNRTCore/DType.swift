/// Element types rnnrt can read from files. Computation is always in float32; other float types are
/// converted on load, integer and bool tensors are kept for inspection and for token-id inputs.
public enum DType: String, Sendable, CaseIterable, Codable {
    case float32, float64, float16, bfloat16
    case int64, int32, int16, int8
    case uint64, uint32, uint16, uint8
    case bool
    case complex64, complex128

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64, .complex64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        case .complex128: return 16
        }
    }

    /// True for the real floating-point types.
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: return true
        default: return false
        }
    }

    /// True for complex types, which rnnrt reads but never converts to float32.
    public var isComplex: Bool { self == .complex64 || self == .complex128 }
}
