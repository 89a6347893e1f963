import RNNRTCore

/// Writes protocol-2 pickles of what a torch state dict needs, with the opcodes Python's pickler uses,
/// so `torch.load(weights_only=True)` and rnnrt's `PickleMachine` read the result.
///
/// Only the globals in `PickleWriter.Global` can be written — all on torch's weights-only allow-list —
/// and only opcodes that unpickler accepts. Each global is written once and recalled from the memo
/// (BINPUT/BINGET) afterwards; nothing else is memoized.
///
/// The low-level calls push values as a pickle stack machine would; `stateDict(_:)` writes a whole
/// `collections.OrderedDict` of tensors.
struct PickleWriter {
    /// The globals a written pickle may name.
    enum Global: Hashable {
        /// `collections.OrderedDict`.
        case orderedDict
        /// `torch._utils._rebuild_tensor_v2`.
        case rebuildTensorV2
        /// `torch._utils._rebuild_tensor_v3`.
        case rebuildTensorV3
        /// A classic typed storage class: `torch.FloatStorage`, ...
        case storage(TorchStorageType)
        /// `torch.storage.UntypedStorage`.
        case untypedStorage
        /// A dtype object such as `torch.uint16`.
        case dtype(DType)

        /// (module, name) as GLOBAL spells them.
        var moduleAndName: (String, String) {
            switch self {
            case .orderedDict: return ("collections", "OrderedDict")
            case .rebuildTensorV2: return ("torch._utils", "_rebuild_tensor_v2")
            case .rebuildTensorV3: return ("torch._utils", "_rebuild_tensor_v3")
            case .storage(let s): return ("torch", s.className)
            case .untypedStorage: return ("torch.storage", "UntypedStorage")
            case .dtype(let d): return ("torch", d.rawValue)
            }
        }
    }

    /// The pickle written so far (starts with PROTO 2).
    private(set) var bytes: [UInt8] = [0x80, 0x02]
    private var memo: [Global: Int] = [:]

    /// Python's pickler writes at most this many items per SETITEMS.
    static let batchSize = 1000

    init() {}

    // MARK: - Opcodes

    /// MARK.
    mutating func mark() { bytes.append(0x28) }

    /// EMPTY_TUPLE.
    mutating func emptyTuple() { bytes.append(0x29) }

    /// TUPLE: the items since the last MARK.
    mutating func tupleFromMark() { bytes.append(0x74) }

    /// REDUCE: `callable(*args)` with the two top items.
    mutating func reduce() { bytes.append(0x52) }

    /// BINPERSID: the top item is a persistent id.
    mutating func persistentID() { bytes.append(0x51) }

    /// SETITEMS: key/value pairs since the last MARK go into the dict below it.
    mutating func setItems() { bytes.append(0x75) }

    /// NONE.
    mutating func none() { bytes.append(0x4E) }

    /// NEWTRUE / NEWFALSE.
    mutating func bool(_ value: Bool) { bytes.append(value ? 0x88 : 0x89) }

    /// STOP.
    mutating func stop() { bytes.append(0x2E) }

