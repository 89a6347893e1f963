import CONNXProto
import Foundation
import RNNRTCore
import RNNRTGraph

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// ONNX model files (`.onnx`, protobuf): decodes one into the plain-Swift `Model` the graph runtime uses.
///
/// The whole file is checked and converted at once; no protobuf type escapes this file, and C memory is
/// freed before `decode` returns. Decoding is strict about the bytes and lenient about annotations:
/// - Before protobuf-c sees the bytes, an iterative scan of the wire format refuses bad wire types,
///   unterminated or truncated varints, lengths that run past their enclosing message and messages
///   nested deeper than `maxNestingDepth` (subgraphs in attributes nest; protobuf-c's unpacker recurses),
///   each as `.malformed` with the byte offset.
/// - Tensors (initializers and attribute tensors) are read from `raw_data` (little-endian), from the
///   typed field their data type uses (`float_data`, `int32_data` (also int16/int8/uint16/uint8/bool and
///   float16/bfloat16 bit patterns, truncated to the element width as onnx's `numpy_helper` does),
///   `int64_data`, `double_data`, `uint64_data` (uint32/uint64)), or from external data: a byte range of
///   a file inside the model's folder. Data types: float, double, float16, bfloat16, int64/32/16/8,
///   uint64/32/16/8, bool; others (string, complex, float8, int4, ...) are `.unsupported`.
/// - Value shapes: `dim_value` → `.fixed` (a negative one, which some exporters write for "dynamic",
///   → `.unknown`), non-empty `dim_param` → `.symbolic`, neither → `.unknown`; no shape → `nil`; a
///   non-tensor type (sequence, map, ...) → element type 0 and no shape.
/// - Node and opset domains `"ai.onnx"` are stored as `""`.
///
/// Errors are `RNNRTError`, with context naming the file, graph, node, attribute or tensor:
/// `.malformed` (not a protobuf, inconsistent tensor sizes, duplicate names, ...), `.unsupported` (a data
/// type, an attribute type or tensor storage rnnrt does not read), `.unsafe` (external data outside the
/// model's folder), `.io` (a file that cannot be read), `.invalidArgument` (external data when `decode`
/// was given no folder).
public enum ONNXModelFile {
    /// Deepest nesting of protobuf messages accepted; `ModelProto` is level 1, its `GraphProto` level 2.
    /// Each level of subgraph (graph → node → attribute → graph) takes three.
    public static let maxNestingDepth = 64

    /// Reads and decodes an ONNX model file; external data is looked up beside it.
    /// - Throws: `RNNRTError` (see the type's documentation), with "reading PATH" as outer context.
    public static func read(contentsOf url: URL) throws -> Model {
        let path = url.path
        return try withContext("reading \(path)") {
            // Decoded where the file lies, mapped (protobuf-c copies what it keeps; the mapping is gone when decoding
            // is). As with a mapped checkpoint, the file must not change while it is read: a file truncated meanwhile
            // faults (SIGBUS), and bytes rewritten between the pre-scan and the unpacker escape the pre-scan.
            guard try FileAccess.modelFileSize(path) > 0 else {
                throw RNNRTError(.malformed, "not an ONNX model: found an empty file")
            }
            let file = try MappedFile(path: path)
            return try withExtendedLifetime(file) {
                try decode(file.bytes.assumingMemoryBound(to: UInt8.self), modelDirectory: url.deletingLastPathComponent())
            }
        }
    }

    /// Decodes the bytes of an ONNX model file.
    /// - Parameters:
    ///   - bytes: the serialized `ModelProto`.
    ///   - modelDirectory: the folder external-data locations are relative to; `nil` makes a model that
    ///     uses external data fail with `.invalidArgument`.
    /// - Throws: `RNNRTError` (see the type's documentation).
    public static func decode(_ bytes: [UInt8], modelDirectory: URL?) throws -> Model {
        try bytes.withUnsafeBufferPointer { try decode($0, modelDirectory: modelDirectory) }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, modelDirectory: URL?) throws -> Model {
        guard !bytes.isEmpty else {
            throw RNNRTError(.malformed, "not an ONNX model: found an empty file")
        }
        try WireScan.check(bytes, maxDepth: maxNestingDepth)
        let unpacked = onnx__model_proto__unpack(nil, bytes.count, bytes.baseAddress)
        guard let proto = unpacked else {
            throw RNNRTError(.malformed, "not a valid ONNX protobuf: protobuf-c could not unpack a ModelProto from the \(bytes.count) bytes")
        }
        defer { onnx__model_proto__free_unpacked(proto, nil) }
        return try Converter(modelDirectory: modelDirectory).model(proto.pointee)
    }
}

