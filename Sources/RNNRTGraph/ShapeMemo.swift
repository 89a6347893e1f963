import RNNRTCore

/// How much of a value a plan knows from the shapes of its inputs alone, before a run: the basis of `ShapeMemo`.
///
/// A value is known from shapes (`.value`) when it is a constant, the output of `Shape` or `Size` of a value whose
/// shape is known from shapes, or an output of a node (without subgraphs) whose inputs are all known from shapes. A
/// value's shape is known from shapes (`.shape`) when it is an input of the graph (a caller's or an enclosing graph's),
/// or an output of an operator whose output shapes follow from its input shapes and the values of the inputs
/// `shapeParameters` lists, those known from shapes. Exporters write both around the layers: `Shape → Slice → Concat`
/// targets of a `Reshape`, a zero state `Expand`ed to the batch size.
enum ShapeKnowledge: Int, Comparable {
    case unknown, shape, value

    static func < (a: ShapeKnowledge, b: ShapeKnowledge) -> Bool { a.rawValue < b.rawValue }

    /// Operators of the default domain whose output shapes follow from their inputs' shapes, attributes, and the
    /// values of the inputs at these positions (axes, target shapes, slice bounds, counts). Any other operator's
    /// outputs have shapes unknown before a run, unless all its inputs are known from shapes.
    static let shapeParameters: [String: [Int]] = {
        var table: [String: [Int]] = [:]
        let fromShapesAlone = [
            // Elementwise, one input or broadcasting several.
            "Abs", "Ceil", "Celu", "Clip", "Cos", "Elu", "Erf", "Exp", "Floor", "Gelu", "HardSigmoid", "HardSwish",
            "Identity", "LeakyRelu", "Log", "Mish", "Neg", "Not", "PRelu", "Reciprocal", "Relu", "Round", "Selu",
            "Sigmoid", "Sign", "Sin", "Softplus", "Softsign", "Sqrt", "Tanh", "ThresholdedRelu", "Cast", "CastLike",
            "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Sum", "Mean", "Max", "Min", "Equal", "Less", "LessOrEqual",
            "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Dropout", "CumSum", "Trilu",
            "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
            // Normalizations and per-axis maps.
            "Softmax", "LogSoftmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization",
            "GroupNormalization",
            // Products, convolutions, pooling, recurrences (shapes from the operands' shapes and attributes).
            "MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "Einsum", "Conv", "ConvTranspose", "ConvInteger",
            "QLinearConv", "MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool", "LSTM", "GRU", "RNN",
            // Rearrangements whose result's shape needs no input's values.
            "Transpose", "Flatten", "Concat", "Gather", "GatherElements", "GatherND", "ScatterND", "ArgMax", "ArgMin",
        ]
        for name in fromShapesAlone { table[name] = [] }
        for name in ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
                     "ReduceLogSumExp"] {
            table[name] = [1]  // axes (opset 13/18 on)
        }
        table["Reshape"] = [1]
        table["Expand"] = [1]
        table["Squeeze"] = [1]
        table["Unsqueeze"] = [1]
        table["Tile"] = [1]
        table["Split"] = [1]
        table["TopK"] = [1]
        table["OneHot"] = [1]
        table["Slice"] = [1, 2, 3, 4]
        table["Pad"] = [1, 3]  // pads, axes (the fill value does not change the shape)
        return table
    }()

    /// What is known of the outputs of `node` from what is known of its inputs (nil inputs: omitted, or constants the
    /// operator bound at load, `.value` either way).
    static func ofOutputs(_ node: GraphNode, inputs: [ShapeKnowledge]) -> ShapeKnowledge {
        guard node.domain.isEmpty || node.domain == "ai.onnx", !node.hasSubgraphs else { return .unknown }
        if node.opType == "Shape" || node.opType == "Size" {
            return (inputs.first ?? .unknown) >= .shape ? .value : .unknown
        }
        if inputs.allSatisfy({ $0 == .value }) { return .value }
        guard let parameters = shapeParameters[node.opType], inputs.allSatisfy({ $0 >= .shape }),
              parameters.allSatisfy({ $0 >= inputs.count || inputs[$0] == .value }) else { return .unknown }
        return .shape
    }
}

extension GraphNode {
    /// Whether the node holds a graph in an attribute (`If`, `Loop`).
    var hasSubgraphs: Bool {
        attributes.values.contains {
            switch $0 {
            case .graph, .graphs: return true
            default: return false
            }
        }
    }
}

