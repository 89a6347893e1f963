import RNNRTCore

/// One operator of a plan, built once per node at load time (attributes parsed and checked, constant
/// weights prepared), then run any number of times.
///
/// `run` receives the node's inputs in order (nil for omitted optional inputs and for positions past the
/// node's input list) and returns its outputs in order; it throws `RNNRTError` naming what was expected
/// and what was found. Operators are immutable and may be run from several threads at once.
protocol GraphOperator: Sendable {
    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor]
    /// `run` as a step of a plan's run: operators with subgraphs run them with the same `profile`.
    func run(_ inputs: [GraphTensor?], profile: PlanProfile?) throws -> [GraphTensor]
    /// The positions of the inputs the operator took at load in a form of its own (constant weights it bound) and
    /// does not read when it runs: a plan passes nil there, so it need not keep those constants as graph values.
    var boundInputs: [Int] { get }
}

extension GraphOperator {
    func run(_ inputs: [GraphTensor?], profile: PlanProfile?) throws -> [GraphTensor] { try run(inputs) }
    var boundInputs: [Int] { [] }
}

/// What an operator builder may look at: the node, the opset it is interpreted under, and the values
/// already known when the model is loaded (initializers and constant-folded outputs).
struct OperatorContext {
    let node: GraphNode
    /// The default-domain opset version of the model.
    let opset: Int64
    /// Values of the enclosing graph the node's subgraphs read, passed after the node's own inputs.
    var implicitInputs: [String] = []
    /// Every value name defined in the graph before this node (the outer scope of its subgraphs).
    var scope: Set<String> = []
    let constant: (String) -> GraphTensor?
    /// Weight matrices made from constants, shared by the plan's nodes and those of its bodies.
    var prepared = PreparedWeights()
    /// An initializer as the file stores it (`eightBitInput` reads 8-bit weights so), or nil.
    var storedConstant: (String) -> StoredTensor? = { _ in nil }

    /// The constant value of input `index`, if the input is present and known at load time.
    func constantInput(_ index: Int) -> GraphTensor? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        return constant(node.inputs[index])
    }

    /// Whether input `index` is present (listed and not `""`).
    func hasInput(_ index: Int) -> Bool { index < node.inputs.count && !node.inputs[index].isEmpty }
}

/// Builds the operator for one node; throws for invalid attributes (reported when the model is loaded).
typealias OperatorBuilder = @Sendable (OperatorContext) throws -> GraphOperator

/// An operator given as a closure over its inputs (most operators need no state beyond attributes).
struct ClosureOperator: GraphOperator {
    var boundInputs: [Int] = []
    let body: @Sendable ([GraphTensor?]) throws -> [GraphTensor]
    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] { try body(inputs) }
}

extension GraphNode {
    /// Integer attribute `name`, or `default` when absent.
    package func int(_ name: String, default value: Int64) throws -> Int64 {
        switch attributes[name] {
        case nil: return value
        case .int(let v)?: return v
        case let other?: throw wrongType(name, "an int", other)
        }
    }

    package func float(_ name: String, default value: Float) throws -> Float {
        switch attributes[name] {
        case nil: return value
        case .float(let v)?: return v
        case .int(let v)?: return Float(v)
        case let other?: throw wrongType(name, "a float", other)
        }
    }

    package func optionalFloat(_ name: String) throws -> Float? {
        attributes[name] == nil ? nil : try float(name, default: 0)
    }

    package func string(_ name: String, default value: String) throws -> String {
        switch attributes[name] {
        case nil: return value
        case .string(let v)?: return v
        case let other?: throw wrongType(name, "a string", other)
        }
    }

    package func ints(_ name: String) throws -> [Int64]? {
        switch attributes[name] {
        case nil: return nil
        case .ints(let v)?: return v
        case .int(let v)?: return [v]
        case let other?: throw wrongType(name, "a list of ints", other)
        }
    }

