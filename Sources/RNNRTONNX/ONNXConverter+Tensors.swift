import CONNXProto
import RNNRTCore
import RNNRTKernels

/// Tensors (initializers and attribute tensors) from their `TensorProto`: the shape, the data type and the one storage
/// the file uses (raw_data, a typed field or external data), checked against each other.
extension Converter {
    private static let dataTypeNames = [
        0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
        8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
        15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
        20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1", 24: "FLOAT8E8M0", 25: "UINT2",
        26: "INT2", 27: "FLOAT6E2M3", 28: "FLOAT6E3M2",
    ]

    private static let dtypes: [Int32: DType] = [
        1: .float32, 2: .uint8, 3: .int8, 4: .uint16, 5: .int16, 6: .int32, 7: .int64, 9: .bool,
        10: .float16, 11: .float64, 12: .uint32, 13: .uint64, 16: .bfloat16,
    ]

    /// The typed field each supported data type is stored in when there is no raw_data.
    private enum TypedField: String {
        case float_data, int32_data, int64_data, double_data, uint64_data
    }

    private static func typedField(for dtype: DType) -> TypedField {
        switch dtype {
        case .float32, .complex64: return .float_data
        case .float64, .complex128: return .double_data
        case .int64: return .int64_data
        case .uint32, .uint64: return .uint64_data
        case .float16, .bfloat16, .int32, .int16, .int8, .uint16, .uint8, .bool: return .int32_data
        }
    }

    func tensor(_ t: Onnx__TensorProto) throws -> StoredTensor {
        let name = string(t.name)
        let label = name.isEmpty ? "unnamed tensor" : "tensor '\(name)'"
        let rawDims = elements(t.dims, t.n_dims)
        let dimsText = "[\(rawDims.map(String.init).joined(separator: ", "))]"
        var shape: [Int] = []
        shape.reserveCapacity(rawDims.count)
        for d in rawDims {
            guard d >= 0, let n = Int(exactly: d) else {
                throw RNNRTError(.malformed, "\(label) has a negative dimension in dims \(dimsText)")
            }
            shape.append(n)
        }
        let code = t.has_data_type != 0 ? t.data_type : 0
        guard let dtype = Self.dtypes[code] else {
            if code == 0 {
                throw RNNRTError(.malformed, "\(label) has no data type (data_type is UNDEFINED)")
            }
            let typeName = Self.dataTypeNames[Int(code)].map { "\($0) (\(code))" } ?? "\(code), unknown to onnx 1.23,"
            throw RNNRTError(.unsupported, "\(label) has data type \(typeName), which rnnrt does not read")
        }
        if t.segment != nil {
            throw RNNRTError(.unsupported, "\(label) is stored in segments (TensorProto.segment), which rnnrt does not read")
        }
        guard let count = shape.checkedElementCount() else {
            throw RNNRTError(.malformed, "\(label) has shape \(dimsText), more elements than fit in 64 bits")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw RNNRTError(.malformed, "\(label) has shape \(dimsText), more bytes than fit in 64 bits")
        }
        let what = "\(label) (\(dtype.rawValue), shape \(dimsText)) needs \(needed) bytes"

        // Which storage the file uses: exactly one of external data, raw_data and the typed fields.
        let typedCounts: [(TypedField, Int)] = [
            (.float_data, t.n_float_data), (.int32_data, t.n_int32_data), (.int64_data, t.n_int64_data),
            (.double_data, t.n_double_data), (.uint64_data, t.n_uint64_data),
        ].filter { $0.1 > 0 }
        let location = t.has_data_location != 0 ? Int(t.data_location.rawValue) : 0
        guard location == 0 || location == 1 else {
            throw RNNRTError(.malformed, "\(label) has data_location \(location), expected 0 (DEFAULT) or 1 (EXTERNAL)")
        }
        let isExternal = location == 1
        var sources = typedCounts.map(\.0.rawValue)
        if t.has_raw_data != 0 { sources.insert("raw_data", at: 0) }
        if isExternal { sources.insert("external data", at: 0) }
        guard sources.count <= 1 else {
            throw RNNRTError(.malformed, "\(label) stores its data in more than one place (\(sources.joined(separator: ", ")))")
        }

        let bytes: [UInt8]
        if isExternal {
            bytes = try externalBytes(t, label: label, what: what, needed: needed, dtype: dtype)
        } else if t.has_raw_data != 0 {
            guard t.raw_data.len == needed else {
                throw RNNRTError(.malformed, "\(what), found \(t.raw_data.len) bytes in raw_data")
            }
            #if _endian(little)
            if dtype == .float32, let data = t.raw_data.data {
                // Straight into floats (one copy), which binding then shares.
                let floats = KernelMemory.floats(count: count) { buffer in
                    if count > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: data, byteCount: needed) }
                }
                return try StoredTensor(shape: shape, floats: floats)
            }
            #endif
            bytes = ONNXModelFile.hostOrder(elements(t.raw_data.data, t.raw_data.len), elementSize: dtype.byteSize)
        } else {
            let field = Self.typedField(for: dtype)
            if let other = typedCounts.first, other.0 != field {
                throw RNNRTError(.malformed, "\(label) (\(dtype.rawValue)) stores its values in \(other.0.rawValue), expected \(field.rawValue)")
            }
            let values = typedCounts.first?.1 ?? 0
            let (found, foundOverflow) = values.multipliedReportingOverflow(by: dtype.byteSize)
            guard !foundOverflow, found == needed else {
                throw RNNRTError(.malformed, "\(what), found \(foundOverflow ? "more than 2^63" : String(found)) bytes (\(values) \(field.rawValue) values)")
            }
            bytes = Self.typedBytes(t, dtype: dtype)
        }
        return try StoredTensor(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// The typed-field values as host-order bytes of `dtype`; the counts were checked by the caller.
    private static func typedBytes(_ t: Onnx__TensorProto, dtype: DType) -> [UInt8] {
        func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        let int32s = { elements(t.int32_data, t.n_int32_data) }
        switch dtype {
        case .float32, .complex64: return bytes(elements(t.float_data, t.n_float_data))
        case .float64, .complex128: return bytes(elements(t.double_data, t.n_double_data))
        case .int64: return bytes(elements(t.int64_data, t.n_int64_data))
        case .uint64: return bytes(elements(t.uint64_data, t.n_uint64_data))
        case .uint32: return bytes(elements(t.uint64_data, t.n_uint64_data).map { UInt32(truncatingIfNeeded: $0) })
        case .int32: return bytes(int32s())
        case .int16: return bytes(int32s().map { Int16(truncatingIfNeeded: $0) })
        case .uint16, .float16, .bfloat16: return bytes(int32s().map { UInt16(truncatingIfNeeded: $0) })
        case .int8: return bytes(int32s().map { Int8(truncatingIfNeeded: $0) })
        case .uint8: return bytes(int32s().map { UInt8(truncatingIfNeeded: $0) })
        case .bool: return int32s().map { $0 != 0 ? 1 : 0 }
        }
    }
}
