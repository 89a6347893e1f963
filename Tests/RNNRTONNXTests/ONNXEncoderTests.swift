import Foundation
import Testing
import RNNRTTestSupport
import RNNRTONNX
import RNNRTGraph
import RNNRTCheckpoints
import RNNRTCore

// The ONNX writer: fixture models decode → encode → decode to an equal model, encode deterministically
// and still run to the same outputs; hand-built models pin the wire layout (docs/ONNX.md, "Writing ONNX") and the
// refusals.
//
// With RNNRT_ENCODER_OUTPUT=DIR the re-encoded fixture models are also written to DIR/<path under
// Fixtures/> (tools/check_onnx_encoder.py checks them with onnx and onnxruntime).

/// Fixture model files (paths under `Fixtures/`) the round trip is run on.
private enum EncoderFixtures {
    static func models(in folder: String) -> [String] {
        Fixture.folders(in: folder).map { "\(folder)/\($0)/model.onnx" }
    }

    static let decoder = models(in: "onnx/decoder")
    static let node = models(in: "onnx/node")
    static let examples = ["examples/tagger.onnx"]
    // All of them: the whole set takes about a second.
    static let torch = models(in: "onnx/torch")
    static let spec = models(in: "onnx/spec")
    static let ops = models(in: "onnx/ops")
    static let all = decoder + node + examples + torch + spec + ops
}

// MARK: - Model equality

/// Every difference between two models, each naming where it is; empty when they are equal. Tensors
/// compare by dtype, shape and bytes, floats by bit pattern (so NaN equals the same NaN).
private func differences(_ a: GraphModel, _ b: GraphModel) -> [String] {
    var out: [String] = []
    func check(_ equal: Bool, _ what: @autoclosure () -> String) { if !equal { out.append(what()) } }
    check(a.irVersion == b.irVersion, "irVersion \(a.irVersion) vs \(b.irVersion)")
    check(a.opsetImports == b.opsetImports, "opsetImports \(a.opsetImports) vs \(b.opsetImports)")
    check(a.producerName == b.producerName, "producerName '\(a.producerName)' vs '\(b.producerName)'")
    check(a.producerVersion == b.producerVersion, "producerVersion '\(a.producerVersion)' vs '\(b.producerVersion)'")
    check(a.metadata.map(\.key) == b.metadata.map(\.key) && a.metadata.map(\.value) == b.metadata.map(\.value),
          "metadata \(a.metadata) vs \(b.metadata)")
    out += differences(a.graph, b.graph, at: "graph")
    return out
}

private func differences(_ a: Graph, _ b: Graph, at path: String) -> [String] {
    var out: [String] = []
    func check(_ equal: Bool, _ what: @autoclosure () -> String) { if !equal { out.append("\(path): \(what())") } }
    check(a.name == b.name, "name '\(a.name)' vs '\(b.name)'")
    check(a.initializerNames == b.initializerNames, "initializerNames \(a.initializerNames) vs \(b.initializerNames)")
    check(Set(a.initializers.keys) == Set(b.initializers.keys), "initializer keys differ")
    for (name, t) in a.initializers {
        if let u = b.initializers[name] {
            out += differences(t, u, at: "\(path).initializer '\(name)'")
        }
    }
    check(a.inputs == b.inputs, "inputs \(a.inputs) vs \(b.inputs)")
    check(a.outputs == b.outputs, "outputs \(a.outputs) vs \(b.outputs)")
    check(a.valueInfo == b.valueInfo, "valueInfo \(a.valueInfo) vs \(b.valueInfo)")
    check(a.nodes.count == b.nodes.count, "\(a.nodes.count) vs \(b.nodes.count) nodes")
    for (i, (n, m)) in zip(a.nodes, b.nodes).enumerated() {
        let at = "\(path).node #\(i)"
        func checkNode(_ equal: Bool, _ what: @autoclosure () -> String) { if !equal { out.append("\(at): \(what())") } }
        checkNode(n.name == m.name, "name '\(n.name)' vs '\(m.name)'")
        checkNode(n.opType == m.opType, "opType '\(n.opType)' vs '\(m.opType)'")
        checkNode(n.domain == m.domain, "domain '\(n.domain)' vs '\(m.domain)'")
        checkNode(n.inputs == m.inputs, "inputs \(n.inputs) vs \(m.inputs)")
        checkNode(n.outputs == m.outputs, "outputs \(n.outputs) vs \(m.outputs)")
        checkNode(Set(n.attributes.keys) == Set(m.attributes.keys),
                  "attributes \(n.attributes.keys.sorted()) vs \(m.attributes.keys.sorted())")
        for (name, value) in n.attributes {
            if let other = m.attributes[name] {
                out += differences(value, other, at: "\(at).\(name)")
            }
        }
    }
    return out
}

