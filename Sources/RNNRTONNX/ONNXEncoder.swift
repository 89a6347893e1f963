import CONNXProto
import Foundation
import RNNRTCore
import RNNRTGraph

extension ONNXModelFile {
    /// Encodes a model as the bytes of an ONNX file (a serialized `ModelProto`): the model is built as protobuf-c's
    /// generated `Onnx__ModelProto` structs (`tools/onnx/onnx-subset.proto`) and packed by protobuf-c.
    ///
    /// Everything a `GraphModel` holds is written, in the layout the onnx package itself uses (fields in
    /// field-number order; `TensorProto.dims` and `AttributeProto.ints`/`floats` unpacked):
    /// - `ir_version`, `producer_name`/`producer_version` (when non-empty), the graph, `opset_import`
    ///   sorted by domain (the default domain, `""` or `"ai.onnx"`, is written as an empty domain), and
    ///   `metadata_props` in order.
    /// - Graphs: nodes in order (name, op_type, domain when not the default, inputs and outputs with
    ///   `""` for omitted optional values, attributes sorted by name with `AttributeProto.type` set),
    ///   initializers in `initializerNames` order (then any initializer missing from that list, by name),
    ///   inputs, outputs and value_info. Subgraphs (`.graph`, `.graphs`) are written recursively.
    /// - Tensors (initializers, `.tensor` and `.tensors` attributes): dims, data_type and `raw_data`
    ///   (little-endian), never external data. Attribute tensors are unnamed; initializers carry their name.
    /// - Values: `elem_type` (omitted when 0) and a shape when one is declared: `.fixed` → `dim_value`,
    ///   `.symbolic` → `dim_param`, `.unknown` (and an empty symbol) → a dimension with neither. A value
    ///   with element type 0 and no shape is written without a type.
    ///
    /// The output is deterministic: the same model always gives the same bytes, and `decode` reads it
    /// back as an equal model.
    ///
    /// - Throws: `RNNRTError`: `.unsupported` for complex tensors (ONNX's raw layout for them is not
    ///   something rnnrt writes), for subgraphs nested deeper than `maxNestingDepth` protobuf levels (the
    ///   decoder would refuse the file) and for a model of 2 GiB or more (protobuf's limit; external data
    ///   is not written); `.invalidArgument` for an inconsistent model (an `initializerNames` entry without
    ///   a tensor, or the default domain imported twice with different versions) and for a name (of a
    ///   graph, node, value, attribute, tensor, domain or metadata entry) containing a NUL character, which
    ///   protobuf-c's strings cannot hold.
    public static func encode(_ model: GraphModel) throws -> [UInt8] {
        let memory = ProtoMemory()
        return try withExtendedLifetime(memory) {
            var proto = try ProtoBuilder(memory: memory, maxDepth: maxNestingDepth).model(model)
            let size = onnx__model_proto__get_packed_size(&proto)
            guard size <= Int(Int32.max) else {
                throw RNNRTError(.unsupported, "the encoded model is \(size) bytes, more than protobuf's 2 GiB limit; rnnrt does not write external data")
            }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = onnx__model_proto__pack(&proto, buffer.baseAddress)
            }
        }
    }

    /// Encodes a model (see `encode(_:)`) and writes it to a file, replacing the file atomically.
    /// - Throws: `RNNRTError` from `encode(_:)`, or `.io` when the file cannot be written; with
    ///   "writing PATH" as outer context.
    public static func write(_ model: GraphModel, to url: URL) throws {
        let path = url.path
        try withContext("writing \(path)") {
            let bytes = try encode(model)
            do {
                try Data(bytes).write(to: url, options: .atomic)
            } catch {
                throw RNNRTError(.io, "cannot write \(path): \((error as NSError).localizedDescription)")
            }
        }
    }
}

// MARK: - Model → protobuf-c structs

/// Builds protobuf-c's `Onnx__*` structs for a `GraphModel`, one function per message; every block a struct points to
/// (nested messages, arrays, strings, tensor data) is taken from `memory`, so the structs are valid while it is.
private struct ProtoBuilder {
    let memory: ProtoMemory
    /// Deepest message level written; the `ModelProto` is level 1.
    let maxDepth: Int

