import Foundation

/// What `rnnrt inspect` reports about an ONNX model: opset, inputs and outputs with their shapes, an
/// operator histogram, initializer sizes, each recurrent node with its attributes, and the operators
/// rnnrt cannot run. `Codable`, so `--json` is this struct encoded.
package struct GraphSummary: Codable, Sendable {
    package struct Value: Codable, Sendable {
        package let name: String
        /// ONNX element type name (`float`, `int64`, ...), or the numeric code when unknown.
        package let type: String
        /// Extents as text (`"seq"`, `"2"`, `"?"`); nil when the rank is unknown.
        package let shape: [String]?
    }

    package struct Initializer: Codable, Sendable {
        package let name: String
        package let dtype: String
        package let shape: [Int]
        package let bytes: Int
    }

    package struct RecurrentNode: Codable, Sendable {
        package let name: String
        package let opType: String
        package let inputs: [String]
        package let outputs: [String]
        /// Attribute values as text (`direction: bidirectional`, `hidden_size: 16`).
        package let attributes: [String: String]
    }

    package let path: String
    package let format: String
    package let irVersion: Int64
    package let opsets: [String: Int64]
    package let producer: String
    package let inputs: [Value]
    package let outputs: [Value]
    /// Node count per operator type (subgraphs included).
    package let operators: [String: Int]
    package let initializers: [Initializer]
    package let initializerBytes: Int
    package let recurrentNodes: [RecurrentNode]
    /// Operator types rnnrt does not implement (empty when the model runs).
    package let unsupportedOperators: [String]

    package init(model: GraphModel, path: String) {
        self.path = path
        format = "ONNX"
        irVersion = model.irVersion
        opsets = Dictionary(model.opsetImports.map { ($0.key.isEmpty ? "ai.onnx" : $0.key, $0.value) }, uniquingKeysWith: max)
        producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        let graph = model.graph
        func value(_ info: GraphValueInfo) -> Value {
            Value(name: info.name, type: GraphSummary.typeName(info.elementType), shape: info.shape?.map(\.description))
        }
        inputs = graph.runtimeInputs.map(value)
        outputs = graph.outputs.map(value)
        var histogram: [String: Int] = [:]
        var recurrent: [RecurrentNode] = []
        var pending = [graph]
        while let g = pending.popLast() {
            for node in g.nodes {
                let key = node.domain.isEmpty || node.domain == "ai.onnx" ? node.opType : "\(node.domain).\(node.opType)"
                histogram[key, default: 0] += 1
                if ["LSTM", "GRU", "RNN"].contains(node.opType) {
                    recurrent.append(RecurrentNode(
                        name: node.name, opType: node.opType, inputs: node.inputs, outputs: node.outputs,
                        attributes: node.attributes.mapValues(GraphSummary.describe)))
                }
                for a in node.attributes.values {
                    if case .graph(let sub) = a { pending.append(sub) }
                    if case .graphs(let subs) = a { pending.append(contentsOf: subs) }
                }
            }
        }
        operators = histogram
        recurrentNodes = recurrent
        initializers = graph.initializerNames.compactMap { name in
            graph.initializers[name].map { Initializer(name: name, dtype: $0.dtype.rawValue, shape: $0.shape, bytes: $0.bytes.count) }
        }
        initializerBytes = initializers.reduce(0) { $0 + $1.bytes }
        let supported = Set(Plan.supportedOperators)
        unsupportedOperators = histogram.keys.filter { !supported.contains($0) }.sorted()
    }

    /// The summary as pretty-printed JSON with sorted keys.
    package func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    static func typeName(_ code: Int32) -> String {
        let names: [Int32: String] = [1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
                                      8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64",
                                      14: "complex64", 15: "complex128", 16: "bfloat16"]
        return names[code] ?? (code == 0 ? "?" : "type \(code)")
    }

    static func describe(_ a: GraphAttribute) -> String {
        switch a {
        case .float(let v): return "\(v)"
        case .int(let v): return "\(v)"
        case .string(let v): return v
        case .floats(let v): return "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"
        case .ints(let v): return "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"
        case .strings(let v): return "[" + v.joined(separator: ", ") + "]"
        case .tensor(let t): return "tensor \(t.dtype.rawValue) \(t.shape.shapeDescription)"
        case .tensors(let t): return "\(t.count) tensors"
        case .graph(let g): return "graph (\(g.nodes.count) nodes)"
        case .graphs(let g): return "\(g.count) graphs"
        }
    }
}
