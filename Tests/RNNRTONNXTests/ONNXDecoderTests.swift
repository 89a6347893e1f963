import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
import RNNRTGraph
import RNNRTCheckpoints
import RNNRTCore

// Fixtures: tools/fixtures/make_onnx_decoder_fixtures.py (onnx 1.23.2). Expected tensors are what
// onnx.numpy_helper.to_array reads, saved as .npy (bfloat16 as uint16 bit patterns); compared byte for byte.

private func loadModel(_ folder: String) throws -> GraphModel {
    try ONNXModelFile.read(contentsOf: Fixture.url("onnx/decoder/\(folder)/model.onnx"))
}

private func expectedTensor(_ folder: String, _ name: String) throws -> StoredTensor {
    try NPY.read(contentsOf: Fixture.url("onnx/decoder/\(folder)/expected/\(name).npy"))
}

private func expectSame(_ actual: StoredTensor?, _ expected: StoredTensor, _ dtype: DType, _ what: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(what): missing", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.dtype == dtype, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.shape == expected.shape, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.bytes == expected.bytes, "\(what)", sourceLocation: sourceLocation)
}

extension GraphAttribute {
    var floatValue: Float? { if case .float(let v) = self { return v }; return nil }
    var intValue: Int64? { if case .int(let v) = self { return v }; return nil }
    var stringValue: String? { if case .string(let v) = self { return v }; return nil }
    var tensorValue: StoredTensor? { if case .tensor(let v) = self { return v }; return nil }
    var graphValue: Graph? { if case .graph(let v) = self { return v }; return nil }
    var floatsValue: [Float]? { if case .floats(let v) = self { return v }; return nil }
    var intsValue: [Int64]? { if case .ints(let v) = self { return v }; return nil }
    var stringsValue: [String]? { if case .strings(let v) = self { return v }; return nil }
    var tensorsValue: [StoredTensor]? { if case .tensors(let v) = self { return v }; return nil }
    var graphsValue: [Graph]? { if case .graphs(let v) = self { return v }; return nil }
}

/// Well-formed models from the onnx package decode to the values onnx itself reads.
@Suite struct ONNXDecoderTests {
    /// Initializer names in file order and their dtypes (the script's ARRAYS).
    static let dtypes: [(String, DType)] = [
        ("f32", .float32), ("f64", .float64), ("f16", .float16), ("bf16", .bfloat16), ("i64", .int64),
        ("i32", .int32), ("i16", .int16), ("i8", .int8), ("u64", .uint64), ("u32", .uint32), ("u16", .uint16),
        ("u8", .uint8), ("bool", .bool), ("scalar", .float32), ("empty", .float32),
    ]

    @Test(arguments: ["raw_data", "typed_fields"])
    func everyDTypeReadsExactly(_ folder: String) throws {
        let graph = try loadModel(folder).graph
        #expect(graph.initializerNames == Self.dtypes.map(\.0))
        for (name, dtype) in Self.dtypes {
            expectSame(graph.initializers[name], try expectedTensor(folder, name), dtype, "\(folder) \(name)")
        }
        #expect(graph.initializers["scalar"]?.shape == [])
        #expect(graph.initializers["empty"]?.shape == [0, 3])
    }

