import RNNRTCore

/// A tensor flowing through a graph at run time: float (float32 compute for every float type), integer
/// (int64 for every integer type) or bool elements, C order.
///
/// Integer tensors also carry `integerType`, the ONNX integer type their values belong to: uint8, int8 and
/// int32 for quantized data, int64 otherwise. The values are held as Int64 whatever the type; the quantization
/// operators read the type to choose their output type and saturation range, and check it against their
/// inputs'. Operators that build new integer tensors from others (shape and indexing operators) give them
/// int64.
///
/// Float data goes in and out as a `Tensor`: `GraphTensor(tensor)` is an input, `try output.tensor(name)` a float
/// output's values.
///
/// Element arrays are copy-on-write Swift arrays, so an operator that receives the last reference to an
/// input can update it in place (the executor drops each value after its last use).
public struct GraphTensor: Sendable, Equatable {
    /// The elements, in C order, of one of the three kinds.
    public enum Elements: Sendable, Equatable {
        /// Float elements (every ONNX float type, computed in float32).
        case float([Float])
        /// Integer elements of any ONNX integer type, held as Int64 (`integerType` says which).
        case int([Int64])
        /// Bool elements.
        case bool([Bool])
    }

    /// Extent of each axis (`[]` for a scalar).
    public var shape: [Int]
    /// The elements in C order; their count is the product of `shape`.
    public var elements: Elements
    /// The ONNX type of an integer tensor's values (`.int64` unless the tensor was read as, or computed to be,
    /// another integer type); unused for float and bool tensors.
    public var integerType: DType = .int64

    /// A tensor of `shape` over `elements` (their count must be the shape's element count); integers are int64.
    public init(shape: [Int], elements: Elements) {
        self.shape = shape
        self.elements = elements
    }

    /// An integer tensor of ONNX type `type` (uint8, int8, int32, ...), its values already in that type's range.
    package init(shape: [Int], ints: [Int64], type: DType) {
        self.init(shape: shape, elements: .int(ints))
        integerType = type
    }

