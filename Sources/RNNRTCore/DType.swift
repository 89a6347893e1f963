/// Element types rnnrt can read from files. Computation is always in float32; other float types are
/// converted on load, integer and bool tensors are kept for inspection and for token-id inputs.
public enum DType: String, Sendable, CaseIterable, Codable {
    /// IEEE floats of 32, 64 and 16 bits, and bfloat16 (float32's exponent, 8 bits of significand).
    case float32, float64, float16, bfloat16
    /// Signed integers of 64, 32, 16 and 8 bits.
    case int64, int32, int16, int8
    /// Unsigned integers of 64, 32, 16 and 8 bits.
    case uint64, uint32, uint16, uint8
    /// One byte per element, 0 false and anything else true.
    case bool
    /// Complex numbers of two float32 or two float64 parts (real first), read but never computed on.
    case complex64, complex128

    /// Bytes per element: 8 for float64, 4 for float32, ... (a complex number counts both parts).
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
