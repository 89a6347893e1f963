import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTCheckpoints
import RNNRTCore

private struct ManifestEntry: Decodable {
    let name: String
    let dtype: String
    let shape: [Int]
}

/// Every checkpoint in `Fixtures/checkpoints/` (made by `torch.save`) reads back with PyTorch's names in
/// order, its dtypes and shapes, and values identical to what torch holds.
@Suite struct TorchCheckpointTests {
    static let files = ["lstm_state_dict.pt", "nested_module.pth", "training_checkpoint.tar", "dtypes.bin",
                        "views", "crc_zero.pt", "protocol4.pt", "big_endian.pt"]

    @Test(arguments: files)
    func readsLikeTorch(_ file: String) throws {
        let sd = try StateDict(contentsOf: Fixture.url("checkpoints/\(file)"))
        let expectedDir = Fixture.url("checkpoints/\(file).expected")
        let manifest = try JSONDecoder().decode([ManifestEntry].self,
                                                from: Data(contentsOf: expectedDir.appendingPathComponent("manifest.json")))
        #expect(sd.names == manifest.map(\.name))
        #expect(sd.format == "PyTorch zip (torch.save)")
        for entry in manifest {
            guard let stored = sd[entry.name] else { Issue.record("\(file): missing \(entry.name)"); continue }
            let dtypeName = ["float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32"][entry.dtype] ?? entry.dtype
            #expect(stored.dtype.rawValue == dtypeName, "\(file) \(entry.name)")
            #expect(stored.shape == entry.shape, "\(file) \(entry.name)")
            let expected = try NPY.read(contentsOf: expectedDir.appendingPathComponent("\(entry.name).npy")).floatTensor()
            let actual = try stored.floatTensor()
            #expect(actual.scalars.elementsEqual(expected.scalars) { $0 == $1 || ($0.isNaN && $1.isNaN) },
                    "\(file) \(entry.name): values differ")
        }
    }

    @Test func trainingCheckpointKeepsScalarValues() throws {
        let sd = try StateDict(contentsOf: Fixture.url("checkpoints/training_checkpoint.tar"))
        let values = Dictionary(uniqueKeysWithValues: sd.values.map { ($0.name, $0.text) })
        #expect(values["epoch"] == "12")
        #expect(values["loss"] == "0.25")
        #expect(values["optimizer_state_dict.param_groups.0.lr"] == "0.001")
        #expect(sd.names.contains("model_state_dict.encoder.rnn.weight_ih_l0"))
        #expect(sd.names.contains("optimizer_state_dict.state.0.exp_avg"))
    }

    @Test func extensionDoesNotMatter() throws {
        // "views" has no extension, "dtypes.bin" and "training_checkpoint.tar" have foreign ones.
        #expect(try StateDict(contentsOf: Fixture.url("checkpoints/views")).count == 7)
    }
}

/// Corrupt and hostile files fail with a typed error, never a crash, hang or huge allocation.
@Suite struct MalformedCheckpointTests {
    static let cases: [(String, RNNRTError.Kind, String)] = [
        ("empty.pt", .malformed, "empty file"),
        ("random_bytes.pt", .malformed, "not a checkpoint"),
        ("truncated.pt", .malformed, "zip"),
        ("entry_claims_too_much.pt", .malformed, "claims 2147483632 bytes"),
        ("os_system.pt", .unsafe, "'os.system'"),
        ("builtins_eval.pt", .unsafe, "'builtins.eval'"),
        ("posix_stack_global.pt", .unsafe, "'posix.system'"),
        ("missing_storage.pt", .malformed, "'data/0' is missing"),
        ("view_out_of_bounds.pt", .malformed, "reaches element 6 of a 4-element storage"),
        ("deep_nesting.pt", .malformed, "deeper than"),
        ("self_reference.pt", .malformed, "includes itself"),
        ("missing_memo.pt", .malformed, "memo slot 7"),
        ("string_past_end.pt", .malformed, "runs past the end"),
        ("no_stop.pt", .malformed, "without STOP"),
        ("unknown_opcode.pt", .unsupported, "opcode 0xFF"),
        ("legacy_magic_only.pt", .malformed, "without STOP"),
    ]

    @Test(arguments: cases)
    func failsClearly(_ file: String, _ kind: RNNRTError.Kind, _ phrase: String) {
        let error = #expect(throws: RNNRTError.self) {
            try StateDict(contentsOf: Fixture.url("malformed/checkpoints/\(file)"))
        }
        #expect(error?.kind == kind, "\(file): \(String(describing: error))")
        #expect(error?.message.contains(phrase) == true, "\(file): \(error?.message ?? "")")
        #expect(error?.description.contains(file) == true, "the message names the file")
    }

    @Test func missingFileIsAnIOError() {
        let error = #expect(throws: RNNRTError.self) { try StateDict(contentsOf: URL(fileURLWithPath: "/nonexistent/x.pt")) }
        #expect(error?.kind == .io)
    }
}

/// Corrupt and hostile files in the other torch formats (legacy, whole-module pickles) fail clearly too.
@Suite struct MalformedFormatTests {
    static let cases: [(String, RNNRTError.Kind, String)] = [
        ("legacy_count_lies.pt", .malformed, "elements, the tensor that uses it says"),
        ("legacy_count_huge.pt", .malformed, "says it holds 1152921504606846976 elements"),
        ("legacy_truncated_storage.pt", .malformed, "bytes at offset"),
        ("zip_truncated_storage.pt", .malformed, "should hold 96 bytes, the record has 48"),
        ("calls_user_function.pt", .unsafe, "pickle calls '__main__.steal_keys'"),
        ("from_type_calls_user_function.pt", .unsafe, "'__main__.run'"),
        ("deep_objects.pt", .malformed, "deeper than 256"),
        ("numpy_scalar_short.pt", .malformed, "float64 tensor of shape [] needs 8 bytes, got 3"),
        ("numpy_array_huge_shape.pt", .malformed, "numpy array of shape [1099511627776, 1099511627776] float64 has 8 bytes"),
    ]

    @Test(arguments: cases)
    func failsClearly(_ file: String, _ kind: RNNRTError.Kind, _ phrase: String) {
        let error = #expect(throws: RNNRTError.self) {
            try StateDict(contentsOf: Fixture.url("malformed/formats/\(file)"))
        }
        #expect(error?.kind == kind, "\(file): \(String(describing: error))")
        #expect(error?.message.contains(phrase) == true, "\(file): \(error?.message ?? "")")
    }
}