    /// A string as BINUNICODE (u32 length, UTF-8 bytes), as protocol 2 writes every `str`.
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(0x58)
        appendLittleEndian(UInt64(utf8.count), bytes: 4)
        bytes += utf8
    }

    /// An integer with the smallest opcode Python uses: BININT1 for 0…255, BININT2 for 256…65535,
    /// BININT for the rest of Int32, LONG1 (minimal two's complement) beyond.
    mutating func int(_ value: Int64) {
        if value >= 0 && value <= 0xFF {
            bytes += [0x4B, UInt8(value)]
        } else if value >= 0 && value <= 0xFFFF {
            bytes.append(0x4D)
            appendLittleEndian(UInt64(value), bytes: 2)
        } else if value >= Int64(Int32.min) && value <= Int64(Int32.max) {
            bytes.append(0x4A)
            appendLittleEndian(UInt64(UInt32(bitPattern: Int32(value))), bytes: 4)
        } else {
            bytes += [0x8A] + PickleWriter.long1Payload(value)
        }
    }

    /// A tuple of integers: EMPTY_TUPLE, TUPLE1–3, or MARK … TUPLE for longer ones.
    mutating func intTuple(_ values: [Int]) {
        if values.isEmpty { return emptyTuple() }
        if values.count > 3 { mark() }
        for v in values { int(Int64(v)) }
        switch values.count {
        case 1: bytes.append(0x85)
        case 2: bytes.append(0x86)
        case 3: bytes.append(0x87)
        default: tupleFromMark()
        }
    }

    /// GLOBAL `module\nname\n` the first time (then BINPUT/LONG_BINPUT into the memo), BINGET/LONG_BINGET
    /// after that.
    mutating func global(_ g: Global) {
        if let slot = memo[g] {
            if slot <= 0xFF {
                bytes += [0x68, UInt8(slot)]
            } else {
                bytes.append(0x6A)
                appendLittleEndian(UInt64(slot), bytes: 4)
            }
            return
        }
        let (module, name) = g.moduleAndName
        bytes.append(0x63)
        bytes += Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A]
        let slot = memo.count
        memo[g] = slot
        if slot <= 0xFF {
            bytes += [0x71, UInt8(slot)]
        } else {
            bytes.append(0x72)
            appendLittleEndian(UInt64(slot), bytes: 4)
        }
    }

    /// `collections.OrderedDict()`: GLOBAL, EMPTY_TUPLE, REDUCE.
    mutating func emptyOrderedDict() {
        global(.orderedDict)
        emptyTuple()
        reduce()
    }

    // MARK: - Tensors and state dicts

    /// One tensor as `torch.save` pickles a contiguous CPU tensor whose storage is exactly its data:
    /// `_rebuild_tensor_v2(('storage', torch.<X>Storage, key, 'cpu', numel), 0, size, stride, False,
    /// OrderedDict())`, or for dtypes without a classic storage class (uint16/32/64)
    /// `_rebuild_tensor_v3(('storage', UntypedStorage, key, 'cpu', nbytes), 0, size, stride, False,
    /// OrderedDict(), torch.<dtype>)`.
    /// - Throws: `.unsupported` when C-order strides of `shape` overflow 64 bits.
    mutating func tensor(dtype: DType, shape: [Int], storageKey: String) throws {
        let classic = TorchStorageType(dtype)
        guard let strides = PickleWriter.contiguousStrides(shape), let count = shape.checkedElementCount(),
              case let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize), !overflow else {
            throw RNNRTError(.unsupported, "a tensor of shape \(shape.shapeDescription) has strides or a size larger than 64 bits")
        }
        global(classic == nil ? .rebuildTensorV3 : .rebuildTensorV2)
        mark()
        // The persistent id tuple.
        mark()
        string("storage")
        if let classic {
            global(.storage(classic))
        } else {
            global(.untypedStorage)
        }
        string(storageKey)
        string("cpu")
        // Classic storages count elements, untyped ones bytes (count × size fits: the bytes exist).
        int(Int64(classic == nil ? byteCount : count))
        tupleFromMark()
        persistentID()
        int(0)                  // storage_offset
        intTuple(shape)         // size
        intTuple(strides)       // stride
        bool(false)             // requires_grad
        emptyOrderedDict()      // backward_hooks
        if classic == nil { global(.dtype(dtype)) }
        tupleFromMark()
        reduce()
    }

    /// A complete pickle of `collections.OrderedDict` mapping each name to its tensor (storage keys are
    /// given), with SETITEMS batches of `batchSize` as Python writes them, ended by STOP.
    /// - Throws: `.unsupported` for a name longer than BINUNICODE's 4 GiB or a shape whose strides
    ///   overflow 64 bits.
    static func stateDict(_ items: [(name: String, dtype: DType, shape: [Int], storageKey: String)]) throws -> [UInt8] {
        for item in items where item.name.utf8.count > Int(UInt32.max) {
            throw RNNRTError(.unsupported, "tensor name '\(item.name.prefix(60))…' is longer than a pickle string can be")
        }
        var w = PickleWriter()
        w.emptyOrderedDict()
        var start = 0
        while start < items.count {
            let end = min(start + batchSize, items.count)
            w.mark()
            for item in items[start..<end] {
                w.string(item.name)
                try w.tensor(dtype: item.dtype, shape: item.shape, storageKey: item.storageKey)
            }
            w.setItems()
            start = end
        }
        w.stop()
        return w.bytes
    }

    // MARK: - Encodings

    /// C-order strides in elements, as torch computes them (extents of 0 count as 1), or nil on overflow.
    static func contiguousStrides(_ shape: [Int]) -> [Int]? {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for i in shape.indices.reversed() {
            strides[i] = running
            let (next, overflow) = running.multipliedReportingOverflow(by: max(shape[i], 1))
            if overflow { return i == 0 ? strides : nil }
            running = next
        }
        return strides
    }

    /// LONG1's operand: a length byte, then the fewest little-endian two's-complement bytes holding
    /// `value` (what Python's `encode_long` gives).
    static func long1Payload(_ value: Int64) -> [UInt8] {
        var out: [UInt8] = []
        var v = value
        while true {
            let byte = UInt8(truncatingIfNeeded: v)
            out.append(byte)
            v >>= 8  // arithmetic shift keeps the sign
            // Done once the rest is pure sign extension of the byte just written.
            if (v == 0 && byte & 0x80 == 0) || (v == -1 && byte & 0x80 != 0) { break }
        }
        return [UInt8(out.count)] + out
    }

    private mutating func appendLittleEndian(_ value: UInt64, bytes count: Int) {
        for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
}

/// The classic typed-storage classes `torch.save` names for a dtype with `_rebuild_tensor_v2`.
enum TorchStorageType: Hashable {
    case float, double, half, bfloat16, long, int, short, char, byte, bool, complexFloat, complexDouble

    /// The storage class for `dtype`, or nil for dtypes torch saves through `UntypedStorage` and
    /// `_rebuild_tensor_v3` (uint16, uint32, uint64).
    init?(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float
        case .float64: self = .double
        case .float16: self = .half
        case .bfloat16: self = .bfloat16
        case .int64: self = .long
        case .int32: self = .int
        case .int16: self = .short
        case .int8: self = .char
        case .uint8: self = .byte
        case .bool: self = .bool
        case .complex64: self = .complexFloat
        case .complex128: self = .complexDouble
        case .uint16, .uint32, .uint64: return nil
        }
    }

    /// The class name in module `torch`.
    var className: String {
        switch self {
        case .float: return "FloatStorage"
        case .double: return "DoubleStorage"
        case .half: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .long: return "LongStorage"
        case .int: return "IntStorage"
        case .short: return "ShortStorage"
        case .char: return "CharStorage"
        case .byte: return "ByteStorage"
        case .bool: return "BoolStorage"
        case .complexFloat: return "ComplexFloatStorage"
        case .complexDouble: return "ComplexDoubleStorage"
        }
    }
}
