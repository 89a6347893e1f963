/// Rewrites of a plan's built steps that leave every result bit for bit the same and save work.
///
/// A recurrent node's `Y` read only by a `Transpose`: the recurrent operator writes `Y` already permuted and
/// the `Transpose` passes it on. PyTorch's exporters write `LSTM → Transpose(0, 2, 1, 3) → Reshape` for every
/// bidirectional layer, which puts ONNX's `Y` `[T, D, N, H]` back into the `[T, N, D, H]` order the engine
/// computes in: fused, neither copy is made (two copies of the layer's output, 13 MB each in `lstm_bi_b16`).
extension Plan {
    /// A step as `init` builds it, before releases are known.
    typealias BuiltStep = (node: Node, op: GraphOperator, inputs: [Int?], outputs: [Int?])

    /// `steps` with every fusion applied, and a description of each (for tests). `kept`: slots that must keep their
    /// ONNX meaning (graph outputs).
    static func fuse(_ steps: [BuiltStep], keeping kept: Set<Int>) -> (steps: [BuiltStep], fused: [String]) {
        var steps = steps
        var fused: [String] = []
        // The steps that read each slot (once per input position), and how many outputs write it: a graph that
        // names two outputs alike (not valid ONNX, and not refused) is left as it is.
        var readers: [Int: [Int]] = [:], writes: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            for slot in step.inputs.compactMap({ $0 }) { readers[slot, default: []].append(index) }
            for slot in step.outputs.compactMap({ $0 }) { writes[slot, default: 0] += 1 }
        }
        for index in steps.indices {
            guard let recurrent = steps[index].op as? RecurrentOp, let y = steps[index].outputs.first ?? nil,
                  !kept.contains(y), writes[y] == 1, let only = readers[y], only.count == 1 else { continue }
            let reader = steps[only[0]]
            // (Plan.checkSupported has refused every operator outside the default domain.)
            guard reader.node.opType == "Transpose", reader.inputs.first == y else { continue }
            // Y has rank 4; no perm attribute means the axes reversed.
            guard let attribute = try? reader.node.ints("perm") ?? [3, 2, 1, 0] else { continue }
            let perm = attribute.map { Int($0) }
            guard perm.count == 4, Set(perm) == Set(0..<4) else { continue }
            steps[index].op = recurrent.permutingOutput(perm)
            steps[only[0]].op = ShapeOps.passThrough("data")
            fused.append("\(steps[index].node.label) writes Y as \(reader.node.label) reads it")
        }
        return (steps, fused)
    }
}