    @Test func lstmNodeWithEveryAttributeKind() throws {
        let model = try loadModel("lstm_attributes")
        #expect(model.irVersion == 10)
        #expect(model.opset == 22)
        #expect(model.opsetImports == ["": 22, "test.rnnrt": 1])
        #expect(model.producerName == "make_onnx_decoder_fixtures")
        #expect(model.producerVersion == "1")
        let graph = model.graph
        #expect(graph.name == "lstm_graph")
        for name in ["W", "R", "B"] {
            expectSame(graph.initializers[name], try expectedTensor("lstm_attributes", name), .float32, name)
        }
        #expect(graph.inputs == [GraphValueInfo(name: "X", elementType: 1, shape: [.symbolic("seq"), .fixed(1), .fixed(2)])])
        #expect(graph.outputs.map(\.name) == ["Y", "Y_h", "Y_c", "Z"])
        #expect(graph.outputs.last == GraphValueInfo(name: "Z", elementType: 1, shape: nil))
        #expect(graph.nodes.count == 2)

        let lstm = graph.nodes[0]
        #expect(lstm.opType == "LSTM")
        #expect(lstm.name == "lstm_1")
        #expect(lstm.domain == "")
        #expect(lstm.inputs == ["X", "W", "R", "B", "", ""])
        #expect(lstm.outputs == ["Y", "Y_h", "Y_c"])
        #expect(lstm.attributes.count == 8)
        #expect(lstm.attributes["hidden_size"]?.intValue == 3)
        #expect(lstm.attributes["direction"]?.stringValue == "forward")
        #expect(lstm.attributes["activations"]?.stringsValue == ["Sigmoid", "Tanh", "Tanh"])
        #expect(lstm.attributes["activation_alpha"]?.floatsValue == [0.5, 1.0, 2.0])
        #expect(lstm.attributes["activation_beta"]?.floatsValue == [0.25, 0.0, -1.0])
        #expect(lstm.attributes["clip"]?.floatValue == 10)
        #expect(lstm.attributes["layout"]?.intValue == 0)
        #expect(lstm.attributes["input_forget"]?.intValue == 0)

        let kinds = graph.nodes[1]
        #expect(kinds.label == "AllKinds node 'all_kinds'")
        #expect(kinds.domain == "test.rnnrt")
        let a = kinds.attributes
        #expect(a.count == 14)
        #expect(a["f"]?.floatValue == 0.25)
        #expect(a["i"]?.intValue == -7)
        #expect(a["s"]?.stringValue == "forward ü")
        expectSame(a["t"]?.tensorValue, try expectedTensor("lstm_attributes", "attr_t"), .int64, "t")
        #expect(a["floats"]?.floatsValue == [1.0, -2.5, 3.0e-3])
        #expect(a["ints"]?.intsValue == [0, -1, 1 << 40])
        #expect(a["strings"]?.stringsValue == ["Sigmoid", "", "ünï"])
        let tensors = try #require(a["tensors"]?.tensorsValue)
        #expect(tensors.count == 2)
        if tensors.count == 2 {
            expectSame(tensors[0], try expectedTensor("lstm_attributes", "list_t0"), .float32, "tensors[0]")
            expectSame(tensors[1], try expectedTensor("lstm_attributes", "list_t1"), .int32, "tensors[1]")
        }
        let g = try #require(a["g"]?.graphValue)
        #expect(g.name == "g_graph")
        #expect(g.nodes.map(\.opType) == ["Constant"])
        #expect(g.nodes.first?.attributes["value"]?.tensorValue?.bytes == Array(Float(1).bitPattern.littleEndianBytes))
        let graphs = try #require(a["graphs"]?.graphsValue)
        #expect(graphs.map(\.name) == ["g0", "g1"])
        #expect(graphs.map { $0.nodes.first?.attributes["value"]?.tensorValue?.bytes ?? [] }
                == [Float(2), Float(3)].map { Array($0.bitPattern.littleEndianBytes) })
        #expect(a["empty_ints"]?.intsValue == [])
        #expect(a["empty_strings"]?.stringsValue == [])
        #expect(a["bad_utf8"]?.stringValue == "a\u{FFFD}b")
        #expect(a["untyped_i"]?.intValue == 42)
    }

    @Test func externalDataIsReadFromTheSideFile() throws {
        let graph = try loadModel("external_data").graph
        for name in ["W", "R", "B"] {
            expectSame(graph.initializers[name], try expectedTensor("external_data", name), .float32, name)
        }
        #expect(graph.initializers["W"]?.shape == [1, 16, 3])
        // Without a folder to look in, external data cannot be found.
        let bytes = [UInt8](try Data(contentsOf: Fixture.url("onnx/decoder/external_data/model.onnx")))
        let error = expectRNNRTError(.invalidArgument, containing: ["external file 'weights.bin'"]) {
            try ONNXModelFile.decode(bytes, modelDirectory: nil)
        }
        #expect(error?.context.first == "reading initializer 'W'")
    }

    @Test func constantNodeKeepsItsTensorAttribute() throws {
        let node = try #require(try loadModel("constant_node").graph.nodes.first)
        #expect(node.opType == "Constant")
        #expect(node.inputs == [])
        expectSame(node.attributes["value"]?.tensorValue, try expectedTensor("constant_node", "const_value"),
                   .float32, "value")
    }

    @Test func subgraphsAreConvertedWithTheirOwnInitializersAndNodes() throws {
        let model = try loadModel("subgraphs")
        #expect(model.opset == 21)
        let loop = try #require(model.graph.nodes.first)
        #expect(loop.label == "Loop node 'loop'")
        let body = try #require(loop.attributes["body"]?.graphValue)
        #expect(body.name == "loop_body")
        #expect(body.nodes.map(\.label) == ["Identity node 'body_cond'", "Add node 'body_add'"])
        #expect(body.inputs.map(\.name) == ["iter", "cond_in", "v_in"])
        #expect(body.inputs.first == GraphValueInfo(name: "iter", elementType: 7, shape: []))
        #expect(body.outputs.map(\.name) == ["cond_out", "v_out"])
        #expect(body.initializerNames == ["step"])
        expectSame(body.initializers["step"], try expectedTensor("subgraphs", "step"), .float32, "step")

        let iff = try #require(model.graph.nodes.last)
        #expect(iff.attributes["then_branch"]?.graphValue?.name == "then_graph")
        #expect(iff.attributes["else_branch"]?.graphValue?.nodes.first?.attributes["value"]?.tensorValue?.bytes
                == Array(Float(-1).bitPattern.littleEndianBytes))
        #expect(model.graph.initializers["cond"]?.dtype == .bool)
        #expect(model.graph.initializers["cond"]?.bytes == [1])
        #expect(model.graph.initializers["trip"]?.shape == [])
    }

    @Test func ir3GraphInputsListTheInitializers() throws {
        let model = try loadModel("ir3_initializer_inputs")
        #expect(model.irVersion == 3)
        #expect(model.opset == 8)
        #expect(model.graph.inputs.map(\.name) == ["x", "w"])
        #expect(model.graph.runtimeInputs.map(\.name) == ["x"])
        expectSame(model.graph.initializers["w"], try expectedTensor("ir3_initializer_inputs", "w"), .float32, "w")
    }

    @Test func valueInfoShapesAndModelMetadata() throws {
        let model = try loadModel("symbolic_shapes")
        #expect(model.producerName == "rnnrt-tests")
        #expect(model.producerVersion == "0.1 ü")
        #expect(model.opsetImports == ["": 22, "ai.onnx.ml": 5])
        #expect(model.metadata.map(\.key) == ["author", "note"])
        #expect(model.metadata.map(\.value) == ["rnnrt", "ünïcode = ok"])
        let graph = model.graph
        #expect(graph.nodes.first?.domain == "")  // written as "ai.onnx"
        #expect(graph.nodes.first?.label == "Relu node 'Y'")
        #expect(graph.inputs == [
            GraphValueInfo(name: "X", elementType: 1, shape: [.symbolic("seq"), .fixed(2), .fixed(4)]),
            GraphValueInfo(name: "lengths", elementType: 6, shape: [.unknown, .symbolic("batch")]),
        ])
        #expect(graph.outputs == [GraphValueInfo(name: "Y", elementType: 10, shape: nil)])
        #expect(graph.valueInfo == [
            GraphValueInfo(name: "hidden", elementType: 1, shape: [.symbolic("seq"), .symbolic("batch"), .fixed(8)]),
            GraphValueInfo(name: "scalar", elementType: 11, shape: []),
            GraphValueInfo(name: "seq_value", elementType: 0, shape: nil),  // a sequence type: not a tensor
        ])
        #expect(graph.inputs[1].shape?.map(\.description) == ["?", "batch"])
    }
}

