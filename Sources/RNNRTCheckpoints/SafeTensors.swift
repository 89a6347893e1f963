import RNNRTCore

/// Reads safetensors files: u64 little-endian header length N, N bytes of UTF-8 JSON,
/// then the data buffer, to the end of the file.
///
/// Validation follows the reference Rust reader (`read_metadata` + `validate`) and is stricter where its
/// README is: duplicate names are refused. Everything is checked before any tensor is copied: the header
/// length and schema, that tensors sorted by `data_offsets` tile the data buffer from 0 with no gap or
/// overlap, that each span is exactly dtype × shape bytes, and that the last one ends at the end of the file.
/// Tensors come out in data-offset order (the file's physical order).
enum SafeTensors {
    static let formatName = "safetensors"
    /// Largest header accepted, as in the reference reader.
    static let maxHeaderLength: UInt64 = 100_000_000

    /// One dtype string of the format: its size in bits, and the rnnrt type (nil: known but not read).
    private struct FormatDType {
        let bits: UInt64
        let dtype: DType?
    }

    private static let dtypes: [String: FormatDType] = [
        "F64": .init(bits: 64, dtype: .float64), "F32": .init(bits: 32, dtype: .float32),
        "F16": .init(bits: 16, dtype: .float16), "BF16": .init(bits: 16, dtype: .bfloat16),
        "I64": .init(bits: 64, dtype: .int64), "I32": .init(bits: 32, dtype: .int32),
        "I16": .init(bits: 16, dtype: .int16), "I8": .init(bits: 8, dtype: .int8),
        "U64": .init(bits: 64, dtype: .uint64), "U32": .init(bits: 32, dtype: .uint32),
        "U16": .init(bits: 16, dtype: .uint16), "U8": .init(bits: 8, dtype: .uint8),
        "BOOL": .init(bits: 8, dtype: .bool),
        "F8_E5M2": .init(bits: 8, dtype: nil), "F8_E4M3": .init(bits: 8, dtype: nil),
        "F8_E8M0": .init(bits: 8, dtype: nil), "F8_E4M3FNUZ": .init(bits: 8, dtype: nil),
        "F8_E5M2FNUZ": .init(bits: 8, dtype: nil), "F4": .init(bits: 4, dtype: nil),
        "F6_E2M3": .init(bits: 6, dtype: nil), "F6_E3M2": .init(bits: 6, dtype: nil),
        "C64": .init(bits: 64, dtype: .complex64),
    ]
    private static let dtypeList = "BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, C64, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, F4, F6_E2M3, F6_E3M2"
    private static let readableList = "F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, C64"

    /// One tensor entry of the header.
    private struct Entry {
        let name: String
        let headerIndex: Int
        let dtypeName: String
        let format: FormatDType
        let shape: [UInt64]
        let begin: UInt64
        let end: UInt64
    }

