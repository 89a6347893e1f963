import RNNRTCore

/// The globals a pickle may name: rnnrt's allow-list, in the spirit of `torch.load(weights_only=True)`.
///
/// Each is a marker the machine interprets itself; nothing is ever looked up or called by name. Any
/// other `module.name` is refused when the GLOBAL opcode is read.
enum PickleGlobal: Hashable {
    case orderedDict
    case set
    case frozenset
    case complex
    case bytearray
    case codecsEncode
    case rebuildTensor
    case rebuildTensorV2
    case rebuildTensorV3
    case rebuildParameter
    case rebuildParameterWithState
    case torchSize
    case torchDevice
    /// A typed storage class such as `torch.FloatStorage`.
    case storage(DType)
    /// `torch.storage.UntypedStorage` (the dtype comes from `_rebuild_tensor_v3`).
    case untypedStorage
    /// A dtype object such as `torch.float32`.
    case dtype(DType)

    /// Resolves `module.name` (after Python 2 renames), or refuses it with `.unsafe`.
    init(module rawModule: String, name: String) throws {
        let renames = ["__builtin__": "builtins", "copy_reg": "copyreg"]
        let module = renames[rawModule] ?? rawModule
        let full = "\(module).\(name)"
        if let known = PickleGlobal.table[full] {
            self = known
            return
        }
        throw RNNRTError(.unsafe, "pickle global '\(full)' is not allowed (rnnrt only builds tensors and plain containers, and never calls or imports anything)")
    }

    private static let table: [String: PickleGlobal] = {
        var t: [String: PickleGlobal] = [
            "collections.OrderedDict": .orderedDict,
            "builtins.set": .set,
            "builtins.frozenset": .frozenset,
            "builtins.complex": .complex,
            "builtins.bytearray": .bytearray,
            "_codecs.encode": .codecsEncode,
            "torch._utils._rebuild_tensor": .rebuildTensor,
            "torch._utils._rebuild_tensor_v2": .rebuildTensorV2,
            "torch._utils._rebuild_tensor_v3": .rebuildTensorV3,
            "torch._utils._rebuild_parameter": .rebuildParameter,
            "torch._utils._rebuild_parameter_with_state": .rebuildParameterWithState,
            "torch.Size": .torchSize,
            "torch.device": .torchDevice,
            "torch.storage.UntypedStorage": .untypedStorage,
        ]
        let storages: [(String, DType)] = [
            ("FloatStorage", .float32), ("DoubleStorage", .float64), ("HalfStorage", .float16),
            ("BFloat16Storage", .bfloat16), ("LongStorage", .int64), ("IntStorage", .int32),
            ("ShortStorage", .int16), ("CharStorage", .int8), ("ByteStorage", .uint8), ("BoolStorage", .bool),
            ("ComplexFloatStorage", .complex64), ("ComplexDoubleStorage", .complex128),
        ]
        for (name, dtype) in storages {
            t["torch.\(name)"] = .storage(dtype)
            t["torch.cuda.\(name)"] = .storage(dtype)
        }
        let dtypes: [(String, DType)] = [
            ("float32", .float32), ("float", .float32), ("float64", .float64), ("double", .float64),
            ("float16", .float16), ("half", .float16), ("bfloat16", .bfloat16),
            ("int64", .int64), ("long", .int64), ("int32", .int32), ("int", .int32), ("int16", .int16),
            ("short", .int16), ("int8", .int8), ("uint8", .uint8), ("uint16", .uint16), ("uint32", .uint32),
            ("uint64", .uint64), ("bool", .bool), ("complex64", .complex64), ("complex128", .complex128),
        ]
        for (name, dtype) in dtypes { t["torch.\(name)"] = .dtype(dtype) }
        return t
    }()
}
