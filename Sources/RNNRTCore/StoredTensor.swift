import RNNRTKernels

/// A tensor as a file stores it: any `DType`, C order, elements in host (little-endian) byte order.
///
/// Readers produce these (`NPY`, `StateDict`'s tensors, ONNX initializers); `floatTensor()` converts one to the
/// float32 `Tensor` the engine computes on, `GraphTensor(_:)` to a graph input of its own element kind. Binding a
/// module shares float32 elements with the file instead of copying them.
public struct StoredTensor: Sendable {
    /// The element type as stored.
    public let dtype: DType
    /// Extent of each axis (`[]` for a scalar).
    public let shape: [Int]
    /// Float32 tensors read straight into floats, or used in place in a checkpoint's read-only file mapping,
    /// keep them as they are, so binding shares them instead of copying (the weights of a checkpoint are
    /// read once, or not at all, rather than copied around).
    private enum Storage: Sendable {
        case bytes([UInt8])
        case floats(FloatStorage)
    }
    private let storage: Storage

    /// `elementCount * dtype.byteSize` bytes, C order, host byte order (a copy for float storage).
    public var bytes: [UInt8] {
        switch storage {
        case .bytes(let b):
            return b
        case .floats(let f):
            return f.withUnsafeBufferPointer { [UInt8](UnsafeRawBufferPointer($0)) }
        }
    }

