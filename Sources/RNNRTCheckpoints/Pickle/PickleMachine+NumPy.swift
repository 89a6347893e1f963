import RNNRTCore

/// NumPy values inside torch checkpoints (`'best_loss': np.float64(0.25)`, normalization statistics as
/// `np.ndarray`), decoded as data: numpy pickles a scalar as `scalar(dtype, raw bytes)` and an array as
/// `_reconstruct(ndarray, (0,), b'b')` followed by BUILD with `(version, shape, dtype, fortran, raw bytes)`.
/// The bytes are interpreted with `.npy`'s own dtype table and layout rules; nothing of numpy is called.
extension PickleMachine {
    /// BUILD of a dtype: its state tuple's second item is the byte order (`<`, `>`, `|`, `=`).
    func buildNumpyDType(code: String, state: PickleValue) throws -> PickleNode {
        guard let parts = sequence(state), parts.count >= 2, case .string(let order) = parts[1] else {
            throw malformed("numpy dtype state is not (version, byte order, ...)")
        }
        return .numpyDType(code: code, byteOrder: order)
    }

    /// BUILD of an array: `(version, shape, dtype, is_fortran, raw bytes)`.
    func buildNumpyArray(state: PickleValue) throws -> StoredTensor {
        guard let parts = sequence(state), parts.count == 5, let shapeItems = sequence(parts[1]),
              case .bool(let fortran) = parts[3] else {
            throw malformed("numpy array state is not (version, shape, dtype, fortran, data)")
        }
        guard case .bytes(let raw) = parts[4] else {
            throw RNNRTError(.unsupported, "numpy array of Python objects (dtype 'O') in the pickle: rnnrt reads numeric arrays only")
        }
        let shape = try shapeItems.map { item -> Int in
            guard case .int(let n) = item, n >= 0, n <= Int64(Int32.max) * 1024 else {
                throw malformed("numpy array shape has a negative or absurd extent")
            }
            return Int(n)
        }
        let header = try numpyHeader(parts[2], shape: shape, fortran: fortran)
        guard let count = shape.checkedElementCount(),
              case let (bytes, overflow) = count.multipliedReportingOverflow(by: header.dtype.byteSize),
              !overflow, raw.count == bytes else {
            throw malformed("numpy array of shape \(shape.shapeDescription) \(header.dtype.rawValue) has \(raw.count) bytes of data")
        }
        return try header.storedTensor(raw)
    }

    /// `scalar(dtype, raw bytes)` → a plain number or bool.
    func numpyScalar(_ args: [PickleValue]) throws -> PickleValue {
        guard args.count == 2, case .bytes(let raw) = args[1] else {
            throw RNNRTError(.unsupported, "numpy scalar that is not (dtype, bytes): object scalars are not read")
        }
        let t = try numpyHeader(args[0], shape: [], fortran: false).storedTensor(raw)
        func load<T: FixedWidthInteger>(_: T.Type) -> T { t.bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) } }
        switch t.dtype {
        case .float64: return .float(Double(bitPattern: load(UInt64.self)))
        case .float32, .float16, .bfloat16: return .float(Double(try t.floatTensor().scalars[0]))
        case .bool: return .bool(load(UInt8.self) != 0)
        case .int64: return .int(load(Int64.self))
        case .int32: return .int(Int64(load(Int32.self)))
        case .int16: return .int(Int64(load(Int16.self)))
        case .int8: return .int(Int64(load(Int8.self)))
        case .uint64: return .int(Int64(truncatingIfNeeded: load(UInt64.self)))
        case .uint32: return .int(Int64(load(UInt32.self)))
        case .uint16: return .int(Int64(load(UInt16.self)))
        case .uint8: return .int(Int64(load(UInt8.self)))
        case .complex64, .complex128: return .string("<complex>")
        }
    }

    private func numpyHeader(_ dtype: PickleValue, shape: [Int], fortran: Bool) throws -> NPY.Header {
        guard case .numpyDType(let code, let order)? = node(of: dtype) else {
            throw malformed("numpy value without a numpy.dtype")
        }
        let (type, big) = try NPY.Header.dtype(fromDescr: (order == "|" || order == "=" ? "<" : order) + code)
        return NPY.Header(dtype: type, bigEndian: big, fortranOrder: fortran, shape: shape)
    }
}
