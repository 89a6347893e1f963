import Foundation
import RNNRT

/// One `Fixtures/onnx/<source>/<case>/case.json` (tools/fixtures/onnx/*.py): a model, its inputs
/// `inputs/<k>.npy` and the reference's outputs `expected/<k>.npy`, by position.
public struct ONNXCase: Decodable, Sendable {
    /// Where the reference outputs come from (`onnxruntime-op`, `torch-dynamo`, ...).
    public let source: String
    /// The graph inputs `inputs/<k>.npy` feed, in order.
    public let inputs: [String]
    /// The graph outputs `expected/<k>.npy` hold, in order.
    public let outputs: [String]
    /// The case's tolerance (rnnrt's contract 1e-5 + 1e-4·|ref| unless the reference itself is less precise).
    public let atol: Float
    public let rtol: Float
    public let notes: String?
    /// Set when the model must fail to load or run.
    public let expect_failure: Bool?
    /// The operator a single-operator case tests, and its domain (`ai.onnx` when absent).
    public let op: String?
    public let domain: String?
    /// The outputs whose class decisions (argmax over the last axis) must match (quantized models).
    public let argmax: [String]?

    /// The `case.json` of the case in `folder`.
    public static func load(_ folder: URL) throws -> ONNXCase {
        try JSONDecoder().decode(ONNXCase.self, from: Data(contentsOf: folder.appendingPathComponent("case.json")))
    }

    /// The case's inputs by name, read from `folder/inputs/<k>.npy`.
    public func feeds(in folder: URL) throws -> [String: GraphTensor] {
        try feeds(in: folder, as: GraphTensor.init)
    }

    /// The case's inputs by name, read from `folder/inputs/<k>.npy` and made into `T` by `convert`.
    public func feeds<T>(in folder: URL, as convert: (StoredTensor) throws -> T) throws -> [String: T] {
        var feeds: [String: T] = [:]
        for (k, name) in inputs.enumerated() {
            feeds[name] = try convert(try NPY.read(contentsOf: folder.appendingPathComponent("inputs/\(k).npy")))
        }
        return feeds
    }
}
