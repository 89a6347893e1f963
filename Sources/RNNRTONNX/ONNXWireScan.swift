import CONNXProto
import RNNRTCore

// The wire-format pre-scan ONNXModelFile.decode runs before protobuf-c sees the bytes.

/// The nested-message fields of the subset schema, read from protobuf-c's generated descriptors: exactly
/// the fields protobuf-c's unpacker recurses into.
private struct WireSchema: Sendable {
    struct Child: Sendable {
        var fieldName: String
        var message: Int
    }
    struct Message: Sendable {
        var name: String
        var children: [UInt32: Child]
    }
    /// Index 0 is `ModelProto`.
    var messages: [Message]

    static let onnx = WireSchema(root: onnx__model_proto__descriptor)

    private init(root: ProtobufCMessageDescriptor) {
        var messages: [Message] = []
        var index: [String: Int] = [:]
        var pending: [ProtobufCMessageDescriptor] = []
        func register(_ d: ProtobufCMessageDescriptor) -> Int {
            let fullName = d.name.map { String(cString: $0) } ?? "?"
            if let i = index[fullName] { return i }
            index[fullName] = messages.count
            messages.append(Message(name: d.short_name.map { String(cString: $0) } ?? fullName, children: [:]))
            pending.append(d)
            return messages.count - 1
        }
        _ = register(root)
        var next = 0
        while next < pending.count {
            let d = pending[next]
            next += 1
            guard let fields = d.fields else { continue }
            for f in UnsafeBufferPointer(start: fields, count: Int(d.n_fields))
            where f.type == PROTOBUF_C_TYPE_MESSAGE {
                guard let sub = f.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self) else { continue }
                let child = register(sub.pointee)
                let parent = next - 1
                messages[parent].children[f.id] = Child(fieldName: f.name.map { String(cString: $0) } ?? "?",
                                                        message: child)
            }
        }
        self.messages = messages
    }
}

/// Iterative (explicit-stack) walk over the protobuf wire format of a `ModelProto`.
enum WireScan {
    private static let prefix = "not a valid ONNX protobuf"

    /// Checks framing and nesting; throws `.malformed` naming the byte offset of the first problem.
    static func check(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws {
        let schema = WireSchema.onnx
        struct Frame {
            var message: Int
            var end: Int
        }
        var stack = [Frame(message: 0, end: bytes.count)]
        var pos = 0

        func enclosing(_ frame: Frame) -> String {
            stack.count == 1 ? "the end of the file (byte \(frame.end))"
                : "the end of the enclosing \(schema.messages[frame.message].name) (byte \(frame.end))"
        }
        func varint(_ frame: Frame, what: @autoclosure () -> String) throws -> UInt64 {
            let start = pos
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard pos < frame.end else {
                    throw RNNRTError(.malformed, "\(prefix): \(what()) at byte \(start) is cut off by \(enclosing(frame))")
                }
                guard pos - start < 10 else {
                    throw RNNRTError(.malformed, "\(prefix): \(what()) at byte \(start) is longer than 10 bytes")
                }
                let byte = bytes[pos]
                pos += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }

        while let frame = stack.last {
            if pos >= frame.end {
                stack.removeLast()
                continue
            }
            let tagStart = pos
            let message = schema.messages[frame.message]
            let tag = try varint(frame, what: "the varint tag")
            let fieldNumber = tag >> 3
            let wireType = tag & 7
            guard fieldNumber >= 1, fieldNumber <= 0x1FFF_FFFF else {
                throw RNNRTError(.malformed, "\(prefix): field number \(fieldNumber) at byte \(tagStart) (in \(message.name)) is outside 1...536870911")
            }
            let child = message.children[UInt32(fieldNumber)]
            // Named only for an error message (not built for every field).
            var fieldLabel: String {
                child.map { "field \(fieldNumber) (\(message.name).\($0.fieldName))" } ?? "field \(fieldNumber) of \(message.name)"
            }
            if child != nil && wireType != 2 {
                throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has wire type \(wireType), expected 2 (a nested message)")
            }
            switch wireType {
            case 0:
                _ = try varint(frame, what: "the varint value of \(fieldLabel)")
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard frame.end - pos >= size else {
                    throw RNNRTError(.malformed, "\(prefix): the \(size)-byte value of \(fieldLabel) at byte \(tagStart) runs past \(enclosing(frame))")
                }
                pos += size
            case 2:
                let lengthStart = pos
                let length = try varint(frame, what: "the varint length of \(fieldLabel)")
                guard length <= UInt64(frame.end - pos) else {
                    throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has length \(length) (at byte \(lengthStart)), which runs past \(enclosing(frame))")
                }
                let end = pos + Int(length)
                if let child {
                    guard stack.count < maxDepth else {
                        throw RNNRTError(.malformed, "\(prefix): messages nested deeper than \(maxDepth) levels at byte \(tagStart) (\(schema.messages[child.message].name) in \(message.name).\(child.fieldName))")
                    }
                    stack.append(Frame(message: child.message, end: end))
                } else {
                    pos = end
                }
            case 3, 4:
                throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has wire type \(wireType) (a group), which ONNX never writes")
            default:
                throw RNNRTError(.malformed, "\(prefix): \(fieldLabel) at byte \(tagStart) has wire type \(wireType), which protobuf does not define")
            }
        }
    }
}
