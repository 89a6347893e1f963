import CONNXProto
import Foundation
import RNNRTCore
import RNNRTGraph
import RNNRTKernels

/// ONNX model files (`.onnx`, protobuf): decodes one into the plain-Swift `GraphModel` the graph runtime uses.
///
/// The whole file is checked and converted at once; no protobuf type escapes the decoder, and C memory is
/// freed before `decode` returns. Decoding is strict about the bytes and lenient about annotations:
/// - Before protobuf-c sees the bytes, an iterative scan of the wire format refuses bad wire types,
///   unterminated or truncated varints, lengths that run past their enclosing message and messages
///   nested deeper than `maxNestingDepth` (subgraphs in attributes nest; protobuf-c's unpacker recurses),
///   each as `.malformed` with the byte offset.
/// - Tensors (initializers and attribute tensors) are read from `raw_data` (little-endian), from the
///   typed field their data type uses (`float_data`, `int32_data` (also int16/int8/uint16/uint8/bool and
///   float16/bfloat16 bit patterns, truncated to the element width as onnx's `numpy_helper` does),
///   `int64_data`, `double_data`, `uint64_data` (uint32/uint64)), or from external data: a byte range of
///   a file inside the model's folder. Data types: float, double, float16, bfloat16, int64/32/16/8,
///   uint64/32/16/8, bool; others (string, complex, float8, int4, ...) are `.unsupported`.
/// - Value shapes: `dim_value` → `.fixed` (a negative one, which some exporters write for "dynamic",
///   → `.unknown`), non-empty `dim_param` → `.symbolic`, neither → `.unknown`; no shape → `nil`; a
///   non-tensor type (sequence, map, ...) → element type 0 and no shape.
/// - Node and opset domains `"ai.onnx"` are stored as `""`.
///
/// Errors are `RNNRTError`, with context naming the file, graph, node, attribute or tensor:
/// `.malformed` (not a protobuf, inconsistent tensor sizes, duplicate names, ...), `.unsupported` (a data
/// type, an attribute type or tensor storage rnnrt does not read), `.unsafe` (external data outside the
/// model's folder), `.io` (a file that cannot be read), `.invalidArgument` (external data when `decode`
/// was given no folder).
public enum ONNXModelFile {
    /// Deepest nesting of protobuf messages accepted; `ModelProto` is level 1, its `GraphProto` level 2.
    /// Each level of subgraph (graph → node → attribute → graph) takes three.
    public static let maxNestingDepth = 64

    /// Reads and decodes an ONNX model file; external data is looked up beside it.
    /// - Throws: `RNNRTError` (see the type's documentation), with "reading PATH" as outer context.
    public static func read(contentsOf url: URL) throws -> GraphModel {
        let path = url.path
        return try withContext("reading \(path)") {
            // Decoded where the file lies, mapped (protobuf-c copies what it keeps; the mapping is gone when decoding
            // is). As with a mapped checkpoint, the file must not change while it is read: a file truncated meanwhile
            // faults (SIGBUS), and bytes rewritten between the pre-scan and the unpacker escape the pre-scan.
            guard try FileAccess.modelFileSize(path) > 0 else {
                throw RNNRTError(.malformed, "not an ONNX model: found an empty file")
            }
            let file = try MappedFile(path: path)
            return try withExtendedLifetime(file) {
                try decode(file.bytes.assumingMemoryBound(to: UInt8.self), modelDirectory: url.deletingLastPathComponent())
            }
        }
    }

    /// Decodes the bytes of an ONNX model file.
    /// - Parameters:
    ///   - bytes: the serialized `ModelProto`.
    ///   - modelDirectory: the folder external-data locations are relative to; `nil` makes a model that
    ///     uses external data fail with `.invalidArgument`.
    /// - Throws: `RNNRTError` (see the type's documentation).
    public static func decode(_ bytes: [UInt8], modelDirectory: URL?) throws -> GraphModel {
        try bytes.withUnsafeBufferPointer { try decode($0, modelDirectory: modelDirectory) }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, modelDirectory: URL?) throws -> GraphModel {
        guard !bytes.isEmpty else {
            throw RNNRTError(.malformed, "not an ONNX model: found an empty file")
        }
        try WireScan.check(bytes, maxDepth: maxNestingDepth)
        var allocator = ONNXModelFile.allocator
        let unpacked = onnx__model_proto__unpack(&allocator, bytes.count, bytes.baseAddress)
        guard let proto = unpacked else {
            throw RNNRTError(.malformed, "not a valid ONNX protobuf: protobuf-c could not unpack a ModelProto from the \(bytes.count) bytes")
        }
        defer { onnx__model_proto__free_unpacked(proto, &allocator) }
        return try Converter(modelDirectory: modelDirectory).model(proto.pointee)
    }
}

extension ONNXModelFile {
    /// Little-endian file bytes in host order, or host-order bytes as little-endian: the same swap either
    /// way (a no-op on little-endian hosts). Used by the decoder and the encoder.
    static func hostOrder(_ bytes: [UInt8], elementSize: Int) -> [UInt8] {
        #if _endian(big)
        guard elementSize > 1 else { return bytes }
        var out = bytes
        var i = 0
        while i + elementSize <= out.count {
            out[i..<(i + elementSize)].reverse()
            i += elementSize
        }
        return out
        #else
        return bytes
        #endif
    }
}

extension ONNXModelFile {
    /// protobuf-c's allocator for decoding: `malloc` and `free`, but a block of 2 MB or more (a large tensor's
    /// raw_data, which protobuf-c copies out of the file) is whole 2 MB pages, aligned and advised huge
    /// (`KernelMemory.adviseHugePages`), so copying it in takes a page fault per 2 MB instead of per 4 KB.
    static var allocator: ProtobufCAllocator {
        ProtobufCAllocator(alloc: { _, size in
            let layout = KernelMemory.blockLayout(bytes: size, smallAlignment: 16)
            guard layout.huge else { return malloc(size) }
            // posix_memalign, not Swift's allocator: protobuf-c frees every block with this allocator's `free`.
            var block: UnsafeMutableRawPointer?
            guard posix_memalign(&block, layout.alignment, layout.size) == 0, let block else { return nil }
            KernelMemory.adviseHugePages(block, byteCount: layout.size)
            return block
        }, free: { _, block in free(block) }, allocator_data: nil)
    }
}
