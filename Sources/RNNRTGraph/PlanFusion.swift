/// Rewrites of a plan's built steps that save work and compute what the steps computed: bit for bit for the
/// recurrent output written in a Transpose's order and for an activation fused into a Conv; to float32 rounding where
/// the arithmetic is regrouped (SiLU as x / (1 + e^−x) instead of x · (1 / (1 + e^−x)); a Conv's sums started from a
/// fused addend).
///
/// - A recurrent node's `Y` read only by a `Transpose`: the recurrent operator writes `Y` already permuted and the
///   `Transpose` passes it on. PyTorch's exporters write `LSTM → Transpose(0, 2, 1, 3) → Reshape` for every
///   bidirectional layer, which puts ONNX's `Y` `[T, D, N, H]` back into the `[T, N, D, H]` order the engine
///   computes in: fused, neither copy is made (two copies of the layer's output, 13 MB each in `lstm_bi_b16`).
/// - `Mul(x, Sigmoid(x))`, the exported form of `nn.SiLU` (and of `x * torch.sigmoid(x)`): one SiLU step.
/// - A `Conv` with constant weights whose output only a `Mul` by a constant per output channel (or a scalar) reads,
///   and that product only an `Add` of such a constant, if one follows (an exported batch normalization): the scale
///   and the shift go into the `Conv`'s weights and bias (`W·s`, `B·s + t`; the products round once more or less
///   than the `Mul` and `Add` did), and the `Mul` and `Add` are dropped.
/// - A `Conv` (without an activation yet) whose output only an `Add` reads: the `Conv` takes the other addend as an
///   input and starts its sums from it (a residual connection; the sums round in another order than the `Add`
///   after them did), and the `Add` is dropped.
/// - A `Conv` whose output only an activation step reads (`Relu`, `Sigmoid`, `Tanh`, a fused SiLU): the `Conv`
///   applies it to its output, and the activation step is dropped.
/// - A `DynamicQuantizeLinear` whose quantized output only an integer product (`ConvInteger`, `MatMulInteger`) reads,
///   as its left operand: the product quantizes the float input as it reads it (`QuantizingProductOp`, the same
///   values), and the `DynamicQuantizeLinear` computes only the scale and zero point.
/// - An integer product (`ConvInteger`, `MatMulInteger`) whose accumulators only `Add → Cast<float> → Mul` (or
///   `Cast → Mul`) read: the dequantizing chain onnxruntime's quantizer writes, one step (`DequantizedProductOp`,
///   bit for bit), run where the `Mul` was.
/// - `Gemm`s multiplying by one constant weight, none reading another's result: one product
///   (`SharedWeightProducts`).
extension Plan {
    /// A step as `init` builds it, before releases are known.
    typealias BuiltStep = (node: GraphNode, op: GraphOperator, inputs: [Int?], outputs: [Int?])

    /// `steps` with every fusion applied, and a description of each (for tests). `kept`: slots that must keep their
    /// ONNX meaning (graph outputs).
    /// `constant` gives the value of a slot known at load (nil otherwise); `opset` builds the rewritten operators.
    static func fuse(_ steps: [BuiltStep], keeping kept: Set<Int>, opset: Int64,
                     constant: @escaping (Int) -> GraphTensor?) -> (steps: [BuiltStep], fused: [String]) {
        var fusion = Fusion(steps: steps, kept: kept)
        fusion.recurrentOutputsIntoTransposes()
        fusion.quantizingProducts()
        fusion.dequantizingChains()
        fusion.gatedSigmoids()
        fusion.scalesIntoConvolutions(opset: opset, constant: constant)
        fusion.addsIntoConvolutions()
        fusion.activationsIntoConvolutions()
        let shared = Plan.sharingWeights(fusion.remaining, constant: constant)
        return (shared.steps, fusion.fused + shared.fused)
    }
}

