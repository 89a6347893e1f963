import Foundation
@testable import RNNRTCheckpoints
import RNNRTCore
import RNNRTTestSupport
import Testing

/// Stored entries read straight from the file (`ZipStoredData`), with pread or from the read-only mapping,
/// give exactly what libzip gives, for every zip fixture, hostile ones included; float32 entries used in
/// place in the mapping hold the same elements as a read; and a torch.save checkpoint read mapped holds
/// bit-identical tensors to one read with pread, its float32 storages borrowed from the mapping.
@Suite struct ZipStoredDataTests {
    static let zipFiles: [String] = {
        let root = Fixture.url("")
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var out: [String] = []
        while let url = walker?.nextObject() as? URL {
            guard ["pt", "pth", "npz", "zip"].contains(url.pathExtension),
                  let head = try? FileHandle(forReadingFrom: url).read(upToCount: 2), head == Data([0x50, 0x4B]) else { continue }
            out.append(String(url.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")))
        }
        return out.sorted()
    }()

    @Test func directReadsEqualLibzip() throws {
        #expect(Self.zipFiles.count > 20)
        var direct = 0, mappedFloats = 0
        for file in Self.zipFiles {
            let path = Fixture.url(file).path
            guard let slow = try? ZipArchive(path: path, storedReads: .libzip) else {
                // A file libzip refuses is refused however it is opened.
                #expect(throws: RNNRTError.self, "\(file)") { try ZipArchive(path: path, storedReads: .pread) }
                #expect(throws: RNNRTError.self, "\(file)") { try ZipArchive(path: path) }
                continue
            }
            let pread = try ZipArchive(path: path, storedReads: .pread)
            let mapped = try ZipArchive(path: path)
            #expect(slow.directlyReadableCount == 0 && !slow.isMapped && !pread.isMapped)
            #expect(mapped.isMapped, "\(file) is mapped")
            #expect(mapped.directlyReadableCount == pread.directlyReadableCount, "\(file)")
            direct += pread.directlyReadableCount
            #expect(mapped.entries.map(\.name) == slow.entries.map(\.name) && pread.entries.map(\.name) == slow.entries.map(\.name))
            for ((a, b), c) in zip(zip(mapped.entries, pread.entries), slow.entries) {
                let x = Result { try mapped.read(a) }, y = Result { try pread.read(b) }, z = Result { try slow.read(c) }
                switch (x, y, z) {
                case (.success(let u), .success(let v), .success(let w)):
                    #expect(u == w && v == w, "\(file): \(a.name)")
                    if let floats = mapped.mappedFloats(a) {
                        mappedFloats += 1
                        #expect(floats.isBorrowed)
                        #expect(floats.withUnsafeBufferPointer { [UInt8](UnsafeRawBufferPointer($0)) } == w, "\(file): \(a.name) in place")
                    }
                case (.failure, .failure, .failure): break
                default: Issue.record("\(file): \(a.name) reads differently: \(x) vs \(y) vs \(z)")
                }
                #expect(pread.mappedFloats(b) == nil && slow.mappedFloats(c) == nil)
            }
        }
        #expect(direct > 50)
        #expect(mappedFloats > 50)
    }

    @Test func mappedCheckpointsEqualReadOnes() throws {
        var checkpoints = 0, borrowed = 0
        for file in Self.zipFiles {
            let path = Fixture.url(file).path
            guard let pread = try? ZipArchive(path: path, storedReads: .pread),
                  TorchCheckpoint.dataPickle(in: pread) != nil else { continue }
            let read = Result { try TorchCheckpoint.read(pread) }
            let mapped = Result { try TorchCheckpoint.read(try ZipArchive(path: path)) }
            switch (mapped, read) {
            case (.success(let m), .success(let r)):
                checkpoints += 1
                #expect(m.names == r.names && m.format == r.format, "\(file)")
                #expect(m.values.map(\.name) == r.values.map(\.name) && m.values.map(\.text) == r.values.map(\.text))
                for ((name, x), (_, y)) in zip(m.tensors, r.tensors) {
                    #expect(x.dtype == y.dtype && x.shape == y.shape && x.bytes == y.bytes, "\(file): \(name)")
                    if x.dtype == .float32 {
                        if try x.floatStorage().isBorrowed { borrowed += 1 }
                        #expect(try y.floatStorage().isBorrowed == false)
                    }
                }
            case (.failure(let a as RNNRTError), .failure(let b as RNNRTError)):
                #expect(a.kind == b.kind && a.message == b.message, "\(file)")
            default:
                Issue.record("\(file) reads differently mapped: \(mapped) vs \(read)")
            }
        }
        #expect(checkpoints > 20)
        #expect(borrowed > 50)
    }

    @Test func torchSaveStoragesAreReadDirectly() throws {
        let archive = try ZipArchive(path: Fixture.url("examples/lstm.pt").path)
        let storages = archive.entries.filter { $0.name.contains("/data/") && $0.method == 0 }
        #expect(!storages.isEmpty)
        #expect(archive.directlyReadableCount >= storages.count)
    }
}
