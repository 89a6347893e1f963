/// PyTorch and ONNX stack a recurrent layer's gate blocks in different orders: PyTorch LSTM `i, f, g, o`, ONNX
/// `i, o, f, c`; PyTorch GRU `r, z, n`, ONNX `z, r, h`; an RNN has one block. An ONNX LSTM's peepholes `P` are
/// `i, o, f`, the engine's `i, f, o`. Every conversion between the two orders reads this one table.
extension RecurrentKind {
    /// For each of PyTorch's blocks in order, the ONNX block that holds it (ONNX → PyTorch).
    package var onnxBlocksInTorchOrder: [Int] {
        switch self {
        case .lstm: return [0, 2, 3, 1]
        case .gru: return [1, 0, 2]
        case .rnn: return [0]
        }
    }

    /// For each of ONNX's blocks in order, the PyTorch block that holds it (PyTorch → ONNX).
    package var torchBlocksInONNXOrder: [Int] {
        let toTorch = onnxBlocksInTorchOrder
        return toTorch.indices.map { onnx in toTorch.firstIndex(of: onnx)! }
    }

    /// For each of the engine's peephole blocks (`i, f, o`), the block of an ONNX `P` (`i, o, f`) that holds it.
    package static let onnxPeepholesInEngineOrder = [0, 2, 1]
}

/// The row blocks of `m` (each `blockSize` values) taken in the order `blocks`.
@inlinable
package func reorderedBlocks<T>(_ m: ArraySlice<T>, _ blocks: [Int], blockSize: Int) -> [T] {
    // Inlinable, and one copy per block into an array made at its size: called from other modules on megabytes of
    // weights, the generic flatMap ran unspecialized, element by element.
    var out: [T] = []
    out.reserveCapacity(blocks.count * blockSize)
    for k in blocks { out.append(contentsOf: m[(m.startIndex + k * blockSize)..<(m.startIndex + (k + 1) * blockSize)]) }
    return out
}
