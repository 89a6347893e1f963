import RNNRTCore
import RNNRTKernels
import RNNRTLayers

extension RecurrentOp {
    /// The operator in float64 (`Plan.runFloat64`): the same attributes, inputs, checks and layouts as `run`, on the
    /// float64 engine (`ReferenceRecurrence`), with W, R, B and P as the graph holds them.
    func runFloat64(_ inputs: [GraphTensor64?]) throws -> [GraphTensor64] {
        func input(_ i: Int) -> GraphTensor64? { i < inputs.count ? inputs[i] : nil }
        func required(_ i: Int, _ name: String) throws -> GraphTensor64 {
            guard let t = input(i) else { throw RNNRTError(.invalidArgument, "required input \(i) ('\(name)') is missing") }
            return t
        }
        let x = try required(0, "X"), wT = try required(1, "W"), rT = try required(2, "R")
        let bT = input(3), pT = input(7)
        let (h, inputSize) = try checkWeights(w: wT.shape, r: rT.shape, b: bT?.shape, p: pT?.shape)
        let g = kind.gateCount, d = directionCount
        let w = wT.numericValues, r = rT.numericValues, b = bT?.numericValues, p = pT?.numericValues
        let perm = kind.onnxBlocksInTorchOrder
        var directions: [ReferenceDirectionWeights] = []
        for dir in 0..<d {
            let zeros = [Double](repeating: 0, count: g * h)
            directions.append(ReferenceDirectionWeights(
                inputWeights: reorderedBlocks(w[(dir * g * h * inputSize)..<((dir + 1) * g * h * inputSize)], perm, blockSize: h * inputSize),
                hiddenWeights: reorderedBlocks(r[(dir * g * h * h)..<((dir + 1) * g * h * h)], perm, blockSize: h * h),
                inputBias: b.map { reorderedBlocks($0[(dir * 2 * g * h)..<(dir * 2 * g * h + g * h)], perm, blockSize: h) } ?? zeros,
                hiddenBias: b.map { reorderedBlocks($0[(dir * 2 * g * h + g * h)..<((dir + 1) * 2 * g * h)], perm, blockSize: h) } ?? zeros,
                peepholes: p.map { reorderedBlocks($0[(dir * 3 * h)..<((dir + 1) * 3 * h)], RecurrentKind.onnxPeepholesInEngineOrder, blockSize: h) } ?? []))
        }
        let config = RecurrentConfiguration(kind: kind, inputSize: inputSize, hiddenSize: h, numLayers: 1,
                                            bidirectional: d == 2, bias: true, projSize: 0, nonlinearity: nonlinearity)
        let engine = ReferenceRecurrence(config: config, weights: [directions], functions: functions,
                                         gruLinearBeforeReset: linearBeforeReset,
                                         reversedDirections: direction == .reverse ? [true] : nil)

        guard x.rank == 3, x.shape[2] == inputSize else {
            let expected = batchMajor ? "[batch, seq_length, \(inputSize)]" : "[seq_length, batch, \(inputSize)]"
            throw RNNRTError(.shapeMismatch, "\(label): X must be \(expected), got \(x.shape.shapeDescription)")
        }
        let steps = batchMajor ? x.shape[1] : x.shape[0], batch = batchMajor ? x.shape[0] : x.shape[1]
        let lengths = try sequenceLengths(input(4)?.float32, steps: steps, batch: batch)
        let stateShape = batchMajor ? [batch, d, h] : [d, batch, h]
        func initial(_ t: GraphTensor64?, _ name: String) throws -> [Double] {
            guard let t else { return [Double](repeating: 0, count: stateShape.reduce(1, *)) }
            guard t.shape == stateShape else {
                throw RNNRTError(.shapeMismatch, "\(label): \(name) must be \(stateShape.shapeDescription) (layout \(batchMajor ? 1 : 0)), got \(t.shape.shapeDescription)")
            }
            return try t.doubles(name)
        }
        // The engine's layouts: input [T, N, I], states [D, N, H], output [T, N, D, H].
        func swapped(_ v: [Double], _ a: Int, _ b: Int, _ inner: Int) -> [Double] {
            a * b * inner == 0 ? v : Tensor64(shape: [a, b, inner], scalars: v).swappingFirstTwoAxes().scalars
        }
        let xs = try x.doubles("X")
        let timeMajor = batchMajor ? swapped(xs, batch, steps, inputSize) : xs
        var hState = try initial(input(5), "initial_h")
        var cState = kind == .lstm ? try initial(input(6), "initial_c") : nil
        if batchMajor {
            hState = swapped(hState, batch, d, h)
            cState = cState.map { swapped($0, batch, d, h) }
        }
        let out = engine.run(input: timeMajor, steps: steps, batch: batch, h: &hState, c: &cState, sequenceLengths: lengths)
        let engineShape = [steps, batch, d, h]
        let yShape = outputPermutation.map { engineShape[$0] }
        let strides = engineShape.strides
        let y = yShape.contains(0) ? [] : stridedCopy(out, shape: yShape, strides: outputPermutation.map { strides[$0] }, offset: 0)
        if batchMajor {
            hState = swapped(hState, d, batch, h)
            cState = cState.map { swapped($0, d, batch, h) }
        }
        var results = [GraphTensor64(shape: yShape, doubles: y), GraphTensor64(shape: stateShape, doubles: hState)]
        if let cState { results.append(GraphTensor64(shape: stateShape, doubles: cState)) }
        return results
    }
}
