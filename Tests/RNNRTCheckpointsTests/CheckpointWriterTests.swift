import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTCheckpoints
import RNNRTCore

// Checkpoint writers (`StateDict.writeTorch(to:)`, `StateDict.writeSafeTensors(to:metadata:)`).
//
// When the environment variable RNNRT_WRITER_OUTPUT names a folder, every round trip leaves its files in
// `RNNRT_WRITER_OUTPUT/<case>/` (`model.pt`, `model.safetensors`, `manifest.json` with each tensor's name,
// dtype, shape and CRC-32) for tools/check_writers.py to check with torch and safetensors.

/// A folder for one case's files: under RNNRT_WRITER_OUTPUT when set, else a fresh temporary folder.
private func outputFolder(_ caseName: String) throws -> URL {
    if let root = ProcessInfo.processInfo.environment["RNNRT_WRITER_OUTPUT"], !root.isEmpty {
        let safe = String(caseName.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" })
        let dir = URL(fileURLWithPath: root).appendingPathComponent(safe)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
    return try Fixture.temporaryDirectory()
}

private var keepsOutput: Bool {
    !(ProcessInfo.processInfo.environment["RNNRT_WRITER_OUTPUT"] ?? "").isEmpty
}

/// CRC-32 (IEEE, as zlib.crc32) for the manifest.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for i in 0..<256 {
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[i] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}

/// Writes `manifest.json` describing `sd` (when RNNRT_WRITER_OUTPUT is set).
private func writeManifest(_ sd: StateDict, in dir: URL, source: String?, pt: Bool, safetensors: Bool,
                           metadata: [String: String] = [:], prefix: String? = nil, module: String? = nil) throws {
    guard keepsOutput else { return }
    var object: [String: Any] = [
        "tensors": sd.tensors.map { item -> [String: Any] in
            ["name": item.name, "dtype": item.tensor.dtype.rawValue, "shape": item.tensor.shape,
             "nbytes": item.tensor.bytes.count, "crc32": Int(crc32(item.tensor.bytes))]
        },
        "metadata": metadata,
    ]
    object["source"] = source ?? NSNull()
    object["pt"] = pt ? "model.pt" : NSNull()
    object["safetensors"] = safetensors ? "model.safetensors" : NSNull()
    object["prefix"] = prefix ?? NSNull()
    object["module"] = module ?? NSNull()
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: dir.appendingPathComponent("manifest.json"))
}

/// Same names in the same order, and for each the same dtype, shape and bytes.
private func expectIdentical(_ a: StateDict, _ b: StateDict, _ label: String) {
    #expect(a.names == b.names, "\(label): names")
    for name in a.names {
        guard let x = a[name], let y = b[name] else { continue }
        #expect(x.dtype == y.dtype, "\(label) \(name): dtype")
        #expect(x.shape == y.shape, "\(label) \(name): shape")
        #expect(x.bytes == y.bytes, "\(label) \(name): bytes")
    }
}

/// The order save_file lays tensors out in: descending dtype, then name bytes.
private func safetensorsOrder(_ sd: StateDict) throws -> [String] {
    try SafeTensors.serializedHeader(sd.tensors, metadata: [:]).ordered.map(\.name)
}

/// `sd` written as `.pt` (and `.safetensors` unless it holds complex128) and read back bit-identical.
private func roundTrip(_ sd: StateDict, caseName: String, source: String? = nil, metadata: [String: String] = [:],
                       prefix: String? = nil, module: String? = nil) throws {
    let dir = try outputFolder(caseName)
    let pt = dir.appendingPathComponent("model.pt")
    try sd.writeTorch(to: pt)
    let back = try StateDict(contentsOf: pt)
    #expect(back.format == TorchCheckpoint.formatName)
    expectIdentical(sd, back, "\(caseName) (.pt)")

    let canSafeTensors = !sd.tensors.contains { $0.tensor.dtype == .complex128 }
    if canSafeTensors {
        let st = dir.appendingPathComponent("model.safetensors")
        try sd.writeSafeTensors(to: st, metadata: metadata)
        let back = try StateDict(contentsOf: st)
        #expect(back.format == SafeTensors.formatName)
        #expect(back.names == (try safetensorsOrder(sd)), "\(caseName) (.safetensors): order")
        #expect(Set(back.names) == Set(sd.names))
        for name in sd.names {
            guard let x = sd[name], let y = back[name] else { continue }
            #expect(x.dtype == y.dtype && x.shape == y.shape && x.bytes == y.bytes, "\(caseName) (.safetensors) \(name)")
        }
        let expectedValues = metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { "__metadata__.\($0)" }
        #expect(back.values.map(\.name) == expectedValues)
    }
    try writeManifest(sd, in: dir, source: source, pt: true, safetensors: canSafeTensors,
                      metadata: metadata, prefix: prefix, module: module)
    if !keepsOutput { try? FileManager.default.removeItem(at: dir) }
}

