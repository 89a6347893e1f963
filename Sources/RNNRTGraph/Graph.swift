import RNNRTCore

/// A computation graph as parsed from a file (ONNX today), in plain Swift values: no protobuf types leak
/// past the importer. Nodes are in the file's (topological) order; nothing is resolved or checked yet —
/// `Plan` does that.
public struct Graph: Sendable {
    /// The graph's name in the file (informational; may be empty).
    public var name: String
    /// The operator applications, in the file's order, which ONNX requires to be topological.
    public var nodes: [GraphNode]
    /// Constant tensors by name, in file order (`initializerNames`).
    public var initializers: [String: StoredTensor]
    /// The initializers' names in file order (a name given twice: its last tensor is kept, both names listed).
    public var initializerNames: [String]
    /// Declared graph inputs, in order. Older models (IR < 4) also list their initializers here.
    public var inputs: [GraphValueInfo]
    /// Declared graph outputs, in order.
    public var outputs: [GraphValueInfo]
    /// Optional type and shape annotations of intermediate values.
    public var valueInfo: [GraphValueInfo]

    /// A graph of `nodes`; `initializers` in order (a repeated name keeps its last tensor). Nothing is checked until
    /// a `Plan` is made.
    public init(name: String = "", nodes: [GraphNode] = [], initializers: [(String, StoredTensor)] = [],
                inputs: [GraphValueInfo] = [], outputs: [GraphValueInfo] = [], valueInfo: [GraphValueInfo] = []) {
        self.name = name
        self.nodes = nodes
        self.initializers = Dictionary(initializers, uniquingKeysWith: { _, last in last })
        self.initializerNames = initializers.map(\.0)
        self.inputs = inputs
        self.outputs = outputs
        self.valueInfo = valueInfo
    }

    /// The inputs a caller must (or may) feed: declared inputs that are not initializers.
    package var runtimeInputs: [GraphValueInfo] { inputs.filter { initializers[$0.name] == nil } }
}

/// One operator application.
public struct GraphNode: Sendable {
    /// The node's name in the file (may be empty); messages name the node by it.
    public var name: String
    /// The operator (`LSTM`, `Gemm`, ...), looked up in `domain`.
    public var opType: String
    /// `""` for the default ONNX domain (`ai.onnx`).
    public var domain: String
    /// Input value names; `""` marks an omitted optional input.
    public var inputs: [String]
    /// Output value names; `""` marks an omitted optional output.
    public var outputs: [String]
    /// The operator's attributes by name (`hidden_size`, `axis`, ...).
    public var attributes: [String: GraphAttribute]

    /// A node applying `opType` (of `domain`, `""` for `ai.onnx`) to the values named `inputs`, naming its results
    /// `outputs`.
    public init(name: String = "", opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [String: GraphAttribute] = [:]) {
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
public enum GraphAttribute: Sendable {
    /// One float (`alpha`, `epsilon`, ...).
    case float(Float)
    /// One integer (`axis`, `hidden_size`, ...).
    case int(Int64)
    /// ONNX stores bytes; rnnrt decodes them as UTF-8 (lossily for invalid bytes).
    case string(String)
    /// A constant tensor (`Constant`'s `value`).
    case tensor(StoredTensor)
    /// A subgraph (`If`'s branches, `Loop`'s body).
    case graph(Graph)
    /// A list of floats (`activation_alpha`, `scales`, ...).
    case floats([Float])
    /// A list of integers (`perm`, `pads`, `kernel_shape`, ...).
    case ints([Int64])
    /// A list of strings (`activations`, ...).
    case strings([String])
    /// A list of constant tensors.
    case tensors([StoredTensor])
    /// A list of subgraphs.
    case graphs([Graph])
}

/// A declared value: name, element type and shape (each possibly unknown).
public struct GraphValueInfo: Sendable, Equatable {
    /// The value's name, as nodes' inputs and outputs refer to it.
    public var name: String
    /// ONNX `TensorProto.DataType` code (1 float, 7 int64, ...); 0 when not declared.
    public var elementType: Int32
    /// Per-axis extents; nil when the rank itself is unknown.
    public var shape: [GraphDimension]?

    /// A declaration of the value `name`: `elementType` an ONNX `TensorProto.DataType` code (0: not declared),
    /// `shape` its axes (nil: rank unknown).
    public init(name: String, elementType: Int32 = 0, shape: [GraphDimension]? = nil) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}

/// One axis of a declared shape.
public enum GraphDimension: Sendable, Equatable, CustomStringConvertible {
    /// A known extent.
    case fixed(Int)
    /// An extent named by the exporter (`batch`, `seq_len`, ...), set by the inputs a run is given.
    case symbolic(String)
    /// An axis with neither an extent nor a name.
    case unknown

    /// The extent, the symbol's name, or `?`, as `rnnrt inspect` prints them.
    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbolic(let s): return s
        case .unknown: return "?"
        }
    }
}

/// A whole model file: metadata plus the main graph.
public struct GraphModel: Sendable {
    /// The ONNX IR version the file declares (older ones, below 4, list initializers among the inputs).
    public var irVersion: Int64
    /// Operator set versions by domain (`""` is `ai.onnx`).
    public var opsetImports: [String: Int64]
    /// The program that wrote the model (`pytorch`, ...; may be empty).
    public var producerName: String
    /// That program's version (may be empty).
    public var producerVersion: String
    /// The main graph.
    public var graph: Graph
    /// The file's `metadata_props`, in file order.
    public var metadata: [(key: String, value: String)]

    /// A model of `graph` importing the operator sets `opsetImports` (version by domain, `""` for `ai.onnx`).
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
