import ArgumentParser
import Foundation
import RNNRT

/// `rnnrt convert IN -o OUT`: between checkpoint formats and ONNX, chosen by OUT's extension.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a recurrent module between checkpoint formats and ONNX.",
        discussion: """
            OUT's extension chooses the format. Checkpoint → .onnx: one ONNX LSTM/GRU/RNN node per layer \
            (a cell, nn.LSTMCell and the like, is one node: the one-layer module it runs as) \
            (an LSTM with proj_size becomes a Loop), dynamic sequence and batch axes, optional h0/c0 inputs, \
            outputs output, h_n, c_n with PyTorch's shapes. .onnx → .pt / .safetensors: every recurrent \
            node's weights under PyTorch's names and gate order, loadable with \
            torch.load(weights_only=True) and load_state_dict(strict=True); the nn.Module to construct is \
            printed. Checkpoint → .pt / .safetensors: the module's tensors under PyTorch's names (prefix \
            removed). Tensors are copied bit for bit.
            """)

    @Argument(help: "The model to convert (any checkpoint format rnnrt reads, or ONNX).")
    var input: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "The file to write: .onnx, .pt (.pth, .bin) or .safetensors.")
    var output: String




    @OptionGroup var moduleOptions: ModuleOptions

    func run() throws {
        let outURL = URL(fileURLWithPath: output)
        let target = outURL.pathExtension.lowercased()
        guard ["onnx", "pt", "pth", "bin", "safetensors"].contains(target) else {
            throw RNNRTError(.invalidArgument, "output '\(output)' must end in .onnx, .pt, .pth, .bin or .safetensors")
        }
        let source = try ModelFile(contentsOf: URL(fileURLWithPath: input))
        let stateDict: StateDict
        let config: RecurrentConfiguration
        switch source {
        case .onnx(let onnx):
            guard target != "onnx" else { throw RNNRTError(.invalidArgument, "the input is already ONNX") }
            (stateDict, config) = try ONNXImport.stateDict(from: onnx)
        case .checkpoint(let checkpoint):
            let module = try moduleOptions.module(in: checkpoint)
            config = module.configuration
            if target == "onnx" {
                let model = try ONNXExport.model(for: module, stateDict: checkpoint)
                try ONNXModelFile.write(model, to: outURL)
                say("wrote  \(output) (ONNX opset \(ONNXExport.opset), \(model.graph.nodes.count) nodes) from \(config.torchDescription)\(module.prefix.isEmpty ? "" : " at prefix '\(module.prefix)'")")
                say("inputs: input\(config.batchFirst ? " [batch, seq, \(config.inputSize)]" : " [seq, batch, \(config.inputSize)]"), optional h0\(config.kind == .lstm ? ", c0" : ""); outputs: output, h_n\(config.kind == .lstm ? ", c_n" : "")")
                return
            }
            // The module's own tensors, named as the bare module (or cell) names them, in file order.
            let names = Set(TorchParameterNames.expected(for: config).map(\.name))
            let tensors: [(String, StoredTensor)] = checkpoint.names.compactMap { name in
                guard name.hasPrefix(module.prefix), let t = checkpoint[name] else { return nil }
                let local = String(name.dropFirst(module.prefix.count))
                return names.contains(local) ? (local, t) : nil
            }
            stateDict = try StateDict(tensors, format: checkpoint.format)
        }
        if target == "safetensors" {
            try stateDict.writeSafeTensors(to: outURL)
        } else {
            try stateDict.writeTorch(to: outURL)
        }
        say("wrote  \(output) (\(stateDict.count) tensors)")
        say("module: \(config.torchDescription)")
        let load = target == "safetensors" ? "safetensors.torch.load_file('\(outURL.lastPathComponent)')"
            : "torch.load('\(outURL.lastPathComponent)', weights_only=True)"
        say("load:   m = torch.\(config.torchDescription); m.load_state_dict(\(load))")
    }
}