/// Every tensor of every dtype rnnrt knows, with scalar, empty and awkward shapes and names.
private func syntheticStateDict() throws -> StateDict {
    var sd = StateDict()
    var seed: UInt8 = 1
    func bytes(_ n: Int) -> [UInt8] {
        (0..<n).map { _ in seed = seed &* 73 &+ 41; return seed }
    }
    for dtype in DType.allCases {
        var data = bytes(6 * dtype.byteSize)
        if dtype == .bool { data = data.map { $0 & 1 } }
        try sd.insert(StoredTensor(dtype: dtype, shape: [2, 3], bytes: data), named: "t.\(dtype.rawValue)")
    }
    try sd.insert(StoredTensor(dtype: .float32, shape: [], bytes: bytes(4)), named: "scalar")
    try sd.insert(StoredTensor(dtype: .float32, shape: [0], bytes: []), named: "empty")
    try sd.insert(StoredTensor(dtype: .int64, shape: [2, 0, 3], bytes: []), named: "empty.3d")
    // Strides 70000 (BININT2 range exceeded → BININT) and 2^33 (LONG1) in the pickle.
    try sd.insert(StoredTensor(dtype: .float16, shape: [0, 70_000], bytes: []), named: "wide")
    try sd.insert(StoredTensor(dtype: .uint8, shape: [0, 1 << 33], bytes: []), named: "huge_stride")
    try sd.insert(StoredTensor(dtype: .float32, shape: [1, 2, 1, 2, 1], bytes: bytes(16)), named: "rank5")
    try sd.insert(StoredTensor(dtype: .int8, shape: [3], bytes: bytes(3)),
                  named: "quote\"back\\slash\u{1}ctl\ttab\nnl ünï 😀 \u{7F}")
    return sd
}

@Suite struct CheckpointWriterTests {
    /// Fixture files of every format rnnrt reads (`Fixtures/formats/*` from their `case.json`).
    static let fixtures: [String] = {
        var out = ["checkpoints/lstm_state_dict.pt", "checkpoints/dtypes.bin", "checkpoints/big_endian.pt",
                   "checkpoints/crc_zero.pt", "checkpoints/nested_module.pth", "checkpoints/protocol4.pt",
                   "checkpoints/training_checkpoint.tar", "checkpoints/views",
                   "npz/weights_stored.npz", "npz/weights_deflated.npz"]
        out += SafeTensorsTests.files.map { "safetensors/\($0)" }
        for folder in Fixture.folders(in: "formats") {
            guard let spec = try? FormatCase.load(folder) else { continue }
            out.append("formats/\(folder)/\(spec.model)")
        }
        return out
    }()

    @Test func fixtureListCoversEveryFormat() {
        #expect(Self.fixtures.count >= 40)
    }

    /// Read any fixture, write both formats, read back: bit-identical names, dtypes, shapes, bytes.
    @Test(arguments: fixtures)
    func roundTripsFixture(_ file: String) throws {
        let sd = try StateDict(contentsOf: Fixture.url(file))
        let spec = file.hasPrefix("formats/") ? try? FormatCase.load(String(file.split(separator: "/")[1])) : nil
        try roundTrip(sd, caseName: file, source: Fixture.url(file).path, metadata: Self.metadata[file] ?? [:],
                      prefix: spec?.prefix, module: spec?.module)
    }

    /// The metadata the fixtures were written with (`__metadata__` as `save_file` got it).
    static let metadata: [String: [String: String]] = [
        "safetensors/ints_metadata.safetensors": ["format": "pt", "note": "it's \"quoted\" \\ ünïcode 😀\nline two"],
        "safetensors/no_tensors.safetensors": ["framework": "pt"],
        "formats/safetensors_lstm/model.safetensors": ["format": "pt"],
    ]