/// Corrupt and hostile files fail with the right kind and a message naming what was expected and found.
@Suite struct MalformedONNXTests {
    static let cases: [(String, RNNRTError.Kind, String)] = [
        ("empty.onnx", .malformed, "found an empty file"),
        ("random_bytes.onnx", .malformed, "not a valid ONNX protobuf: field 179664 of ModelProto at byte 0 has wire type 6"),
        ("truncated.onnx", .malformed, "runs past the end of the file"),
        ("endless_varint.onnx", .malformed, "the varint value of field 1 of ModelProto at byte 1 is longer than 10 bytes"),
        ("length_past_end.onnx", .malformed, "field 7 (ModelProto.graph) at byte 2 has length 100 (at byte 3), which runs past the end of the file (byte 14)"),
        ("deep_subgraphs.onnx", .malformed, "messages nested deeper than 64 levels"),
        ("raw_data_short.onnx", .malformed, "tensor 'W' (float32, shape [2, 3]) needs 24 bytes, found 20 bytes in raw_data"),
        ("string_initializer.onnx", .unsupported, "tensor 'names' has data type STRING (8)"),
        ("negative_dim.onnx", .malformed, "tensor 'W' has a negative dimension in dims [-1, 2]"),
        ("external_dotdot", .unsafe, "'../../etc/passwd' has a '..' component"),
        ("external_absolute", .unsafe, "'/etc/passwd' is an absolute path"),
        ("external_past_end", .malformed, "external data (offset 16, length 24) runs past the end of 'weights.bin' (32 bytes)"),
        ("external_missing", .io, "no such file"),
    ]

