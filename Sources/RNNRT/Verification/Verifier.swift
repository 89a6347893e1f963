import Foundation

/// A model rnnrt can run for verification: a checkpoint's recurrent module (inputs `x` [, `h0`, `c0`];
/// outputs `output`, `h_n`, `c_n`) or an ONNX graph (its inputs and outputs in order).
///
/// Unlike `ModelFile`, which holds a file as read, this holds the model bound and ready to run, the way `Verifier`
/// runs both sides of a comparison: a checkpoint's module chosen by prefix and the hyperparameters a state dict
/// lacks, a graph planned, each with the `RunOptions` it runs under.
public enum VerifiableModel {
    /// A checkpoint's recurrent module, with the state dict it was bound from (whose names and shapes the
    /// diagnosis reads).
    case module(RecurrentModule, StateDict)
    /// An ONNX model's plan, with the model it was planned from.
    case graph(Plan, GraphModel)

    /// Opens `url` (any checkpoint format or ONNX); for checkpoints, binds the module under `prefix`, with
    /// `nonlinearity` and `batchFirst` as `RecurrentModule(stateDict:prefix:nonlinearity:batchFirst:options:)` takes
    /// them. Every run is held to `options`.
    /// - Throws: `RNNRTError`: what `ModelFile(contentsOf:)` throws, `.binding` when the checkpoint's module cannot
    ///   bind, `.unsupported` for an ONNX operator rnnrt does not run.
    public init(contentsOf url: URL, prefix: String = "", nonlinearity: Nonlinearity? = nil, batchFirst: Bool? = nil,
                options: RunOptions = RunOptions()) throws {
        switch try ModelFile(contentsOf: url) {
        case .checkpoint(let sd):
            self = .module(try RecurrentModule(stateDict: sd, prefix: prefix, nonlinearity: nonlinearity, batchFirst: batchFirst,
                                               options: options), sd)
        case .onnx(let model):
            self = .graph(try Plan(model: model, options: options), model)
        }
    }

    /// One line describing the model.
    package var description: String {
        switch self {
        case .module(let m, let sd): return "\(sd.format): \(m.configuration.torchDescription)\(m.prefix.isEmpty ? "" : " at prefix '\(m.prefix)'")"
        case .graph(_, let model): return "ONNX opset \(model.opset), \(model.graph.nodes.count) nodes"
        }
    }

    /// Output names in order.
    package var outputNames: [String] {
        switch self {
        case .module(let m, _): return m.configuration.kind == .lstm ? ["output", "h_n", "c_n"] : ["output", "h_n"]
        case .graph(let plan, _): return plan.graph.outputs.map(\.name)
        }
    }

    /// Runs on `inputs` given by position; a graph records the time each node takes into `profile` when one is
    /// given (a module records nothing).
    package func run(_ inputs: [GraphTensor], profile: PlanProfile? = nil) throws -> [GraphTensor] {
        switch self {
        case .module(let m, _):
            guard let x = inputs.first else { throw RNNRTError(.invalidArgument, "the module needs an input sequence") }
            let h0 = inputs.count > 1 ? try inputs[1].tensor("h0") : nil
            let c0 = inputs.count > 2 ? try inputs[2].tensor("c0") : nil
            let r = try m.forward(try x.tensor("input"), h0: h0, c0: c0)
            return [GraphTensor(r.output), GraphTensor(r.hN)] + (r.cN.map { [GraphTensor($0)] } ?? [])
        case .graph(let plan, _):
            let names = plan.runtimeInputs.map(\.name)
            guard inputs.count <= names.count else {
                throw RNNRTError(.invalidArgument, "\(inputs.count) inputs for a model with \(names.count)")
            }
            let feeds = Dictionary(uniqueKeysWithValues: zip(names, inputs))
            if let profile { return try plan.run(feeds, profile: profile).map(\.tensor) }
            return try plan.run(feeds).map(\.tensor)
        }
    }

