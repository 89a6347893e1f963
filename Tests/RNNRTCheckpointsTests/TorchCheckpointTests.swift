import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTCheckpoints
import RNNRTCore

/// Every checkpoint in `Fixtures/checkpoints/` (made by `torch.save`) reads back with PyTorch's names in
/// order, its dtypes and shapes, and values identical to what torch holds.
@Suite struct TorchCheckpointTests {
    static let files = ["lstm_state_dict.pt", "nested_module.pth", "training_checkpoint.tar", "dtypes.bin",
                        "views", "crc_zero.pt", "protocol4.pt", "big_endian.pt"]

    @Test(arguments: files)
    func readsLikeTorch(_ file: String) throws {
        let sd = try StateDict(contentsOf: Fixture.url("checkpoints/\(file)"))
        #expect(sd.format == "PyTorch zip (torch.save)")
        try expectMatchesManifest(sd.tensors, expectedIn: Fixture.url("checkpoints/\(file).expected"), file: file)
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
        ("checkpoints/empty.pt", .malformed, "empty file"),
        ("checkpoints/random_bytes.pt", .malformed, "not a checkpoint"),
        ("checkpoints/truncated.pt", .malformed, "zip"),
        ("checkpoints/entry_claims_too_much.pt", .malformed, "claims 2147483632 bytes"),
        ("checkpoints/os_system.pt", .unsafe, "'os.system'"),
        ("checkpoints/builtins_eval.pt", .unsafe, "'builtins.eval'"),
        ("checkpoints/posix_stack_global.pt", .unsafe, "'posix.system'"),
        ("checkpoints/missing_storage.pt", .malformed, "'data/0' is missing"),
        ("checkpoints/view_out_of_bounds.pt", .malformed, "reaches element 6 of a 4-element storage"),
        ("checkpoints/deep_nesting.pt", .malformed, "deeper than"),
        ("checkpoints/self_reference.pt", .malformed, "includes itself"),
        ("checkpoints/missing_memo.pt", .malformed, "memo slot 7"),
        ("checkpoints/string_past_end.pt", .malformed, "runs past the end"),
        ("checkpoints/no_stop.pt", .malformed, "without STOP"),
        ("checkpoints/unknown_opcode.pt", .unsupported, "opcode 0xFF"),
        ("checkpoints/legacy_magic_only.pt", .malformed, "without STOP"),
        // Legacy, whole-module and numpy pickles (tools/fixtures/make_format_fixtures.py).
        ("formats/legacy_count_lies.pt", .malformed, "elements, the tensor that uses it says"),
        ("formats/legacy_count_huge.pt", .malformed, "says it holds 1152921504606846976 elements"),
        ("formats/legacy_truncated_storage.pt", .malformed, "bytes at offset"),
        ("formats/zip_truncated_storage.pt", .malformed, "should hold 96 bytes, the record has 48"),
        ("formats/calls_user_function.pt", .unsafe, "pickle calls '__main__.steal_keys'"),
        ("formats/from_type_calls_user_function.pt", .unsafe, "'__main__.run'"),
        ("formats/deep_objects.pt", .malformed, "deeper than 256"),
        ("formats/numpy_scalar_short.pt", .malformed, "float64 tensor of shape [] needs 8 bytes, got 3"),
        ("formats/numpy_array_huge_shape.pt", .malformed, "numpy array of shape [1099511627776, 1099511627776] float64 has 8 bytes"),
    ]

    @Test(arguments: cases)
    func failsClearly(_ file: String, _ kind: RNNRTError.Kind, _ phrase: String) {
        let error = expectRNNRTError(kind, containing: [phrase]) {
            try StateDict(contentsOf: Fixture.url("malformed/\(file)"))
        }
        #expect(error?.description.contains(file) == true, "the message names the file")
    }

    @Test func missingFileIsAnIOError() {
        expectRNNRTError(.io) { try StateDict(contentsOf: URL(fileURLWithPath: "/nonexistent/x.pt")) }
    }
}