    private static func url(_ name: String) -> URL {
        let url = Fixture.url("malformed/onnx/\(name)")
        return name.hasSuffix(".onnx") ? url : url.appendingPathComponent("model.onnx")
    }

    @Test(arguments: cases)
    func failsClearly(_ name: String, _ kind: RNNRTError.Kind, _ phrase: String) {
        let url = Self.url(name)
        let error = expectRNNRTError(kind, containing: [phrase]) { try ONNXModelFile.read(contentsOf: url) }
        #expect(error?.context.last == "reading \(url.path)", "\(name): \(String(describing: error))")
    }

    @Test func tensorErrorsNameTheInitializer() {
        let error = #expect(throws: RNNRTError.self) { try ONNXModelFile.read(contentsOf: Self.url("external_missing")) }
        #expect(error?.context.first == "reading initializer 'W'")
        #expect(error?.context.dropFirst().first == "reading graph 'external'")
        #expect(error?.message.contains("external data file of tensor 'W'") == true)
    }

    @Test func everyMalformedFixtureIsListed() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixture.url("malformed/onnx").path)
        #expect(Set(names) == Set(Self.cases.map(\.0) + ["unknown_ops.onnx"]))
    }

    /// Random byte edits of a valid model either decode or throw `RNNRTError`; never crash.
    @Test func mutatedModelsNeverCrash() throws {
        let good = [UInt8](try Data(contentsOf: Fixture.url("onnx/decoder/lstm_attributes/model.onnx")))
        var rng = SeededGenerator(seed: 11)
        let interesting: [UInt8] = [0x00, 0x01, 0x02, 0x05, 0x07, 0x08, 0x0A, 0x12, 0x3A, 0x7F, 0x80, 0xFF]
        var decoded = 0, refused = 0
        let iterations = 3000
        for _ in 0..<iterations {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[i] = interesting.randomElement(using: &rng) ?? 0
                case 1: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                default: bytes.remove(at: i)
                }
            }
            if Int.random(in: 0..<4, using: &rng) == 0 {
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            }
            do {
                _ = try ONNXModelFile.decode(bytes, modelDirectory: nil)
                decoded += 1
            } catch is RNNRTError {
                refused += 1
            }
        }
        #expect(decoded + refused == iterations)
        #expect(refused > iterations / 2)
    }
}

// MARK: - Hand-built protobuf

/// Just enough of a protobuf writer to build the cases the onnx package will not write.
private enum PB {
    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }
    static func tag(_ field: Int, _ wire: Int) -> [UInt8] { varint(UInt64(field << 3 | wire)) }
    static func int(_ field: Int, _ value: Int64) -> [UInt8] { tag(field, 0) + varint(UInt64(bitPattern: value)) }
    static func message(_ field: Int, _ payload: [UInt8]) -> [UInt8] { tag(field, 2) + varint(UInt64(payload.count)) + payload }
    static func string(_ field: Int, _ text: String) -> [UInt8] { message(field, Array(text.utf8)) }
    static func float(_ field: Int, _ value: Float) -> [UInt8] { tag(field, 5) + Array(value.bitPattern.littleEndianBytes) }

    /// A ModelProto (IR 10, opset 22) around graph contents.
    static func model(_ graph: [UInt8]) -> [UInt8] {
        int(1, 10) + message(8, string(1, "") + int(2, 22)) + message(7, string(2, "g") + graph)
    }
    /// A GraphProto initializer field around tensor contents.
    static func initializer(_ name: String, type: Int64, dims: [Int64], _ rest: [UInt8]) -> [UInt8] {
        message(5, dims.flatMap { int(1, $0) } + int(2, type) + string(8, name) + rest)
    }
    /// A GraphProto node field with one attribute.
    static func node(_ attribute: [UInt8]) -> [UInt8] {
        message(1, string(1, "x") + string(2, "y") + string(3, "n") + string(4, "Op") + message(5, attribute))
    }
}