extension Plan {
    /// Per step of `steps` (fused), whether every value it writes is known from the inputs' shapes (`ShapeKnowledge`):
    /// such a step computes the same values in every run whose inputs have the same shapes, and a run may take them
    /// from the run before it (`ShapeMemo`).
    ///
    /// What is known is worked out over `original`, the steps before fusion, whose values have their ONNX meaning; a
    /// fused step writes values of those slots, or (inside what it fused) values computed from the same inputs.
    /// `runtime`: the slots a caller or an enclosing graph gives; `isConstant`: whether a slot is known at load.
    static func shapeDeterminedSteps(_ steps: [BuiltStep], original: [BuiltStep], runtime: Set<Int>,
                                     isConstant: (Int) -> Bool) -> [Bool] {
        var known: [Int: ShapeKnowledge] = [:]
        func knowledge(_ slot: Int?) -> ShapeKnowledge {
            guard let slot else { return .value }
            if let k = known[slot] { return k }
            if isConstant(slot) { return .value }
            return runtime.contains(slot) ? .shape : .unknown
        }
        for step in original {
            let outputs = ShapeKnowledge.ofOutputs(step.node, inputs: step.inputs.map(knowledge))
            for slot in step.outputs.compactMap({ $0 }) {
                // A slot written twice (not valid ONNX, not refused) is never taken as known.
                known[slot] = known[slot] == nil && !isConstant(slot) && !runtime.contains(slot) ? outputs : .unknown
            }
        }
        return steps.map { step in
            let outputs = step.outputs.compactMap { $0 }
            return !outputs.isEmpty && !step.node.hasSubgraphs && outputs.allSatisfy { known[$0] == .value }
        }
    }
}

/// The values a run of a plan computed in its steps that depend on its inputs' shapes alone
/// (`Plan.shapeDeterminedSteps`), kept for the runs after it, with the inputs' shapes and element types they were
/// computed for. A run whose inputs match takes them instead of running those steps again (`replay`); any other run
/// computes them and keeps its own (`record`).
///
/// Kept values leave the arena (they outlive the run) and are never written: a step that reads one and would update its
/// input in place copies it, as for a constant. Like constants, they do not count against a run's memory limit; they
/// hold at most `elementLimit` elements. One memo serves one run at a time: it belongs to an arena
/// (`FloatArena.shapeMemo`), which a plan lends to one run at a time.
final class ShapeMemo {
    /// How a run uses the memo.
    enum Use { case off, record, replay }

    /// The most elements the kept values may hold together: a run whose values come to more keeps none, and runs with
    /// those input shapes compute them each time.
    static let elementLimit = 1 << 20

    private enum State { case empty, recording, recorded, tooLarge }

    /// What a run's input is, as far as a value known from shapes can tell.
    private struct Signature: Equatable {
        let shape: [Int]
        let kind: Int
        let integerType: DType

        init(_ value: GraphTensor) {
            shape = value.shape
            kind = Signature.kind(value)
            integerType = value.integerType
        }

        func matches(_ value: GraphTensor) -> Bool {
            kind == Signature.kind(value) && integerType == value.integerType && shape == value.shape
        }

        static func kind(_ value: GraphTensor) -> Int {
            switch value.elements {
            case .float: return 0
            case .int: return 1
            case .bool: return 2
            }
        }
    }

    private var state = State.empty
    /// The inputs the values were computed for (nil: an input not given).
    private var inputs: [Signature?] = []
    private var values: [GraphTensor?] = []
    private var elements = 0

    /// The number of runs that took the kept values (for tests).
    private(set) var replays = 0

    /// How a run whose inputs are `values[slots]` uses the memo (a run of `slotCount` slots): it takes the kept values
    /// when they were computed for inputs of the same shapes and types; it computes and keeps them otherwise, unless
    /// they were too large to keep for those inputs.
    func begin(_ values: [GraphTensor?], inputs slots: [Int], slotCount: Int) -> Use {
        if state == .recorded || state == .tooLarge, matches(values, slots) {
            if state == .tooLarge { return .off }
            replays += 1
            return .replay
        }
        inputs = slots.map { values[$0].map(Signature.init) }
        self.values = [GraphTensor?](repeating: nil, count: slotCount)
        elements = 0
        state = .recording
        return .record
    }

    /// The kept value of `slot`.
    func value(_ slot: Int) -> GraphTensor? { values[slot] }

    /// Keeps `value`, computed into `slot` by a step known from shapes, taking its buffer out of `arena`. False when the
    /// memo keeps nothing for this run (the values came to more than `elementLimit`): the run holds it as any other.
    func record(_ value: GraphTensor, at slot: Int, arena: FloatArena?) -> Bool {
        guard state == .recording else { return false }
        guard elements + value.count <= ShapeMemo.elementLimit else {
            state = .tooLarge
            values = []
            return false
        }
        if case .float(let v) = value.elements { arena?.release(v) }
        elements += value.count
        values[slot] = value
        return true
    }

    /// The end of a run that recorded and succeeded: its values serve the next runs with the same inputs' shapes.
    func finish() {
        if state == .recording { state = .recorded }
    }

    private func matches(_ values: [GraphTensor?], _ slots: [Int]) -> Bool {
        guard slots.count == inputs.count else { return false }
        for (slot, expected) in zip(slots, inputs) {
            switch (values[slot], expected) {
            case (nil, nil): continue
            case (let value?, let expected?) where expected.matches(value): continue
            default: return false
            }
        }
        return true
    }
}
