import Foundation
import RNNRT
import Testing

/// The tensor in `dir/file`, or nil when the file does not exist.
public func loadIfPresent(_ dir: URL, _ file: String) throws -> Tensor? {
    let url = dir.appendingPathComponent(file)
    return FileManager.default.fileExists(atPath: url.path) ? try NPY.read(contentsOf: url).floatTensor() : nil
}

/// Checks `result` against PyTorch's `dir/expected/{output,h_n,c_n}.npy` within `Tolerance.pytorch`.
public func expectMatchesPyTorch(_ result: RecurrentOutput, expectedIn dir: URL, case name: String) throws {
    var outputs = [("output", result.output), ("h_n", result.hN)]
    if let cN = result.cN { outputs.append(("c_n", cN)) }
    #expect((try loadIfPresent(dir, "expected/c_n.npy") != nil) == (result.cN != nil), "\(name): c_n presence")
    for (label, actual) in outputs {
        guard let expected = try loadIfPresent(dir, "expected/\(label).npy") else {
            Issue.record("\(name): no expected \(label)")
            continue
        }
        let c = Tolerance.pytorch.compare(actual, expected)
        #expect(c.passed, "\(name) \(label): \(c)")
        LargestError.record(c.maxAbsError, at: "\(name) \(label)", source: "torch")
    }
}
