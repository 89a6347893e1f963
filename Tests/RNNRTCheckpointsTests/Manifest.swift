import Foundation
import Testing
import RNNRTTestSupport
import RNNRTCheckpoints
import RNNRTCore

/// `<file>.expected/manifest.json` as the fixture scripts write it: each tensor's name, dtype and shape in
/// the order the reference library lists them, beside `<name>.npy` with its values as float64.
struct ManifestEntry: Decodable {
    let name: String
    let dtype: String
    let shape: [Int]
}

/// Checks that `tensors` are exactly the manifest's, in its order, with its dtypes and shapes and values
/// equal to the reference's (NaN equal to NaN).
func expectMatchesManifest(_ tensors: [(name: String, tensor: StoredTensor)], expectedIn expectedDir: URL,
                           file: String) throws {
    let manifest = try JSONDecoder().decode([ManifestEntry].self,
                                            from: Data(contentsOf: expectedDir.appendingPathComponent("manifest.json")))
    #expect(tensors.map(\.name) == manifest.map(\.name), "\(file): names")
    // torch's short dtype names, as older manifests spell them.
    let aliases = ["float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32"]
    for (entry, (_, stored)) in zip(manifest, tensors) {
        #expect(stored.dtype.rawValue == aliases[entry.dtype] ?? entry.dtype, "\(file) \(entry.name)")
        #expect(stored.shape == entry.shape, "\(file) \(entry.name)")
        let expected = try NPY.read(contentsOf: expectedDir.appendingPathComponent("\(entry.name).npy")).floatTensor()
        #expect(try stored.floatTensor().scalars.elementsEqual(expected.scalars) { $0 == $1 || ($0.isNaN && $1.isNaN) },
                "\(file) \(entry.name): values differ")
    }
}
