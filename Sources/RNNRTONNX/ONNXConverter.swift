import CONNXProto
import Foundation
import RNNRTCore
import RNNRTGraph

/// Turns the unpacked protobuf-c structs into `GraphModel` values; every list is bounded by what protobuf-c
/// allocated, so nothing here allocates more than the input's size warrants.
struct Converter {
    let modelDirectory: URL?

    func model(_ m: Onnx__ModelProto) throws -> GraphModel {
        var opsets: [String: Int64] = [:]
        for entry in pointers(m.opset_import, m.n_opset_import) {
            let domain = normalizedDomain(string(entry.pointee.domain))
            let version = entry.pointee.has_version != 0 ? entry.pointee.version : 0
            if let previous = opsets[domain], previous != version {
                throw RNNRTError(.malformed, "opset_import lists domain '\(domain.isEmpty ? "ai.onnx" : domain)' twice, with versions \(previous) and \(version)")
            }
            opsets[domain] = version
        }
        guard let graphProto = m.graph else {
            throw RNNRTError(.malformed, "the model has no graph (ModelProto.graph is missing)")
        }
        let graphName = string(graphProto.pointee.name)
        let graph = try withContext("reading graph '\(graphName)'") { try self.graph(graphProto.pointee) }
        let metadata = pointers(m.metadata_props, m.n_metadata_props).map {
            (key: string($0.pointee.key), value: string($0.pointee.value))
        }
        return GraphModel(irVersion: m.has_ir_version != 0 ? m.ir_version : 0, opsetImports: opsets,
                     producerName: string(m.producer_name), producerVersion: string(m.producer_version),
                     graph: graph, metadata: metadata)
    }

    func graph(_ g: Onnx__GraphProto) throws -> Graph {
        var initializers: [(String, StoredTensor)] = []
        var seen = Set<String>()
        for t in pointers(g.initializer, g.n_initializer) {
            let name = string(t.pointee.name)
            let tensor = try withContext("reading initializer '\(name)'") { try self.tensor(t.pointee) }
            guard seen.insert(name).inserted else {
                throw RNNRTError(.malformed, "the graph has two initializers named '\(name)'")
            }
            initializers.append((name, tensor))
        }
        var nodes: [GraphNode] = []
        for (index, n) in pointers(g.node, g.n_node).enumerated() {
            let label = nodeLabel(n.pointee, index: index)
            nodes.append(try withContext("reading \(label)") { try node(n.pointee) })
        }
        func values(_ list: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__ValueInfoProto>?>?,
                    _ count: Int) -> [GraphValueInfo] {
            pointers(list, count).map { valueInfo($0.pointee) }
        }
        return Graph(name: string(g.name), nodes: nodes, initializers: initializers,
                     inputs: values(g.input, g.n_input), outputs: values(g.output, g.n_output),
                     valueInfo: values(g.value_info, g.n_value_info))
    }

    private func nodeLabel(_ n: Onnx__NodeProto, index: Int) -> String {
        let name = string(n.name)
        if !name.isEmpty { return "node '\(name)'" }
        let outputs = strings(n.output, n.n_output)
        let op = string(n.op_type)
        return "node #\(index) (\(op.isEmpty ? "no op_type" : op)\(outputs.first.map { ", output '\($0)'" } ?? ""))"
    }

    func node(_ n: Onnx__NodeProto) throws -> GraphNode {
        var attributes: [String: GraphAttribute] = [:]
        for a in pointers(n.attribute, n.n_attribute) {
            let name = string(a.pointee.name)
            let value = try withContext("reading attribute '\(name)'") { try attribute(a.pointee, name: name) }
            guard attributes.updateValue(value, forKey: name) == nil else {
                throw RNNRTError(.malformed, "the node has two attributes named '\(name)'")
            }
        }
        return GraphNode(name: string(n.name), opType: string(n.op_type), domain: normalizedDomain(string(n.domain)),
                    inputs: strings(n.input, n.n_input), outputs: strings(n.output, n.n_output),
                    attributes: attributes)
    }