private func differences(_ a: GraphAttribute, _ b: GraphAttribute, at path: String) -> [String] {
    func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }
    func many<T>(_ x: [T], _ y: [T], _ compare: (T, T, String) -> [String]) -> [String] {
        guard x.count == y.count else { return ["\(path): \(x.count) vs \(y.count) values"] }
        return zip(x, y).enumerated().flatMap { i, p in compare(p.0, p.1, "\(path)[\(i)]") }
    }
    let same: Bool
    switch (a, b) {
    case (.float(let x), .float(let y)): same = x.bitPattern == y.bitPattern
    case (.int(let x), .int(let y)): same = x == y
    case (.string(let x), .string(let y)): same = x == y
    case (.floats(let x), .floats(let y)): same = bits(x) == bits(y)
    case (.ints(let x), .ints(let y)): same = x == y
    case (.strings(let x), .strings(let y)): same = x == y
    case (.tensor(let x), .tensor(let y)): return differences(x, y, at: path)
    case (.tensors(let x), .tensors(let y)): return many(x, y) { differences($0, $1, at: $2) }
    case (.graph(let x), .graph(let y)): return differences(x, y, at: path)
    case (.graphs(let x), .graphs(let y)): return many(x, y) { differences($0, $1, at: $2) }
    default: same = false
    }
    return same ? [] : ["\(path): \(a) vs \(b)"]
}

private func differences(_ a: StoredTensor, _ b: StoredTensor, at path: String) -> [String] {
    a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes ? []
        : ["\(path): \(a.dtype) \(a.shape) (\(a.bytes.count) bytes) vs \(b.dtype) \(b.shape) (\(b.bytes.count) bytes)"
           + (a.bytes.count == b.bytes.count ? ", bytes differ" : "")]
}

// MARK: - Running

/// What running a model did: every output (floats by bit pattern), or the error.
private enum RunOutcome: Equatable, CustomStringConvertible {
    case outputs([String: [Int]], [String: [UInt64]])
    case failed(RNNRTError.Kind, String)

    var description: String {
        switch self {
        case .outputs(let shapes, _): return "outputs \(shapes.sorted { $0.key < $1.key })"
        case .failed(let kind, let message): return "\(kind): \(message)"
        }
    }
}

/// The fixture inputs of a model: `case.json` and `inputs/<k>.npy` beside it, or the bundled example's
/// `ids.npy`; nil when the fixture has none.
private func fixtureFeeds(_ path: String) throws -> [String: GraphTensor]? {
    let folder = Fixture.url(path).deletingLastPathComponent()
    if path == "examples/tagger.onnx" {
        return ["ids": try GraphTensor(try NPY.read(contentsOf: folder.appendingPathComponent("ids.npy")))]
    }
    let caseFile = folder.appendingPathComponent("case.json")
    guard FileManager.default.fileExists(atPath: caseFile.path) else { return nil }
    return try ONNXCase.load(folder).feeds(in: folder)
}