    /// A float `Tensor` as a graph value, to feed a plan: same shape, same elements.
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape, elements: .float(tensor.scalars))
    }

    /// A float tensor of `shape` over `floats` (C order; the count must be the shape's element count).
    public init(shape: [Int], floats: [Float]) { self.init(shape: shape, elements: .float(floats)) }
    /// An int64 tensor of `shape` over `ints` (C order; the count must be the shape's element count).
    public init(shape: [Int], ints: [Int64]) { self.init(shape: shape, elements: .int(ints)) }
    /// A bool tensor of `shape` over `bools` (C order; the count must be the shape's element count).
    public init(shape: [Int], bools: [Bool]) { self.init(shape: shape, elements: .bool(bools)) }

    /// A stored tensor of any dtype: floats become float32, integers int64, bools bools.
    /// - Throws: `.unsupported` for complex tensors.
    public init(_ stored: StoredTensor) throws {
        shape = stored.shape
        switch stored.dtype {
        case .float32, .float64, .float16, .bfloat16:
            elements = .float(try stored.floatTensor().scalars)
        case .bool:
            elements = .bool(stored.bytes.map { $0 != 0 })
        case .int64, .int32, .int16, .int8, .uint64, .uint32, .uint16, .uint8:
            let out: [Int64]
            switch stored.dtype {
            case .int64: out = stored.mapElements(as: Int64.self) { $0 }
            case .int32: out = stored.mapElements(as: Int32.self) { Int64($0) }
            case .int16: out = stored.mapElements(as: Int16.self) { Int64($0) }
            case .int8: out = stored.mapElements(as: Int8.self) { Int64($0) }
            case .uint64: out = stored.mapElements(as: UInt64.self) { Int64(truncatingIfNeeded: $0) }
            case .uint32: out = stored.mapElements(as: UInt32.self) { Int64($0) }
            case .uint16: out = stored.mapElements(as: UInt16.self) { Int64($0) }
            default: out = stored.mapElements(as: UInt8.self) { Int64($0) }
            }
            elements = .int(out)
            integerType = stored.dtype
        case .complex64, .complex128:
            throw RNNRTError(.unsupported, "complex tensors are not supported by the graph executor")
        }
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// `float`, the integer type (`int64`, `uint8`, ...) or `bool`, for messages.
    package var typeName: String {
        switch elements {
        case .float: return "float"
        case .int: return integerType.rawValue
        case .bool: return "bool"
        }
    }

    /// The float elements, or `.invalidArgument` naming `what` when the tensor is not float.
    package func floats(_ what: @autoclosure () -> String) throws -> [Float] {
        guard case .float(let v) = elements else {
            throw RNNRTError(.invalidArgument, "\(what()) must be a float tensor, got \(typeName) \(shape.shapeDescription)")
        }
        return v
    }

    /// The integer elements (bools count as 0/1), or `.invalidArgument` for float tensors.
    package func ints(_ what: @autoclosure () -> String) throws -> [Int64] {
        switch elements {
        case .int(let v): return v
        case .bool(let v): return v.map { $0 ? 1 : 0 }
        case .float: throw RNNRTError(.invalidArgument, "\(what()) must be an integer tensor, got float \(shape.shapeDescription)")
        }
    }

    /// A float tensor's values as a `Tensor` (same shape): how a plan's float output comes back to `Tensor`, as in
    /// `try output.tensor(name)`.
    /// - Throws: `.invalidArgument` naming `what` (the value's name, for the message) when the elements are
    ///   integer or bool; read those from `elements`.
    public func tensor(_ what: @autoclosure () -> String) throws -> Tensor {
        Tensor(shape: shape, scalars: try floats(what()))
    }

    /// As stored: float32, the integer type (`integerType`), or bool; what `NPY.write` takes to save any output.
    public var stored: StoredTensor {
        switch elements {
        case .float(let v):
            return StoredTensor(Tensor(shape: shape, scalars: v))
        case .int(let v):
            // Sizes agree by construction, so this cannot fail.
            return (try? StoredTensor(dtype: integerType, shape: shape, bytes: GraphTensor.bytes(v, as: integerType)))
                ?? StoredTensor(Tensor(repeating: 0, shape: [0]))
        case .bool(let v):
            return (try? StoredTensor(dtype: .bool, shape: shape, bytes: v.map { $0 ? 1 : 0 }))
                ?? StoredTensor(Tensor(repeating: 0, shape: [0]))
        }
    }

    /// Integer values as the bytes of `type` (little-endian host order; values outside the type wrap).
    static func bytes(_ v: [Int64], as type: DType) -> [UInt8] {
        func raw<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        switch type {
        case .uint8: return v.map { UInt8(truncatingIfNeeded: $0) }
        case .int8: return raw(v.map { Int8(truncatingIfNeeded: $0) })
        case .uint16: return raw(v.map { UInt16(truncatingIfNeeded: $0) })
        case .int16: return raw(v.map { Int16(truncatingIfNeeded: $0) })
        case .uint32: return raw(v.map { UInt32(truncatingIfNeeded: $0) })
        case .int32: return raw(v.map { Int32(truncatingIfNeeded: $0) })
        case .uint64: return raw(v.map { UInt64(bitPattern: $0) })
        default: return raw(v)
        }
    }

    /// Same elements, another shape of equal count (a programmer error otherwise).
    func reshaped(_ newShape: [Int]) -> GraphTensor {
        precondition(newShape.reduce(1, *) == count)
        return GraphTensor(shape: newShape, elements: elements)
    }

    /// Maps every element, keeping the element kind's storage (generic over the three kinds).
    func mapElements(float: (Float) -> Float) throws -> GraphTensor {
        GraphTensor(shape: shape, elements: .float(try floats("input").mapOutput(float)))
    }
}

extension Array where Element == Int {
    /// C-order strides of a shape.
    var strides: [Int] {
        var s = [Int](repeating: 1, count: count)
        var acc = 1
        for axis in stride(from: count - 1, through: 0, by: -1) {
            s[axis] = acc
            acc *= self[axis]
        }
        return s
    }
}
