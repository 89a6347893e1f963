import RNNRTCore
import RNNRTKernels

/// One layer-direction's parameters in float64, in PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n), row-major
/// as PyTorch stores them.
package struct ReferenceDirectionWeights: Sendable {
    /// `weight_ih`: `[G·H × inputWidth]`.
    package var inputWeights: [Double]
    /// `weight_hh`: `[G·H × outputSize]`.
    package var hiddenWeights: [Double]
    /// `bias_ih`, `bias_hh`: `[G·H]` each (zeros without bias).
    package var inputBias: [Double]
    package var hiddenBias: [Double]
    /// `weight_hr`: `[P × H]`, empty without projection.
    package var projection: [Double]
    /// LSTM peepholes (ONNX `P`), `[3H]` in the order i, f, o; empty without.
    package var peepholes: [Double]

    package init(inputWeights: [Double], hiddenWeights: [Double], inputBias: [Double], hiddenBias: [Double],
                 projection: [Double] = [], peepholes: [Double] = []) {
        self.inputWeights = inputWeights
        self.hiddenWeights = hiddenWeights
        self.inputBias = inputBias
        self.hiddenBias = hiddenBias
        self.projection = projection
        self.peepholes = peepholes
    }
}

/// The recurrence of `Recurrence` computed in float64, straightforwardly: per time step and batch row, each gate
/// unit's pre-activation is its two biases plus the two dot products, summed in order, and the cell update follows
/// the equations as written. Every form the float32 engine runs is here: PyTorch's cells, the ONNX operators'
/// activations, clip, coupled input-forget gate, peepholes, GRU reset before the product, reversed directions,
/// projections and per-row sequence lengths.
///
/// Not fast: it is the reference the float32 results are measured against (`rnnrt verify`).
package struct ReferenceRecurrence: Sendable {
    package let config: RecurrentConfiguration
    /// `[layer][direction]`.
    package let weights: [[ReferenceDirectionWeights]]
    /// Per direction; nil: PyTorch's fixed cell form.
    package var functions: [CellFunctions]?
    /// GRU: the reset gate multiplies `h·R_nᵀ + Rb_n` (PyTorch; ONNX `linear_before_reset` ≠ 0) rather than `h`.
    package var gruLinearBeforeReset: Bool
    /// Which directions run backwards in time; nil: direction 1.
    package var reversedDirections: [Bool]?

    package init(config: RecurrentConfiguration, weights: [[ReferenceDirectionWeights]], functions: [CellFunctions]? = nil,
                 gruLinearBeforeReset: Bool = true, reversedDirections: [Bool]? = nil) {
        self.config = config
        self.weights = weights
        self.functions = functions
        self.gruLinearBeforeReset = gruLinearBeforeReset
        self.reversedDirections = reversedDirections
    }

    /// The cell functions of `direction`: the ONNX ones, or PyTorch's fixed form spelled out.
    private func cellFunctions(_ direction: Int) -> CellFunctions {
        if let functions, direction < functions.count { return functions[direction] }
        switch config.kind {
        case .lstm: return CellFunctions(activations: [.sigmoid, .tanh, .tanh])
        case .gru: return CellFunctions(activations: [.sigmoid, .tanh])
        case .rnn: return CellFunctions(activations: [config.nonlinearity == .relu ? .relu : .tanh])
        }
    }

    /// Runs all layers over `steps` time steps of a batch of `batch`, as `Recurrence.run` does.
    /// - `input`: `[steps × batch × inputSize]`.
    /// - `h`: `[layers·D × batch × outputSize]`, the initial state on entry and the final one on return.
    /// - `c`: LSTM only, `[layers·D × batch × hiddenSize]`, likewise.
    /// - `sequenceLengths`: per batch row, how many steps are valid; a row's state stops changing after its last
    ///   valid step (reverse directions start at it) and its outputs there are 0.
    /// - Returns: the output, `[steps × batch × D·outputSize]`.
    package func run(input: [Double], steps: Int, batch: Int, h: inout [Double], c: inout [Double]?,
                     sequenceLengths: [Int]? = nil) -> [Double] {
        let d = config.directionCount, hOut = config.outputSize, hid = config.hiddenSize
        precondition(input.count == steps * batch * config.inputSize)
        var layerInput = input
        var width = config.inputSize
        for layer in 0..<config.numLayers {
            var output = [Double](repeating: 0, count: steps * batch * d * hOut)
            for direction in 0..<d {
                let index = layer * d + direction
                let reverse = reversedDirections.map { direction < $0.count && $0[direction] } ?? (direction == 1)
                var state = Array(h[(index * batch * hOut)..<((index + 1) * batch * hOut)])
                var cell = c.map { Array($0[(index * batch * hid)..<((index + 1) * batch * hid)]) } ?? []
                runDirection(weights[layer][direction], functions: cellFunctions(direction), input: layerInput, width: width,
                             steps: steps, batch: batch, reverse: reverse, h: &state, c: &cell, output: &output,
                             column: direction * hOut, outputWidth: d * hOut, sequenceLengths: sequenceLengths)
                h.replaceSubrange((index * batch * hOut)..<((index + 1) * batch * hOut), with: state)
                if c != nil { c!.replaceSubrange((index * batch * hid)..<((index + 1) * batch * hid), with: cell) }
            }
            layerInput = output
            width = d * hOut
        }
        return layerInput
    }

    /// One layer-direction over the sequence; writes its `h` into `output`'s columns `column..<column + hOut`.
    private func runDirection(_ w: ReferenceDirectionWeights, functions fn: CellFunctions, input: [Double], width: Int,
                              steps: Int, batch: Int, reverse: Bool, h: inout [Double], c: inout [Double],
                              output: inout [Double], column: Int, outputWidth: Int, sequenceLengths: [Int]?) {
        let hid = config.hiddenSize, hOut = config.outputSize, g = config.kind.gateCount
        var xPart = [Double](repeating: 0, count: g * hid)
        var hPart = [Double](repeating: 0, count: g * hid)
        var full = [Double](repeating: 0, count: hid)
        var reset = [Double](repeating: 0, count: hid)
        var z = [Double](repeating: 0, count: hid)
        input.withUnsafeBufferPointer { x in
        w.inputWeights.withUnsafeBufferPointer { wih in
        w.hiddenWeights.withUnsafeBufferPointer { whh in
            for s in 0..<steps {
                let t = reverse ? steps - 1 - s : s
                for b in 0..<batch {
                    if let lengths = sequenceLengths, t >= lengths[b] { continue }
                    let xRow = x.baseAddress! + (t * batch + b) * width
                    // x·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh, each gate row's dot product summed in order.
                    for r in 0..<(g * hid) {
                        var sum = w.inputBias[r]
                        let row = wih.baseAddress! + r * width
                        for k in 0..<width { sum += row[k] * xRow[k] }
                        xPart[r] = sum
                    }
                    let hRow = b * hOut
                    let hiddenRows = config.kind == .gru && !gruLinearBeforeReset ? 2 * hid : g * hid
                    for r in 0..<hiddenRows {
                        var sum = w.hiddenBias[r]
                        let row = whh.baseAddress! + r * hOut
                        for k in 0..<hOut { sum += row[k] * h[hRow + k] }
                        hPart[r] = sum
                    }
                    switch config.kind {
                    case .lstm:
                        for j in 0..<hid {
                            let cPrev = c[b * hid + j]
                            let (pi, pf, po) = w.peepholes.isEmpty ? (0.0, 0.0, 0.0)
                                : (w.peepholes[j], w.peepholes[hid + j], w.peepholes[2 * hid + j])
                            let i = fn.act(0, xPart[j] + hPart[j] + pi * cPrev)
                            let f = fn.inputForget ? 1 - i : fn.act(0, xPart[hid + j] + hPart[hid + j] + pf * cPrev)
                            let candidate = fn.act(1, xPart[2 * hid + j] + hPart[2 * hid + j])
                            let cNew = f * cPrev + i * candidate
                            let o = fn.act(0, xPart[3 * hid + j] + hPart[3 * hid + j] + po * cNew)
                            c[b * hid + j] = cNew
                            full[j] = o * fn.activations[2](cNew)
                        }
                        if config.projSize > 0 {
                            for p in 0..<hOut {
                                var sum = 0.0
                                for k in 0..<hid { sum += w.projection[p * hid + k] * full[k] }
                                h[hRow + p] = sum
                            }
                        } else {
                            for j in 0..<hid { h[hRow + j] = full[j] }
                        }
                    case .gru:
                        for j in 0..<hid {
                            let r = fn.act(0, xPart[j] + hPart[j])
                            z[j] = fn.act(0, xPart[hid + j] + hPart[hid + j])
                            if gruLinearBeforeReset {
                                full[j] = fn.act(1, xPart[2 * hid + j] + r * hPart[2 * hid + j])
                            } else {
                                reset[j] = r * h[hRow + j]
                            }
                        }
                        if !gruLinearBeforeReset {
                            for j in 0..<hid {
                                var sum = w.hiddenBias[2 * hid + j]
                                let row = whh.baseAddress! + (2 * hid + j) * hid
                                for k in 0..<hid { sum += row[k] * reset[k] }
                                full[j] = fn.act(1, xPart[2 * hid + j] + sum)
                            }
                        }
                        for j in 0..<hid { h[hRow + j] = (1 - z[j]) * full[j] + z[j] * h[hRow + j] }
                    case .rnn:
                        for j in 0..<hid { h[hRow + j] = fn.act(0, xPart[j] + hPart[j]) }
                    }
                    let out = (t * batch + b) * outputWidth + column
                    for j in 0..<hOut { output[out + j] = h[hRow + j] }
                }
            }
        }
        }
        }
    }
}