// MARK: - Wire-format pre-scan

/// The nested-message fields of the subset schema, read from protobuf-c's generated descriptors: exactly
/// the fields protobuf-c's unpacker recurses into.
private struct WireSchema: Sendable {
    struct Child: Sendable {
        var fieldName: String
        var message: Int
    }
    struct Message: Sendable {
        var name: String
        var children: [UInt32: Child]
    }
    /// Index 0 is `ModelProto`.
    var messages: [Message]

    static let onnx = WireSchema(root: onnx__model_proto__descriptor)

    private init(root: ProtobufCMessageDescriptor) {
        var messages: [Message] = []
        var index: [String: Int] = [:]
        var pending: [ProtobufCMessageDescriptor] = []
        func register(_ d: ProtobufCMessageDescriptor) -> Int {
            let fullName = d.name.map { String(cString: $0) } ?? "?"
            if let i = index[fullName] { return i }
            index[fullName] = messages.count
            messages.append(Message(name: d.short_name.map { String(cString: $0) } ?? fullName, children: [:]))
            pending.append(d)
            return messages.count - 1
        }
        _ = register(root)
        var next = 0
        while next < pending.count {
            let d = pending[next]
            next += 1
            guard let fields = d.fields else { continue }
            for f in UnsafeBufferPointer(start: fields, count: Int(d.n_fields))
            where f.type == PROTOBUF_C_TYPE_MESSAGE {
                guard let sub = f.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self) else { continue }
                let child = register(sub.pointee)
                let parent = next - 1
                messages[parent].children[f.id] = Child(fieldName: f.name.map { String(cString: $0) } ?? "?",
                                                        message: child)
            }
        }
        self.messages = messages
    }
}

/// Iterative (explicit-stack) walk over the protobuf wire format of a `ModelProto`.
private enum WireScan {
    private static let prefix = "not a valid ONNX protobuf"

    /// Checks framing and nesting; throws `.malformed` naming the byte offset of the first problem.
    static func check(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws {
        let schema = WireSchema.onnx
        struct Frame {
            var message: Int
            var end: Int
        }
        var stack = [Frame(message: 0, end: bytes.count)]
        var pos = 0

        func enclosing(_ frame: Frame) -> String {
            stack.count == 1 ? "the end of the file (byte \(frame.end))"
                : "the end of the enclosing \(schema.messages[frame.message].name) (byte \(frame.end))"
        }
        func varint(_ frame: Frame, what: @autoclosure () -> String) throws -> UInt64 {
            let start = pos
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard pos < frame.end else {
                    throw RNNRTError(.malformed, "\(prefix): \(what()) at byte \(start) is cut off by \(enclosing(frame))")
                }
                guard pos - start < 10 else {
                    throw RNNRTError(.malformed, "\(prefix): \(what()) at byte \(start) is longer than 10 bytes")
                }
                let byte = bytes[pos]
                pos += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }

        while let frame = stack.last {
            if pos >= frame.end {
                stack.removeLast()
                continue
            }
            let tagStart = pos
            let message = schema.messages[frame.message]
            let tag = try varint(frame, what: "the varint tag")
            let fieldNumber = tag >> 3
            let wireType = tag & 7
            guard fieldNumber >= 1, fieldNumber <= 0x1FFF_FFFF else {
                throw RNNRTError(.malformed, "\(prefix): field number \(fieldNumber) at byte \(tagStart) (in \(message.name)) is outside 1...536870911")
            }
            let child = message.children[UInt32(fieldNumber)]
            // Named only for an error message (not built for every field).
            var fieldLabel: String {
                child.map { "field \(fieldNumber) (\(message.name).\($0.fieldName))" } ?? "field \(fieldNumber) of \(message.name)"
            }
            if child != nil && wireType != 2 {
                throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has wire type \(wireType), expected 2 (a nested message)")
            }
            switch wireType {
            case 0:
                _ = try varint(frame, what: "the varint value of \(fieldLabel)")
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard frame.end - pos >= size else {
                    throw RNNRTError(.malformed, "\(prefix): the \(size)-byte value of \(fieldLabel) at byte \(tagStart) runs past \(enclosing(frame))")
                }
                pos += size
            case 2:
                let lengthStart = pos
                let length = try varint(frame, what: "the varint length of \(fieldLabel)")
                guard length <= UInt64(frame.end - pos) else {
                    throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has length \(length) (at byte \(lengthStart)), which runs past \(enclosing(frame))")
                }
                let end = pos + Int(length)
                if let child {
                    guard stack.count < maxDepth else {
                        throw RNNRTError(.malformed, "\(prefix): messages nested deeper than \(maxDepth) levels at byte \(tagStart) (\(schema.messages[child.message].name) in \(message.name).\(child.fieldName))")
                    }
                    stack.append(Frame(message: child.message, end: end))
                } else {
                    pos = end
                }
            case 3, 4:
                throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has wire type \(wireType) (a group), which ONNX never writes")
            default:
                throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has wire type \(wireType), which protobuf does not define")
            }
        }
    }
}

// MARK: - Conversion to Swift values

/// Turns the unpacked protobuf-c structs into `Model` values; every list is bounded by what protobuf-c
/// allocated, so nothing here allocates more than the input's size warrants.
private struct Converter {
    let modelDirectory: URL?

