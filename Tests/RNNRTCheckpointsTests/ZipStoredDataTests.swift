import Foundation
@testable import RNNRTCheckpoints
import RNNRTCore
import RNNRTTestSupport
import Testing

/// Stored entries read straight from the file (`ZipStoredData`) give exactly what libzip gives, for every
/// zip fixture, hostile ones included; and a torch.save checkpoint's storages all take the direct path.
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
        var direct = 0
        for file in Self.zipFiles {
            let path = Fixture.url(file).path
            guard let fast = try? ZipArchive(path: path), let slow = try? ZipArchive(path: path, directStoredReads: false) else { continue }
            #expect(slow.directlyReadableCount == 0)
            direct += fast.directlyReadableCount
            for (a, b) in zip(fast.entries, slow.entries) {
                let x = Result { try fast.read(a) }, y = Result { try slow.read(b) }
                switch (x, y) {
                case (.success(let u), .success(let v)): #expect(u == v, "\(file): \(a.name)")
                case (.failure, .failure): break
                default: Issue.record("\(file): \(a.name) reads differently: \(x) vs \(y)")
                }
            }
        }
        #expect(direct > 50)
    }

    @Test func torchSaveStoragesAreReadDirectly() throws {
        let archive = try ZipArchive(path: Fixture.url("examples/lstm.pt").path)
        let storages = archive.entries.filter { $0.name.contains("/data/") && $0.method == 0 }
        #expect(!storages.isEmpty)
        #expect(archive.directlyReadableCount >= storages.count)
    }
}