    /// A stored tensor; throws `.malformed` when the byte count does not match shape and dtype.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        guard let n = shape.checkedElementCount() else {
            throw RNNRTError(.malformed, "shape \(shape.shapeDescription) has a negative or overflowing extent")
        }
        guard bytes.count == n * dtype.byteSize else {
            throw RNNRTError(.malformed, "\(dtype.rawValue) tensor of shape \(shape.shapeDescription) needs \(n * dtype.byteSize) bytes, got \(bytes.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.storage = .bytes(bytes)
    }

    /// A float32 stored tensor from its elements; throws `.malformed` when the count does not match shape.
    public init(shape: [Int], floats: [Float]) throws {
        try self.init(shape: shape, floatStorage: FloatStorage(floats))
    }

    /// A float32 stored tensor over `floats` (shared, not copied: a checkpoint's mapped elements stay in
    /// the mapping); throws `.malformed` when the count does not match shape.
    package init(shape: [Int], floatStorage floats: FloatStorage) throws {
        guard let n = shape.checkedElementCount() else {
            throw RNNRTError(.malformed, "shape \(shape.shapeDescription) has a negative or overflowing extent")
        }
        guard floats.count == n else {
            throw RNNRTError(.malformed, "float32 tensor of shape \(shape.shapeDescription) needs \(n * 4) bytes, got \(floats.count * 4)")
        }
        self.dtype = .float32
        self.shape = shape
        self.storage = .floats(floats)
    }

    /// A float32 stored tensor holding `tensor`'s elements (shared, not copied).
    public init(_ tensor: Tensor) {
        self.dtype = .float32
        self.shape = tensor.shape
        self.storage = .floats(FloatStorage(tensor.scalars))
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// The elements as float32, without copying where that is possible: float32 elements held in an
    /// array are shared, those borrowed from a file mapping are handed on as they are (still read only).
    /// Other types convert as `floatTensor()` does. What binding takes, so large weights stay in place.
    package func floatStorage() throws -> FloatStorage {
        if case .floats(let f) = storage { return f }
        return FloatStorage(try floatTensor().scalars)
    }

    /// The elements as a float32 `Tensor`. Float32 elements held in an array are shared; those borrowed from
    /// a checkpoint's file mapping are copied (a `Tensor` owns its array). Float types convert by rounding,
    /// integers and bools by value; complex types throw `.unsupported`.
    public func floatTensor() throws -> Tensor {
        let n = elementCount
        if case .floats(let f) = storage { return Tensor(shape: shape, scalars: f.array) }
        let bytes = self.bytes
        #if _endian(little)
        if dtype == .float32 {
            // Same bytes: one copy, no per-element work.
            let scalars = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
                bytes.withUnsafeBytes { raw in
                    if let base = buffer.baseAddress, let src = raw.baseAddress { UnsafeMutableRawPointer(base).copyMemory(from: src, byteCount: n * 4) }
                }
                initialized = n
            }
            return Tensor(shape: shape, scalars: scalars)
        }
        #endif
        var out = [Float](repeating: 0, count: n)
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { dst in
                func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                    raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
                }
                switch dtype {
                case .float32:
                    for i in 0..<n { dst[i] = Float(bitPattern: load(UInt32.self, i)) }
                case .float64:
                    for i in 0..<n { dst[i] = Float(Double(bitPattern: load(UInt64.self, i))) }
                case .float16:
                    for i in 0..<n { dst[i] = Float(halfBits: load(UInt16.self, i)) }
                case .bfloat16:
                    for i in 0..<n { dst[i] = Float(bitPattern: UInt32(load(UInt16.self, i)) << 16) }
                case .int64: for i in 0..<n { dst[i] = Float(load(Int64.self, i)) }
                case .int32: for i in 0..<n { dst[i] = Float(load(Int32.self, i)) }
                case .int16: for i in 0..<n { dst[i] = Float(load(Int16.self, i)) }
                case .int8: for i in 0..<n { dst[i] = Float(load(Int8.self, i)) }
                case .uint64: for i in 0..<n { dst[i] = Float(load(UInt64.self, i)) }
                case .uint32: for i in 0..<n { dst[i] = Float(load(UInt32.self, i)) }
                case .uint16: for i in 0..<n { dst[i] = Float(load(UInt16.self, i)) }
                case .uint8: for i in 0..<n { dst[i] = Float(load(UInt8.self, i)) }
                case .bool: for i in 0..<n { dst[i] = load(UInt8.self, i) != 0 ? 1 : 0 }
                case .complex64, .complex128:
                    throw RNNRTError(.unsupported, "cannot use a \(dtype.rawValue) tensor where float32 is expected")
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}

extension StoredTensor {
    /// A float64 stored tensor holding `tensor`'s elements.
    public init(_ tensor: Tensor64) {
        let bytes = tensor.scalars.withUnsafeBytes { [UInt8]($0) }
        // Sizes agree by construction: the count is the shape's.
        self = (try? StoredTensor(dtype: .float64, shape: tensor.shape, bytes: bytes)) ?? StoredTensor(Tensor(repeating: 0, shape: [0]))
    }

    /// The elements as a float64 `Tensor64`: float64 elements as stored, the other float types widened exactly,
    /// integers and bools by value (64-bit integers beyond 2^53 rounded); complex types throw `.unsupported`.
    public func doubleTensor() throws -> Tensor64 {
        switch dtype {
        case .float64: return Tensor64(shape: shape, scalars: mapElements(as: UInt64.self) { Double(bitPattern: $0) })
        case .int64: return Tensor64(shape: shape, scalars: mapElements(as: Int64.self) { Double($0) })
        case .uint64: return Tensor64(shape: shape, scalars: mapElements(as: UInt64.self) { Double($0) })
        case .int32: return Tensor64(shape: shape, scalars: mapElements(as: Int32.self) { Double($0) })
        case .uint32: return Tensor64(shape: shape, scalars: mapElements(as: UInt32.self) { Double($0) })
        default:
            // float32, float16, bfloat16 and the narrow integers are exact in float32.
            return Tensor64(try floatTensor())
        }
    }
}

extension StoredTensor {
    /// Each element read as a `T` (unaligned, in the host's byte order as stored) and passed through `transform`.
    @inlinable
    package func mapElements<T: FixedWidthInteger, R>(as _: T.Type, _ transform: (T) -> R) -> [R] {
        let n = elementCount
        return bytes.withUnsafeBytes { raw in
            [R](unsafeUninitializedCapacity: n) { out, initialized in
                for i in 0..<n { out[i] = transform(raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
                initialized = n
            }
        }
    }
}

extension Float {
    /// Decodes IEEE binary16 bits exactly (subnormals, infinities and NaN included), on any platform.
    package init(halfBits h: UInt16) {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F)
        let frac = UInt32(h & 0x3FF)
        if exp == 0x1F {
            self = Float(bitPattern: sign | 0x7F80_0000 | (frac << 13))
        } else if exp == 0 {
            // Subnormal or zero: frac * 2^-24, exact in float32.
            let magnitude = Float(frac) * Float(sign: .plus, exponent: -24, significand: 1)
            self = sign != 0 ? -magnitude : magnitude
        } else {
            self = Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (frac << 13))
        }
    }
}

