import RNNRTCore

/// How a sequence tensor maps onto the engine's time-major `[L × N × features]` buffers: PyTorch's three
/// accepted layouts (`[L, N, D]`, batch-first `[N, L, D]`, unbatched `[L, D]`), checked once.
struct SequenceLayout {
    let steps: Int
    let batch: Int
    let unbatched: Bool
    let batchFirst: Bool

    /// Checks `x` against the module's input size and reads its layout.
    /// - Throws: `.shapeMismatch` naming the axis and both sizes.
    init(of x: Tensor, config: RecurrentConfiguration) throws {
        try self.init(shape: x.shape, config: config)
    }

    /// Checks an input of `shape` against the module's input size and reads its layout.
    init(shape: [Int], config: RecurrentConfiguration) throws {
        guard shape.count == 2 || shape.count == 3 else {
            let batched = config.batchFirst ? "[N, L, \(config.inputSize)]" : "[L, N, \(config.inputSize)]"
            throw RNNRTError(.shapeMismatch, "input must have rank 3 (\(batched)) or 2 (unbatched [L, \(config.inputSize)]), got shape \(shape.shapeDescription)")
        }
        unbatched = shape.count == 2
        batchFirst = config.batchFirst && !unbatched
        steps = unbatched ? shape[0] : (batchFirst ? shape[1] : shape[0])
        batch = unbatched ? 1 : (batchFirst ? shape[0] : shape[1])
        let features = shape[shape.count - 1]
        guard features == config.inputSize else {
            throw RNNRTError(.shapeMismatch, "input has \(features) features (last axis of \(shape.shapeDescription)), the module expects input_size \(config.inputSize)")
        }
        guard steps >= 1 else {
            throw RNNRTError(.shapeMismatch, "input sequence length must be at least 1, got shape \(shape.shapeDescription)")
        }
        guard batch >= 1 else {
            throw RNNRTError(.shapeMismatch, "input batch size must be at least 1, got shape \(shape.shapeDescription)")
        }
    }

    /// `x` as time-major elements.
    func timeMajor(_ x: Tensor) -> Tensor {
        batchFirst ? x.swappingFirstTwoAxes() : x
    }

    /// Time-major output elements (`[L × N × width]`) as a tensor in the caller's layout.
    func output(_ scalars: [Float], width: Int) -> Tensor {
        if unbatched { return Tensor(shape: [steps, width], scalars: scalars) }
        let y = Tensor(shape: [steps, batch, width], scalars: scalars)
        return batchFirst ? y.swappingFirstTwoAxes() : y
    }

    /// Shape of a state tensor with `size` features per layer and direction, as PyTorch shapes it.
    func stateShape(layersTimesDirections stack: Int, size: Int) -> [Int] {
        unbatched ? [stack, size] : [stack, batch, size]
    }

    /// `x` as time-major elements (float64).
    func timeMajor(_ x: Tensor64) -> Tensor64 {
        batchFirst ? x.swappingFirstTwoAxes() : x
    }

    /// Time-major float64 output elements (`[L × N × width]`) as a tensor in the caller's layout.
    func output(_ scalars: [Double], width: Int) -> Tensor64 {
        if unbatched { return Tensor64(shape: [steps, width], scalars: scalars) }
        let y = Tensor64(shape: [steps, batch, width], scalars: scalars)
        return batchFirst ? y.swappingFirstTwoAxes() : y
    }
}