/// Builds a plan and, when `feeds` is given, runs it.
private func outcome(_ model: GraphModel, _ feeds: [String: GraphTensor]?) -> RunOutcome {
    do {
        let plan = try Plan(model: model)
        guard let feeds else { return .outputs([:], [:]) }
        var shapes: [String: [Int]] = [:]
        var payloads: [String: [UInt64]] = [:]
        for (name, t) in try plan.run(feeds) {
            shapes[name] = t.shape
            switch t.elements {
            case .float(let v): payloads[name] = v.map { UInt64($0.bitPattern) }
            case .int(let v): payloads[name] = v.map { UInt64(bitPattern: $0) }
            case .bool(let v): payloads[name] = v.map { $0 ? 1 : 0 }
            }
        }
        return .outputs(shapes, payloads)
    } catch let error as RNNRTError {
        return .failed(error.kind, error.message)
    } catch {
        return .failed(.io, "\(error)")
    }
}

// MARK: - Fixture round trips

@Suite struct ONNXEncoderFixtureTests {
    /// decode → encode → decode gives an equal model; encoding is deterministic and stable; with
    /// RNNRT_ENCODER_OUTPUT set the encoded model is written there.
    @Test(arguments: EncoderFixtures.all)
    func roundTripsToAnEqualModel(_ path: String) throws {
        let original = try ONNXModelFile.read(contentsOf: Fixture.url(path))
        let bytes = try ONNXModelFile.encode(original)
        // No model folder: everything (external data included) must now be inside the bytes.
        let decoded = try ONNXModelFile.decode(bytes, modelDirectory: nil)
        let diffs = differences(original, decoded)
        #expect(diffs.isEmpty, "\(path): \(diffs.prefix(10).joined(separator: "\n"))")
        #expect(try ONNXModelFile.encode(original) == bytes, "\(path): encoding twice differs")
        #expect(try ONNXModelFile.encode(decoded) == bytes, "\(path): re-encoding the decoded model differs")

        if let directory = ProcessInfo.processInfo.environment["RNNRT_ENCODER_OUTPUT"], !directory.isEmpty {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try ONNXModelFile.write(original, to: url)
            #expect(try Data(contentsOf: url) == Data(bytes), "\(path): write(to:) differs from encode")
        }
    }

    /// The encoded model builds and runs exactly as the original does: the same outputs bit for bit on
    /// the fixture's inputs, or the same error (unsupported operators, expected failures).
    @Test(arguments: EncoderFixtures.all)
    func encodedModelRunsLikeTheOriginal(_ path: String) throws {
        let original = try ONNXModelFile.read(contentsOf: Fixture.url(path))
        let encoded = try ONNXModelFile.decode(try ONNXModelFile.encode(original), modelDirectory: nil)
        let feeds = try fixtureFeeds(path)
        let expected = outcome(original, feeds)
        let actual = outcome(encoded, feeds)
        #expect(actual == expected, "\(path): \(actual) vs \(expected)")
    }

    @Test func everyFixtureSourceIsCovered() {
        #expect(EncoderFixtures.decoder.count == 8)
        #expect(EncoderFixtures.node.count >= 18)
        #expect(EncoderFixtures.torch.count >= 150)
        #expect(EncoderFixtures.spec.count >= 160)
        #expect(EncoderFixtures.ops.count >= 390)
    }
}

// MARK: - Hand-built models

private func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

/// Whether `needle` occurs in `haystack`.
private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
        return true
    }
    return false
}

private func tensor(_ dtype: DType, _ shape: [Int], _ bytes: [UInt8]) throws -> StoredTensor {
    try StoredTensor(dtype: dtype, shape: shape, bytes: bytes)
}

