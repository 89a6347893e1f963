import Foundation
import RNNRTCore
import RNNRTGraph

extension ONNXModelFile {
    /// Encodes a model as the bytes of an ONNX file (a serialized `ModelProto`), written directly in the
    /// protobuf wire format.
    ///
    /// Everything a `Model` holds is written, in the layout the onnx package itself uses (fields in
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
    ///   a tensor, or the default domain imported twice with different versions).
    public static func encode(_ model: Model) throws -> [UInt8] {
        var writer = ProtobufWriter(maxDepth: maxNestingDepth)
        try ModelEncoder.model(model, into: &writer)
        guard writer.bytes.count <= Int(Int32.max) else {
            throw RNNRTError(.unsupported, "the encoded model is \(writer.bytes.count) bytes, more than protobuf's 2 GiB limit; rnnrt does not write external data")
        }
        return writer.bytes
    }

    /// Encodes a model (see `encode(_:)`) and writes it to a file, replacing the file atomically.
    /// - Throws: `RNNRTError` from `encode(_:)`, or `.io` when the file cannot be written; with
    ///   "writing PATH" as outer context.
    public static func write(_ model: Model, to url: URL) throws {
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

// MARK: - Model → protobuf

/// The ONNX schema, field by field (`onnx.proto`'s field numbers; docs/ONNX.md, "Writing ONNX"). Each function
/// appends one message's fields.
private enum ModelEncoder {
    static func model(_ m: Model, into w: inout ProtobufWriter) throws {
        w.int64(field: 1, m.irVersion)
        if !m.producerName.isEmpty { w.string(field: 2, m.producerName) }
        if !m.producerVersion.isEmpty { w.string(field: 3, m.producerVersion) }
        try withContext("writing graph '\(m.graph.name)'") {
            try w.message(field: 7) { w in try graph(m.graph, into: &w) }
        }
        for (domain, version) in try opsets(m.opsetImports) {
            try w.message(field: 8) { w in
                w.string(field: 1, domain)
                w.int64(field: 2, version)
            }
        }
        for entry in m.metadata {
            try w.message(field: 14) { w in
                w.string(field: 1, entry.key)
                w.string(field: 2, entry.value)
            }
        }
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

    static func graph(_ g: Graph, into w: inout ProtobufWriter) throws {
        for (index, n) in g.nodes.enumerated() {
            let label = n.name.isEmpty ? "node #\(index) (\(n.opType))" : "node '\(n.name)'"
            try withContext("writing \(label)") {
                try w.message(field: 1) { w in try node(n, into: &w) }
            }
        }
        if !g.name.isEmpty { w.string(field: 2, g.name) }
        for (name, t) in try initializers(g) {
            try withContext("writing initializer '\(name)'") {
                try w.message(field: 5) { w in try tensor(t, name: name, into: &w) }
            }
        }
        for v in g.inputs { try w.message(field: 11) { w in try valueInfo(v, into: &w) } }
        for v in g.outputs { try w.message(field: 12) { w in try valueInfo(v, into: &w) } }
        for v in g.valueInfo { try w.message(field: 13) { w in try valueInfo(v, into: &w) } }
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

    static func node(_ n: Node, into w: inout ProtobufWriter) throws {
        for input in n.inputs { w.string(field: 1, input) }
        for output in n.outputs { w.string(field: 2, output) }
        if !n.name.isEmpty { w.string(field: 3, n.name) }
        w.string(field: 4, n.opType)
        for (name, value) in n.attributes.sorted(by: { utf8Less($0.key, $1.key) }) {
            try withContext("writing attribute '\(name)'") {
                try w.message(field: 5) { w in try attribute(name, value, into: &w) }
            }
        }
        if !n.domain.isEmpty && n.domain != "ai.onnx" { w.string(field: 7, n.domain) }
    }

    /// `AttributeProto`: name (1), the value field of its kind, then `type` (20).
    static func attribute(_ name: String, _ value: Attribute, into w: inout ProtobufWriter) throws {
        w.string(field: 1, name)
        let type: Int64
        switch value {
        case .float(let f):
            w.float(field: 2, f)
            type = 1
        case .int(let i):
            w.int64(field: 3, i)
            type = 2
        case .string(let s):
            w.string(field: 4, s)
            type = 3
        case .tensor(let t):
            try w.message(field: 5) { w in try tensor(t, name: nil, into: &w) }
            type = 4
        case .graph(let g):
            try withContext("writing graph '\(g.name)'") {
                try w.message(field: 6) { w in try graph(g, into: &w) }
            }
            type = 5
        case .floats(let values):
            for f in values { w.float(field: 7, f) }
            type = 6
        case .ints(let values):
            for i in values { w.int64(field: 8, i) }
            type = 7
        case .strings(let values):
            for s in values { w.string(field: 9, s) }
            type = 8
        case .tensors(let values):
            for (i, t) in values.enumerated() {
                try withContext("writing tensor #\(i)") {
                    try w.message(field: 10) { w in try tensor(t, name: nil, into: &w) }
                }
            }
            type = 9
        case .graphs(let values):
            for (i, g) in values.enumerated() {
                try withContext("writing graph #\(i) '\(g.name)'") {
                    try w.message(field: 11) { w in try graph(g, into: &w) }
                }
            }
            type = 10
        }
        w.int64(field: 20, type)
    }

    /// `TensorProto`: dims (1, unpacked), data_type (2), name (8), raw_data (9, little-endian).
    static func tensor(_ t: StoredTensor, name: String?, into w: inout ProtobufWriter) throws {
        let code = try dataType(t.dtype)
        for d in t.shape { w.int64(field: 1, Int64(d)) }
        w.int64(field: 2, Int64(code))
        if let name, !name.isEmpty { w.string(field: 8, name) }
        w.bytesField(field: 9, ONNXModelFile.hostOrder(t.bytes, elementSize: t.dtype.byteSize))
    }

    /// The ONNX `TensorProto.DataType` code of a dtype.
    static func dataType(_ dtype: DType) throws -> Int32 {
        switch dtype {
        case .float32: return 1
        case .uint8: return 2
        case .int8: return 3
        case .uint16: return 4
        case .int16: return 5
        case .int32: return 6
        case .int64: return 7
        case .bool: return 9
        case .float16: return 10
        case .float64: return 11
        case .uint32: return 12
        case .uint64: return 13
        case .bfloat16: return 16
        case .complex64, .complex128:
            throw RNNRTError(.unsupported, "cannot write a \(dtype.rawValue) tensor: rnnrt does not write complex data to ONNX")
        }
    }

    /// `ValueInfoProto`: name (1) and, when anything is declared, `type.tensor_type` (2 → 1).
    static func valueInfo(_ v: ValueInfo, into w: inout ProtobufWriter) throws {
        w.string(field: 1, v.name)
        guard v.elementType != 0 || v.shape != nil else { return }
        try w.message(field: 2) { w in                    // TypeProto
            try w.message(field: 1) { w in                // TypeProto.Tensor
                if v.elementType != 0 { w.int64(field: 1, Int64(v.elementType)) }
                guard let shape = v.shape else { return }
                try w.message(field: 2) { w in            // TensorShapeProto
                    for d in shape {
                        try w.message(field: 1) { w in    // Dimension
                            switch d {
                            case .fixed(let n): w.int64(field: 1, Int64(n))
                            case .symbolic(let s) where !s.isEmpty: w.string(field: 2, s)
                            case .symbolic, .unknown: break
                            }
                        }
                    }
                }
            }
        }
    }


    /// Byte-wise (UTF-8) order: the same on every platform and locale.
    static func utf8Less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

// MARK: - Wire format

/// Appends protobuf wire-format fields to a byte buffer. Nested messages are written in place and their
/// length prefix inserted after, so nothing is serialized twice; nesting deeper than `maxDepth` levels
/// (the top-level message is level 1) throws instead of producing a file the decoder would refuse.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []
    let maxDepth: Int
    /// The current message's level; 1 is the top-level message.
    private var depth = 1

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    /// Wire types.
    private static let varintType: UInt64 = 0, lengthDelimited: UInt64 = 2, fixed32Type: UInt64 = 5

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    /// An `int64`, `int32` or enum field: negative values take 10 bytes (sign-extended), as protobuf says.
    mutating func int64(field: Int, _ value: Int64) {
        tag(field: field, wireType: Self.varintType)
        varint(UInt64(bitPattern: value))
    }

    /// A `float` field: fixed32, little-endian bit pattern (NaN payloads kept).
    mutating func float(field: Int, _ value: Float) {
        tag(field: field, wireType: Self.fixed32Type)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift)))
        }
    }

    /// A `bytes` field.
    mutating func bytesField(field: Int, _ value: [UInt8]) {
        tag(field: field, wireType: Self.lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field, as UTF-8.
    mutating func string(field: Int, _ value: String) {
        tag(field: field, wireType: Self.lengthDelimited)
        varint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// A nested message field whose contents `body` appends.
    mutating func message(field: Int, _ body: (inout ProtobufWriter) throws -> Void) throws {
        guard depth < maxDepth else {
            throw RNNRTError(.unsupported, "the model nests messages deeper than \(maxDepth) protobuf levels (subgraphs inside subgraphs), which rnnrt refuses to read back")
        }
        tag(field: field, wireType: Self.lengthDelimited)
        let start = bytes.count
        depth += 1
        defer { depth -= 1 }
        try body(&self)
        let length = UInt64(bytes.count - start)
        var prefix: [UInt8] = []
        var v = length
        while v >= 0x80 {
            prefix.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        prefix.append(UInt8(v))
        bytes.insert(contentsOf: prefix, at: start)
    }
}
