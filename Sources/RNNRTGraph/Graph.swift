import RNNRTCore

/// A computation graph as parsed from a file (ONNX today), in plain Swift values: no protobuf types leak
/// past the importer. Nodes are in the file's (topological) order; nothing is resolved or checked yet —
/// `Plan` does that.
public struct Graph: Sendable {
    public var name: String
    public var nodes: [Node]
    /// Constant tensors by name, in file order (`initializerNames`).
    public var initializers: [String: StoredTensor]
    public var initializerNames: [String]
    /// Declared graph inputs, in order. Older models (IR < 4) also list their initializers here.
    public var inputs: [ValueInfo]
    /// Declared graph outputs, in order.
    public var outputs: [ValueInfo]
    /// Optional type and shape annotations of intermediate values.
    public var valueInfo: [ValueInfo]

    public init(name: String = "", nodes: [Node] = [], initializers: [(String, StoredTensor)] = [],
                inputs: [ValueInfo] = [], outputs: [ValueInfo] = [], valueInfo: [ValueInfo] = []) {
        self.name = name
        self.nodes = nodes
        self.initializers = Dictionary(initializers, uniquingKeysWith: { _, last in last })
        self.initializerNames = initializers.map(\.0)
        self.inputs = inputs
        self.outputs = outputs
        self.valueInfo = valueInfo
    }

    /// The inputs a caller must (or may) feed: declared inputs that are not initializers.
    package var runtimeInputs: [ValueInfo] { inputs.filter { initializers[$0.name] == nil } }
}

/// One operator application.
public struct Node: Sendable {
    public var name: String
    public var opType: String
    /// `""` for the default ONNX domain (`ai.onnx`).
    public var domain: String
    /// Input value names; `""` marks an omitted optional input.
    public var inputs: [String]
    /// Output value names; `""` marks an omitted optional output.
    public var outputs: [String]
    public var attributes: [String: Attribute]

    public init(name: String = "", opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [String: Attribute] = [:]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// The node as messages name it: `LSTM node 'lstm_1'` (or its first output when unnamed).
    package var label: String {
        "\(opType) node '\(name.isEmpty ? (outputs.first ?? "?") : name)'"
    }
}

/// A node attribute value (ONNX `AttributeProto`).
public enum Attribute: Sendable {
    case float(Float)
    case int(Int64)
    /// ONNX stores bytes; rnnrt decodes them as UTF-8 (lossily for invalid bytes).
    case string(String)
    case tensor(StoredTensor)
    case graph(Graph)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    case tensors([StoredTensor])
    case graphs([Graph])
}

/// A declared value: name, element type and shape (each possibly unknown).
public struct ValueInfo: Sendable, Equatable {
    public var name: String
    /// ONNX `TensorProto.DataType` code (1 float, 7 int64, ...); 0 when not declared.
    public var elementType: Int32
    /// Per-axis extents; nil when the rank itself is unknown.
    public var shape: [Dimension]?

    public init(name: String, elementType: Int32 = 0, shape: [Dimension]? = nil) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}

/// One axis of a declared shape.
public enum Dimension: Sendable, Equatable, CustomStringConvertible {
    case fixed(Int)
    case symbolic(String)
    case unknown

    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbolic(let s): return s
        case .unknown: return "?"
        }
    }
}

/// A whole model file: metadata plus the main graph.
public struct Model: Sendable {
    public var irVersion: Int64
    /// Operator set versions by domain (`""` is `ai.onnx`).
    public var opsetImports: [String: Int64]
    public var producerName: String
    public var producerVersion: String
    public var graph: Graph
    public var metadata: [(key: String, value: String)]

    public init(irVersion: Int64, opsetImports: [String: Int64], producerName: String = "",
                producerVersion: String = "", graph: Graph, metadata: [(key: String, value: String)] = []) {
        self.irVersion = irVersion
        self.opsetImports = opsetImports
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.graph = graph
        self.metadata = metadata
    }

    /// The default-domain opset version (`ai.onnx`).
    public var opset: Int64 { opsetImports[""] ?? opsetImports["ai.onnx"] ?? 0 }
}