    private static let attributeTypeNames = [
        0: "UNDEFINED", 1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH", 6: "FLOATS", 7: "INTS",
        8: "STRINGS", 9: "TENSORS", 10: "GRAPHS", 11: "SPARSE_TENSOR", 12: "SPARSE_TENSORS", 13: "TYPE_PROTO",
        14: "TYPE_PROTOS",
    ]

    func attribute(_ a: Onnx__AttributeProto, name: String) throws -> GraphAttribute {
        var type = a.has_type != 0 ? Int(a.type.rawValue) : 0
        if type == 0 {
            // Models from before AttributeProto.type (IR 1): the one value field present says the kind.
            let present: [(Int, String)] = [
                (1, "f", a.has_f != 0), (2, "i", a.has_i != 0), (3, "s", a.has_s != 0), (4, "t", a.t != nil),
                (5, "g", a.g != nil), (6, "floats", a.n_floats > 0), (7, "ints", a.n_ints > 0),
                (8, "strings", a.n_strings > 0), (9, "tensors", a.n_tensors > 0), (10, "graphs", a.n_graphs > 0),
            ].filter { $0.2 }.map { ($0.0, $0.1) }
            guard present.count == 1, let only = present.first else {
                throw RNNRTError(.malformed, present.isEmpty
                    ? "attribute '\(name)' has no type and no value"
                    : "attribute '\(name)' has no type and several values (\(present.map(\.1).joined(separator: ", ")))")
            }
            type = only.0
        }
        switch type {
        case 1: return .float(a.f)
        case 2: return .int(a.i)
        case 3: return .string(a.has_s != 0 ? text(a.s) : "")
        case 4:
            guard let t = a.t else {
                throw RNNRTError(.malformed, "attribute '\(name)' has type TENSOR but no tensor (field t)")
            }
            return .tensor(try tensor(t.pointee))
        case 5:
            guard let g = a.g else {
                throw RNNRTError(.malformed, "attribute '\(name)' has type GRAPH but no graph (field g)")
            }
            return .graph(try withContext("reading graph '\(string(g.pointee.name))'") { try graph(g.pointee) })
        case 6: return .floats(elements(a.floats, a.n_floats))
        case 7: return .ints(elements(a.ints, a.n_ints))
        case 8: return .strings(elements(a.strings, a.n_strings).map(text))
        case 9:
            return .tensors(try pointers(a.tensors, a.n_tensors).enumerated().map { i, t in
                try withContext("reading tensor #\(i)") { try tensor(t.pointee) }
            })
        case 10:
            return .graphs(try pointers(a.graphs, a.n_graphs).enumerated().map { i, g in
                try withContext("reading graph #\(i) '\(string(g.pointee.name))'") { try graph(g.pointee) }
            })
        default:
            let typeName = Self.attributeTypeNames[type].map { "\($0) (\(type))" } ?? "\(type)"
            throw RNNRTError(.unsupported, "attribute '\(name)' has type \(typeName), which rnnrt does not read")
        }
    }

    func valueInfo(_ v: Onnx__ValueInfoProto) -> GraphValueInfo {
        let name = string(v.name)
        guard let type = v.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
              let tensorType = type.pointee.tensor_type else {
            return GraphValueInfo(name: name)
        }
        let elementType = tensorType.pointee.has_elem_type != 0 ? tensorType.pointee.elem_type : 0
        guard let shape = tensorType.pointee.shape else {
            return GraphValueInfo(name: name, elementType: elementType, shape: nil)
        }
        let dims: [RNNRTGraph.GraphDimension] = pointers(shape.pointee.dim, shape.pointee.n_dim).map { d in
            switch d.pointee.value_case {
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE:
                let value = d.pointee.dim_value
                guard value >= 0, let n = Int(exactly: value) else { return .unknown }
                return .fixed(n)
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
                let param = string(d.pointee.dim_param)
                return param.isEmpty ? .unknown : .symbolic(param)
            default:
                return .unknown
            }
        }
        return GraphValueInfo(name: name, elementType: elementType, shape: dims)
    }
}

private func normalizedDomain(_ domain: String) -> String {
    domain == "ai.onnx" ? "" : domain
}
