import Foundation
import Testing
import RNNRT
import RNNRTTestSupport
@testable import RNNRTKernels
@testable import RNNRTLayers

/// A module bound from a checkpoint that `StateDict(contentsOf:)` mapped uses its large weight matrices
/// in place in the mapping, keeps the mapping alive once the `StateDict` (and its archive, and even the
/// file's name) are gone, and computes exactly what the same weights bound from memory compute.
@Suite struct MappedWeightsTests {
    @Test func moduleOutlivesItsMappedStateDict() throws {
        // weight_ih is 1024 × 320 floats, above `WeightMatrix.packLimit`: used in place when the layout is
        // by size or forced in place (packed and portable runs copy it, and must compute the same).
        let config = RecurrentConfiguration(kind: .lstm, inputSize: 320, hiddenSize: 256, numLayers: 2, bidirectional: true)
        let inMemory = try randomStateDict(config)
        let dir = try Fixture.temporaryDirectory()
        let url = dir.appendingPathComponent("large.pt")
        try inMemory.writeTorch(to: url)

        var bound: RecurrentModule?
        do {
            let mapped = try StateDict(contentsOf: url)
            #expect(try mapped["weight_ih_l0"]?.floatStorage().isBorrowed == true)
            bound = try RecurrentModule(stateDict: mapped)
        }
        // The mapping holds the file's pages: removing its name changes nothing for the module.
        try FileManager.default.removeItem(at: dir)
        let module = try #require(bound)

        let inputWeights = module.recurrence.weights[0][0].inputWeights
        if KernelSet.avx2, WeightMatrix.Layout.current != .packed {
            guard case .rows(let w) = inputWeights.storage else {
                Issue.record("weight_ih_l0 should be used in place")
                return
            }
            #expect(w.isBorrowed, "weight_ih_l0 is the mapped file's pages, not a copy")
        }

        var rng = SeededGenerator(seed: 3)
        let x = Tensor(shape: [6, 2, 320], scalars: rng.floats(6 * 2 * 320))
        let reference = try RecurrentModule(stateDict: inMemory)
        let (a, b) = (try module.forward(x), try reference.forward(x))
        #expect(a.output == b.output && a.hN == b.hN && a.cN == b.cN)
    }
}