extension FixedWidthInteger {
    var littleEndianBytes: [UInt8] { withUnsafeBytes(of: littleEndian) { Array($0) } }
}

private func decodeFails(_ bytes: [UInt8], _ kind: RNNRTError.Kind, _ phrase: String, directory: URL? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    expectRNNRTError(kind, containing: [phrase], sourceLocation: sourceLocation) {
        try ONNXModelFile.decode(bytes, modelDirectory: directory)
    }
}

/// What the wire-format pre-scan and the conversion accept and refuse, on bytes built in memory.
@Suite struct ONNXWireFormatTests {
    @Test func packedAndUnpackedRepeatedScalarsBothDecode() throws {
        // dims packed (onnx writes them unpacked), float_data unpacked (onnx writes it packed).
        let packedDims = PB.message(1, PB.varint(2) + PB.varint(1))
        let unpackedFloats = [Float(1.5), -2].flatMap { PB.float(4, $0) }
        let ints = PB.message(8, PB.varint(3) + PB.varint(UInt64(bitPattern: -1)))  // packed ints attribute
        let bytes = PB.model(PB.message(5, packedDims + PB.int(2, 1) + PB.string(8, "t") + unpackedFloats)
                             + PB.node(PB.string(1, "ints") + ints + PB.int(20, 7)))
        let graph = try ONNXModelFile.decode(bytes, modelDirectory: nil).graph
        let t = try #require(graph.initializers["t"])
        #expect(t.shape == [2, 1])
        #expect(t.bytes == Float(1.5).bitPattern.littleEndianBytes + Float(-2).bitPattern.littleEndianBytes)
        #expect(graph.nodes.first?.attributes["ints"]?.intsValue == [3, -1])
    }

    @Test func unknownFieldsAreSkippedWithoutLookingInside() throws {
        // doc_string, model_version, training_info (holding 200 levels of nesting), a fixed64 and a
        // fixed32 field no message declares: skipped, and not counted toward the nesting limit.
        var deep: [UInt8] = []
        for _ in 0..<200 { deep = PB.message(1, deep) }
        let bytes = PB.string(6, "doc") + PB.int(5, 3) + PB.message(20, deep)
            + PB.tag(99, 1) + [UInt8](repeating: 0, count: 8) + PB.tag(98, 5) + [1, 2, 3, 4]
            + PB.model(PB.string(10, "graph doc"))
        let model = try ONNXModelFile.decode(bytes, modelDirectory: nil)
        #expect(model.graph.name == "g")
        #expect(model.irVersion == 10)
    }

    /// Model(1) → Graph(2) → Node(3) → Attribute(4) → Graph(5) ...: an attribute is at level 4 + 3k.
    private func nested(subgraphs k: Int, innermost: [UInt8]) -> [UInt8] {
        var attribute = innermost
        for _ in 0..<k {
            attribute = PB.string(1, "body") + PB.int(20, 5) + PB.message(6, PB.node(attribute))
        }
        return PB.model(PB.node(attribute))
    }

    @Test func nestingUpToTheLimitDecodesAndOneMoreIsRefused() throws {
        // 20 subgraphs: the innermost attribute is at level 64, so an int attribute there is fine ...
        let atLimit = nested(subgraphs: 20, innermost: PB.string(1, "k") + PB.int(3, 5) + PB.int(20, 2))
        var graph = try ONNXModelFile.decode(atLimit, modelDirectory: nil).graph
        for _ in 0..<20 {
            graph = try #require(graph.nodes.first?.attributes["body"]?.graphValue)
        }
        #expect(graph.nodes.first?.attributes["k"]?.intValue == 5)
        // ... and a tensor there (level 65) is one level too deep.
        let tooDeep = nested(subgraphs: 20, innermost: PB.string(1, "k") + PB.int(20, 4)
                             + PB.message(5, PB.int(2, 1)))
        decodeFails(tooDeep, .malformed, "messages nested deeper than 64 levels")
        decodeFails(tooDeep, .malformed, "(TensorProto in AttributeProto.t)")
    }