/// A model using every attribute kind, every writable dtype and every shape form.
private func everythingModel() throws -> GraphModel {
    let body = Graph(name: "body", nodes: [GraphNode(opType: "Constant", inputs: [], outputs: ["c"],
                                                attributes: ["value": .tensor(try tensor(.float32, [], le([Float(2).bitPattern])))])],
                     initializers: [("k", try tensor(.int64, [1], le([Int64(-3)])))],
                     inputs: [GraphValueInfo(name: "i", elementType: 7, shape: [])],
                     outputs: [GraphValueInfo(name: "c", elementType: 1, shape: [])])
    let initializers: [(String, StoredTensor)] = try [
        ("f32", tensor(.float32, [2], le([Float(1.5).bitPattern, Float.nan.bitPattern]))),
        ("f64", tensor(.float64, [1], le([Double(-0.25).bitPattern]))),
        ("f16", tensor(.float16, [2], le([UInt16(0x3C00), 0xFC00]))),
        ("bf16", tensor(.bfloat16, [1], le([UInt16(0x3F80)]))),
        ("i64", tensor(.int64, [2], le([Int64.min, Int64.max]))),
        ("i32", tensor(.int32, [1], le([Int32(-7)]))),
        ("i16", tensor(.int16, [1], le([Int16(-300)]))),
        ("i8", tensor(.int8, [1], le([Int8(-1)]))),
        ("u64", tensor(.uint64, [1], le([UInt64.max]))),
        ("u32", tensor(.uint32, [1], le([UInt32.max]))),
        ("u16", tensor(.uint16, [1], le([UInt16.max]))),
        ("u8", tensor(.uint8, [3], [0, 1, 255])),
        ("bool", tensor(.bool, [2, 1], [1, 0])),
        ("scalar", tensor(.float32, [], le([Float(3).bitPattern]))),
        ("empty", tensor(.float32, [0, 3], [])),
    ]
    let attributes: [String: GraphAttribute] = try [
        "f": .float(-0.0), "nan": .float(.nan), "i": .int(-1), "big": .int(1 << 40),
        "s": .string("forward ü"), "empty_s": .string(""),
        "t": .tensor(tensor(.int32, [2], le([Int32(1), -2]))),
        "g": .graph(body), "graphs": .graphs([body, Graph(name: "empty")]),
        "floats": .floats([1, -2.5, .infinity]), "ints": .ints([0, -1, 1 << 40]),
        "strings": .strings(["a", "", "ünï"]), "tensors": .tensors([tensor(.bool, [1], [1]), tensor(.float16, [0], [])]),
        "empty_floats": .floats([]), "empty_ints": .ints([]), "empty_strings": .strings([]),
        "empty_tensors": .tensors([]), "empty_graphs": .graphs([]),
    ]
    let graph = Graph(
        name: "everything",
        nodes: [
            GraphNode(name: "all", opType: "AllKinds", domain: "test.rnnrt", inputs: ["x", "", "f32"], outputs: ["y", ""],
                 attributes: attributes),
            GraphNode(opType: "Relu", inputs: ["y"], outputs: ["z"]),
        ],
        initializers: initializers,
        inputs: [GraphValueInfo(name: "x", elementType: 1, shape: [.symbolic("seq"), .fixed(0), .unknown, .fixed(7)])],
        outputs: [GraphValueInfo(name: "z", elementType: 1, shape: nil), GraphValueInfo(name: "y")],
        valueInfo: [GraphValueInfo(name: "s", elementType: 11, shape: []), GraphValueInfo(name: "u", elementType: 0, shape: [.fixed(2)])])
    return GraphModel(irVersion: 10, opsetImports: ["": 22, "test.rnnrt": 1, "ai.onnx.ml": 5],
                 producerName: "rnnrt ü", producerVersion: "1.0", graph: graph,
                 metadata: [(key: "z", value: "last"), (key: "a", value: ""), (key: "z", value: "again")])
}