    package func floats(_ name: String) throws -> [Float]? {
        switch attributes[name] {
        case nil: return nil
        case .floats(let v)?: return v
        case .float(let v)?: return [v]
        case let other?: throw wrongType(name, "a list of floats", other)
        }
    }

    package func strings(_ name: String) throws -> [String]? {
        switch attributes[name] {
        case nil: return nil
        case .strings(let v)?: return v
        case .string(let v)?: return [v]
        case let other?: throw wrongType(name, "a list of strings", other)
        }
    }

    private func wrongType(_ name: String, _ expected: String, _ found: GraphAttribute) -> RNNRTError {
        RNNRTError(.malformed, "\(label): attribute '\(name)' should be \(expected), found \(found.kindName)")
    }
}

extension GraphAttribute {
    var kindName: String {
        switch self {
        case .float: return "a float"
        case .int: return "an int"
        case .string: return "a string"
        case .tensor: return "a tensor"
        case .graph: return "a graph"
        case .floats: return "a list of floats"
        case .ints: return "a list of ints"
        case .strings: return "a list of strings"
        case .tensors: return "a list of tensors"
        case .graphs: return "a list of graphs"
        }
    }
}

/// Argument checking shared by operators.
enum Check {
    /// Input `index` of `inputs`, which must be present.
    static func input(_ inputs: [GraphTensor?], _ index: Int, _ name: String) throws -> GraphTensor {
        guard index < inputs.count, let t = inputs[index] else {
            throw RNNRTError(.invalidArgument, "required input \(index) ('\(name)') is missing")
        }
        return t
    }

    /// A (possibly negative) axis normalized for a tensor of `rank`.
    static func axis(_ axis: Int64, rank: Int, _ what: String = "axis") throws -> Int {
        guard axis > Int64(Int32.min), axis < Int64(Int32.max) else {
            throw RNNRTError(.invalidArgument, "\(what) \(axis) is out of range for rank \(rank)")
        }
        let a = axis < 0 ? Int(axis) + rank : Int(axis)
        guard a >= 0, a < rank else {
            throw RNNRTError(.invalidArgument, "\(what) \(axis) is out of range for rank \(rank)")
        }
        return a
    }

    /// The elements of a 1-D (or scalar) integer tensor as Ints.
    static func intList(_ t: GraphTensor, _ what: String) throws -> [Int] {
        guard t.rank <= 1 else { throw RNNRTError(.invalidArgument, "\(what) must be 1-D, got shape \(t.shape.shapeDescription)") }
        return try t.ints(what).map { v in
            guard let i = Int(exactly: v) else { throw RNNRTError(.invalidArgument, "\(what) value \(v) is out of range") }
            return i
        }
    }

    /// A shape's element count, refusing negative extents, overflow, more elements than the run's element limit, and
    /// (`.limit`) a tensor of elements of `elementSize` bytes that would pass its memory limit (`ElementCount.of`):
    /// outputs sized from input data. `elementSize` 0: a shape that is checked, not made.
    static func elementCount(_ shape: [Int], _ what: @autoclosure () -> String,
                             elementSize: Int = MemoryLayout<Float>.size) throws -> Int {
        try ElementCount.of(shape, what(), elementSize: elementSize)
    }

    /// Throws `.limit` when `count` new elements of `elementSize` bytes, with what the run holds, would pass its memory
    /// limit (`ElementCount.reserve`): for sizes the element limit does not bound (a recurrent node's outputs and
    /// scratch, a transposed convolution's output).
    static func reserve(_ count: Int, elementSize: Int = MemoryLayout<Float>.size, _ what: @autoclosure () -> String) throws {
        guard let limits = RunLimits.current else { return }
        try ElementCount.reserve(count, elementSize: elementSize, within: limits, what())
    }

