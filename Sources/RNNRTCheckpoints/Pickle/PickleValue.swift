import RNNRTCore

/// A value on the pickle machine's stack. Compound values (tuples, lists, dicts, tensors, ...) live in the
/// machine's arena and are referenced by index, so nothing here nests: a hostile stream cannot build a
/// structure whose destruction or traversal recurses deeply.
enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer wider than 64 bits, kept as its two's-complement little-endian bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case global(PickleGlobal)
    /// Index of a node in `PickleMachine.nodes`.
    case ref(Int)
}

/// A compound value in the machine's arena.
enum PickleNode {
    case tuple([PickleValue])
    case list([PickleValue])
    case dict(PickleDict)
    case set([PickleValue])
    /// A storage named by a persistent id: `('storage', type, key, location, numel)`.
    case storage(StorageReference)
    /// A tensor view built by `_rebuild_tensor_v2/v3`.
    case tensor(TensorReference)
    /// An instance of a class outside the allow-list (`__main__.MyTagger`, `torch.nn.modules.rnn.LSTM`,
    /// a TorchScript `__torch__.…` class), made by NEWOBJ: an inert record of its class name and the state
    /// BUILD gave it (usually its `__dict__`). Nothing of the class is ever imported or run.
    case object(className: String, state: PickleValue)
    /// A numpy dtype (`numpy.dtype('f8', False, True)` then BUILD with its byte order): descr parts.
    case numpyDType(code: String, byteOrder: String)
    /// A numpy array (`numpy.core.multiarray._reconstruct` then BUILD with shape, dtype and raw bytes),
    /// decoded into C order and host byte order; nil until BUILD has given its state.
    case numpyArray(StoredTensor?)
}

/// An insertion-ordered dictionary with Python's replace-on-duplicate semantics.
///
/// String keys (nearly all of a checkpoint's) are indexed by their string: the first
/// `[PickleValue: Int]` a process grows costs a runtime conformance lookup (`PickleValue: Hashable`)
/// through every loaded library's records; only other keys pay it.
struct PickleDict {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var stringIndex: [String: Int] = [:]
    private var otherIndex: [PickleValue: Int] = [:]

    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        let existing: Int?
        if case .string(let s) = key { existing = stringIndex[s] } else { existing = otherIndex[key] }
        if let i = existing {
            values[i] = value
            return
        }
        if case .string(let s) = key { stringIndex[s] = keys.count } else { otherIndex[key] = keys.count }
        keys.append(key)
        values.append(value)
    }

    var count: Int { keys.count }
}

extension PickleValue: Hashable {}

/// Where a storage's bytes are and how to read them.
struct StorageReference: Equatable {
    /// Element type; nil for `UntypedStorage` (the tensor's dtype decides, `numel` counts bytes).
    let dtype: DType?
    /// Record name inside the archive's `data/` folder (zip format) or the legacy key.
    let key: String
    /// Elements of `dtype` (bytes when untyped).
    let numel: Int
}

/// A tensor as `_rebuild_tensor_v2/v3` describes it: a strided view of a storage.
struct TensorReference: Equatable {
    let storage: StorageReference
    let dtype: DType
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}