/// The steps being rewritten, and who reads and writes each slot (kept up to date by every rewrite).
private struct Fusion {
    var steps: [Plan.BuiltStep]
    let kept: Set<Int>
    var removed: Set<Int> = []
    var fused: [String] = []
    /// The steps that read each slot, once per input position.
    var readers: [Int: [Int]] = [:]
    /// How many outputs write each slot.
    var writes: [Int: Int] = [:]

    init(steps: [Plan.BuiltStep], kept: Set<Int>) {
        self.steps = steps
        self.kept = kept
        for (index, step) in steps.enumerated() {
            for slot in step.inputs.compactMap({ $0 }) { readers[slot, default: []].append(index) }
            for slot in step.outputs.compactMap({ $0 }) { writes[slot, default: 0] += 1 }
        }
    }

    var remaining: [Plan.BuiltStep] { steps.indices.filter { !removed.contains($0) }.map { steps[$0] } }

    /// The one step that reads `slot` (at one input position), if exactly one does, `slot` is written exactly once and
    /// is not a kept slot (a graph that names two outputs alike — not valid ONNX, and not refused — is left as it is).
    func onlyReader(of slot: Int) -> Int? {
        guard !kept.contains(slot), writes[slot] == 1, let only = readers[slot], only.count == 1 else { return nil }
        return only[0]
    }

    /// The step that writes `slot`, if a step does (nil: an input, initializer or constant).
    func producer(of slot: Int) -> Int? {
        steps.indices.first { !removed.contains($0) && steps[$0].outputs.contains(slot) }
    }

    /// Step `index` now reads `inputs`.
    mutating func setInputs(_ index: Int, _ inputs: [Int?]) {
        for slot in steps[index].inputs.compactMap({ $0 }) {
            if let k = readers[slot]?.firstIndex(of: index) { readers[slot]!.remove(at: k) }
        }
        for slot in inputs.compactMap({ $0 }) { readers[slot, default: []].append(index) }
        steps[index].inputs = inputs
    }

    /// Step `index` is dropped (its outputs are written elsewhere now, or no longer read).
    mutating func remove(_ index: Int) {
        setInputs(index, [])
        for slot in steps[index].outputs.compactMap({ $0 }) { writes[slot, default: 0] -= 1 }
        removed.insert(index)
    }

    /// Step `index` now writes `outputs`.
    mutating func setOutputs(_ index: Int, _ outputs: [Int?]) {
        for slot in steps[index].outputs.compactMap({ $0 }) { writes[slot, default: 0] -= 1 }
        for slot in outputs.compactMap({ $0 }) { writes[slot, default: 0] += 1 }
        steps[index].outputs = outputs
    }

    mutating func recurrentOutputsIntoTransposes() {
        for index in steps.indices {
            guard let recurrent = steps[index].op as? RecurrentOp, let y = steps[index].outputs.first ?? nil,
                  let only = onlyReader(of: y) else { continue }
            let reader = steps[only]
            // (Plan.checkSupported has refused every operator outside the default domain.)
            guard reader.node.opType == "Transpose", reader.inputs.first == y else { continue }
            // Y has rank 4; no perm attribute means the axes reversed.
            guard let attribute = try? reader.node.ints("perm") ?? [3, 2, 1, 0] else { continue }
            let perm = attribute.map { Int($0) }
            guard perm.count == 4, Set(perm) == Set(0..<4) else { continue }
            steps[index].op = recurrent.permutingOutput(perm)
            steps[only].op = ShapeOps.passThrough("data")
            fused.append("\(steps[index].node.label) writes Y as \(reader.node.label) reads it")
        }
    }

