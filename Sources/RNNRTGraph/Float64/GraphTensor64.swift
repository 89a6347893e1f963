import RNNRTCore

/// A tensor of a graph's float64 run (`Plan.runFloat64`): float elements in float64, integer (int64 for every
/// integer type, tagged with its ONNX type as `GraphTensor` does) or bool, C order.
public struct GraphTensor64: Sendable, Equatable {
    /// The elements, in C order, of one of the three kinds.
    public enum Elements: Sendable, Equatable {
        /// Float elements, in float64.
        case double([Double])
        /// Integer elements of any ONNX integer type, held as Int64 (`integerType` says which).
        case int([Int64])
        /// Bool elements.
        case bool([Bool])
    }

    /// Extent of each axis (`[]` for a scalar).
    public var shape: [Int]
    /// The elements in C order; their count is the product of `shape`.
    public var elements: Elements
    /// The ONNX type of an integer tensor's values; unused for float and bool tensors.
    public var integerType: DType = .int64

    /// A tensor of `shape` over `elements` (their count must be the shape's element count); integers are int64.
    public init(shape: [Int], elements: Elements) {
        self.shape = shape
        self.elements = elements
    }

    /// A float64 tensor of `shape` over `doubles` (C order; the count must be the shape's element count).
    public init(shape: [Int], doubles: [Double]) { self.init(shape: shape, elements: .double(doubles)) }
    /// An int64 tensor of `shape` over `ints` (C order; the count must be the shape's element count).
    public init(shape: [Int], ints: [Int64]) { self.init(shape: shape, elements: .int(ints)) }
    /// A bool tensor of `shape` over `bools` (C order; the count must be the shape's element count).
    public init(shape: [Int], bools: [Bool]) { self.init(shape: shape, elements: .bool(bools)) }

    /// A float64 `Tensor` as a graph value, to feed `Plan.runFloat64`: same shape, same elements.
    public init(_ tensor: Tensor64) {
        self.init(shape: tensor.shape, elements: .double(tensor.scalars))
    }

    /// A float32 tensor's elements widened (exactly).
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape, elements: .double(tensor.scalars.map { Double($0) }))
    }

    /// A graph tensor's elements: floats widened (exactly), integers and bools as they are.
    public init(_ tensor: GraphTensor) {
        switch tensor.elements {
        case .float(let v): self.init(shape: tensor.shape, elements: .double(v.map { Double($0) }))
        case .int(let v):
            self.init(shape: tensor.shape, elements: .int(v))
            integerType = tensor.integerType
        case .bool(let v): self.init(shape: tensor.shape, elements: .bool(v))
        }
    }

    /// A stored tensor of any dtype: float types as float64 (float64 elements as stored, the others widened
    /// exactly), integers as int64, bools as bools.
    /// - Throws: `.unsupported` for complex tensors.
    public init(_ stored: StoredTensor) throws {
        if stored.dtype.isFloatingPoint {
            self.init(try stored.doubleTensor())
        } else {
            self.init(try GraphTensor(stored))
        }
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// The tensor with float elements rounded to float32.
    public var float32: GraphTensor {
        switch elements {
        case .double(let v): return GraphTensor(shape: shape, floats: v.map { Float($0) })
        case .int(let v): return GraphTensor(shape: shape, ints: v, type: integerType)
        case .bool(let v): return GraphTensor(shape: shape, bools: v)
        }
    }

    /// As stored: float64, the integer type, or bool.
    public var stored: StoredTensor {
        switch elements {
        case .double(let v): return StoredTensor(Tensor64(shape: shape, scalars: v))
        default: return float32.stored
        }
    }

    /// `float`, the integer type (`int64`, `uint8`, ...) or `bool`, for messages.
    package var typeName: String {
        switch elements {
        case .double: return "float"
        case .int: return integerType.rawValue
        case .bool: return "bool"
        }
    }

    /// Whether the elements are float.
    var isFloat: Bool {
        if case .double = elements { return true }
        return false
    }

    /// Number of elements held.
    var elementCount: Int {
        switch elements {
        case .double(let v): return v.count
        case .int(let v): return v.count
        case .bool(let v): return v.count
        }
    }

    /// The float elements, or `.invalidArgument` naming `what` when the tensor is not float.
    func doubles(_ what: @autoclosure () -> String) throws -> [Double] {
        guard case .double(let v) = elements else {
            throw RNNRTError(.invalidArgument, "\(what()) must be a float tensor, got \(typeName) \(shape.shapeDescription)")
        }
        return v
    }

    /// The elements as float64 whatever their kind (integers and bools by value).
    var numericValues: [Double] {
        switch elements {
        case .double(let v): return v
        case .int(let v): return v.map { Double($0) }
        case .bool(let v): return v.map { $0 ? 1 : 0 }
        }
    }
}