    /// Reads a whole safetensors file.
    /// - Throws: `.malformed` for anything the format forbids, `.unsupported` for a tensor of a dtype
    ///   rnnrt does not read (float8, float6, float4, complex64).
    static func read(_ bytes: [UInt8]) throws -> StateDict {
        guard bytes.count >= 8 else {
            throw RNNRTError(.malformed, "safetensors file too small: expected at least 8 bytes (the header length), found \(bytes.count == 0 ? "an empty file" : "\(bytes.count) bytes")")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= maxHeaderLength else {
            throw RNNRTError(.malformed, "safetensors header too large: expected a header length of at most \(maxHeaderLength) bytes, found \(n)")
        }
        let available = bytes.count - 8
        guard n <= UInt64(available) else {
            throw RNNRTError(.malformed, "safetensors header length \(n) runs past the end of the file: only \(available) bytes follow the length field")
        }
        let headerLength = Int(n)  // ≤ 100_000_000
        let headerBytes = Array(bytes[8..<(8 + headerLength)])
        if let bad = UTF8Check.firstInvalidOffset(headerBytes) {
            let hex = String(headerBytes[bad], radix: 16, uppercase: true)
            throw RNNRTError(.malformed, "safetensors header is not UTF-8: expected UTF-8 JSON text, found the invalid byte 0x\(hex.count < 2 ? "0" + hex : hex) at byte \(bad) of the header")
        }
        let json = try withContext("parsing the safetensors JSON header") { try JSONValue.parse(headerBytes) }
        var stateDict = StateDict(format: formatName)
        let entries = try withContext("checking the safetensors header") { () throws -> [Entry] in
            try parseHeader(json, into: &stateDict)
        }
        // Physical order; ties (0-byte tensors at one offset) keep header order.
        let sorted = entries.sorted { ($0.begin, $0.end, $0.headerIndex) < ($1.begin, $1.end, $1.headerIndex) }
        let dataEnd = try validateLayout(sorted)
        let dataLength = UInt64(bytes.count - 8 - headerLength)
        guard dataEnd == dataLength else {
            if dataEnd > dataLength {
                throw RNNRTError(.malformed, "safetensors data truncated: the header's tensors need \(dataEnd) bytes of data, found \(dataLength) after the header")
            }
            throw RNNRTError(.malformed, "safetensors file has \(dataLength - dataEnd) trailing bytes: expected the file to end where the last tensor's data ends (\(dataEnd) bytes after the header), found \(dataLength) bytes of data")
        }
        for entry in sorted where entry.format.dtype == nil {
            throw RNNRTError(.unsupported, "tensor '\(entry.name)' has dtype \(entry.dtypeName), which rnnrt does not read (it reads \(readableList))")
        }
        let dataStart = 8 + headerLength
        for entry in sorted {
            guard let dtype = entry.format.dtype else { continue }
            var shape: [Int] = []
            for extent in entry.shape {
                guard let d = Int(exactly: extent) else {
                    throw RNNRTError(.unsupported, "tensor '\(entry.name)' has an extent \(extent) larger than \(Int.max)")
                }
                shape.append(d)
            }
            // Offsets are ≤ dataLength here, so they fit in Int and lie inside `bytes`.
            let from = dataStart + Int(entry.begin), to = dataStart + Int(entry.end)
            #if _endian(big)
            var data = Array(bytes[from..<to])
            swapByteOrder(&data, dtype: dtype)  // the format is little-endian
            #else
            let data = Array(bytes[from..<to])  // little-endian, as the host
            #endif
            let tensor = try withContext("reading tensor '\(entry.name)'") {
                try StoredTensor(dtype: dtype, shape: shape, bytes: data)
            }
            try stateDict.insert(tensor, named: entry.name)
        }
        return stateDict
    }

    // MARK: - Header schema

    /// The tensor entries of the header, in header order; `__metadata__` goes into `stateDict.values`.
    private static func parseHeader(_ json: JSONValue, into stateDict: inout StateDict) throws -> [Entry] {
        guard case .object(let members) = json else {
            throw RNNRTError(.malformed, "safetensors header: expected a JSON object mapping tensor names to entries, found \(json.summary)")
        }
        var seen = Set<String>()
        var entries: [Entry] = []
        for (index, member) in members.enumerated() {
            let name = member.key
            guard seen.insert(name).inserted else {
                throw RNNRTError(.malformed, name == "__metadata__"
                    ? "safetensors header: expected one \"__metadata__\" key, found it twice"
                    : "safetensors header: expected unique tensor names, found '\(name)' twice")
            }
            if name == "__metadata__" {
                try readMetadata(member.value, into: &stateDict)
                continue
            }
            entries.append(try parseEntry(name: name, index: index, member.value))
        }
        return entries
    }

    /// `"__metadata__"`: null (as the reference's `Option` accepts) or an object of string values,
    /// kept as `__metadata__.<key> = 'value'`.
    private static func readMetadata(_ value: JSONValue, into stateDict: inout StateDict) throws {
        switch value {
        case .null:
            return
        case .object(let pairs):
            var keys = Set<String>()
            for (key, v) in pairs {
                guard keys.insert(key).inserted else {
                    throw RNNRTError(.malformed, "safetensors __metadata__: expected unique keys, found '\(key)' twice")
                }
                guard case .string(let text) = v else {
                    throw RNNRTError(.malformed, "safetensors __metadata__ key '\(key)': expected a string value, found \(v.summary)")
                }
                stateDict.insertValue(pythonRepr(text), named: "__metadata__.\(key)")
            }
        default:
            throw RNNRTError(.malformed, "safetensors __metadata__: expected an object of string values, found \(value.summary)")
        }
    }

    private static func parseEntry(name: String, index: Int, _ value: JSONValue) throws -> Entry {
        guard case .object(let fields) = value else {
            throw RNNRTError(.malformed, "tensor '\(name)': expected an object with \"dtype\", \"shape\" and \"data_offsets\", found \(value.summary)")
        }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (key, v) in fields {
            switch key {
            case "dtype", "shape", "data_offsets":
                let previous: JSONValue? = key == "dtype" ? dtypeValue : key == "shape" ? shapeValue : offsetsValue
                guard previous == nil else {
                    throw RNNRTError(.malformed, "tensor '\(name)': expected one \"\(key)\" field, found it twice")
                }
                if key == "dtype" { dtypeValue = v } else if key == "shape" { shapeValue = v } else { offsetsValue = v }
            default:
                continue  // unknown fields are ignored, as the reference reader does
            }
        }
        guard let dtypeValue else { throw missing("dtype", name) }
        guard let shapeValue else { throw missing("shape", name) }
        guard let offsetsValue else { throw missing("data_offsets", name) }

        guard case .string(let dtypeName) = dtypeValue else {
            throw RNNRTError(.malformed, "tensor '\(name)': expected \"dtype\" to be a string, found \(dtypeValue.summary)")
        }
        guard let format = dtypes[dtypeName] else {
            throw RNNRTError(.malformed, "tensor '\(name)' has an unknown dtype \"\(dtypeName)\": expected one of \(dtypeList)")
        }
        guard case .array(let shapeItems) = shapeValue else {
            throw RNNRTError(.malformed, "tensor '\(name)': expected \"shape\" to be an array of non-negative integers, found \(shapeValue.summary)")
        }
        var shape: [UInt64] = []
        for item in shapeItems {
            guard let extent = item.uint64Value else {
                throw RNNRTError(.malformed, "tensor '\(name)': expected \"shape\" to hold non-negative integers, found \(item.summary)")
            }
            shape.append(extent)
        }
        guard case .array(let offsetItems) = offsetsValue else {
            throw RNNRTError(.malformed, "tensor '\(name)': expected \"data_offsets\" to be an array [BEGIN, END], found \(offsetsValue.summary)")
        }
        guard offsetItems.count == 2 else {
            throw RNNRTError(.malformed, "tensor '\(name)': expected \"data_offsets\" to hold exactly 2 integers [BEGIN, END], found \(offsetItems.count)")
        }
        guard let begin = offsetItems[0].uint64Value, let end = offsetItems[1].uint64Value else {
            let bad = offsetItems[0].uint64Value == nil ? offsetItems[0] : offsetItems[1]
            throw RNNRTError(.malformed, "tensor '\(name)': expected \"data_offsets\" to hold non-negative integers, found \(bad.summary)")
        }
        return Entry(name: name, headerIndex: index, dtypeName: dtypeName, format: format,
                     shape: shape, begin: begin, end: end)
    }

    private static func missing(_ field: String, _ name: String) -> RNNRTError {
        RNNRTError(.malformed, "tensor '\(name)': expected a \"\(field)\" field, found none")
    }

    // MARK: - Layout

    /// Checks that the sorted tensors tile the data buffer from 0 and that each span is exactly its
    /// dtype × shape; returns where the last one ends.
    private static func validateLayout(_ sorted: [Entry]) throws -> UInt64 {
        var start: UInt64 = 0
        var previous: Entry?
        for entry in sorted {
            let span = "data_offsets [\(entry.begin), \(entry.end)]"
            guard entry.end >= entry.begin else {
                throw RNNRTError(.malformed, "invalid offsets for tensor '\(entry.name)': expected END ≥ BEGIN, found \(span), which ends before it begins")
            }
            if entry.begin != start {
                let why: String
                if let previous {
                    why = entry.begin > start
                        ? "a gap of \(entry.begin - start) bytes after tensor '\(previous.name)', which ends at \(start)"
                        : "an overlap with tensor '\(previous.name)', which ends at \(start)"
                } else {
                    why = "the first tensor's data does not start at byte 0 of the data buffer"
                }
                throw RNNRTError(.malformed, "invalid offsets for tensor '\(entry.name)': expected BEGIN = \(start), found \(span) (\(why))")
            }
            var elements: UInt64 = 1
            for extent in entry.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard !overflow else {
                    throw RNNRTError(.malformed, "tensor '\(entry.name)': shape \(entry.shape) has more elements than fit in 64 bits")
                }
                elements = product
            }
            let (bits, overflow) = elements.multipliedReportingOverflow(by: entry.format.bits)
            guard !overflow else {
                throw RNNRTError(.malformed, "tensor '\(entry.name)': \(elements) elements of \(entry.dtypeName) need more bytes than fit in 64 bits")
            }
            guard bits % 8 == 0 else {
                throw RNNRTError(.malformed, "tensor '\(entry.name)': expected a whole number of bytes, found \(elements) \(entry.dtypeName) elements of \(entry.format.bits) bits (\(bits) bits)")
            }
            let byteCount = bits / 8
            guard entry.end - entry.begin == byteCount else {
                throw RNNRTError(.malformed, "tensor '\(entry.name)': \(entry.dtypeName) of shape \(entry.shape) needs \(byteCount) bytes, found \(span) spanning \(entry.end - entry.begin)")
            }
            start = entry.end
            previous = entry
        }
        return start
    }

    /// Python's `repr` of a string: single quotes unless the text has `'` and no `"`, escapes as Python.
    static func pythonRepr(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }
}
