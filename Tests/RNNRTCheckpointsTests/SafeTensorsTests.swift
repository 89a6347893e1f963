import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTCheckpoints
import RNNRTCore

private func readSafeTensors(_ relativePath: String) throws -> StateDict {
    let bytes = [UInt8](try Data(contentsOf: Fixture.url(relativePath)))
    return try SafeTensors.read(bytes)
}

/// Every file in `Fixtures/safetensors/` (made by `safetensors.torch.save_file`) reads back with the names
/// in data-offset order, the dtypes, shapes and values the reference library gives.
@Suite struct SafeTensorsTests {
    static let files = ["lstm_f32.safetensors", "lstm_f16.safetensors", "lstm_bf16.safetensors",
                        "lstm_f64.safetensors", "ints_metadata.safetensors", "scalar.safetensors",
                        "empty_tensors.safetensors", "no_tensors.safetensors", "leading_whitespace.safetensors"]

    @Test(arguments: files)
    func readsLikeTheReference(_ file: String) throws {
        let sd = try readSafeTensors("safetensors/\(file)")
        #expect(sd.format == "safetensors")
        try expectMatchesManifest(sd.tensors, expectedIn: Fixture.url("safetensors/\(file).expected"), file: file)
    }

    @Test func metadataIsKeptAsPythonReprValues() throws {
        let sd = try readSafeTensors("safetensors/ints_metadata.safetensors")
        let values = Dictionary(uniqueKeysWithValues: sd.values.map { ($0.name, $0.text) })
        #expect(values["__metadata__.format"] == "'pt'")
        #expect(values["__metadata__.note"] == #"'it\'s "quoted" \\ ünïcode 😀\nline two'"#)
        #expect(sd.values.count == 2)
        let none = try readSafeTensors("safetensors/no_tensors.safetensors")
        #expect(none.count == 0)
        #expect(none.values.map(\.name) == ["__metadata__.framework"])
    }

    @Test func integersAreExact() throws {
        let sd = try readSafeTensors("safetensors/ints_metadata.safetensors")
        let i64 = try #require(sd["i64"])
        let values = i64.bytes.withUnsafeBytes { raw in
            (0..<5).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        }
        #expect(values == [-(1 << 40), -3, 0, 7, 1 << 40])
        let u64 = try #require(sd["u64"])
        #expect(u64.bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self) } == (1 << 40) + 3)
        #expect(try #require(sd["bool"]).bytes == [1, 0, 1, 0, 0, 1])
    }

    @Test func tensorsComeInDataOffsetOrder() throws {
        // The writer puts U64 first and BOOL last, whatever the names.
        let sd = try readSafeTensors("safetensors/ints_metadata.safetensors")
        #expect(sd.names.first == "u64")
        #expect(sd.names.last == "bool")
    }