    func model(_ m: GraphModel) throws -> Onnx__ModelProto {
        var p = Onnx__ModelProto()
        onnx__model_proto__init(&p)
        p.has_ir_version = 1
        p.ir_version = m.irVersion
        p.producer_name = try m.producerName.isEmpty ? nil : memory.string(m.producerName)
        p.producer_version = try m.producerVersion.isEmpty ? nil : memory.string(m.producerVersion)
        p.graph = try withContext("writing graph '\(m.graph.name)'") { try memory.message(graph(m.graph, level: 2)) }
        (p.n_opset_import, p.opset_import) = try memory.messages(try Self.opsets(m.opsetImports)) { domain, version in
            var o = Onnx__OperatorSetIdProto()
            onnx__operator_set_id_proto__init(&o)
            o.domain = try memory.string(domain)
            o.has_version = 1
            o.version = version
            return o
        }
        (p.n_metadata_props, p.metadata_props) = try memory.messages(m.metadata) { entry in
            var e = Onnx__StringStringEntryProto()
            onnx__string_string_entry_proto__init(&e)
            e.key = try memory.string(entry.key)
            e.value = try memory.string(entry.value)
            return e
        }
        return p
    }

    /// Opset imports sorted by domain (UTF-8 order), `"ai.onnx"` folded into `""`.
    static func opsets(_ imports: [String: Int64]) throws -> [(String, Int64)] {
        var merged: [String: Int64] = [:]
        for (domain, version) in imports {
            let key = domain == "ai.onnx" ? "" : domain
            if let previous = merged[key], previous != version {
                throw RNNRTError(.invalidArgument, "opsetImports lists the default domain twice (as \"\" and \"ai.onnx\"), with versions \(min(previous, version)) and \(max(previous, version))")
            }
            merged[key] = version
        }
        return merged.sorted { utf8Less($0.key, $1.key) }.map { ($0.key, $0.value) }
    }

    /// A `GraphProto` at `level`.
    func graph(_ g: Graph, level: Int) throws -> Onnx__GraphProto {
        try enter(level)
        var p = Onnx__GraphProto()
        onnx__graph_proto__init(&p)
        (p.n_node, p.node) = try memory.messages(Array(g.nodes.enumerated())) { index, n in
            let label = n.name.isEmpty ? "node #\(index) (\(n.opType))" : "node '\(n.name)'"
            return try withContext("writing \(label)") { try node(n, level: level + 1) }
        }
        p.name = try g.name.isEmpty ? nil : memory.string(g.name)
        (p.n_initializer, p.initializer) = try memory.messages(try Self.initializers(g)) { name, t in
            try withContext("writing initializer '\(name)'") { try tensor(t, name: name, level: level + 1) }
        }
        (p.n_input, p.input) = try memory.messages(g.inputs) { try valueInfo($0, level: level + 1) }
        (p.n_output, p.output) = try memory.messages(g.outputs) { try valueInfo($0, level: level + 1) }
        (p.n_value_info, p.value_info) = try memory.messages(g.valueInfo) { try valueInfo($0, level: level + 1) }
        return p
    }

    /// `initializerNames` in order (each once), then initializers that list misses, by name.
    static func initializers(_ g: Graph) throws -> [(String, StoredTensor)] {
        var out: [(String, StoredTensor)] = []
        var written = Set<String>()
        for name in g.initializerNames where written.insert(name).inserted {
            guard let t = g.initializers[name] else {
                throw RNNRTError(.invalidArgument, "graph '\(g.name)': initializerNames lists '\(name)', which has no tensor in initializers")
            }
            out.append((name, t))
        }
        let rest = g.initializers.filter { !written.contains($0.key) }.sorted { utf8Less($0.key, $1.key) }
        out.append(contentsOf: rest.map { ($0.key, $0.value) })
        return out
    }

    /// A `NodeProto` at `level`: attributes sorted by name, the domain only when it is not the default.
    func node(_ n: GraphNode, level: Int) throws -> Onnx__NodeProto {
        try enter(level)
        var p = Onnx__NodeProto()
        onnx__node_proto__init(&p)
        (p.n_input, p.input) = try memory.strings(n.inputs)
        (p.n_output, p.output) = try memory.strings(n.outputs)
        p.name = try n.name.isEmpty ? nil : memory.string(n.name)
        p.op_type = try memory.string(n.opType)
        (p.n_attribute, p.attribute) = try memory.messages(n.attributes.sorted { Self.utf8Less($0.key, $1.key) }) { name, value in
            try withContext("writing attribute '\(name)'") { try attribute(name, value, level: level + 1) }
        }
        p.domain = try n.domain.isEmpty || n.domain == "ai.onnx" ? nil : memory.string(n.domain)
        return p
    }

