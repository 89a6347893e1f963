import Foundation

/// Any model file rnnrt reads, detected from its content: a checkpoint (every PyTorch format,
/// safetensors, .npz) or an ONNX model, as read and not yet bound.
///
/// What a file holds, for code that looks at its contents before (or instead of) running it. `VerifiableModel`
/// opens a file through this and binds it to something runnable with the options a run needs; a checkpoint with
/// several modules, which cannot bind without a prefix, is still a `ModelFile`.
public enum ModelFile {
    /// A checkpoint's tensors and values, in any format `StateDict(contentsOf:)` reads.
    case checkpoint(StateDict)
    /// A decoded ONNX model.
    case onnx(GraphModel)

    /// Reads the file at `url`: checkpoint formats are recognized by their first bytes; anything else is
    /// read as ONNX protobuf (which has no magic number).
    /// - Throws: the checkpoint reader's or the ONNX decoder's `RNNRTError`; for a file that is neither,
    ///   `.malformed` saying both were tried.
    public init(contentsOf url: URL) throws {
        if try StateDict.recognizesFormat(of: url) {
            self = .checkpoint(try StateDict(contentsOf: url))
            return
        }
        do {
            self = .onnx(try ONNXModelFile.read(contentsOf: url))
        } catch let error as RNNRTError where error.kind == .malformed && url.pathExtension.lowercased() != "onnx" {
            throw RNNRTError(.malformed, "\(url.path) is neither a checkpoint (torch.save zip or legacy, TorchScript, safetensors, .npz) nor an ONNX model (\(error.message))", context: error.context)
        }
    }
}