    @Test func framingErrorsNameTheByteOffset() {
        decodeFails([0x0B, 0x0C], .malformed, "field 1 of ModelProto at byte 0 has wire type 3 (a group)")
        decodeFails(PB.int(1, 10) + [0x0E], .malformed, "field 1 of ModelProto at byte 2 has wire type 6, which protobuf does not define")
        decodeFails(PB.int(1, 10) + PB.int(7, 1), .malformed, "field 7 (ModelProto.graph) at byte 2 has wire type 0, expected 2 (a nested message)")
        decodeFails([0x00, 0x00], .malformed, "field number 0 at byte 0")
        decodeFails([0x80, 0x80], .malformed, "the varint tag at byte 0 is cut off by the end of the file (byte 2)")
        decodeFails(PB.model(PB.tag(4, 2) + [0xFF]), .malformed, "the varint length of field 4 of GraphProto at byte 14 is cut off by the end of the enclosing GraphProto (byte 15)")
        decodeFails(PB.int(1, 10) + [0x08, 0x80, 0x80], .malformed, "the varint value of field 1 of ModelProto at byte 3 is cut off by the end of the file (byte 5)")
        decodeFails(PB.model([0x15, 0x00, 0x00]), .malformed, "the 4-byte value of field 2 of GraphProto at byte")
        decodeFails(PB.model([0x15, 0x00, 0x00]), .malformed, "runs past the end of the enclosing GraphProto")
        // A length inside a message may not reach past that message, even with bytes after it.
        let inner = PB.message(7, PB.tag(5, 2) + PB.varint(5) + [1, 2]) + [0, 0, 0, 0, 0, 0]
        decodeFails(inner, .malformed, "field 5 (GraphProto.initializer) at byte 2 has length 5 (at byte 3), which runs past the end of the enclosing GraphProto (byte 6)")
        // protobuf-c's own checks still apply after the scan: a string field encoded as a varint.
        decodeFails(PB.int(2, 5), .malformed, "protobuf-c could not unpack a ModelProto")
    }

    @Test func tensorStorageMustBeExactlyOneConsistentSource() {
        let four = Float(4).bitPattern.littleEndianBytes
        decodeFails(PB.model(PB.initializer("a", type: 1, dims: [1], PB.message(9, four) + PB.float(4, 4))),
                    .malformed, "tensor 'a' stores its data in more than one place (raw_data, float_data)")
        decodeFails(PB.model(PB.initializer("b", type: 7, dims: [1], PB.float(4, 4))),
                    .malformed, "tensor 'b' (int64) stores its values in float_data, expected int64_data")
        decodeFails(PB.model(PB.initializer("c", type: 1, dims: [3], PB.float(4, 4))),
                    .malformed, "tensor 'c' (float32, shape [3]) needs 12 bytes, found 4 bytes (1 float_data values)")
        decodeFails(PB.model(PB.initializer("d", type: 0, dims: [1], [])), .malformed, "tensor 'd' has no data type")
        decodeFails(PB.model(PB.initializer("e", type: 14, dims: [1], PB.float(4, 1) + PB.float(4, 2))),
                    .unsupported, "tensor 'e' has data type COMPLEX64 (14)")
        decodeFails(PB.model(PB.initializer("f", type: 17, dims: [1], PB.message(9, [0]))),
                    .unsupported, "FLOAT8E4M3FN (17)")
        decodeFails(PB.model(PB.initializer("g", type: 22, dims: [2], PB.message(9, [0]))), .unsupported, "INT4 (22)")
        decodeFails(PB.model(PB.initializer("h", type: 99, dims: [1], [])), .unsupported, "data type 99, unknown to onnx 1.23")
        decodeFails(PB.model(PB.initializer("i", type: 1, dims: [1], PB.message(3, PB.int(1, 0)) + PB.message(9, four))),
                    .unsupported, "tensor 'i' is stored in segments")
        decodeFails(PB.model(PB.initializer("j", type: 1, dims: [1 << 62, 4], [])), .malformed, "more elements than fit in 64 bits")
        decodeFails(PB.model(PB.initializer("k", type: 1, dims: [1 << 61, 2], [])), .malformed, "more bytes than fit in 64 bits")
        decodeFails(PB.model(PB.initializer("l", type: 1, dims: [1], PB.int(14, 5))), .malformed, "data_location 5")
        decodeFails(PB.model(PB.initializer("m", type: 1, dims: [], PB.message(9, four))
                             + PB.initializer("m", type: 1, dims: [], PB.message(9, four))),
                    .malformed, "two initializers named 'm'")
    }

