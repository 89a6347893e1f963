import RNNRTCore
import RNNRTKernels

/// The weight matrices a plan (and the plans of its `If` and `Loop` bodies) made from its constants, shared by every
/// node that multiplies by the same constant in the same form: a model that unrolls a recurrence into one `Gemm` per
/// step on one weight initializer packs it once, not once per step.
final class PreparedWeights: @unchecked Sendable {
    private struct Key: Hashable {
        let address: UInt
        let shape: [Int]
        let form: String
    }

    private let lock = Lock()
    private var matrices: [Key: WeightMatrix] = [:]

    /// The weight matrix `make` builds from `constant` in `form` (a name for the layout: `"Wᵀ"`, `"W"`), made on the
    /// first request and shared after; constants without a float buffer (empty) are not shared.
    func matrix(for constant: GraphTensor, form: String, _ make: () throws -> WeightMatrix) rethrows -> WeightMatrix {
        guard case .float(let values) = constant.elements, let address = FloatArena.address(values) else { return try make() }
        let key = Key(address: address, shape: constant.shape, form: form)
        if let made = lock.withLock({ matrices[key] }) { return made }
        let made = try make()
        lock.withLock { matrices[key] = made }
        return made
    }
}
