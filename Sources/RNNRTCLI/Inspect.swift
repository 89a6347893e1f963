import ArgumentParser
import Foundation
import RNNRT

/// `rnnrt inspect MODEL`: what a checkpoint holds and which recurrent modules rnnrt finds in it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a checkpoint's tensors, values and recurrent modules.")

    @Argument(help: "The checkpoint to inspect.")
    var model: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let stateDict = try StateDict(contentsOf: URL(fileURLWithPath: model))
        let summary = CheckpointSummary(stateDict: stateDict, path: model)
        if json {
            say(try summary.jsonString())
            return
        }
        say("\(model): \(summary.format), \(summary.tensors.count) tensors")
        say("")
        say("Recurrent modules:")
        if summary.modules.isEmpty { say("  (none)") }
        for m in summary.modules {
            if let torch = m.torch, let count = m.parameterCount {
                say("  \(torch)  --prefix '\(m.prefix)'  (\(count) parameters)")
            } else {
                say("  '\(m.prefix)': cannot bind: \(m.error ?? "unknown error")")
            }
        }
        if !summary.values.isEmpty {
            say("")
            say("Values:")
            for v in summary.values { say("  \(v.name) = \(v.value)") }
        }
        say("")
        say("Tensors:")
        let width = min(summary.tensors.map(\.name.count).max() ?? 0, 60)
        for t in summary.tensors {
            let name = t.name.padding(toLength: max(width, t.name.count), withPad: " ", startingAt: 0)
            say("  \(name)  \(t.dtype.padding(toLength: 8, withPad: " ", startingAt: 0)) \(t.shape.shapeDescription)")
        }
    }
}
