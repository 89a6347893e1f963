import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTCheckpoints
import RNNRTCore

/// Thousands of seeded random corruptions of real pickles — whole modules, TorchScript, legacy files,
/// numpy values — are each either read or refused with an `RNNRTError`; none crashes, hangs or allocates
/// without bound (a crash would end the test process).
/// `RNNRT_FUZZ_ITERATIONS=100000 swift test --filter MutatedPickle` runs a longer campaign.
@Suite struct MutatedPickleTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["RNNRT_FUZZ_ITERATIONS"] ?? "") ?? 400

    static let archives = ["formats/whole_module_protocol5/tagger.pt", "formats/script_tagger_rnn_relu/tagger.pt",
                           "formats/training_checkpoint_numpy/checkpoint.pth", "formats/whole_module_in_checkpoint/checkpoint.pt"]

    /// Mutates `data.pkl` of a zip archive and reads it with the archive's storages.
    @Test(arguments: archives)
    func mutatedDataPickleNeverCrashes(_ file: String) throws {
        let archive = try ZipArchive(path: Fixture.url(file).path)
        guard let entry = TorchCheckpoint.dataPickle(in: archive) else { Issue.record("no data.pkl"); return }
        let prefix = String(entry.name.dropLast("data.pkl".count))
        let original = try archive.read(entry)
        var rng = SeededGenerator(seed: UInt64(file.utf8.count))
        var read = 0, refused = 0
        for _ in 0..<MutatedPickleTests.iterations {
            let bytes = mutate(original, &rng)
            do {
                var machine = PickleMachine(bytes)
                let root = try machine.run()
                _ = try TorchCheckpoint.stateDict(from: root, machine: machine, format: "test", bigEndian: false,
                                                  storage: TorchCheckpoint.storages(in: archive, prefix: prefix, bigEndian: false))
                read += 1
            } catch is RNNRTError {
                refused += 1
            }
        }
        #expect(read + refused == MutatedPickleTests.iterations)
        #expect(refused > 0)
    }

    @Test func mutatedLegacyFileNeverCrashes() throws {
        let original = [UInt8](try Data(contentsOf: Fixture.url("formats/legacy_whole_module/model.pth")))
        var rng = SeededGenerator(seed: 7)
        var refused = 0
        for _ in 0..<MutatedPickleTests.iterations {
            do { _ = try TorchLegacyCheckpoint.read(mutate(original, &rng)) } catch is RNNRTError { refused += 1 }
        }
        #expect(refused > 0)
    }

    /// 1–4 byte changes (random, or a value that tends to break lengths and opcodes), sometimes a truncation.
    private func mutate(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var out = bytes
        let interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x28, 0x2E, 0x52, 0x62, 0x81, 0x8A, 0x93]
        for _ in 0..<Int.random(in: 1...4, using: &rng) where !out.isEmpty {
            let i = Int.random(in: 0..<out.count, using: &rng)
            out[i] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng)
                : interesting[Int.random(in: 0..<interesting.count, using: &rng)]
        }
        if Int.random(in: 0..<5, using: &rng) == 0 { out = Array(out.prefix(Int.random(in: 0...out.count, using: &rng))) }
        return out
    }
}
