import RNNRTCore

/// The globals a pickle may name, in the spirit of `torch.load(weights_only=True)`.
///
/// Allow-listed names are markers the machine interprets itself (tensor rebuilds, containers, dtypes);
/// nothing is ever looked up or called by name. Any other `module.name` becomes an inert `className`:
/// NEWOBJ may make an inert record of it (how whole pickled modules and TorchScript objects are
/// stored), but calling it with REDUCE is refused. Names from modules that exist to run code (`os`,
/// `subprocess`, `builtins.eval`, ...) are refused as soon as they are named.
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
    /// `torch._tensor._rebuild_from_type_v2(func, type, args, state)`: `func(*args)` for an allow-listed func.
    case rebuildFromTypeV2
    case torchSize
    case torchDevice
    /// TorchScript's `torch.jit._pickle.restore_type_tag(value, type)`: the value itself.
    case restoreTypeTag
    /// TorchScript's `torch.jit._pickle.build_{tensor,int,double,bool}list(list)`: the list itself.
    case buildList
    /// A typed storage class such as `torch.FloatStorage`.
    case storage(DType)
    /// `torch.storage.UntypedStorage` (the dtype comes from `_rebuild_tensor_v3`).
    case untypedStorage
    /// A dtype object such as `torch.float32`.
    case dtype(DType)
    /// `numpy.dtype(code, align, copy)`: a dtype descriptor (numpy scalars and arrays in checkpoints).
    case numpyDType
    /// `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy number, decoded as data.
    case numpyScalar
    /// `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`: an empty array BUILD fills in.
    case numpyReconstruct
    /// Any other class name (`__main__.MyTagger`): inert, may only be instantiated as a record.
    case className(String)

    /// Modules whose names are refused outright: they exist to run code or touch the system.
    private static let blockedModules: Set<String> = [
        "os", "posix", "nt", "sys", "subprocess", "builtins", "shutil", "socket", "importlib", "runpy",
        "pty", "ctypes", "pickle", "_pickle", "marshal", "code", "codeop", "types", "operator", "functools",
        "webbrowser", "multiprocessing", "signal", "tempfile", "io", "_io", "pdb", "timeit", "asyncio",
        "inspect", "platform", "commands", "popen2", "torch.hub", "torch.ops", "torch._ops",
    ]

    /// Resolves `module.name` (after Python 2 renames): an allow-listed marker, an inert class name, or
    /// `.unsafe` for names from modules that run code.
    init(module rawModule: String, name: String) throws {
        let renames = ["__builtin__": "builtins", "copy_reg": "copyreg"]
        let module = renames[rawModule] ?? rawModule
        let full = "\(module).\(name)"
        if let known = PickleGlobal.table[full] {
            self = known
            return
        }
        let root = String(module.prefix { $0 != "." })
        guard !PickleGlobal.blockedModules.contains(root), !PickleGlobal.blockedModules.contains(module),
              !module.isEmpty, !name.isEmpty else {
            throw RNNRTError(.unsafe, "pickle global '\(full)' is not allowed (rnnrt only builds tensors and plain containers, and never calls or imports anything)")
        }
        self = .className(full)
    }

    /// The dotted name, for messages.
    var displayName: String {
        if case .className(let n) = self { return n }
        return PickleGlobal.table.first { $0.value == self }?.key ?? "\(self)"
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
            "torch._tensor._rebuild_from_type_v2": .rebuildFromTypeV2,
            "torch.jit._pickle.restore_type_tag": .restoreTypeTag,
            "torch.jit._pickle.build_tensorlist": .buildList,
            "torch.jit._pickle.build_intlist": .buildList,
            "torch.jit._pickle.build_doublelist": .buildList,
            "torch.jit._pickle.build_boollist": .buildList,
            "numpy.dtype": .numpyDType,
            "numpy.core.multiarray.scalar": .numpyScalar,
            "numpy._core.multiarray.scalar": .numpyScalar,
            "numpy.core.multiarray._reconstruct": .numpyReconstruct,
            "numpy._core.multiarray._reconstruct": .numpyReconstruct,
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