    /// Runs in float64 (`RecurrentModule.forwardFloat64`, `Plan.runFloat64`) on the same `inputs`; also returns the
    /// operators a graph had to compute in float32.
    package func runFloat64(_ inputs: [GraphTensor]) throws -> (outputs: [GraphTensor64], float32Operators: [String]) {
        switch self {
        case .module(let m, _):
            guard let x = inputs.first else { throw RNNRTError(.invalidArgument, "the module needs an input sequence") }
            let h0 = inputs.count > 1 ? Tensor64(try inputs[1].tensor("h0")) : nil
            let c0 = inputs.count > 2 ? Tensor64(try inputs[2].tensor("c0")) : nil
            let r = try m.forwardFloat64(Tensor64(try x.tensor("input")), h0: h0, c0: c0)
            return ([GraphTensor64(r.output), GraphTensor64(r.hN)] + (r.cN.map { [GraphTensor64($0)] } ?? []), [])
        case .graph(let plan, _):
            let names = plan.runtimeInputs.map(\.name)
            guard inputs.count <= names.count else {
                throw RNNRTError(.invalidArgument, "\(inputs.count) inputs for a model with \(names.count)")
            }
            let run = try plan.runFloat64(Dictionary(uniqueKeysWithValues: zip(names, inputs.map(GraphTensor64.init))))
            return (run.outputs.map(\.tensor), run.float32Operators)
        }
    }

    /// Seeded random inputs for a sequence length `steps` and batch `batch`, shaped from what the model
    /// declares: the module's `[L, N, I]` (batch-first `[N, L, I]`); a graph's declared inputs, fixed
    /// dimensions kept, symbolic ones set from their names (`batch`/`N` → batch; `seq`/`time`/`len`/`T`
    /// → steps; otherwise by position), token-id inputs drawn below the embedding table's size.
    package func randomInputs(steps: Int, batch: Int, generator: inout SeededGenerator) -> [GraphTensor] {
        switch self {
        case .module(let m, _):
            let c = m.configuration
            let shape = c.batchFirst ? [batch, steps, c.inputSize] : [steps, batch, c.inputSize]
            return [GraphTensor(shape: shape, floats: generator.floats(shape.reduce(1, *)))]
        case .graph(let plan, let model):
            var out: [GraphTensor] = []
            for info in plan.runtimeInputs {
                let dims = info.shape ?? []
                var shape: [Int] = []
                for (axis, dim) in dims.enumerated() {
                    switch dim {
                    case .fixed(let n): shape.append(n)
                    case .symbolic(let name): shape.append(VerifiableModel.extent(named: name, axis: axis, rank: dims.count, steps: steps, batch: batch))
                    case .unknown: shape.append(VerifiableModel.extent(named: "", axis: axis, rank: dims.count, steps: steps, batch: batch))
                    }
                }
                let n = shape.reduce(1, *)
                switch ONNXElementKindName(code: info.elementType) {
                case "int":
                    let vocab = VerifiableModel.vocabularySize(for: info.name, in: model.graph) ?? 2
                    out.append(GraphTensor(shape: shape, ints: (0..<n).map { _ in Int64(generator.next() % UInt64(max(vocab, 1))) }))
                case "bool":
                    out.append(GraphTensor(shape: shape, bools: (0..<n).map { _ in generator.next() % 2 == 0 }))
                default:
                    out.append(GraphTensor(shape: shape, floats: generator.floats(n)))
                }
            }
            return out
        }
    }

    static func extent(named name: String, axis: Int, rank: Int, steps: Int, batch: Int) -> Int {
        let n = name.lowercased()
        if n.contains("batch") || n == "n" || n == "b" { return batch }
        if n.contains("seq") || n.contains("time") || n.contains("len") || n == "t" || n.contains("step") { return steps }
        // By position: rank 2 ([N, T] token ids) or rank 3 time-major ([T, N, F]).
        if rank == 2 { return axis == 0 ? batch : steps }
        return axis == 0 ? steps : (axis == 1 ? batch : 1)
    }

    /// The size of the embedding table an integer input indexes (`Gather(table, input)`), if any.
    static func vocabularySize(for input: String, in graph: Graph) -> Int? {
        for node in graph.nodes where node.opType == "Gather" && node.inputs.count > 1 && node.inputs[1] == input {
            if let table = graph.initializers[node.inputs[0]], let rows = table.shape.first { return rows }
        }
        return nil
    }
}

/// `float`, `int` or `bool` for an ONNX element type code (float when unknown).
func ONNXElementKindName(code: Int32) -> String {
    switch code {
    case 2, 3, 4, 5, 6, 7, 12, 13: return "int"
    case 9: return "bool"
    default: return "float"
    }
}

/// How `rnnrt verify` decides whether two outputs agree.
public enum Judgement: Sendable, Equatable {
    /// Against the float64 result of side A: both sides within `NoiseTolerance`'s multiple of the float32 noise floor
    /// (the default).
    case float64(NoiseTolerance)
    /// `|A − B| ≤ atol + rtol·|B|` elementwise (`--atol`/`--rtol`).
    case tolerance(Tolerance)
}