    @Test func narrowTypesInInt32DataTruncateLikeOnnx() throws {
        // onnx's numpy_helper casts int32_data to the element type; bool is "not zero".
        let bytes = PB.model(PB.initializer("u8", type: 2, dims: [2], PB.message(5, PB.varint(255) + PB.varint(256 + 7)))
                             + PB.initializer("b", type: 9, dims: [3], PB.message(5, PB.varint(0) + PB.varint(2) + PB.varint(1)))
                             + PB.initializer("h", type: 10, dims: [1], PB.message(5, PB.varint(0x3C00))))
        let graph = try ONNXModelFile.decode(bytes, modelDirectory: nil).graph
        #expect(graph.initializers["u8"]?.bytes == [255, 7])
        #expect(graph.initializers["b"]?.bytes == [0, 1, 1])
        #expect(try graph.initializers["h"]?.floatTensor().scalars == [1])
    }

    @Test func attributeProblems() throws {
        decodeFails(PB.model(PB.node(PB.string(1, "a") + PB.int(3, 1) + PB.float(2, 1))), .malformed,
                    "attribute 'a' has no type and several values (f, i)")
        decodeFails(PB.model(PB.node(PB.string(1, "b"))), .malformed, "attribute 'b' has no type and no value")
        decodeFails(PB.model(PB.node(PB.string(1, "c") + PB.int(20, 11))), .unsupported,
                    "attribute 'c' has type SPARSE_TENSOR (11), which rnnrt does not read")
        decodeFails(PB.model(PB.node(PB.string(1, "d") + PB.int(20, 4))), .malformed, "attribute 'd' has type TENSOR but no tensor")
        decodeFails(PB.model(PB.node(PB.string(1, "e") + PB.int(20, 5))), .malformed, "attribute 'e' has type GRAPH but no graph")
        let twice = PB.message(1, PB.string(4, "Op") + PB.message(5, PB.string(1, "k") + PB.int(3, 1) + PB.int(20, 2))
                                  + PB.message(5, PB.string(1, "k") + PB.int(3, 2) + PB.int(20, 2)))
        decodeFails(PB.model(twice), .malformed, "the node has two attributes named 'k'")
        // The error names where it happened: attribute, node, graph.
        let error = #expect(throws: RNNRTError.self) {
            try ONNXModelFile.decode(PB.model(PB.node(PB.string(1, "c") + PB.int(20, 12))), modelDirectory: nil)
        }
        #expect(error?.context == ["reading attribute 'c'", "reading node 'n'", "reading graph 'g'"])
        // A scalar type without its value reads protobuf's default, as onnx does.
        let defaulted = try ONNXModelFile.decode(PB.model(PB.node(PB.string(1, "z") + PB.int(20, 2))), modelDirectory: nil)
        #expect(defaulted.graph.nodes.first?.attributes["z"]?.intValue == 0)
    }

    @Test func modelLevelProblems() throws {
        decodeFails(PB.int(1, 10), .malformed, "the model has no graph")
        decodeFails(PB.message(8, PB.string(1, "") + PB.int(2, 17)) + PB.message(8, PB.string(1, "ai.onnx") + PB.int(2, 18))
                    + PB.message(7, []), .malformed, "opset_import lists domain 'ai.onnx' twice, with versions 17 and 18")
        let unnamed = PB.model(PB.message(1, PB.string(2, "out") + PB.string(4, "Relu")
                                             + PB.message(5, PB.string(1, "q") + PB.int(20, 13))))
        let error = #expect(throws: RNNRTError.self) { try ONNXModelFile.decode(unnamed, modelDirectory: nil) }
        #expect(error?.context.dropFirst().first == "reading node #0 (Relu, output 'out')")
    }

    @Test func unreadableModelFilesAreIOErrors() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (url, phrase) in [(dir.appendingPathComponent("none.onnx"), "no such file"), (dir, "is a folder")] {
            expectRNNRTError(.io, containing: [phrase]) { try ONNXModelFile.read(contentsOf: url) }
        }
    }
}

