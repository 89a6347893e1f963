import ArgumentParser
import Dispatch
import Foundation
import RNNRT

/// `rnnrt bench MODEL [INPUT ...]`: times complete forward passes in-process after warm-up (or, with
/// `--stream`, the stateful step API one time step at a time) and the time to open the model.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time forward passes (min, median, max ms) or streaming steps (ns per step).",
        discussion: """
            Without inputs, a seeded random sequence of --steps × --batch is used. Loading (opening or mapping \
            the file and binding the weights, ready to run) is timed and reported as load_ms, then once more \
            as reload_ms (a further load in the same process, without the process's one-time setup), and the \
            first forward pass (warm-up or not) as first_ms: it also pays for what a mapped checkpoint defers \
            to first use (page faults, packing large recurrent matrices). --json prints one object with \
            median_ms (and ns_per_step with --stream). --profile (ONNX) then runs the model --iterations more \
            times recording each node and prints the time per operator type and the slowest nodes.
            """)

    @Argument(help: "The model (checkpoint or ONNX).")
    var model: String

    @Argument(help: "Inputs in order (.npy/.npz); default: random.")
    var inputs: [String] = []

    @OptionGroup var limits: LimitOptions

    @Option(help: "Timed iterations.")
    var iterations: Int = 20

    @Option(help: "Untimed warm-up iterations.")
    var warmup: Int = 3

    @Option(help: "Threads each forward pass may use (default: the number of cores).")
    var threads: Int?

    @Option(help: "Random input: sequence length.")
    var steps: Int = 100

    @Option(help: "Random input: batch size.")
    var batch: Int = 1

    @Flag(help: "Time the streaming step API (batch 1, one time step per call) instead of whole sequences.")
    var stream = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "ONNX: also print the time per operator type and the slowest nodes (from separate, recorded runs).")
    var profile = false

    @Option(help: "With --profile: how many of the slowest nodes to list.")
    var top: Int = 10

    struct Result: Codable {
        let model: String
        let format: String
        let mode: String
        let threads: Int
        let iterations: Int
        let inputShapes: [[Int]]
        let loadMs: Double
        /// The same model loaded again in the process: without what a process's first load also pays once (the
        /// runtime's setup of the types loading uses), as loading a further model would cost.
        let reloadMs: Double
        /// The first forward pass (whole sequence), warm-up or not; nil with --stream.
        let firstMs: Double?
        let minMs: Double
        let medianMs: Double
        let maxMs: Double
        let nsPerStep: Double?
        let profile: Profile?

        enum CodingKeys: String, CodingKey {
            case model, format, mode, threads, iterations, profile
            case inputShapes = "input_shapes", loadMs = "load_ms", reloadMs = "reload_ms", firstMs = "first_ms", minMs = "min_ms"
            case medianMs = "median_ms"
            case maxMs = "max_ms", nsPerStep = "ns_per_step"
        }
    }

    /// `--profile`: milliseconds per run, by operator type and by node (the slowest first).
    struct Profile: Codable {
        struct Line: Codable {
            let name: String
            let nodes: Int?
            let calls: Int?
            let msPerRun: Double
            let share: Double

            enum CodingKeys: String, CodingKey {
                case name, nodes, calls, share
                case msPerRun = "ms_per_run"
            }
        }
        let runs: Int
        let msPerRun: Double
        /// Steps a run took from the run before it (values that follow from the inputs' shapes), per run.
        let stepsFromShapes: Int
        let operatorTypes: [Line]
        let slowestNodes: [Line]

        enum CodingKeys: String, CodingKey {
            case runs
            case msPerRun = "ms_per_run", stepsFromShapes = "steps_from_shapes_per_run"
            case operatorTypes = "operator_types", slowestNodes = "slowest_nodes"
        }

        init(_ recorded: PlanProfile, top: Int) {
            let runs = max(recorded.runs, 1)
            let total = max(recorded.totalSeconds, 1e-12)
            func ms(_ seconds: Double) -> Double { seconds * 1e3 / Double(runs) }
            self.runs = recorded.runs
            msPerRun = ms(recorded.totalSeconds)
            stepsFromShapes = recorded.stepsTakenFromShapes / runs
            operatorTypes = recorded.operatorTotals.map {
                Line(name: $0.opType, nodes: $0.nodes, calls: nil, msPerRun: ms($0.seconds), share: $0.seconds / total)
            }
            slowestNodes = recorded.nodes.sorted { $0.seconds > $1.seconds }.prefix(top).map {
                Line(name: $0.path, nodes: nil, calls: $0.calls / runs, msPerRun: ms($0.seconds), share: $0.seconds / total)
            }
        }

        func printed() -> [String] {
            var lines = [String(format: "profile: %d recorded runs, %.3f ms per run in nodes", runs, msPerRun)]
            if stepsFromShapes > 0 {
                lines.append("  \(stepsFromShapes) steps a run took the values of the run before: they follow from the inputs' shapes")
            }
            lines.append("  operator type            nodes    ms/run   share")
            for t in operatorTypes {
                lines.append(String(format: "  %@ %5d  %8.3f  %5.1f%%", t.name.padding(toLength: 22, withPad: " ", startingAt: 0),
                                    t.nodes ?? 0, t.msPerRun, t.share * 100))
            }
            lines.append("  slowest nodes                                        ms/run   share")
            for n in slowestNodes {
                let name = n.name.count > 50 ? "…" + n.name.suffix(49) : n.name
                lines.append(String(format: "  %@ %8.3f  %5.1f%%", name.padding(toLength: 50, withPad: " ", startingAt: 0),
                                    n.msPerRun, n.share * 100))
            }
            return lines
        }
    }

    func validate() throws {
        guard iterations >= 1, warmup >= 0, steps >= 1, batch >= 1, (threads ?? 1) >= 1, top >= 0 else {
            throw ValidationError("--iterations, --steps, --batch and --threads must be ≥ 1, --warmup and --top ≥ 0")
        }
        if profile && stream { throw ValidationError("--profile records a graph's nodes; it does not apply to --stream") }
    }

    @OptionGroup var moduleOptions: ModuleOptions

    func run() throws {
        let options = limits.options(threads: threads)
        let threadCount = options.threads
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let subject = try moduleOptions.verifiable(model, options: options)
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
        let reloadStart = DispatchTime.now().uptimeNanoseconds
        _ = try moduleOptions.verifiable(model, options: options)
        let reloadMs = Double(DispatchTime.now().uptimeNanoseconds - reloadStart) / 1e6
        var feeds = try inputs.map { try GraphTensor(try readArray($0, role: "input")) }
        if feeds.isEmpty {
            var generator = SeededGenerator(seed: 1)
            feeds = subject.randomInputs(steps: steps, batch: stream ? 1 : batch, generator: &generator)
        }
        var samples: [Double] = []
        var nsPerStep: Double?
        var firstMs: Double?
        if stream {
            guard case .module(let module, _) = subject else {
                throw RNNRTError(.invalidArgument, "--stream times a checkpoint module's step API; ONNX graphs run whole sequences")
            }
            let streamer = try RecurrentStream(module: module)
            let x = try feeds[0].floats("input")
            let width = module.configuration.inputSize
            let count = x.count / width
            var output = [Float](repeating: 0, count: module.configuration.outputSize)
            for iteration in 0..<(warmup + iterations) {
                try streamer.reset()
                let start = DispatchTime.now().uptimeNanoseconds
                x.withUnsafeBufferPointer { xs in
                    output.withUnsafeMutableBufferPointer { out in
                        for t in 0..<count {
                            streamer.step(input: UnsafeBufferPointer(rebasing: xs[(t * width)..<((t + 1) * width)]), output: out)
                        }
                    }
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                if iteration >= warmup { samples.append(elapsed) }
            }
            samples.sort()
            nsPerStep = samples[samples.count / 2] * 1e6 / Double(max(count, 1))
        } else {
            for iteration in 0..<(warmup + iterations) {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try subject.run(feeds)
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                if iteration == 0 { firstMs = elapsed }
                if iteration >= warmup { samples.append(elapsed) }
            }
            samples.sort()
        }
        var recorded: Profile?
        if profile {
            guard case .graph = subject else {
                throw RNNRTError(.invalidArgument, "--profile records the nodes of an ONNX graph; a checkpoint module has none")
            }
            let planProfile = PlanProfile()
            for _ in 0..<iterations { _ = try subject.run(feeds, profile: planProfile) }
            recorded = Profile(planProfile, top: top)
        }
        let format: String
        switch subject {
        case .module(_, let sd): format = sd.format
        case .graph: format = "ONNX"
        }
        let result = Result(model: model, format: format, mode: stream ? "stream" : "forward", threads: threadCount,
                            iterations: iterations, inputShapes: feeds.map(\.shape), loadMs: loadMs, reloadMs: reloadMs,
                            firstMs: firstMs,
                            minMs: samples.first ?? 0, medianMs: samples[samples.count / 2], maxMs: samples.last ?? 0,
                            nsPerStep: nsPerStep, profile: recorded)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            say(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        say("model:  \(model) (\(format)), \(subject.description)")
        say("input:  \(result.inputShapes.map(\.shapeDescription).joined(separator: ", ")), \(threadCount) thread\(threadCount == 1 ? "" : "s")")
        say(String(format: "load:   %.2f ms (open + bind; %.2f ms loaded again)", loadMs, reloadMs))
        if let firstMs { say(String(format: "first:  %.3f ms (the first forward pass)", firstMs)) }
        say(String(format: "%@ %d iterations after %d warm-up: min %.3f ms, median %.3f ms, max %.3f ms",
                   stream ? "stream:" : "forward:", iterations, warmup, result.minMs, result.medianMs, result.maxMs))
        if let nsPerStep { say(String(format: "        %.0f ns per step", nsPerStep)) }
        for line in recorded?.printed() ?? [] { say(line) }
    }
}