    /// `value` if its shape is countable (`checkedElementCount`) and agrees with its element count, and, when it is
    /// empty, its non-zero extents multiply to at most `ElementCount.maximum`: what every value of a plan's run is
    /// checked to be, so operators may multiply any of its extents unchecked, and loop over the axes before or after
    /// an empty one (or size an output by them, as a reduction over the empty axis does) without running for ever.
    static func countable(_ value: GraphTensor, _ what: @autoclosure () -> String) throws -> GraphTensor {
        guard let n = value.shape.checkedElementCount(), n == value.elements.count else {
            throw RNNRTError(.invalidArgument, "\(what()) has shape \(value.shape.shapeDescription) but \(value.elements.count) elements")
        }
        if n == 0, let extents = value.shape.filter({ $0 != 0 }).checkedElementCount(), extents > ElementCount.maximum {
            throw RNNRTError(.invalidArgument, "\(what()) is empty but its other extents \(value.shape.shapeDescription) multiply to \(extents), more than the \(ElementCount.maximum) rnnrt steps through")
        }
        return value
    }
}

extension Check {
    /// `outputs`, each checked by `countable`.
    static func countable(_ outputs: [GraphTensor]) throws -> [GraphTensor] {
        // The usual value, a non-empty one whose elements match its shape, in one pass without copies.
        for k in outputs.indices where !outputs[k].hasElementsOfItsShape {
            _ = try countable(outputs[k], "output \(k)")
        }
        return outputs
    }
}

extension Plan {
    /// The fewest elements constant folding may create in one tensor (the element limit of `RunLimits` while a node is
    /// folded): a folded node may create 2^22, or as many as its largest input holds, and no more; a node that would
    /// create more is left to run time, so a small file cannot make loading allocate without bound.
    static let foldLimit = 1 << 22

    /// The limits of the load in progress on this thread: made from the outermost plan's options as its load starts
    /// and shared by the plans of its `If` and `Loop` bodies, so all the constant folding of one load spends one
    /// deadline.
    @TaskLocal static var loading: RunLimits?

    /// `body` under the limits of the load in progress, or of a new one under `options`.
    static func whileLoading<T>(_ options: RunOptions, _ body: () throws -> T) throws -> T {
        if loading != nil { return try body() }
        return try $loading.withValue(RunLimits(options)) { try body() }
    }

    /// `op` (`label`) run on the constant `inputs` at load, or nil when it fails or would create too much, or more
    /// than the load's memory limit allows (it then runs with the plan, and fails there with its error).
    /// - Throws: `.limit` when the load's time ran out or it was cancelled: the run would repeat the same work.
    static func fold(_ op: GraphOperator, _ inputs: [GraphTensor?], label: @autoclosure () -> String) throws -> [GraphTensor]? {
        let load = loading ?? RunLimits()
        let largest = inputs.map { $0?.elements.count ?? 0 }.max() ?? 0
        do {
            return try RunLimits.$current.withValue(load.folding(elements: max(foldLimit, largest))) {
                try Check.countable(op.run(inputs))
            }
        } catch {
            if load.hasStopped { throw load.stopped("while \(label()) was computed at load") }
            return nil
        }
    }
}

extension Float {
    /// The integer ONNX gives a float value when it must become int64: truncated toward zero, saturated at
    /// the int64 range, NaN as 0 (never a trap, whatever the file holds).
    var saturatingInt64: Int64 {
        if isNaN { return 0 }
        if self >= 9.2e18 { return .max }
        if self <= -9.2e18 { return .min }
        return Int64(rounded(.towardZero))
    }
}

extension GraphTensor {
    /// Whether the tensor is not empty and holds exactly as many elements as its shape has.
    var hasElementsOfItsShape: Bool {
        var n = 1
        for d in shape {
            guard d > 0 else { return false }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return false }
            n = p
        }
        switch elements {
        case .float(let v): return v.count == n
        case .int(let v): return v.count == n
        case .bool(let v): return v.count == n
        }
    }
}