/// What `rnnrt verify` found: per trial (input shapes), per output pair, the comparison; and, when they
/// disagree, which usual conversion mistake explains it.
public struct VerificationReport: Codable, Sendable {
    /// One output pair of a trial: A's and B's outputs at the same position, and how they compared.
    public struct OutputResult: Codable, Sendable {
        /// The outputs' position (0-based) in each model's output order.
        public let index: Int
        /// A's name for the output (`output`, `h_n`, `c_n` for a module; the graph's output name), or `(none)` when A
        /// has fewer outputs.
        public let nameA: String
        /// B's name for the output (`expected[k]` for stored references), or `(none)` when B has fewer outputs.
        public let nameB: String
        /// A's output shape (`[]` when A has no output at this position).
        public let shapeA: [Int]
        /// B's output shape (`[]` when B has no output at this position).
        public let shapeB: [Int]
        /// Largest `|A − B|` over the elements (infinity when the shapes differ or one side is missing).
        public let maxAbsError: Float
        /// Largest `|A − B| / |B|` over the elements (infinity when the shapes differ or one side is missing).
        public let maxRelError: Float
        /// The judged element: under the float64 judgement, where the side farther from the float64 result is
        /// farthest from it; under a fixed tolerance, the element furthest past (or closest to) its bound.
        public let worstIndex: [Int]?
        /// The float64 judgement's numbers (nil under a fixed tolerance, and for integer or bool outputs).
        public let noise: NoiseComparison?
        /// Whether the pair agrees under the report's judgement.
        public let passed: Bool
    }

    /// One run of both models on the same inputs.
    public struct Trial: Codable, Sendable {
        /// `T=7 N=3` (a seeded random sequence of 7 steps, batch 3), or `given inputs`.
        public let label: String
        /// The shape of each input, in the models' input order.
        public let inputShapes: [[Int]]
        /// Every output pair, by position (empty when the trial could not run).
        public let outputs: [OutputResult]
        /// Why the trial could not run on one of the models, if it could not.
        public let error: String?
        /// Whether the trial ran and every output pair agrees.
        public var passed: Bool { error == nil && !outputs.isEmpty && outputs.allSatisfy(\.passed) }
    }

    /// How model A is named in the report (the first of `Verifier`'s `labels`).
    public let modelA: String
    /// How model B, or the stored references, are named in the report (the second of the `labels`).
    public let modelB: String
    /// `float64` (the noise-floor judgement) or `tolerance` (fixed `atol`/`rtol`).
    public let judgement: String
    /// The float64 judgement's multiple and absolute term (nil under a fixed tolerance).
    public let noiseTolerance: NoiseTolerance?
    /// The fixed tolerance's absolute term (nil under the float64 judgement).
    public let atol: Float?
    /// The fixed tolerance's relative term (nil under the float64 judgement).
    public let rtol: Float?
    /// Operators of A's graph that its float64 run computed in float32 (their rounding is in no floor).
    public internal(set) var float32Operators: [String]
    /// Every trial, in the order run: one for given inputs, else one per `Verifier.trialSizes` entry.
    public internal(set) var trials: [Trial]
    /// Conversion mistakes that reproduce B's outputs from A (or A's from B), one sentence each; when no trial ran,
    /// what differs between the two models' declarations.
    public internal(set) var diagnosis: [String]
    /// Whether at least one trial ran on both models and every trial that ran agrees (a trial one model cannot run,
    /// such as a batch a graph with a fixed batch does not take, is skipped).
    public var passed: Bool { !trials.isEmpty && trials.contains { $0.error == nil } && trials.allSatisfy { $0.passed || $0.error != nil } }
    /// True when no trial could run on both models.
    public var couldNotRun: Bool { !trials.contains { $0.error == nil } }

    init(modelA: String, modelB: String, judgement: Judgement) {
        self.modelA = modelA
        self.modelB = modelB
        switch judgement {
        case .float64(let noise):
            self.judgement = "float64"
            noiseTolerance = noise
            atol = nil
            rtol = nil
        case .tolerance(let t):
            self.judgement = "tolerance"
            noiseTolerance = nil
            atol = t.atol
            rtol = t.rtol
        }
        float32Operators = []
        trials = []
        diagnosis = []
    }

