import Foundation
import RNNRTCore

extension StateDict {
    /// Writes the tensors as a safetensors file, byte for byte what `safetensors.torch.save_file`
    /// (safetensors 0.8.0) writes for the same tensors and metadata.
    ///
    /// - Tensors are laid out by descending dtype (U64, I64, F64, C64, F32, U32, I32, BF16, F16, U16, I16,
    ///   I8, U8, BOOL) and then by name (byte order), as the reference writer sorts them; the header lists
    ///   them in that order after `"__metadata__"`. The JSON is compact, escaped as serde_json escapes,
    ///   and padded with spaces to a multiple of 8 bytes; data is little-endian, C order.
    /// - `metadata` becomes `"__metadata__"` when not empty (an empty dictionary writes none, like
    ///   `metadata=None`). Its keys are written in byte order; the reference writer keeps them in a
    ///   `HashMap`, so with two or more keys its order (and only that) varies from run to run.
    /// - Non-tensor `values` (including metadata read from another file) are **not** written; pass
    ///   what should be kept as `metadata`.
    /// The file is written beside `url` under a temporary name and renamed over it when complete.
    /// - Throws: `RNNRTError` `.io` when the file cannot be written (naming the path and the reason),
    ///   `.unsupported` for complex128 tensors (safetensors has no such dtype) or a header over the
    ///   100 MB readers accept, `.invalidArgument` for a tensor named `__metadata__`.
    package func writeSafeTensors(to url: URL, metadata: [String: String] = [:]) throws {
        let (header, ordered) = try SafeTensors.serializedHeader(tensors, metadata: metadata)
        var length = UInt64(header.count)
        var prefix: [UInt8] = []
        for _ in 0..<8 { prefix.append(UInt8(length & 0xFF)); length >>= 8 }
        let path = url.path
        let temporary = TemporaryFile.path(beside: url)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw RNNRTError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        do {
            try SafeTensors.writeAll(fd, prefix, path: path)
            try SafeTensors.writeAll(fd, header, path: path)
            for item in ordered {
                #if _endian(big)
                var data = item.tensor.bytes
                swapByteOrder(&data, dtype: item.tensor.dtype)  // the format is little-endian
                try SafeTensors.writeAll(fd, data, path: path)
                #else
                try SafeTensors.writeAll(fd, item.tensor.bytes, path: path)
                #endif
            }
        } catch {
            close(fd)
            TemporaryFile.remove(temporary)
            throw error
        }
        guard close(fd) == 0 else {
            let message = String(cString: strerror(errno))
            TemporaryFile.remove(temporary)
            throw RNNRTError(.io, "cannot write \(path): \(message)")
        }
        try TemporaryFile.moveIntoPlace(temporary, destination: path)
    }
}

extension SafeTensors {
    /// The reference writer's dtype name and its rank in the `Dtype` enum (tensors are laid out by
    /// descending rank); nil for dtypes safetensors cannot hold (complex128).
    static func writerDType(_ dtype: DType) -> (name: String, rank: Int)? {
        switch dtype {
        case .bool: return ("BOOL", 0)
        case .uint8: return ("U8", 4)
        case .int8: return ("I8", 5)
        case .int16: return ("I16", 11)
        case .uint16: return ("U16", 12)
        case .float16: return ("F16", 13)
        case .bfloat16: return ("BF16", 14)
        case .int32: return ("I32", 15)
        case .uint32: return ("U32", 16)
        case .float32: return ("F32", 17)
        case .complex64: return ("C64", 18)
        case .float64: return ("F64", 19)
        case .int64: return ("I64", 20)
        case .uint64: return ("U64", 21)
        case .complex128: return nil
        }
    }

    /// The header (JSON padded with spaces to a multiple of 8, without the length prefix) and the
    /// tensors in data order, as `safetensors.torch.save_file` lays them out.
    static func serializedHeader(_ tensors: [(name: String, tensor: StoredTensor)],
                                 metadata: [String: String]) throws
        -> (header: [UInt8], ordered: [(name: String, tensor: StoredTensor)]) {
        var keyed: [(rank: Int, dtypeName: String, name: [UInt8], item: (name: String, tensor: StoredTensor))] = []
        for item in tensors {
            guard let (name, rank) = writerDType(item.tensor.dtype) else {
                throw RNNRTError(.unsupported, "tensor '\(item.name)' is \(item.tensor.dtype.rawValue), which safetensors cannot store")
            }
            guard item.name != "__metadata__" else {
                throw RNNRTError(.invalidArgument, "a tensor cannot be named '__metadata__' in a safetensors file (that key holds the metadata)")
            }
            keyed.append((rank, name, Array(item.name.utf8), item))
        }
        keyed.sort { a, b in
            a.rank != b.rank ? a.rank > b.rank : a.name.lexicographicallyPrecedes(b.name)
        }
        var json: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func separator() {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            appendJSONString("__metadata__", to: &json)
            json += Array(":{".utf8)
            let keys = metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (i, key) in keys.enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(metadata[key] ?? "", to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for entry in keyed {
            let end = offset + entry.item.tensor.bytes.count  // ≤ total bytes in memory: no overflow
            separator()
            appendJSONString(entry.item.name, to: &json)
            json += Array(":{\"dtype\":\"\(entry.dtypeName)\",\"shape\":[".utf8)
            json += Array(entry.item.tensor.shape.map(String.init).joined(separator: ",").utf8)
            json += Array("],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        let padded = (json.count + 7) / 8 * 8
        json += [UInt8](repeating: 0x20, count: padded - json.count)
        guard json.count <= maxHeaderLength else {
            throw RNNRTError(.unsupported, "the safetensors header would be \(json.count) bytes, more than the \(maxHeaderLength) readers accept")
        }
        return (json, keyed.map(\.item))
    }

    /// `text` as serde_json writes a string: `"` and `\` escaped, `\b \f \n \r \t` short, other control
    /// characters below 0x20 as `\u00xx` (lowercase hex), everything else (DEL, non-ASCII) as UTF-8.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and interruptions.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = write(fd, base + done, min(raw.count - done, 1 << 30))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw RNNRTError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
                }
                if n == 0 { throw RNNRTError(.io, "cannot write \(path): the device accepts no more data") }
                done += n
            }
        }
    }
}