    /// Files built in memory: what the schema accepts and refuses around the fixtures.
    @Test func handBuiltHeaders() throws {
        func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
            let h = Array(header.utf8)
            var out: [UInt8] = []
            var n = UInt64(h.count)
            for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
            return out + h + data
        }
        // Unknown fields in an entry are ignored; "__metadata__": null is the reference's absent Option.
        let ok = try SafeTensors.read(file(#"{"__metadata__":null,"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":[1,{"a":null}]}}"#, data: [7, 9]))
        #expect(ok.names == ["x"])
        #expect(ok["x"]?.bytes == [7, 9])
        #expect(ok.values.isEmpty)
        // Tensors are listed by offset, not by header order.
        let swapped = try SafeTensors.read(file(#"{"b":{"dtype":"I8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, data: [1, 2]))
        #expect(swapped.names == ["a", "b"])
        // An empty object with no data is a valid, empty file.
        #expect(try SafeTensors.read(file("{}      ")).count == 0)

        let cases: [(String, [UInt8], RNNRTError.Kind, String)] = [
            (#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":[]}"#, [0, 0, 0, 0], .malformed, "expected an object of string values, found an array"),
            (#"{"x":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], .malformed, "found the number 1.0"),
            (#"{"x":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}"#, [], .malformed, "found the integer -0"),
            (#"{"x":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,0]}}"#, [], .malformed, "non-negative integers"),
            (#"{"x":{"dtype":"F32","dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], .malformed, "expected one \"dtype\" field, found it twice"),
            (#"{"x":5}"#, [], .malformed, "found the integer 5"),
            (#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, [0, 0, 0, 0, 0, 0, 0, 0], .malformed, "does not start at byte 0"),
            (#"{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, [0], .unsupported, "dtype F8_E4M3"),
            (#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x"#, [0, 0, 0, 0], .malformed, "expected the end of the JSON text"),
        ]
        for (header, data, kind, phrase) in cases {
            expectRNNRTError(kind, containing: [phrase]) { try SafeTensors.read(file(header, data: data)) }
        }
    }

    @Test func pythonRepr() {
        #expect(SafeTensors.pythonRepr("pt") == "'pt'")
        #expect(SafeTensors.pythonRepr("it's") == #""it's""#)
        #expect(SafeTensors.pythonRepr(#"'"#) == #""'""#)
        #expect(SafeTensors.pythonRepr(#"a'b"c"#) == #"'a\'b"c'"#)
        #expect(SafeTensors.pythonRepr("tab\there\u{1}") == #"'tab\there\x01'"#)
    }
}

/// Corrupt and hostile safetensors files fail with a typed error naming what was expected and found.
@Suite struct MalformedSafeTensorsTests {
    static let cases: [(String, RNNRTError.Kind, String)] = [
        ("empty.safetensors", .malformed, "found an empty file"),
        ("five_bytes.safetensors", .malformed, "at least 8 bytes (the header length), found 5 bytes"),
        ("header_too_large.safetensors", .malformed, "at most 100000000 bytes, found 100000001"),
        ("header_past_eof.safetensors", .malformed, "runs past the end of the file"),
        ("header_not_utf8.safetensors", .malformed, "not UTF-8"),
        ("header_not_json.safetensors", .malformed, "expected a string key or '}' in an object, found '''"),
        ("header_is_array.safetensors", .malformed, "expected a JSON object mapping tensor names to entries, found an array of 0 values"),
        ("shape_negative.safetensors", .malformed, "found the integer -2"),
        ("offsets_three.safetensors", .malformed, "exactly 2 integers [BEGIN, END], found 3"),
        ("dtype_not_string.safetensors", .malformed, "expected \"dtype\" to be a string, found the integer 32"),
        ("missing_shape.safetensors", .malformed, "expected a \"shape\" field, found none"),
        ("metadata_not_string.safetensors", .malformed, "key 'epoch': expected a string value, found the integer 3"),
        ("overlapping_offsets.safetensors", .malformed, "tensor 'b': expected BEGIN = 24, found data_offsets [20, 36] (an overlap with tensor 'a'"),
        ("gap.safetensors", .malformed, "tensor 'b': expected BEGIN = 24, found data_offsets [28, 44] (a gap of 4 bytes"),
        ("offsets_past_end.safetensors", .malformed, "need 40 bytes of data, found 32"),
        ("end_before_begin.safetensors", .malformed, "tensor 'b': expected END ≥ BEGIN, found data_offsets [24, 8]"),
        ("byte_count_mismatch.safetensors", .malformed, "tensor 'a': F32 of shape [2, 2] needs 16 bytes, found data_offsets [0, 24] spanning 24"),
        ("shape_overflow.safetensors", .malformed, "more elements than fit in 64 bits"),
        ("trailing_bytes.safetensors", .malformed, "4 trailing bytes"),
        ("duplicate_key.safetensors", .malformed, "found 'a' twice"),
        ("unknown_dtype.safetensors", .malformed, "unknown dtype \"X9\""),
        ("f4_misaligned.safetensors", .malformed, "expected a whole number of bytes, found 3 F4 elements"),
        ("f8_e4m3.safetensors", .unsupported, "tensor 'w' has dtype F8_E4M3"),
        ("deep_nesting.safetensors", .malformed, "at most 64 levels"),
    ]

    @Test(arguments: cases)
    func failsClearly(_ file: String, _ kind: RNNRTError.Kind, _ phrase: String) {
        expectRNNRTError(kind, containing: [phrase]) { try readSafeTensors("malformed/safetensors/\(file)") }
    }

    /// Random byte edits of a valid file (header and data) either read or throw `RNNRTError`; never crash.
    @Test func mutatedFilesNeverCrash() throws {
        let good = [UInt8](try Data(contentsOf: Fixture.url("safetensors/ints_metadata.safetensors")))
        let headerEnd = 8 + Int(good[0]) + Int(good[1]) << 8
        var rng = SeededGenerator(seed: 7)
        let interesting: [UInt8] = Array("{}[]\",:-0123456789eE.\\u ".utf8) + [0x00, 0x80, 0xC3, 0xFF]
        var read = 0, refused = 0
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<headerEnd, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[i] = interesting.randomElement(using: &rng) ?? 0
                case 1: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                default: bytes.remove(at: i)
                }
            }
            if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
            do {
                _ = try SafeTensors.read(bytes)
                read += 1
            } catch is RNNRTError {
                refused += 1
            }
        }
        #expect(read + refused == 3000)
        #expect(refused > 2000)
    }

    @Test func everyMalformedFixtureIsListed() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixture.url("malformed/safetensors").path)
        #expect(Set(names) == Set(Self.cases.map(\.0)))
    }
}

/// The header's JSON parser on its own: strict RFC 8259, exact integers, bounded depth.
@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    private func fails(_ text: String, _ phrase: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectRNNRTError(.malformed, containing: [phrase], sourceLocation: sourceLocation) { try parse(text) }
    }

    @Test func scalarsAndContainers() throws {
        #expect(try parse(" \t\r\n{ \"a\" : [ 1 , -2 , 3.5 , true , false , null , \"s\" ] } \n") ==
            .object([("a", .array([.integer(negative: false, magnitude: 1), .integer(negative: true, magnitude: 2),
                                   .number(3.5), .bool(true), .bool(false), .null, .string("s")]))]))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([]))
        #expect(try parse("\"\"") == .string(""))
        #expect(try parse("1e3") == .number(1000))
        #expect(try parse("-0.5E-1") == .number(-0.05))
        #expect(try parse("0") == .integer(negative: false, magnitude: 0))
    }

    @Test func objectsKeepOrderAndDuplicates() throws {
        guard case .object(let members) = try parse(#"{"b":1,"a":2,"b":3}"#) else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a", "b"])
        #expect(members.map(\.value.uint64Value) == [1, 2, 3])
    }

    @Test func escapes() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u4E2D""#) == .string("Aé中"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try parse("\"raw ünïcode 中 😀\"") == .string("raw ünïcode 中 😀"))
        fails(#""\x""#, #"found '\x'"#)
        fails(#""\u12G4""#, "expected 4 hex digits after \\u, found 'G'")
        fails("\"a\u{1}b\"", "found raw byte 0x01")
        fails("\"abc", "expected '\"' to close the string, found the end of the text")
    }

    @Test func surrogatePairs() throws {
        #expect(try parse(#""\uD83D\uDE00""#) == .string("😀"))
        #expect(try parse(#""\ud834\udd1e x""#) == .string("𝄞 x"))
        fails(#""\uD83D""#, "expected a low surrogate escape")
        fails(#""\uD83Dx""#, "expected a low surrogate escape")
        fails(#""\uD83D\u0041""#, "found \\u0041")
        fails(#""\uDE00""#, "before the low surrogate \\uDE00")
    }

    @Test func bigIntegersAreExact() throws {
        #expect(try parse("18446744073709551615").uint64Value == UInt64.max)
        #expect(try parse("9007199254740993").uint64Value == 9_007_199_254_740_993)  // not a double
        #expect(try parse("-9223372036854775808").int64Value == Int64.min)
        #expect(try parse("-9223372036854775809").int64Value == nil)
        #expect(try parse("-1").uint64Value == nil)
        #expect(try parse("-0").uint64Value == nil)
        // Beyond 64 bits an integer literal becomes a double, like serde_json.
        #expect(try parse("18446744073709551616") == .number(18446744073709551616.0))
        #expect(try parse("1.0").uint64Value == nil)
        fails("1e400", "within the range of a double")
    }

    @Test func numberGrammar() {
        fails("01", "leading zeros are not allowed")
        fails("-", "expected a digit after '-', found the end of the text")
        fails("+1", "expected a JSON value")
        fails("1.", "expected a digit after the decimal point")
        fails(".5", "expected a JSON value")
        fails("1e", "expected a digit in the exponent")
        fails("1e+", "expected a digit in the exponent")
        fails("NaN", "expected a JSON value")
    }

    @Test func depthLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(ok) }
        fails(String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "at most 64 levels")
        fails(String(repeating: "[", count: 100_000), "at most 64 levels")
        fails(String(repeating: "{\"a\":", count: 100_000), "at most 64 levels")
    }

    @Test func trailingGarbageAndSyntax() {
        fails("{} x", "expected the end of the JSON text after the top-level value, found 'x'")
        fails("{}}", "found '}'")
        fails("[1,]", "expected a value after ',' in an array, found ']'")
        fails(#"{"a":1,}"#, "expected a string key after ','")
        fails(#"{"a" 1}"#, "expected ':' after the object key \"a\"")
        fails("[1 2]", "expected ',' or ']'")
        fails(#"{"a":1 "b":2}"#, "expected ',' or '}'")
        fails("", "found the end of the text")
        fails("   ", "found the end of the text")
        fails("tru", "expected 'true'")
        fails("nul", "expected 'null'")
        fails("{'a':1}", "expected a string key or '}' in an object, found '''")
        fails("[1]\u{0}", "found byte 0x00")
    }

    @Test func errorsNameTheByteOffset() {
        let error = #expect(throws: RNNRTError.self) { try parse(#"{"a": [1, 2, x]}"#) }
        #expect(error?.message.hasPrefix("JSON at byte 13:") == true, "\(error?.message ?? "")")
    }

    @Test func invalidUTF8() {
        #expect(UTF8Check.firstInvalidOffset(Array("héllo 😀".utf8)) == nil)
        #expect(UTF8Check.firstInvalidOffset([0x41, 0xC0, 0x80]) == 1)            // overlong
        #expect(UTF8Check.firstInvalidOffset([0xED, 0xA0, 0x80]) == 0)            // encoded surrogate
        #expect(UTF8Check.firstInvalidOffset([0xF4, 0x90, 0x80, 0x80]) == 0)      // above U+10FFFF
        #expect(UTF8Check.firstInvalidOffset([0x41, 0x42, 0xE4, 0xB8]) == 2)      // truncated
        let error = #expect(throws: RNNRTError.self) { try JSONValue.parse([0x22, 0x61, 0xFF, 0x22]) }
        #expect(error?.message.contains("invalid byte 0xFF") == true)
    }
}