    /// The report as pretty-printed JSON with sorted keys (`rnnrt verify --json`); infinities and NaN as the strings
    /// `inf`, `-inf`, `nan`.
    /// - Throws: `EncodingError` (not expected: every field encodes).
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// Compares two models (or a model and stored references) output by output.
public enum Verifier {
    /// The (steps, batch) sizes tried when no inputs are given: batch 1 included, several lengths.
    public static let trialSizes: [(steps: Int, batch: Int)] = [(1, 1), (7, 1), (5, 3), (16, 2)]

    /// Runs `a` and `b` on the same inputs — `inputs` when given (by position), else random inputs from `seed` of
    /// each `trialSizes` entry, shaped as `a` declares — and compares outputs paired by position; under the float64
    /// judgement, each pair against A's float64 result. `labels` name A and B in the report. Throws nothing: a model
    /// that cannot run on a trial's inputs is recorded in that trial's `error`.
    public static func compare(_ a: VerifiableModel, _ b: VerifiableModel, inputs: [GraphTensor]?,
                               judgement: Judgement = .float64(.standard), seed: UInt64,
                               labels: (String, String)) -> VerificationReport {
        var report = VerificationReport(modelA: labels.0, modelB: labels.1, judgement: judgement)
        var generator = SeededGenerator(seed: seed)
        let trials: [(String, [GraphTensor])]
        if let inputs {
            trials = [("given inputs", inputs)]
        } else {
            trials = trialSizes.map { ("T=\($0.steps) N=\($0.batch)", a.randomInputs(steps: $0.steps, batch: $0.batch, generator: &generator)) }
        }
        var failing: [GraphTensor]?
        var failingB: [GraphTensor]?
        for (label, feed) in trials {
            let shapes = feed.map(\.shape)
            let outA: [GraphTensor], outB: [GraphTensor]
            do { outA = try a.run(feed) } catch {
                report.trials.append(.init(label: label, inputShapes: shapes, outputs: [], error: "A: \(describe(error))"))
                continue
            }
            do { outB = try b.run(feed) } catch {
                report.trials.append(.init(label: label, inputShapes: shapes, outputs: [], error: "B: \(describe(error))"))
                continue
            }
            var exact: [GraphTensor64]? = nil
            if case .float64 = judgement {
                do {
                    let run = try a.runFloat64(feed)
                    exact = run.outputs
                    for op in run.float32Operators where !report.float32Operators.contains(op) { report.float32Operators.append(op) }
                } catch {
                    report.trials.append(.init(label: label, inputShapes: shapes, outputs: [], error: "A in float64: \(describe(error))"))
                    continue
                }
            }
            let results = pair(outA, a.outputNames, outB, b.outputNames, exact: exact, judgement: judgement)
            report.trials.append(.init(label: label, inputShapes: shapes, outputs: results, error: nil))
            if failing == nil, !results.allSatisfy(\.passed) || outA.count != outB.count {
                failing = feed
                failingB = outB
            }
        }
        if let failing, let failingB {
            report.diagnosis = Diagnosis.explain(a: a, b: b, inputs: failing, outputsB: failingB, judgement: judgement)
        } else if report.couldNotRun {
            report.diagnosis = Diagnosis.staticChecks(a: a, b: b)
        }
        return report
    }

    /// `compare(_:_:inputs:judgement:seed:labels:)` under a fixed tolerance (`|A − B| ≤ atol + rtol·|B|`).
    public static func compare(_ a: VerifiableModel, _ b: VerifiableModel, inputs: [GraphTensor]?, tolerance: Tolerance,
                               seed: UInt64, labels: (String, String)) -> VerificationReport {
        compare(a, b, inputs: inputs, judgement: .tolerance(tolerance), seed: seed, labels: labels)
    }

    /// Runs `model` on `inputs` and compares its outputs, by position, with `expected` (such as outputs saved from
    /// PyTorch); under the float64 judgement, both against the model's float64 result. `labels` name the model and the
    /// references in the report. Throws nothing: a run that fails is recorded in the trial's `error`.
    public static func check(_ model: VerifiableModel, inputs: [GraphTensor], expected: [GraphTensor],
                             judgement: Judgement = .float64(.standard), labels: (String, String)) -> VerificationReport {
        var report = VerificationReport(modelA: labels.0, modelB: labels.1, judgement: judgement)
        let shapes = inputs.map(\.shape)
        do {
            let outputs = try model.run(inputs)
            var exact: [GraphTensor64]? = nil
            if case .float64 = judgement {
                let run = try model.runFloat64(inputs)
                exact = run.outputs
                report.float32Operators = run.float32Operators
            }
            let results = pair(outputs, model.outputNames, expected, expected.indices.map { "expected[\($0)]" },
                               exact: exact, judgement: judgement)
            report.trials.append(.init(label: "given inputs", inputShapes: shapes, outputs: results, error: nil))
        } catch {
            report.trials.append(.init(label: "given inputs", inputShapes: shapes, outputs: [], error: "A: \(describe(error))"))
        }
        return report
    }