    /// An `AttributeProto` at `level`: its name, the value field of its kind and `type`.
    func attribute(_ name: String, _ value: GraphAttribute, level: Int) throws -> Onnx__AttributeProto {
        try enter(level)
        var p = Onnx__AttributeProto()
        onnx__attribute_proto__init(&p)
        p.name = try memory.string(name)
        p.has_type = 1
        switch value {
        case .float(let f):
            (p.has_f, p.f, p.type) = (1, f, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        case .int(let i):
            (p.has_i, p.i, p.type) = (1, i, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        case .string(let s):
            (p.has_s, p.s, p.type) = (1, memory.bytes(Array(s.utf8)), ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
        case .tensor(let t):
            p.t = try memory.message(tensor(t, name: nil, level: level + 1))
            p.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
        case .graph(let g):
            p.g = try withContext("writing graph '\(g.name)'") { try memory.message(graph(g, level: level + 1)) }
            p.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH
        case .floats(let values):
            (p.n_floats, p.floats) = memory.array(values)
            p.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
        case .ints(let values):
            (p.n_ints, p.ints) = memory.array(values)
            p.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
        case .strings(let values):
            (p.n_strings, p.strings) = memory.array(values.map { memory.bytes(Array($0.utf8)) })
            p.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS
        case .tensors(let values):
            (p.n_tensors, p.tensors) = try memory.messages(Array(values.enumerated())) { i, t in
                try withContext("writing tensor #\(i)") { try tensor(t, name: nil, level: level + 1) }
            }
            p.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS
        case .graphs(let values):
            (p.n_graphs, p.graphs) = try memory.messages(Array(values.enumerated())) { i, g in
                try withContext("writing graph #\(i) '\(g.name)'") { try graph(g, level: level + 1) }
            }
            p.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS
        }
        return p
    }

    /// A `TensorProto` at `level`: dims, data_type, the name when given, `raw_data` (little-endian).
    func tensor(_ t: StoredTensor, name: String?, level: Int) throws -> Onnx__TensorProto {
        try enter(level)
        var p = Onnx__TensorProto()
        onnx__tensor_proto__init(&p)
        (p.n_dims, p.dims) = memory.array(t.shape.map(Int64.init))
        p.has_data_type = 1
        p.data_type = try Self.dataType(t.dtype)
        if let name, !name.isEmpty { p.name = try memory.string(name) }
        p.has_raw_data = 1
        p.raw_data = memory.bytes(ONNXModelFile.hostOrder(t.bytes, elementSize: t.dtype.byteSize))
        return p
    }

    /// The ONNX `TensorProto.DataType` of a dtype.
    static func dataType(_ dtype: DType) throws -> Int32 {
        let code: Onnx__TensorProto__DataType
        switch dtype {
        case .float32: code = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
        case .uint8: code = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8
        case .int8: code = ONNX__TENSOR_PROTO__DATA_TYPE__INT8
        case .uint16: code = ONNX__TENSOR_PROTO__DATA_TYPE__UINT16
        case .int16: code = ONNX__TENSOR_PROTO__DATA_TYPE__INT16
        case .int32: code = ONNX__TENSOR_PROTO__DATA_TYPE__INT32
        case .int64: code = ONNX__TENSOR_PROTO__DATA_TYPE__INT64
        case .bool: code = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL
        case .float16: code = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
        case .float64: code = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
        case .uint32: code = ONNX__TENSOR_PROTO__DATA_TYPE__UINT32
        case .uint64: code = ONNX__TENSOR_PROTO__DATA_TYPE__UINT64
        case .bfloat16: code = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16
        case .complex64, .complex128:
            throw RNNRTError(.unsupported, "cannot write a \(dtype.rawValue) tensor: rnnrt does not write complex data to ONNX")
        }
        return Int32(code.rawValue)
    }

    /// A `ValueInfoProto` at `level`: the name and, when anything is declared, `type.tensor_type` with the element
    /// type (when not 0) and the shape (when there is one).
    func valueInfo(_ v: GraphValueInfo, level: Int) throws -> Onnx__ValueInfoProto {
        try enter(level)
        var p = Onnx__ValueInfoProto()
        onnx__value_info_proto__init(&p)
        p.name = try memory.string(v.name)
        guard v.elementType != 0 || v.shape != nil else { return p }
        try enter(level + 2)
        var tensorType = Onnx__TypeProto__Tensor()
        onnx__type_proto__tensor__init(&tensorType)
        if v.elementType != 0 { (tensorType.has_elem_type, tensorType.elem_type) = (1, v.elementType) }
        if let shape = v.shape { tensorType.shape = try memory.message(self.shape(shape, level: level + 3)) }
        var type = Onnx__TypeProto()
        onnx__type_proto__init(&type)
        type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
        type.tensor_type = memory.message(tensorType)
        p.type = memory.message(type)
        return p
    }

    /// A `TensorShapeProto` at `level`: `.fixed` → `dim_value`, a non-empty `.symbolic` → `dim_param`, others neither.
    func shape(_ dims: [RNNRTGraph.GraphDimension], level: Int) throws -> Onnx__TensorShapeProto {
        try enter(level)
        var p = Onnx__TensorShapeProto()
        onnx__tensor_shape_proto__init(&p)
        (p.n_dim, p.dim) = try memory.messages(dims) { d in
            try enter(level + 1)
            var dim = Onnx__TensorShapeProto__Dimension()
            onnx__tensor_shape_proto__dimension__init(&dim)
            switch d {
            case .fixed(let n):
                (dim.value_case, dim.dim_value) = (ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, Int64(n))
            case .symbolic(let s) where !s.isEmpty:
                (dim.value_case, dim.dim_param) = (ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM, try memory.string(s))
            case .symbolic, .unknown:
                break
            }
            return dim
        }
        return p
    }

    /// Refuses a message at `level` deeper than the decoder reads back.
    func enter(_ level: Int) throws {
        guard level <= maxDepth else {
            throw RNNRTError(.unsupported, "the model nests messages deeper than \(maxDepth) protobuf levels (subgraphs inside subgraphs), which rnnrt refuses to read back")
        }
    }

    /// Byte-wise (UTF-8) order: the same on every platform and locale.
    static func utf8Less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

// MARK: - C memory

/// The C memory protobuf-c's structs point to while one model is encoded: every block is allocated here and freed
/// together when the last reference goes.
private final class ProtoMemory {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { block.deallocate() }
    }

    /// A copy of `values`, or nil when there are none: a repeated field's count and array.
    func array<T>(_ values: [T]) -> (Int, UnsafeMutablePointer<T>?) {
        values.isEmpty ? (0, nil) : (values.count, copy(values))
    }

    /// A block holding `values`.
    private func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
        p.initialize(from: values, count: values.count)
        blocks.append(UnsafeMutableRawPointer(p))
        return p
    }

    /// A copy of one message, for a message field.
    func message<T>(_ value: T) -> UnsafeMutablePointer<T> {
        copy([value])
    }

    /// The messages `build` makes of `values`, for a repeated message field.
    func messages<E, T>(_ values: [E], _ build: (E) throws -> T) throws -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<T>?>?) {
        array(try values.map { Optional(message(try build($0))) })
    }

    /// `text` as a NUL-terminated UTF-8 string.
    /// - Throws: `.invalidArgument` when `text` holds a NUL character, which would end the C string early.
    func string(_ text: String) throws -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(text.utf8)
        guard !utf8.contains(0) else {
            throw RNNRTError(.invalidArgument, "the name \(text.debugDescription) contains a NUL character, which protobuf-c cannot write")
        }
        return copy(utf8.map { CChar(bitPattern: $0) } + [0])
    }

    /// `texts` as NUL-terminated UTF-8 strings, for a repeated `string` field (see `string(_:)`).
    func strings(_ texts: [String]) throws -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        array(try texts.map { Optional(try string($0)) })
    }

    /// A copy of `data`, for a `bytes` field.
    func bytes(_ data: [UInt8]) -> ProtobufCBinaryData {
        let (count, p) = array(data)
        return ProtobufCBinaryData(len: count, data: p)
    }
}
