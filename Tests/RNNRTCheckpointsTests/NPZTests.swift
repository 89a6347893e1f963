import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTCheckpoints
import RNNRTCore

/// `.npz` archives written by `numpy.savez` (stored) and `numpy.savez_compressed` (deflated) read back
/// with numpy's keys in archive order, dtypes, shapes and values.
@Suite struct NPZTests {
    static let files = ["weights_stored.npz", "weights_deflated.npz"]

    @Test(arguments: files)
    func readsLikeNumpy(_ file: String) throws {
        let arrays = try NPZ.read(contentsOf: Fixture.url("npz/\(file)"))
        #expect(arrays.count == 16)  // nn.LSTM(3, 4, num_layers=2, bidirectional=True)
        try expectMatchesManifest(arrays, expectedIn: Fixture.url("npz/\(file).expected"), file: file)
    }

    @Test func storedAndDeflatedAgree() throws {
        let stored = try NPZ.read(contentsOf: Fixture.url("npz/weights_stored.npz"))
        let deflated = try NPZ.read(contentsOf: Fixture.url("npz/weights_deflated.npz"))
        #expect(stored.map(\.name) == deflated.map(\.name))
        #expect(stored.map(\.tensor.bytes) == deflated.map(\.tensor.bytes))
    }

    @Test func methodsAreWhatNumpyWrites() throws {
        let stored = try ZipArchive(path: Fixture.url("npz/weights_stored.npz").path)
        let deflated = try ZipArchive(path: Fixture.url("npz/weights_deflated.npz").path)
        #expect(stored.entries.allSatisfy { $0.method == 0 })
        #expect(deflated.entries.allSatisfy { $0.method == 8 })
    }

    @Test func detection() throws {
        #expect(NPZ.isNPZ(try ZipArchive(path: Fixture.url("npz/weights_stored.npz").path)))
        #expect(NPZ.isNPZ(try ZipArchive(path: Fixture.url("npz/weights_deflated.npz").path)))
        #expect(!NPZ.isNPZ(try ZipArchive(path: Fixture.url("malformed/npz/not_npy_entry.npz").path)))
        #expect(!NPZ.isNPZ(try ZipArchive(path: Fixture.url("checkpoints/lstm_state_dict.pt").path)))
    }

    @Test func readsAnOpenArchive() throws {
        let archive = try ZipArchive(path: Fixture.url("npz/weights_stored.npz").path)
        let arrays = try NPZ.read(archive)
        #expect(arrays.first?.name == archive.entries.first.map { String($0.name.dropLast(4)) })
    }
}

/// Corrupt `.npz` archives fail with a typed error naming the entry.
@Suite struct MalformedNPZTests {
    @Test func entryThatIsNotAnArray() {
        let error = expectRNNRTError(.malformed, containing: ["zip entry 'a.txt' is not an array"]) {
            try NPZ.read(contentsOf: Fixture.url("malformed/npz/not_npy_entry.npz"))
        }
        #expect(error?.description.contains("not_npy_entry.npz") == true, "the context names the file")
    }

    @Test func truncatedEntry() {
        let error = expectRNNRTError(.malformed, containing: ["needs 192 bytes, the file has 187"]) {
            try NPZ.read(contentsOf: Fixture.url("malformed/npz/truncated_entry.npz"))
        }
        #expect(error?.context.first == "reading entry 'weight_ih_l0.npy'", "\(String(describing: error?.context))")
    }

    @Test func notAZip() {
        expectRNNRTError(.malformed, containing: ["zip"]) {
            try NPZ.read(contentsOf: Fixture.url("safetensors/lstm_f32.safetensors"))
        }
    }

    @Test func missingFileIsAnIOError() {
        expectRNNRTError(.io) { try NPZ.read(contentsOf: URL(fileURLWithPath: "/nonexistent/x.npz")) }
    }
}