/// External data: relative locations inside the model's folder only, byte ranges checked against the file.
@Suite struct ONNXExternalDataTests {
    /// A model whose one initializer `W` (float32 [2, 3]) lives in external data with these entries.
    private func model(_ entries: [(String, String)]) -> [UInt8] {
        let external = entries.flatMap { PB.message(13, PB.string(1, $0.0) + PB.string(2, $0.1)) }
        return PB.model(PB.initializer("W", type: 1, dims: [2, 3], external + PB.int(14, 1)))
    }

    private let values: [Float] = [0, 1, 2, 3, 4, 5]
    private var data: [UInt8] { values.flatMap { $0.bitPattern.littleEndianBytes } }

    @Test func offsetAndLengthSelectTheRange() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data([9, 9, 9, 9] + data + [9]).write(to: dir.appendingPathComponent("sub/w.bin"))
        let bytes = model([("location", "sub/w.bin"), ("offset", "4"), ("length", "24"), ("checksum", "ignored")])
        let w = try #require(try ONNXModelFile.decode(bytes, modelDirectory: dir).graph.initializers["W"])
        #expect(try w.floatTensor().scalars == values)
        // No length: up to the end of the file, which must then be exactly the tensor's size.
        try Data([7, 7] + data).write(to: dir.appendingPathComponent("tail.bin"))
        let tail = try ONNXModelFile.decode(model([("location", "./tail.bin"), ("offset", "2")]), modelDirectory: dir)
        #expect(try tail.graph.initializers["W"]?.floatTensor().scalars == values)
        decodeFails(model([("location", "tail.bin")]), .malformed,
                    "tensor 'W' (float32, shape [2, 3]) needs 24 bytes, found 26 bytes of external data in 'tail.bin' (offset 0)",
                    directory: dir)
        decodeFails(model([("location", "tail.bin"), ("offset", "99")]), .malformed,
                    "external data offset 99 is past the end of 'tail.bin' (26 bytes)", directory: dir)
        decodeFails(model([("location", "tail.bin"), ("offset", "-2")]), .malformed,
                    "external_data 'offset' must be a non-negative decimal integer, found '-2'", directory: dir)
        decodeFails(model([("location", "tail.bin"), ("length", "99999999999999999999")]), .malformed,
                    "external_data 'length' must be a non-negative decimal integer", directory: dir)
        decodeFails(model([("location", "tail.bin"), ("offset", "2"), ("offset", "2")]), .malformed,
                    "lists the external_data key 'offset' twice", directory: dir)
        decodeFails(model([("offset", "0")]), .malformed, "no 'location' in external_data", directory: dir)
        decodeFails(model([("location", "sub")]), .io, "is not a regular file", directory: dir)
    }

    @Test func locationsOutsideTheFolderAreRefused() throws {
        let root = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(data).write(to: root.appendingPathComponent("outside.bin"))
        try Data(data).write(to: dir.appendingPathComponent("inside.bin"))
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("escape.bin").path, withDestinationPath: "../outside.bin")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("alias.bin").path, withDestinationPath: "inside.bin")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("up").path, withDestinationPath: "..")

        // A symlink that stays inside the folder is fine.
        let alias = try ONNXModelFile.decode(model([("location", "alias.bin")]), modelDirectory: dir)
        #expect(try alias.graph.initializers["W"]?.floatTensor().scalars == values)
        decodeFails(model([("location", "escape.bin")]), .unsafe, "external data location 'escape.bin' resolves to", directory: dir)
        decodeFails(model([("location", "up/outside.bin")]), .unsafe, "outside the model's folder", directory: dir)
        decodeFails(model([("location", "../outside.bin")]), .unsafe, "has a '..' component", directory: dir)
        decodeFails(model([("location", "a\\..\\..\\outside.bin")]), .unsafe, "has a '..' component", directory: dir)
        decodeFails(model([("location", root.appendingPathComponent("outside.bin").path)]), .unsafe, "is an absolute path", directory: dir)
        decodeFails(model([("location", "C:\\weights.bin")]), .unsafe, "is an absolute path", directory: dir)
        // The folder itself may be reached through a symlink.
        let linkedDir = root.appendingPathComponent("linked")
        try fm.createSymbolicLink(atPath: linkedDir.path, withDestinationPath: "model")
        let viaLink = try ONNXModelFile.decode(model([("location", "inside.bin")]), modelDirectory: linkedDir)
        #expect(try viaLink.graph.initializers["W"]?.floatTensor().scalars == values)
    }
}