    func model(_ m: Onnx__ModelProto) throws -> Model {
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
        return Model(irVersion: m.has_ir_version != 0 ? m.ir_version : 0, opsetImports: opsets,
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
        var nodes: [Node] = []
        for (index, n) in pointers(g.node, g.n_node).enumerated() {
            let label = nodeLabel(n.pointee, index: index)
            nodes.append(try withContext("reading \(label)") { try node(n.pointee) })
        }
        func values(_ list: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__ValueInfoProto>?>?,
                    _ count: Int) -> [ValueInfo] {
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

    func node(_ n: Onnx__NodeProto) throws -> Node {
        var attributes: [String: Attribute] = [:]
        for a in pointers(n.attribute, n.n_attribute) {
            let name = string(a.pointee.name)
            let value = try withContext("reading attribute '\(name)'") { try attribute(a.pointee, name: name) }
            guard attributes.updateValue(value, forKey: name) == nil else {
                throw RNNRTError(.malformed, "the node has two attributes named '\(name)'")
            }
        }
        return Node(name: string(n.name), opType: string(n.op_type), domain: normalizedDomain(string(n.domain)),
                    inputs: strings(n.input, n.n_input), outputs: strings(n.output, n.n_output),
                    attributes: attributes)
    }

    private static let attributeTypeNames = [
        0: "UNDEFINED", 1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH", 6: "FLOATS", 7: "INTS",
        8: "STRINGS", 9: "TENSORS", 10: "GRAPHS", 11: "SPARSE_TENSOR", 12: "SPARSE_TENSORS", 13: "TYPE_PROTO",
        14: "TYPE_PROTOS",
    ]

    func attribute(_ a: Onnx__AttributeProto, name: String) throws -> Attribute {
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

    func valueInfo(_ v: Onnx__ValueInfoProto) -> ValueInfo {
        let name = string(v.name)
        guard let type = v.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
              let tensorType = type.pointee.tensor_type else {
            return ValueInfo(name: name)
        }
        let elementType = tensorType.pointee.has_elem_type != 0 ? tensorType.pointee.elem_type : 0
        guard let shape = tensorType.pointee.shape else {
            return ValueInfo(name: name, elementType: elementType, shape: nil)
        }
        let dims: [RNNRTGraph.Dimension] = pointers(shape.pointee.dim, shape.pointee.n_dim).map { d in
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
        return ValueInfo(name: name, elementType: elementType, shape: dims)
    }

    // MARK: Tensors

    private static let dataTypeNames = [
        0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
        8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
        15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
        20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1", 24: "FLOAT8E8M0", 25: "UINT2",
        26: "INT2", 27: "FLOAT6E2M3", 28: "FLOAT6E3M2",
    ]

    private static let dtypes: [Int32: DType] = [
        1: .float32, 2: .uint8, 3: .int8, 4: .uint16, 5: .int16, 6: .int32, 7: .int64, 9: .bool,
        10: .float16, 11: .float64, 12: .uint32, 13: .uint64, 16: .bfloat16,
    ]

    /// The typed field each supported data type is stored in when there is no raw_data.
    private enum TypedField: String {
        case float_data, int32_data, int64_data, double_data, uint64_data
    }

    private static func typedField(for dtype: DType) -> TypedField {
        switch dtype {
        case .float32, .complex64: return .float_data
        case .float64, .complex128: return .double_data
        case .int64: return .int64_data
        case .uint32, .uint64: return .uint64_data
        case .float16, .bfloat16, .int32, .int16, .int8, .uint16, .uint8, .bool: return .int32_data
        }
    }

    func tensor(_ t: Onnx__TensorProto) throws -> StoredTensor {
        let name = string(t.name)
        let label = name.isEmpty ? "unnamed tensor" : "tensor '\(name)'"
        let rawDims = elements(t.dims, t.n_dims)
        let dimsText = "[\(rawDims.map(String.init).joined(separator: ", "))]"
        var shape: [Int] = []
        shape.reserveCapacity(rawDims.count)
        for d in rawDims {
            guard d >= 0, let n = Int(exactly: d) else {
                throw RNNRTError(.malformed, "\(label) has a negative dimension in dims \(dimsText)")
            }
            shape.append(n)
        }
        let code = t.has_data_type != 0 ? t.data_type : 0
        guard let dtype = Self.dtypes[code] else {
            if code == 0 {
                throw RNNRTError(.malformed, "\(label) has no data type (data_type is UNDEFINED)")
            }
            let typeName = Self.dataTypeNames[Int(code)].map { "\($0) (\(code))" } ?? "\(code), unknown to onnx 1.23,"
            throw RNNRTError(.unsupported, "\(label) has data type \(typeName), which rnnrt does not read")
        }
        if t.segment != nil {
            throw RNNRTError(.unsupported, "\(label) is stored in segments (TensorProto.segment), which rnnrt does not read")
        }
        guard let count = shape.checkedElementCount() else {
            throw RNNRTError(.malformed, "\(label) has shape \(dimsText), more elements than fit in 64 bits")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw RNNRTError(.malformed, "\(label) has shape \(dimsText), more bytes than fit in 64 bits")
        }
        let what = "\(label) (\(dtype.rawValue), shape \(dimsText)) needs \(needed) bytes"

        // Which storage the file uses: exactly one of external data, raw_data and the typed fields.
        let typedCounts: [(TypedField, Int)] = [
            (.float_data, t.n_float_data), (.int32_data, t.n_int32_data), (.int64_data, t.n_int64_data),
            (.double_data, t.n_double_data), (.uint64_data, t.n_uint64_data),
        ].filter { $0.1 > 0 }
        let location = t.has_data_location != 0 ? Int(t.data_location.rawValue) : 0
        guard location == 0 || location == 1 else {
            throw RNNRTError(.malformed, "\(label) has data_location \(location), expected 0 (DEFAULT) or 1 (EXTERNAL)")
        }
        let isExternal = location == 1
        var sources = typedCounts.map(\.0.rawValue)
        if t.has_raw_data != 0 { sources.insert("raw_data", at: 0) }
        if isExternal { sources.insert("external data", at: 0) }
        guard sources.count <= 1 else {
            throw RNNRTError(.malformed, "\(label) stores its data in more than one place (\(sources.joined(separator: ", ")))")
        }

        let bytes: [UInt8]
        if isExternal {
            bytes = try externalBytes(t, label: label, what: what, needed: needed, dtype: dtype)
        } else if t.has_raw_data != 0 {
            guard t.raw_data.len == needed else {
                throw RNNRTError(.malformed, "\(what), found \(t.raw_data.len) bytes in raw_data")
            }
            #if _endian(little)
            if dtype == .float32, let data = t.raw_data.data {
                // Straight into floats (one copy), which binding then shares.
                let floats = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    if count > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: data, byteCount: needed) }
                    initialized = count
                }
                return try StoredTensor(shape: shape, floats: floats)
            }
            #endif
            bytes = ONNXModelFile.hostOrder(elements(t.raw_data.data, t.raw_data.len), elementSize: dtype.byteSize)
        } else {
            let field = Self.typedField(for: dtype)
            if let other = typedCounts.first, other.0 != field {
                throw RNNRTError(.malformed, "\(label) (\(dtype.rawValue)) stores its values in \(other.0.rawValue), expected \(field.rawValue)")
            }
            let values = typedCounts.first?.1 ?? 0
            let (found, foundOverflow) = values.multipliedReportingOverflow(by: dtype.byteSize)
            guard !foundOverflow, found == needed else {
                throw RNNRTError(.malformed, "\(what), found \(foundOverflow ? "more than 2^63" : String(found)) bytes (\(values) \(field.rawValue) values)")
            }
            bytes = Self.typedBytes(t, dtype: dtype)
        }
        return try StoredTensor(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// The typed-field values as host-order bytes of `dtype`; the counts were checked by the caller.
    private static func typedBytes(_ t: Onnx__TensorProto, dtype: DType) -> [UInt8] {
        func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        let int32s = { elements(t.int32_data, t.n_int32_data) }
        switch dtype {
        case .float32, .complex64: return bytes(elements(t.float_data, t.n_float_data))
        case .float64, .complex128: return bytes(elements(t.double_data, t.n_double_data))
        case .int64: return bytes(elements(t.int64_data, t.n_int64_data))
        case .uint64: return bytes(elements(t.uint64_data, t.n_uint64_data))
        case .uint32: return bytes(elements(t.uint64_data, t.n_uint64_data).map { UInt32(truncatingIfNeeded: $0) })
        case .int32: return bytes(int32s())
        case .int16: return bytes(int32s().map { Int16(truncatingIfNeeded: $0) })
        case .uint16, .float16, .bfloat16: return bytes(int32s().map { UInt16(truncatingIfNeeded: $0) })
        case .int8: return bytes(int32s().map { Int8(truncatingIfNeeded: $0) })
        case .uint8: return bytes(int32s().map { UInt8(truncatingIfNeeded: $0) })
        case .bool: return int32s().map { $0 != 0 ? 1 : 0 }
        }
    }


    // MARK: External data

    private func externalBytes(_ t: Onnx__TensorProto, label: String, what: String, needed: Int,
                               dtype: DType) throws -> [UInt8] {
        var entries: [String: String] = [:]
        for e in pointers(t.external_data, t.n_external_data) {
            let key = string(e.pointee.key)
            guard entries.updateValue(string(e.pointee.value), forKey: key) == nil else {
                throw RNNRTError(.malformed, "\(label) lists the external_data key '\(key)' twice")
            }
        }
        guard let location = entries["location"], !location.isEmpty else {
            throw RNNRTError(.malformed, "\(label) has data_location EXTERNAL but no 'location' in external_data")
        }
        func number(_ key: String) throws -> Int? {
            guard let text = entries[key] else { return nil }
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                throw RNNRTError(.malformed, "\(label): external_data '\(key)' must be a non-negative decimal integer, found '\(text)'")
            }
            return n
        }
        let offset = try number("offset") ?? 0
        let declaredLength = try number("length")

        // The location must stay inside the model's folder, before and after resolving symlinks.
        let head = Array(location.utf8.prefix(2))
        let drive = head.count == 2 && head[1] == UInt8(ascii: ":")
            && ((head[0] | 0x20) >= UInt8(ascii: "a") && (head[0] | 0x20) <= UInt8(ascii: "z"))
        if location.hasPrefix("/") || location.hasPrefix("\\") || drive {
            throw RNNRTError(.unsafe, "\(label): external data location '\(location)' is an absolute path; it must be relative to the model's folder")
        }
        let components = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        if components.contains("..") {
            throw RNNRTError(.unsafe, "\(label): external data location '\(location)' has a '..' component; it must stay inside the model's folder")
        }
        guard let modelDirectory else {
            throw RNNRTError(.invalidArgument, "\(label) keeps its data in the external file '\(location)', and no model folder was given to find it in")
        }
        let directoryPath = modelDirectory.path
        let path = directoryPath + "/" + location
        let resolvedDirectory = try FileAccess.realPath(directoryPath, role: "the model's folder")
        let resolved = try FileAccess.realPath(path, role: "external data file of \(label)")
        let inside = resolvedDirectory == "/" ? resolved.hasPrefix("/") : resolved.hasPrefix(resolvedDirectory + "/")
        guard inside else {
            throw RNNRTError(.unsafe, "\(label): external data location '\(location)' resolves to \(resolved), outside the model's folder \(resolvedDirectory)")
        }
        let size = try FileAccess.regularFileSize(resolved, role: "external data file of \(label)")
        guard offset <= size else {
            throw RNNRTError(.malformed, "\(label): external data offset \(offset) is past the end of '\(location)' (\(size) bytes)")
        }
        let length = declaredLength ?? (size - offset)
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= size else {
            throw RNNRTError(.malformed, "\(label): external data (offset \(offset), length \(length)) runs past the end of '\(location)' (\(size) bytes)")
        }
        guard length == needed else {
            throw RNNRTError(.malformed, "\(what), found \(length) bytes of external data in '\(location)' (offset \(offset))")
        }
        let data = try FileAccess.read(resolved, offset: offset, length: length)
        return ONNXModelFile.hostOrder(data, elementSize: dtype.byteSize)
    }
}

// MARK: - Files

/// File-system access for the decoder, each failure an `RNNRTError` naming the path.
private enum FileAccess {
    /// The size of the model file at `path`, which must be a regular file.
    static func modelFileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            throw RNNRTError(.io, code == ENOENT || code == ENOTDIR ? "no such file: \(path)"
                : "cannot open \(path): \(String(cString: strerror(code)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw RNNRTError(.io, (info.st_mode & S_IFMT) == S_IFDIR ? "\(path) is a folder, not a file" : "\(path) is not a regular file")
        }
        return Int(info.st_size)
    }

    /// The canonical absolute path (symlinks, `.` and `..` resolved); the file must exist.
    static func realPath(_ path: String, role: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            let code = errno
            throw RNNRTError(.io, code == ENOENT || code == ENOTDIR ? "no such file: \(path) (\(role))"
                : "cannot open \(path) (\(role)): \(String(cString: strerror(code)))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The size of a regular file; FIFOs, devices and folders are refused.
    static func regularFileSize(_ path: String, role: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw RNNRTError(.io, "cannot open \(path) (\(role)): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw RNNRTError(.io, "\(path) (\(role)) is not a regular file")
        }
        return Int(info.st_size)
    }

    /// Exactly `length` bytes starting at `offset`.
    static func read(_ path: String, offset: Int, length: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RNNRTError(.io, "cannot open \(path)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            try handle.seek(toOffset: UInt64(offset))
            data = try handle.read(upToCount: length) ?? Data()
        } catch {
            throw RNNRTError(.io, "cannot read \(length) bytes at offset \(offset) of \(path): \((error as NSError).localizedDescription)")
        }
        guard data.count == length else {
            throw RNNRTError(.io, "read \(data.count) of \(length) bytes at offset \(offset) of \(path): the file shrank while reading")
        }
        return [UInt8](data)
    }
}

// MARK: - protobuf-c values

/// A C string as Swift text; invalid UTF-8 is repaired, NULL is `""`.
private func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
    p.map { String(cString: $0) } ?? ""
}

/// protobuf `bytes` as text, decoded as UTF-8 with invalid sequences replaced.
private func text(_ b: ProtobufCBinaryData) -> String {
    String(decoding: elements(b.data, b.len), as: UTF8.self)
}

private func elements<T>(_ base: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
    guard count > 0, let base else { return [] }
    return Array(UnsafeBufferPointer(start: base, count: count))
}

private func pointers<T>(_ base: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: Int) -> [UnsafeMutablePointer<T>] {
    elements(base, count).compactMap { $0 }
}

private func strings(_ base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int) -> [String] {
    elements(base, count).map(string)
}

private func normalizedDomain(_ domain: String) -> String {
    domain == "ai.onnx" ? "" : domain
}

extension ONNXModelFile {
    /// Little-endian file bytes in host order, or host-order bytes as little-endian: the same swap either
    /// way (a no-op on little-endian hosts). Used by the decoder and the encoder.
    static func hostOrder(_ bytes: [UInt8], elementSize: Int) -> [UInt8] {
        #if _endian(big)
        guard elementSize > 1 else { return bytes }
        var out = bytes
        var i = 0
        while i + elementSize <= out.count {
            out[i..<(i + elementSize)].reverse()
            i += elementSize
        }
        return out
        #else
        return bytes
        #endif
    }
}