    mutating func quantizingProducts() {
        for index in steps.indices where !removed.contains(index) {
            let step = steps[index]
            guard step.node.opType == "DynamicQuantizeLinear", step.node.domain.isEmpty || step.node.domain == "ai.onnx",
                  step.inputs.count == 1, let x = step.inputs[0], step.outputs.count == 3, let q = step.outputs[0],
                  let scale = step.outputs[1], let zero = step.outputs[2], let reader = onlyReader(of: q),
                  let product = steps[reader].op as? any IntegerAccumulating, product.returnsAccumulators,
                  steps[reader].inputs.first == q else { continue }
            steps[reader].op = QuantizingProductOp(product: product)
            setInputs(reader, [x] + steps[reader].inputs.dropFirst() + [scale, zero])
            steps[index].op = DynamicQuantizationParametersOp(label: step.node.label)
            setOutputs(index, [nil, scale, zero])
            fused.append("\(steps[reader].node.label) quantizes what \(step.node.label) quantized")
        }
    }

    mutating func dequantizingChains() {
        for index in steps.indices where !removed.contains(index) {
            guard let product = steps[index].op as? any IntegerAccumulating, product.returnsAccumulators,
                  steps[index].outputs.count == 1, let y = steps[index].outputs[0], var next = onlyReader(of: y)
            else { continue }
            var add: (index: Int, addend: Int, productFirst: Bool)?
            var sum = y
            if steps[next].node.opType == "Add" {
                guard let (addend, first) = otherOperand(of: next, besides: y), steps[next].outputs.count == 1,
                      let out = steps[next].outputs[0], let reader = onlyReader(of: out) else { continue }
                add = (next, addend, first)
                (sum, next) = (out, reader)
            }
            let cast = next
            guard steps[cast].node.opType == "Cast", steps[cast].inputs == [sum], steps[cast].outputs.count == 1,
                  let to = try? steps[cast].node.int("to", default: 1), ONNXElementKind(code: Int32(clamping: to)) == .float,
                  let floats = steps[cast].outputs[0], let mul = onlyReader(of: floats), steps[mul].node.opType == "Mul",
                  let (scale, mulFirst) = otherOperand(of: mul, besides: floats) else { continue }
            let label = steps[mul].node.label
            steps[mul].op = DequantizedProductOp(
                product: product, productInputs: steps[index].inputs.count,
                add: add.map { (steps[$0.index].op, $0.productFirst) }, cast: steps[cast].op, mul: (steps[mul].op, mulFirst))
            steps[mul].node = steps[index].node
            setInputs(mul, steps[index].inputs + (add.map { [$0.addend] } ?? []) + [scale])
            remove(index)
            if let add { remove(add.index) }
            remove(cast)
            fused.append("\(steps[index].node.label) dequantizes as \(label) did")
        }
    }

    /// The other input of the two-input step `index`, one of whose inputs is `slot`, and whether `slot` comes first
    /// (nil when both inputs are `slot` or the other is absent).
    func otherOperand(of index: Int, besides slot: Int) -> (Int, Bool)? {
        let inputs = steps[index].inputs
        guard inputs.count == 2, (inputs[0] == slot) != (inputs[1] == slot),
              let other = inputs[0] == slot ? inputs[1] : inputs[0] else { return nil }
        return (other, inputs[0] == slot)
    }

    mutating func gatedSigmoids() {
        for index in steps.indices where !removed.contains(index) {
            guard let sigmoid = steps[index].op as? ActivationOp, sigmoid.function == .sigmoid,
                  let x = steps[index].inputs.first ?? nil, let s = steps[index].outputs.first ?? nil,
                  let only = onlyReader(of: s) else { continue }
            let mul = steps[only]
            guard mul.node.opType == "Mul", mul.inputs.count == 2, Set(mul.inputs) == [x, s] else { continue }
            steps[only].op = ActivationOp(function: .silu, name: "Mul")
            remove(index)
            setInputs(only, [x])
            fused.append("\(mul.node.label) and \(steps[index].node.label) are one SiLU")
        }
    }