@Suite struct ONNXEncoderTests {
    @Test func everyKindOfValueRoundTrips() throws {
        let model = try everythingModel()
        let bytes = try ONNXModelFile.encode(model)
        let decoded = try ONNXModelFile.decode(bytes, modelDirectory: nil)
        let diffs = differences(model, decoded)
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))")
        #expect(try ONNXModelFile.encode(decoded) == bytes)
    }

    /// Attribute and opset order come from sorting, not from the dictionaries' iteration order.
    @Test func outputDoesNotDependOnDictionaryOrder() throws {
        let model = try everythingModel()
        var shuffled = model
        var rng = SeededGenerator(seed: 5)
        for i in shuffled.graph.nodes.indices {
            var attributes = [String: GraphAttribute](minimumCapacity: 257)
            for (k, v) in shuffled.graph.nodes[i].attributes.shuffled(using: &rng) { attributes[k] = v }
            shuffled.graph.nodes[i].attributes = attributes
        }
        var opsets = [String: Int64](minimumCapacity: 99)
        for (k, v) in model.opsetImports.shuffled(using: &rng) { opsets[k] = v }
        shuffled.opsetImports = opsets
        #expect(try ONNXModelFile.encode(shuffled) == ONNXModelFile.encode(model))
    }

    /// The byte layout the onnx package writes (the examples in docs/ONNX.md, "Writing ONNX").
    @Test func wireLayoutMatchesONNX() throws {
        let node = GraphNode(opType: "LSTM", inputs: ["X"], outputs: ["Y"],
                        attributes: ["hidden_size": .int(5), "perm": .ints([0, 2, 1]), "neg": .int(-1),
                                     "alpha": .floats([1, 2]), "f": .float(1)])
        let graph = Graph(name: "g", nodes: [node],
                          inputs: [GraphValueInfo(name: "X", elementType: 1, shape: [.symbolic("seq"), .fixed(2), .fixed(4)])],
                          outputs: [GraphValueInfo(name: "Y", elementType: 1, shape: [.unknown])])
        let bytes = try ONNXModelFile.encode(GraphModel(irVersion: 8, opsetImports: ["": 17], graph: graph))
        // ir_version first.
        #expect(Array(bytes.prefix(2)) == [0x08, 0x08])
        // opset_import: domain "" written as an empty string, version 17.
        #expect(contains(bytes, [0x42, 0x04, 0x0A, 0x00, 0x10, 0x11]))
        // An INT attribute with its type (field 20).
        #expect(contains(bytes, [0x0A, 0x0B] + Array("hidden_size".utf8) + [0x18, 0x05, 0xA0, 0x01, 0x02]))
        // INTS unpacked, FLOATS unpacked fixed32, FLOAT fixed32.
        #expect(contains(bytes, [0x0A, 0x04] + Array("perm".utf8) + [0x40, 0x00, 0x40, 0x02, 0x40, 0x01, 0xA0, 0x01, 0x07]))
        #expect(contains(bytes, [0x0A, 0x05] + Array("alpha".utf8) + [0x3D] + le([Float(1).bitPattern]) + [0x3D]
                         + le([Float(2).bitPattern]) + [0xA0, 0x01, 0x06]))
        #expect(contains(bytes, [0x0A, 0x01, 0x66, 0x15] + le([Float(1).bitPattern]) + [0xA0, 0x01, 0x01]))
        // A negative int64 is a 10-byte varint.
        #expect(contains(bytes, [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0xA0, 0x01, 0x02]))
        // X: float[seq,2,4].
        #expect(contains(bytes, [0x0A, 0x01, 0x58, 0x12, 0x15, 0x0A, 0x13, 0x08, 0x01, 0x12, 0x0F, 0x0A, 0x05, 0x12, 0x03]
                         + Array("seq".utf8) + [0x0A, 0x02, 0x08, 0x02, 0x0A, 0x02, 0x08, 0x04]))
        // An unknown dimension is an empty Dimension message.
        #expect(contains(bytes, [0x0A, 0x01, 0x59, 0x12, 0x08, 0x0A, 0x06, 0x08, 0x01, 0x12, 0x02, 0x0A, 0x00]))
        // Attributes in name order: alpha, f, hidden_size, neg, perm.
        let positions = ["alpha", "f", "hidden_size", "neg", "perm"].compactMap { name -> Int? in
            let needle = [0x0A, UInt8(name.utf8.count)] + Array(name.utf8)
            return (0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
        #expect(positions.count == 5 && positions == positions.sorted())
    }

    @Test func tensorsAreWrittenAsRawLittleEndianData() throws {
        let t = try tensor(.int64, [2, 1], le([Int64(1), -2]))
        let graph = Graph(name: "g", initializers: [("w", t)])
        let bytes = try ONNXModelFile.encode(GraphModel(irVersion: 10, opsetImports: ["": 22], graph: graph))
        // dims 2, 1 (unpacked), data_type 7, name "w", raw_data 16 bytes.
        #expect(contains(bytes, [0x2A, 0x1B, 0x08, 0x02, 0x08, 0x01, 0x10, 0x07, 0x42, 0x01, 0x77, 0x4A, 0x10] + le([Int64(1), -2])))
    }

    @Test func complexTensorsAreRefused() throws {
        let c = try tensor(.complex64, [1], [UInt8](repeating: 0, count: 8))
        let graph = Graph(name: "g", nodes: [GraphNode(name: "k", opType: "Constant", inputs: [], outputs: ["c"],
                                                  attributes: ["value": .tensor(c)])])
        let error = expectRNNRTError(.unsupported, containing: ["complex64"]) {
            try ONNXModelFile.encode(GraphModel(irVersion: 10, opsetImports: ["": 22], graph: graph))
        }
        #expect(error?.context == ["writing attribute 'value'", "writing node 'k'", "writing graph 'g'"])

        let initializer = Graph(name: "g", initializers: [("w", c)])
        let error2 = expectRNNRTError(.unsupported) {
            try ONNXModelFile.encode(GraphModel(irVersion: 10, opsetImports: ["": 22], graph: initializer))
        }
        #expect(error2?.context.first == "writing initializer 'w'")
    }

    /// Subgraphs nest up to what the decoder reads back (`maxNestingDepth` levels) and no deeper.
    @Test func nestingBeyondTheDecoderLimitIsRefused() throws {
        func nested(_ k: Int, innermost: GraphAttribute) -> GraphModel {
            var attribute = innermost
            for _ in 0..<k {
                attribute = .graph(Graph(name: "b", nodes: [GraphNode(opType: "Op", inputs: [], outputs: ["y"], attributes: ["a": attribute])]))
            }
            let graph = Graph(name: "g", nodes: [GraphNode(opType: "Op", inputs: [], outputs: ["y"], attributes: ["a": attribute])])
            return GraphModel(irVersion: 10, opsetImports: ["": 22], graph: graph)
        }
        // 20 subgraphs: the innermost attribute is at level 64 (4 + 3·20).
        let atLimit = try ONNXModelFile.encode(nested(20, innermost: .int(5)))
        var graph = try ONNXModelFile.decode(atLimit, modelDirectory: nil).graph
        for _ in 0..<20 {
            guard case .graph(let g)? = graph.nodes.first?.attributes["a"] else {
                Issue.record("missing subgraph")
                return
            }
            graph = g
        }
        #expect(graph.nodes.first.map { differences($0.attributes["a"] ?? .int(0), .int(5), at: "a").isEmpty } == true)

        let tensor = try tensor(.float32, [], le([Float(1).bitPattern]))
        for model in [nested(20, innermost: .tensor(tensor)), nested(200, innermost: .int(1))] {
            expectRNNRTError(.unsupported, containing: ["deeper than 64"]) { try ONNXModelFile.encode(model) }
        }
    }

    /// An initializer name without a tensor, the default domain at two versions, a name holding a NUL character.
    @Test func inconsistentModelsAreRefused() throws {
        var graph = Graph(name: "g", initializers: [("w", try tensor(.uint8, [1], [1]))])
        graph.initializerNames.append("missing")
        expectRNNRTError(.invalidArgument, containing: ["'missing'"]) {
            try ONNXModelFile.encode(GraphModel(irVersion: 10, opsetImports: ["": 22], graph: graph))
        }

        expectRNNRTError(.invalidArgument, containing: ["versions 17 and 22"]) {
            try ONNXModelFile.encode(GraphModel(irVersion: 10, opsetImports: ["": 22, "ai.onnx": 17], graph: Graph()))
        }

        // A C string ends at its first NUL: such a name is refused, naming where it is.
        let nul = Graph(name: "g", nodes: [GraphNode(name: "n", opType: "Relu", inputs: ["a\u{0}b"], outputs: ["y"])])
        let error = expectRNNRTError(.invalidArgument, containing: ["NUL"]) {
            try ONNXModelFile.encode(GraphModel(irVersion: 10, opsetImports: ["": 22], graph: nul))
        }
        #expect(error?.context == ["writing node 'n'", "writing graph 'g'"])
    }

    /// Initializers added to the dictionary but not to `initializerNames` are written after the listed
    /// ones, by name; "ai.onnx" is written as the default domain.
    @Test func unlistedInitializersAndTheAIONNXDomain() throws {
        var graph = Graph(name: "g", initializers: [("b", try tensor(.uint8, [1], [2]))])
        graph.initializers["z"] = try tensor(.uint8, [1], [3])
        graph.initializers["a"] = try tensor(.uint8, [1], [1])
        graph.nodes = [GraphNode(opType: "Relu", domain: "ai.onnx", inputs: ["a"], outputs: ["r"])]
        let model = GraphModel(irVersion: 10, opsetImports: ["ai.onnx": 22], graph: graph)
        let decoded = try ONNXModelFile.decode(try ONNXModelFile.encode(model), modelDirectory: nil)
        #expect(decoded.graph.initializerNames == ["b", "a", "z"])
        #expect(decoded.graph.initializers["z"]?.bytes == [3])
        #expect(decoded.opsetImports == ["": 22])
        #expect(decoded.graph.nodes.first?.domain == "")
    }

    /// Tensors of 2 MB and more are decoded into memory advised as huge pages (protobuf-c's copy and rnnrt's own),
    /// sized off the 2 MB pages and around them: every value comes back, and the model runs.
    @Test func largeTensorsRoundTrip() throws {
        for count in [(2 << 20) / 4 - 1, (2 << 20) / 4, (5 << 20) / 4 + 3, (9 << 20) / 4] {
            let values = (0..<count).map { Float($0 % 1000) - 500 }
            let model = GraphModel(irVersion: 8, opsetImports: ["": 17],
                                   graph: Graph(nodes: [GraphNode(opType: "Identity", inputs: ["w"], outputs: ["y"])],
                                                initializers: [("w", try StoredTensor(shape: [count], floats: values))],
                                                outputs: [GraphValueInfo(name: "y")]))
            let decoded = try ONNXModelFile.decode(try ONNXModelFile.encode(model), modelDirectory: nil)
            #expect(try decoded.graph.initializers["w"]?.floatTensor().scalars == values, "\(count) floats")
            let y = try Plan(model: decoded).run([:])[0].tensor
            #expect(try y.tensor("y").scalars == values, "\(count) floats")
        }
    }

    @Test func writeCreatesAFileTheReaderReads() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("everything.onnx")
        let model = try everythingModel()
        try ONNXModelFile.write(model, to: url)
        try ONNXModelFile.write(model, to: url)  // replaces
        let read = try ONNXModelFile.read(contentsOf: url)
        #expect(differences(model, read).isEmpty)

        let missing = dir.appendingPathComponent("no/such/folder/m.onnx")
        let error = expectRNNRTError(.io) { try ONNXModelFile.write(model, to: missing) }
        #expect(error?.context == ["writing \(missing.path)"])
    }
}
