import ArgumentParser
import Foundation
import RNNRT

/// `rnnrt verify A B [INPUT ...]` or `rnnrt verify MODEL INPUT ... --expect EXPECTED ...`: proves a
/// conversion computes what the original computes, and says why when it does not.
///
/// Each output is judged against the float64 result of A (`Judgement.float64`): both sides must lie within 16 times
/// the float32 noise floor (rnnrt's float32 result of A against that float64 result) plus 8 float32 ulps of the
/// output's scale. `--atol`/`--rtol` judge with a fixed tolerance instead.
///
/// Exit status: 0 every output agrees; 1 a mismatch; 2 the models could not be run (unreadable, incompatible
/// shapes, no trial ran on both).
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that two models (or a model and stored outputs) agree, output by output.",
        discussion: """
            A and B are any models rnnrt reads (checkpoint vs ONNX, ONNX vs ONNX, checkpoint vs checkpoint). \
            Outputs pair by position (output, h_n, c_n for a checkpoint; graph outputs in order for ONNX). \
            Without inputs, seeded random inputs of several sequence lengths and batch sizes (batch 1 \
            included) are drawn from what A declares. Each output is judged against A computed in float64: \
            A and B must each lie within 16 times the float32 noise floor (rnnrt's float32 A against that \
            float64 result) plus 8 float32 ulps of the output's scale; --atol/--rtol judge |A − B| with a \
            fixed tolerance instead. On a mismatch, the usual conversion mistakes are replayed on the \
            checkpoint side to name the cause. Exit status: 0 pass, 1 mismatch, 2 could not run.
            """)

    @Argument(help: "Model A (the reference), then model B and inputs, or inputs with --expect.")
    var paths: [String]

    @Option(name: .customLong("expect"), help: "Reference output .npy for MODEL, by position (repeatable).")
    var expected: [String] = []

    @OptionGroup var limits: LimitOptions

    @Option(help: "Judge |A − B| ≤ atol + rtol·|B| instead of against float64 (atol defaults to \(Tolerance.pytorch.atol)).")
    var rtol: Float?

    @Option(help: "Judge |A − B| ≤ atol + rtol·|B| instead of against float64 (rtol defaults to \(Tolerance.pytorch.rtol)).")
    var atol: Float?

    @Option(help: "Seed for the random inputs.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var moduleOptions: ModuleOptions

    func run() throws {
        let judgement: Judgement = atol == nil && rtol == nil ? .float64(.standard)
            : .tolerance(Tolerance(atol: atol ?? Tolerance.pytorch.atol, rtol: rtol ?? Tolerance.pytorch.rtol))
        let report: VerificationReport
        do {
            report = try makeReport(judgement)
        } catch let error as RNNRTError {
            Console.err("rnnrt: error: \(error)")
            throw ExitCode(2)
        }
        if json {
            say(try report.jsonString())
        } else {
            render(report)
        }
        if report.couldNotRun { throw ExitCode(2) }
        if !report.passed { throw ExitCode(1) }
    }

    private func open(_ path: String) throws -> VerifiableModel {
        try withContext("opening \(path)") {
            try moduleOptions.verifiable(path, options: limits.options())
        }
    }

    private func makeReport(_ judgement: Judgement) throws -> VerificationReport {
        guard let first = paths.first else { throw RNNRTError(.invalidArgument, "verify needs a model") }
        let a = try open(first)
        if !expected.isEmpty {
            let inputs = try paths.dropFirst().map { try GraphTensor(try readArray($0, role: "input")) }
            let references = try expected.map { try GraphTensor(try readArray($0, role: "expected output")) }
            return Verifier.check(a, inputs: inputs, expected: references, judgement: judgement,
                                  labels: ("\(first) (\(a.description))", "expected: " + expected.joined(separator: ", ")))
        }
        guard paths.count >= 2 else {
            throw RNNRTError(.invalidArgument, "verify needs two models (A B [INPUT ...]) or a model, its inputs and --expect outputs")
        }
        let b = try open(paths[1])
        let inputs = paths.count > 2 ? try paths.dropFirst(2).map { try GraphTensor(try readArray($0, role: "input")) } : nil
        return Verifier.compare(a, b, inputs: inputs, judgement: judgement, seed: seed,
                                labels: ("\(paths[0]) (\(a.description))", "\(paths[1]) (\(b.description))"))
    }

    private func render(_ report: VerificationReport) {
        say("A: \(report.modelA)")
        say("B: \(report.modelB)")
        if let noise = report.noiseTolerance {
            say("judgement: |A − exact| and |B − exact| ≤ \(format(noise.multiple)) × floor + \(format(noise.ulps)) float32 ulps of max(1, |exact|),")
            say("           exact = A in float64, floor = rnnrt's float32 noise on these inputs (|A − exact| at its largest share of an output's magnitude)")
            if !report.float32Operators.isEmpty {
                say("note: A's float64 run computed \(report.float32Operators.joined(separator: ", ")) in float32 (no float64 form); their rounding is in no floor")
            }
        } else if let atol = report.atol, let rtol = report.rtol {
            say("tolerance: |A − B| ≤ \(atol) + \(rtol)·|B|")
        }
        for trial in report.trials {
            say("")
            say("\(trial.label)  inputs \(trial.inputShapes.map(\.shapeDescription).joined(separator: ", "))")
            if let error = trial.error {
                say("  could not run: \(error)")
                continue
            }
            for o in trial.outputs {
                let names = o.nameA == o.nameB ? o.nameA : "\(o.nameA) ↔ \(o.nameB)"
                let shapes = o.shapeA == o.shapeB ? o.shapeA.shapeDescription : "\(o.shapeA.shapeDescription) vs \(o.shapeB.shapeDescription)"
                if let n = o.noise {
                    let worst = o.worstIndex.map { ", worst: \(n.worstSide ?? "") at \($0.shapeDescription)" } ?? ""
                    say("  \(o.passed ? "ok  " : "FAIL") \(names) \(shapes)  |A−exact| \(format(n.distanceA))  |B−exact| \(format(n.distanceB))  floor \(format(n.floor))  ratio \(ratio(n.ratio))\(o.passed ? "" : worst)")
                } else {
                    let worst = o.worstIndex.map { " at \($0.shapeDescription)" } ?? ""
                    say("  \(o.passed ? "ok  " : "FAIL") \(names) \(shapes)  max abs \(format(o.maxAbsError)), max rel \(format(o.maxRelError))\(o.passed ? "" : worst)")
                }
            }
        }
        if !report.diagnosis.isEmpty {
            say("")
            say("diagnosis:")
            for d in report.diagnosis { say("  - \(d)") }
        }
        say("")
        say(report.couldNotRun ? "result: COULD NOT RUN (exit 2)" : (report.passed ? "result: PASS" : "result: MISMATCH (exit 1)"))
    }

    private func format(_ x: Float) -> String { format(Double(x)) }

    private func format(_ x: Double) -> String {
        x.isFinite ? String(format: "%.3g", x) : "\(x)"
    }

    /// A ratio to the floor: two decimals below 100, else three significant digits.
    private func ratio(_ x: Double) -> String {
        x.isFinite ? String(format: x < 100 ? "%.2f" : "%.3g", x) : "\(x)"
    }
}