    /// Files `save_file` wrote come out byte for byte the same (one metadata key at most: with more,
    /// the reference's order is a HashMap's).
    @Test(arguments: ["safetensors/lstm_f32.safetensors", "safetensors/lstm_f16.safetensors",
                      "safetensors/lstm_bf16.safetensors", "safetensors/lstm_f64.safetensors",
                      "safetensors/scalar.safetensors", "safetensors/empty_tensors.safetensors",
                      "safetensors/no_tensors.safetensors", "formats/safetensors_lstm/model.safetensors",
                      "formats/safetensors_gru_float16/model.safetensors",
                      "formats/safetensors_rnn_bfloat16/model.safetensors"])
    func safeTensorsIsByteIdenticalToSaveFile(_ file: String) throws {
        let original = [UInt8](try Data(contentsOf: Fixture.url(file)))
        let sd = try StateDict(contentsOf: Fixture.url(file))
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.safetensors")
        try sd.writeSafeTensors(to: out, metadata: Self.metadata[file] ?? [:])
        let written = [UInt8](try Data(contentsOf: out))
        #expect(written == original, "\(file): \(written.count) vs \(original.count) bytes")
    }

    /// With two metadata keys, only the metadata order may differ from the reference's file.
    @Test func multipleMetadataKeysDifferOnlyInOrder() throws {
        let file = "safetensors/ints_metadata.safetensors"
        let original = [UInt8](try Data(contentsOf: Fixture.url(file)))
        let sd = try StateDict(contentsOf: Fixture.url(file))
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.safetensors")
        try sd.writeSafeTensors(to: out, metadata: Self.metadata[file] ?? [:])
        let written = [UInt8](try Data(contentsOf: out))
        #expect(written.count == original.count)
        #expect(written.prefix(8) == original.prefix(8))
        let n = Int(original.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect(written.suffix(from: 8 + n) == original.suffix(from: 8 + n))
        func members(_ bytes: [UInt8]) throws -> [String: JSONValue] {
            guard case .object(let m) = try JSONValue.parse(Array(bytes[8..<(8 + n)])) else { return [:] }
            var out: [String: JSONValue] = [:]
            for (k, v) in m {
                if k == "__metadata__", case .object(let meta) = v {
                    out[k] = .object(meta.sorted { $0.key < $1.key })
                } else {
                    out[k] = v
                }
            }
            return out
        }
        #expect(try members(written) == members(original))
        // Tensor order (after the metadata) is the reference's.
        let text = String(decoding: written[8..<(8 + n)], as: UTF8.self)
        #expect(text.hasPrefix(#"{"__metadata__":{"format":"pt","note":"it's \"quoted\" \\ ünïcode 😀\nline two"},"u64":"#))
    }

    /// Every dtype, scalar and empty tensors, strides needing BININT and LONG1, names needing escapes.
    @Test func roundTripsEveryDTypeAndShape() throws {
        let sd = try syntheticStateDict()
        let real = try StateDict(sd.tensors.filter { !$0.tensor.dtype.isComplex }.map { ($0.name, $0.tensor) })
        let complex64 = try StateDict(sd.tensors.filter { $0.tensor.dtype != .complex128 }.map { ($0.name, $0.tensor) })
        try roundTrip(sd, caseName: "synthetic_all_dtypes_pt")
        try roundTrip(real, caseName: "synthetic_real_dtypes",
                      metadata: ["b": "2", "a": "\u{1}\"x\"\\\n", "é": "ü", "A": ""])
        try roundTrip(complex64, caseName: "synthetic_with_complex64", metadata: ["format": "pt"])
    }

    @Test func emptyStateDict() throws {
        try roundTrip(StateDict(), caseName: "synthetic_empty")
        try roundTrip(StateDict(), caseName: "synthetic_empty_metadata", metadata: ["format": "pt"])
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("e.safetensors")
        try StateDict().writeSafeTensors(to: url)
        #expect([UInt8](try Data(contentsOf: url)) == [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
    }

    /// save_file's layout: descending dtype (U64 … BOOL), then name bytes ("B" < "a" < "é").
    @Test func safeTensorsOrder() throws {
        let dtypes: [DType] = [.bool, .uint8, .int8, .int16, .uint16, .float16, .bfloat16, .int32, .uint32,
                               .float32, .complex64, .float64, .int64, .uint64]
        var pairs: [(String, StoredTensor)] = []
        for dtype in dtypes {
            for name in ["é", "a", "B"] {
                pairs.append(("\(name)\(dtype.rawValue)", try StoredTensor(dtype: dtype, shape: [1], bytes: [UInt8](repeating: 0, count: dtype.byteSize))))
            }
        }
        let order = try safetensorsOrder(StateDict(pairs))
        let expected = dtypes.reversed().flatMap { d in ["B", "a", "é"].map { "\($0)\(d.rawValue)" } }
        #expect(order == expected)
    }

    @Test func jsonEscapingIsSerdeJSONs() {
        var out: [UInt8] = []
        SafeTensors.appendJSONString("a\"b\\c\u{1}\u{8}\u{C}\n\r\t\u{1F}\u{7F}/ü😀", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\u0001\b\f\n\r\t\u001f"# + "\u{7F}/ü😀\"")
    }

    @Test func safeTensorsRefusals() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x.safetensors")
        let complex = try StateDict([("z", StoredTensor(dtype: .complex128, shape: [1], bytes: [UInt8](repeating: 0, count: 16)))])
        expectRNNRTError(.unsupported) { try complex.writeSafeTensors(to: url) }
        let reserved = try StateDict([("__metadata__", StoredTensor(dtype: .uint8, shape: [1], bytes: [0]))])
        expectRNNRTError(.invalidArgument) { try reserved.writeSafeTensors(to: url) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    // MARK: - The torch zip

    /// Entries in torch.save's order, stored, each data start 64-byte aligned; the pickle starts as
    /// torch's does and rnnrt's PickleMachine reads it.
    @Test func torchArchiveLayout() throws {
        let sd = try StateDict(contentsOf: Fixture.url("checkpoints/dtypes.bin"))
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x.pt")
        try sd.writeTorch(to: url)
        let archive = try ZipArchive(path: url.path)
        let expectedNames = ["archive/data.pkl", "archive/.format_version", "archive/.storage_alignment",
                             "archive/byteorder"] + (0..<sd.count).map { "archive/data/\($0)" } + ["archive/version"]
        #expect(archive.entries.map(\.name) == expectedNames)
        #expect(archive.entries.allSatisfy { $0.method == 0 })
        func text(_ name: String) throws -> String {
            String(decoding: try archive.read(try #require(archive.entry(named: name))), as: UTF8.self)
        }
        #expect(try text("archive/.format_version") == "1")
        #expect(try text("archive/.storage_alignment") == "64")
        #expect(try text("archive/byteorder") == "little")
        #expect(try text("archive/version") == "3\n")

        // Local headers: every entry's data starts on a multiple of 64.
        let file = [UInt8](try Data(contentsOf: url))
        func u16(_ at: Int) -> Int { Int(file[at]) | Int(file[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        var offset = 0
        var starts: [Int] = []
        for entry in archive.entries {
            #expect(u32(offset) == 0x0403_4B50)
            let start = offset + 30 + u16(offset + 26) + u16(offset + 28)
            starts.append(start)
            #expect(u16(offset + 8) == 0, "\(entry.name) stored")
            offset = start + entry.compressedSize
        }
        #expect(starts.allSatisfy { $0 % 64 == 0 }, "data offsets \(starts)")
        #expect(starts.first == 64)

        // The pickle: torch's prefix, then rnnrt's machine gives an OrderedDict of tensors in order.
        let pickle = try archive.read(try #require(archive.entry(named: "archive/data.pkl")))
        let torchPrefix: [UInt8] = [0x80, 0x02, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x71, 0x00, 0x29, 0x52]
        #expect(Array(pickle.prefix(torchPrefix.count)) == torchPrefix)
        var machine = PickleMachine(pickle)
        let root = try machine.run()
        #expect(machine.position == pickle.count)
        guard case .dict(let dict)? = machine.node(of: root) else {
            Issue.record("root is not a dict")
            return
        }
        #expect(dict.keys == sd.names.map { PickleValue.string($0) })
        for (index, (key, value)) in zip(dict.keys, dict.values).enumerated() {
            guard case .string(let name) = key, case .tensor(let ref)? = machine.node(of: value),
                  let stored = sd[name] else {
                Issue.record("entry \(index) is not a named tensor")
                continue
            }
            #expect(ref.dtype == stored.dtype && ref.shape == stored.shape && ref.offset == 0)
            #expect(ref.storage.key == String(index) && ref.storage.dtype == stored.dtype)
            #expect(ref.storage.numel == stored.elementCount)
            #expect(ref.strides == PickleWriter.contiguousStrides(stored.shape))
        }
    }

    /// uint16/32/64 go through `_rebuild_tensor_v3` with an untyped storage counted in bytes.
    @Test func unsignedDTypesUseRebuildTensorV3() throws {
        var w = PickleWriter()
        try w.tensor(dtype: .uint32, shape: [2, 3], storageKey: "7")
        w.stop()
        var machine = PickleMachine(w.bytes)
        let root = try machine.run()
        guard case .tensor(let ref)? = machine.node(of: root) else {
            Issue.record("not a tensor")
            return
        }
        #expect(ref.dtype == .uint32 && ref.shape == [2, 3] && ref.strides == [3, 1])
        #expect(ref.storage.dtype == nil && ref.storage.numel == 24 && ref.storage.key == "7")
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(text.contains("torch._utils\n_rebuild_tensor_v3\n"))
        #expect(text.contains("torch.storage\nUntypedStorage\n"))
        #expect(text.contains("torch\nuint32\n"))
    }

    /// Integers take Python's opcode for their range, and read back exactly.
    @Test func pickleIntegers() throws {
        let cases: [(Int64, [UInt8])] = [
            (0, [0x4B, 0x00]), (255, [0x4B, 0xFF]), (256, [0x4D, 0x00, 0x01]), (65535, [0x4D, 0xFF, 0xFF]),
            (65536, [0x4A, 0x00, 0x00, 0x01, 0x00]), (-1, [0x4A, 0xFF, 0xFF, 0xFF, 0xFF]),
            (Int64(Int32.max), [0x4A, 0xFF, 0xFF, 0xFF, 0x7F]), (Int64(Int32.min), [0x4A, 0x00, 0x00, 0x00, 0x80]),
            (Int64(Int32.max) + 1, [0x8A, 0x05, 0x00, 0x00, 0x00, 0x80, 0x00]),
            (Int64(Int32.min) - 1, [0x8A, 0x05, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF]),
            (1 << 40, [0x8A, 0x06, 0, 0, 0, 0, 0, 0x01]),
            (Int64.max, [0x8A, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            (Int64.min, [0x8A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x80]),
            (-(1 << 39), [0x8A, 0x05, 0, 0, 0, 0, 0x80]),
            (1 << 39, [0x8A, 0x06, 0, 0, 0, 0, 0x80, 0x00]),
        ]
        var w = PickleWriter()
        w.mark()
        for (value, encoding) in cases {
            var single = PickleWriter()
            single.int(value)
            #expect(Array(single.bytes.dropFirst(2)) == encoding, "\(value)")
            w.int(value)
        }
        w.tupleFromMark()
        w.stop()
        var machine = PickleMachine(w.bytes)
        let root = try machine.run()
        #expect(machine.sequence(root) == cases.map { PickleValue.int($0.0) })
    }

    @Test func pickleTuplesAndGlobalsMemo() throws {
        var w = PickleWriter()
        w.mark()
        for shape in [[], [5], [5, 6], [5, 6, 7], [5, 6, 7, 8]] { w.intTuple(shape) }
        w.emptyOrderedDict()
        w.emptyOrderedDict()
        w.tupleFromMark()
        w.stop()
        // The second OrderedDict recalls the global: BINGET 0.
        let global = [0x63] + Array("collections\nOrderedDict\n".utf8) + [0x71, 0x00]
        #expect(w.bytes.contains(0x68))
        let text = w.bytes
        #expect(text.firstRange(of: global) != nil)
        #expect(text.ranges(of: Array("OrderedDict".utf8)).count == 1)
        var machine = PickleMachine(w.bytes)
        let root = try machine.run()
        let items = try #require(machine.sequence(root))
        #expect(items.count == 7)
        for (item, shape) in zip(items, [[], [5], [5, 6], [5, 6, 7], [5, 6, 7, 8]] as [[Int64]]) {
            #expect(machine.sequence(item) == shape.map { PickleValue.int($0) })
        }
    }

    @Test func contiguousStridesAsTorch() {
        #expect(PickleWriter.contiguousStrides([]) == [])
        #expect(PickleWriter.contiguousStrides([4, 6]) == [6, 1])
        #expect(PickleWriter.contiguousStrides([2, 0, 3]) == [3, 3, 1])   // torch.empty(2,0,3).stride()
        #expect(PickleWriter.contiguousStrides([0, 3]) == [3, 1])
        #expect(PickleWriter.contiguousStrides([Int.max, 2]) == [2, 1])
        #expect(PickleWriter.contiguousStrides([0, Int.max, 4]) == nil)
    }

    /// An empty tensor whose other extents multiply past `Int` has strides no file can hold: it is refused as a
    /// `StoredTensor` already, so no writer meets one.
    @Test func stridesTooLargeAreRefused() throws {
        expectRNNRTError(.malformed, containing: ["[0, 9223372036854775807, 4]"]) {
            try StoredTensor(dtype: .float32, shape: [0, Int.max, 4], bytes: [])
        }
    }

    // MARK: - Files

    /// Unwritable destinations are `.io` errors naming the path, and leave nothing behind.
    @Test func unwritablePathsAreIOErrors() throws {
        let sd = try StateDict(contentsOf: Fixture.url("checkpoints/lstm_state_dict.pt"))
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let regular = dir.appendingPathComponent("file.txt")
        try Data("x".utf8).write(to: regular)
        let folder = dir.appendingPathComponent("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("y".utf8).write(to: folder.appendingPathComponent("inside"))
        let targets = [
            dir.appendingPathComponent("missing/x"),    // no such folder
            regular.appendingPathComponent("x"),         // a file used as a folder
            folder,                                      // a non-empty folder as the destination
        ]
        for target in targets {
            for (label, write) in [("pt", { try sd.writeTorch(to: target) }),
                                   ("safetensors", { try sd.writeSafeTensors(to: target) })] as [(String, () throws -> Void)] {
                expectRNNRTError(.io, containing: [target.path], "\(label) to \(target.path)") { try write() }
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["file.txt", "folder"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["inside"])
        #expect(try Data(contentsOf: regular) == Data("x".utf8))
    }

    /// Writing over an existing file replaces it, leaving no temporary files.
    @Test func replacesExistingFiles() throws {
        let small = try StateDict([("a", StoredTensor(dtype: .uint8, shape: [1], bytes: [9]))])
        let big = try StateDict(contentsOf: Fixture.url("checkpoints/lstm_state_dict.pt"))
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pt = dir.appendingPathComponent("m.pt"), st = dir.appendingPathComponent("m.safetensors")
        try big.writeTorch(to: pt)
        try big.writeSafeTensors(to: st)
        try small.writeTorch(to: pt)
        try small.writeSafeTensors(to: st)
        expectIdentical(small, try StateDict(contentsOf: pt), "replaced .pt")
        expectIdentical(small, try StateDict(contentsOf: st), "replaced .safetensors")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["m.pt", "m.safetensors"])
    }

    /// The zip writer itself: alignment predictions hold for odd name lengths and sizes.
    @Test func zipWriterAlignsEveryEntry() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var writer = ZipWriter(alignment: 64)
        for i in 0..<40 { writer.add(String(repeating: "n", count: i + 1), [UInt8](repeating: UInt8(i), count: i * 13)) }
        let url = dir.appendingPathComponent("z.zip")
        try writer.write(to: url)
        let file = [UInt8](try Data(contentsOf: url))
        func u16(_ at: Int) -> Int { Int(file[at]) | Int(file[at + 1]) << 8 }
        var offset = 0
        for (entry, place) in zip(writer.entries, writer.layout()) {
            let start = offset + 30 + u16(offset + 26) + u16(offset + 28)
            #expect(start == place.dataOffset && start % 64 == 0, "\(entry.name)")
            #expect(Array(file[start..<(start + entry.bytes.count)]) == entry.bytes)
            offset = start + entry.bytes.count
        }
        let archive = try ZipArchive(path: url.path)
        for entry in writer.entries {
            #expect(try archive.read(try #require(archive.entry(named: entry.name))) == entry.bytes)
        }
        expectRNNRTError(.invalidArgument) { try ZipWriter().write(to: dir.appendingPathComponent("empty.zip")) }
    }
}
