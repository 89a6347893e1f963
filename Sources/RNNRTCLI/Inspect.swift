import ArgumentParser
import Foundation
import RNNRT

/// `rnnrt inspect MODEL`: what a checkpoint holds and which recurrent modules rnnrt finds in it, or an
/// ONNX model's inputs, outputs, operators, initializers and recurrent nodes.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a checkpoint (tensors, values, recurrent modules) or an ONNX model (opset, inputs, outputs, operators, recurrent nodes).")

    @Argument(help: "The checkpoint or ONNX model to inspect.")
    var model: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        switch try ModelFile(contentsOf: URL(fileURLWithPath: model)) {
        case .checkpoint(let stateDict): try describe(stateDict)
        case .onnx(let onnx): try describe(onnx)
        }
    }

    private func describe(_ onnx: GraphModel) throws {
        let summary = GraphSummary(model: onnx, path: model)
        if json {
            say(try summary.jsonString())
            return
        }
        let opsets = summary.opsets.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        say("\(model): ONNX, IR \(summary.irVersion), opset \(opsets)\(summary.producer.isEmpty ? "" : ", from \(summary.producer)")")
        func line(_ v: GraphSummary.Value) -> String {
            "  \(v.name)  \(v.type) " + (v.shape.map { "[" + $0.joined(separator: ", ") + "]" } ?? "(shape unknown)")
        }
        say("")
        say("Inputs:")
        summary.inputs.forEach { say(line($0)) }
        say("Outputs:")
        summary.outputs.forEach { say(line($0)) }
        say("")
        say("Recurrent nodes:")
        if summary.recurrentNodes.isEmpty { say("  (none)") }
        for node in summary.recurrentNodes {
            let attributes = node.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            say("  \(node.opType) '\(node.name)'  \(attributes)")
            say("    inputs: " + node.inputs.map { $0.isEmpty ? "-" : $0 }.joined(separator: ", "))
        }
        say("")
        say("Operators (\(summary.operators.values.reduce(0, +)) nodes):")
        for (op, count) in summary.operators.sorted(by: { $0.key < $1.key }) {
            say("  \(op.padding(toLength: max(op.count, 22), withPad: " ", startingAt: 0)) \(count)\(summary.unsupportedOperators.contains(op) ? "  (not supported by rnnrt)" : "")")
        }
        say("")
        say("Initializers: \(summary.initializers.count), \(summary.initializerBytes) bytes")
        let width = min(summary.initializers.map(\.name.count).max() ?? 0, 50)
        for t in summary.initializers {
            say("  \(t.name.padding(toLength: max(width, t.name.count), withPad: " ", startingAt: 0))  \(t.dtype.padding(toLength: 8, withPad: " ", startingAt: 0)) \(t.shape.shapeDescription)  \(t.bytes) bytes")
        }
    }

    private func describe(_ stateDict: StateDict) throws {
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