    mutating func scalesIntoConvolutions(opset: Int64, constant: (Int) -> GraphTensor?) {
        for index in steps.indices where !removed.contains(index) {
            guard let conv = steps[index].op as? ConvOp, conv.activation == nil, !conv.addsInput,
                  let shape = conv.weightShape, steps[index].outputs.count == 1, let y = steps[index].outputs[0],
                  let mul = onlyReader(of: y),
                  let scale = channelConstant(of: mul, "Mul", besides: y, channels: shape[0], rank: shape.count, constant),
                  let product = steps[mul].outputs.first ?? nil, steps[mul].outputs.count == 1 else { continue }
            let add = onlyReader(of: product)
            let shift = add.flatMap {
                channelConstant(of: $0, "Add", besides: product, channels: shape[0], rank: shape.count, constant)
            }
            guard let folded = try? conv.folding(steps[index].node, opset: opset, scale: scale, shift: shift,
                                                 weights: steps[index].inputs[1].flatMap(constant),
                                                 bias: steps[index].inputs.count > 2 ? steps[index].inputs[2].flatMap(constant) : nil)
            else { continue }
            steps[index].op = folded
            let last = shift != nil ? add! : mul
            let outputs = steps[last].outputs
            remove(mul)
            if shift != nil { remove(add!) }
            setOutputs(index, outputs)
            fused.append("\(steps[index].node.label) takes the scale of \(steps[mul].node.label)"
                         + (shift != nil ? " and the shift of \(steps[add!].node.label)" : ""))
        }
    }

    /// The per-channel values (`channels` of them) of the constant step `index` (a `Mul` or an `Add` as `opType`) takes
    /// besides `slot`, for a value of `rank` axes whose second is the channel axis: a scalar, or a constant whose
    /// extents are 1 but on that axis (aligned to the trailing axes, as broadcasting aligns it).
    func channelConstant(of index: Int, _ opType: String, besides slot: Int, channels: Int, rank: Int,
                         _ constant: (Int) -> GraphTensor?) -> [Float]? {
        let step = steps[index]
        guard step.node.opType == opType, step.inputs.count == 2, step.inputs.contains(slot),
              let other = step.inputs.first(where: { $0 != slot }) ?? nil, let value = constant(other),
              case .float(let values) = value.elements else { return nil }
        if values.count == 1 && value.rank <= rank { return [Float](repeating: values[0], count: channels) }
        let trimmed = Array(value.shape.drop { $0 == 1 })
        guard values.count == channels, value.rank <= rank, trimmed.count == rank - 1, trimmed.first == channels,
              trimmed.dropFirst().allSatisfy({ $0 == 1 }) else { return nil }
        return values
    }

    mutating func addsIntoConvolutions() {
        for index in steps.indices where !removed.contains(index) {
            guard let conv = steps[index].op as? ConvOp, conv.activation == nil, !conv.addsInput,
                  steps[index].outputs.count == 1, let y = steps[index].outputs[0], let only = onlyReader(of: y),
                  steps[only].node.opType == "Add", steps[only].inputs.count == 2,
                  let other = steps[only].inputs.first(where: { $0 != y }) ?? nil,
                  producer(of: other).map({ $0 < index }) ?? true else { continue }
            var inputs = steps[index].inputs
            while inputs.count < 3 { inputs.append(nil) }
            steps[index].op = conv.addingInput()
            setInputs(index, inputs + [other])
            let outputs = steps[only].outputs
            remove(only)
            setOutputs(index, outputs)
            fused.append("\(steps[index].node.label) adds \(steps[only].node.label)'s other input")
        }
    }

    mutating func activationsIntoConvolutions() {
        for index in steps.indices where !removed.contains(index) {
            guard let conv = steps[index].op as? ConvOp, conv.activation == nil, let y = steps[index].outputs.first ?? nil,
                  steps[index].outputs.count == 1, let only = onlyReader(of: y),
                  let activation = steps[only].op as? ActivationOp, steps[only].inputs == [y] else { continue }
            steps[index].op = conv.applying(activation.function)
            let outputs = steps[only].outputs
            remove(only)
            setOutputs(index, outputs)
            fused.append("\(steps[index].node.label) applies \(steps[only].node.label)")
        }
    }
}
