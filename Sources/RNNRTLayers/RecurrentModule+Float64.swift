import RNNRTCore
import RNNRTKernels

extension RecurrentModule {
    /// Runs the module over a whole sequence in float64: the same model as `forward` (same parameters, same
    /// equations, same shapes), computed without float32 rounding, as `module.double()(x.double())` is in PyTorch.
    ///
    /// The parameters are those the module was bound to: a float64 checkpoint's as stored, any other type's
    /// elements widened exactly. `rnnrt verify` measures float32 results against this.
    /// - Parameters: as `forward`'s, in float64.
    /// - Throws: `RNNRTError` `.shapeMismatch` naming the argument, the axis and both sizes.
    public func forwardFloat64(_ x: Tensor64, h0: Tensor64? = nil, c0: Tensor64? = nil) throws -> RecurrentOutput64 {
        let config = configuration
        let layout = try SequenceLayout(shape: x.shape, config: config)
        let stack = config.numLayers * config.directionCount
        let hShape = layout.stateShape(layersTimesDirections: stack, size: config.outputSize)
        let cShape = layout.stateShape(layersTimesDirections: stack, size: config.hiddenSize)
        func initial(_ given: Tensor64?, _ name: String, _ shape: [Int]) throws -> [Double] {
            guard let given else { return [Double](repeating: 0, count: shape.reduce(1, *)) }
            try RecurrentModule.checkState(given.shape, named: name, shape: shape, cell: config.isCell)
            return given.scalars
        }
        var h = try initial(h0, "h0", hShape)
        var c: [Double]? = nil
        if config.kind == .lstm {
            c = try initial(c0, "c0", cShape)
        } else if c0 != nil {
            throw RNNRTError(.invalidArgument, "c0 is only used by LSTM; this module is an \(config.kind.rawValue)")
        }
        let output = try referenceRecurrence().run(input: layout.timeMajor(x).scalars, steps: layout.steps,
                                                   batch: layout.batch, h: &h, c: &c)
        return RecurrentOutput64(output: layout.output(output, width: config.directionCount * config.outputSize),
                                 hN: Tensor64(shape: hShape, scalars: h), cN: c.map { Tensor64(shape: cShape, scalars: $0) })
    }

    /// The module's parameters and cell form in float64.
    package func referenceRecurrence() throws -> ReferenceRecurrence {
        let config = configuration
        let rows = config.kind.gateCount * config.hiddenSize
        var layers: [[ReferenceDirectionWeights]] = []
        for layer in 0..<config.numLayers {
            var directions: [ReferenceDirectionWeights] = []
            for direction in 0..<config.directionCount {
                func values(_ role: TorchParameterNames.Role) throws -> [Double]? {
                    let name = TorchParameterNames.name(role, layer: layer, reverse: direction == 1, cell: config.isCell)
                    return try parameters[name].map { try $0.doubleTensor().scalars }
                }
                let zeros = [Double](repeating: 0, count: rows)
                directions.append(ReferenceDirectionWeights(
                    inputWeights: try values(.weightIH) ?? [], hiddenWeights: try values(.weightHH) ?? [],
                    inputBias: try values(.biasIH) ?? zeros, hiddenBias: try values(.biasHH) ?? zeros,
                    projection: try values(.weightHR) ?? []))
            }
            layers.append(directions)
        }
        return ReferenceRecurrence(config: config, weights: layers, functions: recurrence.functions,
                                   gruLinearBeforeReset: recurrence.gruLinearBeforeReset,
                                   reversedDirections: recurrence.reversedDirections)
    }
}

/// What `RecurrentModule.forwardFloat64` returns: PyTorch's `output`, `h_n` and (LSTM) `c_n`, in float64.
public struct RecurrentOutput64: Sendable {
    /// `[L, N, D·outputSize]` (or batch-first / unbatched like the input).
    public var output: Tensor64
    /// Final hidden state of every layer and direction, `[layers·D, N, outputSize]`.
    public var hN: Tensor64
    /// LSTM only: final cell state, `[layers·D, N, hiddenSize]`.
    public var cN: Tensor64?

    /// The outputs rounded to float32.
    public var float32: RecurrentOutput {
        RecurrentOutput(output: output.float32, hN: hN.float32, cN: cN?.float32)
    }
}