    /// `check(_:inputs:expected:judgement:labels:)` under a fixed tolerance (`|A − B| ≤ atol + rtol·|B|`).
    public static func check(_ model: VerifiableModel, inputs: [GraphTensor], expected: [GraphTensor], tolerance: Tolerance,
                             labels: (String, String)) -> VerificationReport {
        check(model, inputs: inputs, expected: expected, judgement: .tolerance(tolerance), labels: labels)
    }

    /// The outputs paired by position and judged: float outputs with a float64 result against it, the others (integer
    /// and bool outputs, or every output under a fixed tolerance) elementwise.
    ///
    /// The noise floor is the model's on these inputs: A's distance from its float64 result as a share of each float
    /// output's largest magnitude, the largest share over the outputs, applied to each output at its own magnitude (or
    /// the output's own distance, where that is larger). Outputs that hold some of the same values (`h_n` is the
    /// last step of `output`) then share one floor, however their largest errors happen to fall.
    static func pair(_ a: [GraphTensor], _ namesA: [String], _ b: [GraphTensor], _ namesB: [String],
                     exact: [GraphTensor64]?, judgement: Judgement) -> [VerificationReport.OutputResult] {
        var references: [Int: (exact: Tensor64, floor: Double)] = [:]
        var relativeFloor = 0.0
        if case .float64 = judgement, let exact {
            for k in 0..<min(a.count, exact.count) {
                guard case .float = a[k].elements, case .double(let v) = exact[k].elements, a[k].shape == exact[k].shape else { continue }
                let reference = Tensor64(shape: exact[k].shape, scalars: v)
                let floor = NoiseTolerance.distance(floats(a[k]), reference).0
                references[k] = (reference, floor)
                let scale = NoiseTolerance.scale(reference)
                if floor.isFinite && scale > 0 { relativeFloor = max(relativeFloor, floor / scale) }
            }
        }
        return (0..<max(a.count, b.count)).map { k in
            let nameA = k < namesA.count ? namesA[k] : "output \(k)", nameB = k < namesB.count ? namesB[k] : "output \(k)"
            guard k < a.count, k < b.count else {
                return .init(index: k, nameA: k < a.count ? nameA : "(none)", nameB: k < b.count ? nameB : "(none)",
                             shapeA: k < a.count ? a[k].shape : [], shapeB: k < b.count ? b[k].shape : [],
                             maxAbsError: .infinity, maxRelError: .infinity, worstIndex: nil, noise: nil, passed: false)
            }
            let fa = floats(a[k]), fb = floats(b[k])
            let tolerance: Tolerance
            if case .tolerance(let t) = judgement { tolerance = t } else { tolerance = .pytorch }
            let c = tolerance.compare(fa, fb)
            if case .float64(let noise) = judgement, let (reference, own) = references[k] {
                let floor = max(own, relativeFloor * NoiseTolerance.scale(reference))
                let n = noise.compare(a: fa, b: fb, exact: reference, floor: floor)
                return .init(index: k, nameA: nameA, nameB: nameB, shapeA: a[k].shape, shapeB: b[k].shape,
                             maxAbsError: c.maxAbsError, maxRelError: c.maxRelError, worstIndex: n.worstIndex, noise: n,
                             passed: n.passed)
            }
            return .init(index: k, nameA: nameA, nameB: nameB, shapeA: a[k].shape, shapeB: b[k].shape,
                         maxAbsError: c.maxAbsError, maxRelError: c.maxRelError, worstIndex: c.worstIndex, noise: nil,
                         passed: c.passed)
        }
    }

    static func floats(_ t: GraphTensor) -> Tensor {
        switch t.elements {
        case .float(let v): return Tensor(shape: t.shape, scalars: v)
        case .int(let v): return Tensor(shape: t.shape, scalars: v.map { Float($0) })
        case .bool(let v): return Tensor(shape: t.shape, scalars: v.map { $0 ? 1 : 0 })
        }
    }

    static func describe(_ error: Error) -> String {
        (error as? RNNRTError).map { ([$0.message] + $0.context.map { "while \($0)" }).joined(separator: "; ") } ?? "\(error)"
    }
}
