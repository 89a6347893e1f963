import RNNRTCore

/// rnnrt's own pickle interpreter: a stack machine that only *builds data*.
///
/// It implements the binary opcodes of protocols 2–5 that data pickles use. GLOBAL names resolve
/// against `PickleGlobal`'s allow-list (anything else is refused with `.unsafe`); REDUCE and NEWOBJ
/// are interpreted only for those markers (tensor rebuilds, OrderedDict, set, ...). Nothing is ever
/// executed, imported or looked up by name. Compound values live in `nodes` and are referenced by
/// index, so arbitrarily nested input cannot cause deep recursion anywhere.
struct PickleMachine {
    /// Most memo slots a stream may define (each costs memory; real checkpoints use a few thousand).
    static let maxMemoEntries = 10_000_000
    /// Most stack entries at once (the stack only grows by one per opcode, so this bounds memory).
    static let maxStackDepth = 10_000_000

    private(set) var nodes: [PickleNode] = []
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo = PickleMemo()
    private let bytes: [UInt8]
    private var pos: Int
    private var opcodeStart: Int

    /// A machine reading the pickle that starts at byte `start` of `bytes` (files such as the legacy
    /// `torch.save` format hold several pickles back to back; `bytes` is shared, not copied).
    init(_ bytes: [UInt8], start: Int = 0) {
        self.bytes = bytes
        pos = start
        opcodeStart = start
    }

    /// The byte after the STOP opcode, once `run()` has returned.
    var position: Int { pos }

    /// Runs the stream to its STOP opcode and returns the result.
    /// - Throws: `.malformed` for a broken stream, `.unsupported` for opcodes rnnrt does not interpret,
    ///   `.unsafe` for globals outside the allow-list.
    mutating func run() throws -> PickleValue {
        while true {
            opcodeStart = pos
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                  // PROTO
            case 0x95: _ = try fixed(8)                                // FRAME: length only, data follows inline
            case 0x2E:                                                 // STOP
                return try pop()
            case 0x28: marks.append(stack.count)                       // MARK
            case 0x30: _ = try pop()                                   // POP
            case 0x31: _ = try popMark()                               // POP_MARK
            case 0x32: try push(try top())                             // DUP
            case 0x4E: try push(.none)                                 // NONE
            case 0x88: try push(.bool(true))                           // NEWTRUE
            case 0x89: try push(.bool(false))                          // NEWFALSE
            case 0x4B: try push(.int(Int64(try byte())))               // BININT1
            case 0x4D: try push(.int(Int64(try littleEndian(2))))      // BININT2
            case 0x4A: try push(.int(Int64(Int32(truncatingIfNeeded: try littleEndian(4)))))  // BININT
            case 0x8A: try push(try long(count: Int(try byte())))      // LONG1
            case 0x8B:                                                 // LONG4
                let n = Int32(truncatingIfNeeded: try littleEndian(4))
                guard n >= 0 else { throw malformed("LONG4 with negative length \(n)") }
                try push(try long(count: Int(n)))
            case 0x47:                                                 // BINFLOAT (big-endian)
                let raw = try fixed(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                try push(.float(Double(bitPattern: raw)))
            case 0x58: try push(.string(try utf8(count: Int(try littleEndian(4)))))   // BINUNICODE
            case 0x8C: try push(.string(try utf8(count: Int(try byte()))))            // SHORT_BINUNICODE
            case 0x8D: try push(.string(try utf8(count: try length64())))             // BINUNICODE8
            case 0x55: try push(.string(try latin1(count: Int(try byte()))))          // SHORT_BINSTRING
            case 0x54:                                                                // BINSTRING
                let n = Int32(truncatingIfNeeded: try littleEndian(4))
                guard n >= 0 else { throw malformed("BINSTRING with negative length \(n)") }
                try push(.string(try latin1(count: Int(n))))
            case 0x43: try push(.bytes(try fixed(Int(try byte()))))                   // SHORT_BINBYTES
            case 0x42: try push(.bytes(try fixed(Int(try littleEndian(4)))))          // BINBYTES
            case 0x8E, 0x96: try push(.bytes(try fixed(try length64())))              // BINBYTES8, BYTEARRAY8
            case 0x29: try push(.ref(node(.tuple([]))))                               // EMPTY_TUPLE
            case 0x74: try push(.ref(node(.tuple(try popMark()))))                    // TUPLE
            case 0x85, 0x86, 0x87:                                                    // TUPLE1/2/3
                let n = Int(op - 0x84)
                guard stack.count - n >= (marks.last ?? 0) else { throw malformed("TUPLE\(n) needs \(n) items on the stack") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try push(.ref(node(.tuple(items))))
            case 0x5D: try push(.ref(node(.list([]))))                                // EMPTY_LIST
            case 0x6C: try push(.ref(node(.list(try popMark()))))                     // LIST
            case 0x7D: try push(.ref(node(.dict(PickleDict()))))                      // EMPTY_DICT
            case 0x64:                                                                // DICT
                let items = try popMark()
                var d = PickleDict()
                try pairs(items) { d.set($0, $1) }
                try push(.ref(node(.dict(d))))
            case 0x8F: try push(.ref(node(.set([]))))                                 // EMPTY_SET
            case 0x91: try push(.ref(node(.set(try popMark()))))                      // FROZENSET
            case 0x61:                                                                // APPEND
                let v = try pop()
                try append([v], to: try top())
            case 0x65:                                                                // APPENDS
                let items = try popMark()
                try append(items, to: try top())
            case 0x90:                                                                // ADDITEMS
                let items = try popMark()
                try append(items, to: try top())
            case 0x73:                                                                // SETITEM
                let v = try pop(), k = try pop()
                try setItems([k, v], in: try top())
            case 0x75:                                                                // SETITEMS
                let items = try popMark()
                try setItems(items, in: try top())
            case 0x71: try memoize(Int(try byte()))                                   // BINPUT
            case 0x72: try memoize(Int(try littleEndian(4)))                          // LONG_BINPUT
            case 0x94: try memoize(memo.count)                                        // MEMOIZE
            case 0x68: try push(try recall(Int(try byte())))                          // BINGET
            case 0x6A: try push(try recall(Int(try littleEndian(4))))                 // LONG_BINGET
            case 0x63:                                                                // GLOBAL
                let module = try line(), name = try line()
                try push(.global(try PickleGlobal(module: module, name: name)))
            case 0x93:                                                                // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let n) = name, case .string(let m) = module else {
                    throw malformed("STACK_GLOBAL needs two strings")
                }
                try push(.global(try PickleGlobal(module: m, name: n)))
            case 0x52:                                                                // REDUCE
                let args = try pop(), callable = try pop()
                try push(try reduce(callable, args))
            case 0x81:                                                                // NEWOBJ
                let args = try pop(), cls = try pop()
                try push(try instantiate(cls, args))
            case 0x92:                                                                // NEWOBJ_EX
                _ = try pop()
                let args = try pop(), cls = try pop()
                try push(try instantiate(cls, args))
            case 0x62:                                                                // BUILD
                let state = try pop()
                try build(try top(), state: state)
            case 0x51:                                                                // BINPERSID
                try push(try persistentLoad(try pop()))
            default:
                throw RNNRTError(.unsupported, "pickle opcode 0x\(String(op, radix: 16, uppercase: true)) at byte \(opcodeStart) is not supported (rnnrt reads binary pickles of protocol 2–5)")
            }
        }
    }

    /// The node a value refers to, if it is a reference.
    func node(of value: PickleValue) -> PickleNode? {
        if case .ref(let i) = value, i < nodes.count { return nodes[i] }
        return nil
    }

    // MARK: - Interpreting the allow-listed callables

    /// NEWOBJ: `cls.__new__(cls, *args)`. For a class outside the allow-list this makes an inert record
    /// (BUILD fills in its state); nothing of the class runs. Allow-listed classes build their value.
    private mutating func instantiate(_ cls: PickleValue, _ args: PickleValue) throws -> PickleValue {
        if case .global(.className(let name)) = cls {
            return .ref(node(.object(className: name, state: .none)))
        }
        return try reduce(cls, args)
    }

    /// BUILD: an inert object keeps its state (its `__dict__`); other targets (an OrderedDict's
    /// `_metadata`, a tensor's legacy state) have nothing rnnrt needs.
    private mutating func build(_ target: PickleValue, state: PickleValue) throws {
        guard case .ref(let i) = target, i < nodes.count else { return }
        switch nodes[i] {
        case .object(let name, _): nodes[i] = .object(className: name, state: state)
        case .numpyDType(let code, _): nodes[i] = try buildNumpyDType(code: code, state: state)
        case .numpyArray: nodes[i] = .numpyArray(try buildNumpyArray(state: state))
        default: return
        }
    }

    private mutating func reduce(_ callable: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable else {
            throw RNNRTError(.unsafe, "pickle calls something that is not an allow-listed global (at byte \(opcodeStart))")
        }
        if case .className(let name) = g {
            throw RNNRTError(.unsafe, "pickle calls '\(name)', which is not on rnnrt's allow-list (at byte \(opcodeStart)); rnnrt builds tensors and plain containers and never calls anything else")
        }
        guard case .tuple(let args)? = node(of: argsValue) else {
            throw malformed("call arguments are not a tuple")
        }
        switch g {
        case .orderedDict:
            var d = PickleDict()
            if let first = args.first, let items = sequence(first) {
                for item in items {
                    guard case .tuple(let kv)? = node(of: item), kv.count == 2 else { throw malformed("OrderedDict item is not a pair") }
                    d.set(kv[0], kv[1])
                }
            }
            return .ref(node(.dict(d)))
        case .set, .frozenset:
            return .ref(node(.set(args.first.flatMap { sequence($0) } ?? [])))
        case .complex:
            return .ref(node(.tuple(args)))
        case .bytearray:
            if case .bytes(let b)? = args.first { return .bytes(b) }
            return .bytes([])
        case .codecsEncode:
            guard case .string(let s)? = args.first else { throw malformed("_codecs.encode needs a string") }
            // latin-1: each code point below 256 is one byte (what pickle writes for bytes objects).
            return .bytes(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case .torchSize:
            return .ref(node(.tuple(args.first.flatMap { sequence($0) } ?? [])))
        case .torchDevice:
            return args.first ?? .none
        case .rebuildParameter, .rebuildParameterWithState:
            guard let tensor = args.first, case .tensor? = node(of: tensor) else {
                throw malformed("_rebuild_parameter needs a tensor")
            }
            return tensor
        case .rebuildTensor, .rebuildTensorV2, .rebuildTensorV3:
            return try rebuildTensor(g, args)
        case .rebuildFromTypeV2:
            // (func, type, args, state): the tensor func(*args) makes; type and state are Python extras.
            guard args.count >= 3, case .global(let inner) = args[0] else {
                throw malformed("_rebuild_from_type_v2 needs (func, type, args, state)")
            }
            switch inner {
            case .rebuildTensor, .rebuildTensorV2, .rebuildTensorV3, .rebuildParameter, .rebuildParameterWithState:
                return try reduce(args[0], args[2])
            default:
                throw RNNRTError(.unsafe, "_rebuild_from_type_v2 asks to call '\(inner.displayName)', which is not a tensor rebuild (at byte \(opcodeStart))")
            }
        case .restoreTypeTag, .buildList:
            return args.first ?? .none
        case .numpyDType:
            guard case .string(let code)? = args.first else { throw malformed("numpy.dtype needs a type code string") }
            return .ref(node(.numpyDType(code: code, byteOrder: "|")))
        case .numpyReconstruct:
            return .ref(node(.numpyArray(nil)))
        case .numpyScalar:
            return try numpyScalar(args)
        case .storage, .untypedStorage, .dtype, .className:
            throw RNNRTError(.unsafe, "pickle calls a storage or dtype marker as a function (at byte \(opcodeStart))")
        }
    }

    private mutating func rebuildTensor(_ g: PickleGlobal, _ args: [PickleValue]) throws -> PickleValue {
        // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
        // _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
        // _rebuild_tensor(storage, offset, size, stride)
        guard args.count >= 4, case .storage(let storage)? = node(of: args[0]) else {
            throw malformed("tensor rebuild needs (storage, offset, size, stride, ...)")
        }
        guard case .int(let offset) = args[1], offset >= 0 else { throw malformed("tensor storage offset is not a non-negative integer") }
        let shape = try intTuple(args[2], what: "size")
        let strides = try intTuple(args[3], what: "stride")
        guard shape.count == strides.count else {
            throw malformed("tensor size \(shape.shapeDescription) and stride \(strides.shapeDescription) differ in rank")
        }
        var dtype = storage.dtype
        if g == .rebuildTensorV3 {
            guard args.count >= 7, case .global(.dtype(let d)) = args[6] else { throw malformed("_rebuild_tensor_v3 needs a dtype") }
            dtype = d
        }
        guard let dtype else { throw malformed("untyped storage '\(storage.key)' used without a dtype") }
        return .ref(node(.tensor(TensorReference(storage: storage, dtype: dtype, offset: Int(offset),
                                                 shape: shape, strides: strides))))
    }

    private mutating func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        // ('storage', storage_type, key, location, numel) — zip format; legacy adds view metadata.
        // Legacy whole-module saves also name classes as ('module', class, source file, source text):
        // the class stays an inert name (its source text is ignored, never run).
        if case .tuple(let t)? = node(of: pid), t.count == 4, t[0] == .string("module"),
           case .global(.className) = t[1] {
            return t[1]
        }
        guard case .tuple(let t)? = node(of: pid), t.count >= 5, t[0] == .string("storage") else {
            throw RNNRTError(.unsupported, "pickle persistent id is not a ('storage', type, key, location, numel) tuple")
        }
        let dtype: DType?
        switch t[1] {
        case .global(.storage(let d)): dtype = d
        case .global(.untypedStorage): dtype = nil
        default: throw malformed("persistent id names no storage type")
        }
        guard case .string(let key) = t[2] else { throw malformed("storage key is not a string") }
        if t.count >= 6, t[5] != .none {
            throw RNNRTError(.unsupported, "storage '\(key)' is a view of another storage (a pre-1.0 legacy feature rnnrt does not read)")
        }
        guard case .int(let numel) = t[4], numel >= 0, numel <= Int64(Int.max / 16) else {
            throw malformed("storage '\(key)' has an invalid element count")
        }
        return .ref(node(.storage(StorageReference(dtype: dtype, key: key, numel: Int(numel)))))
    }

    private func intTuple(_ v: PickleValue, what: String) throws -> [Int] {
        guard let items = sequence(v) else { throw malformed("tensor \(what) is not a tuple") }
        return try items.map {
            guard case .int(let i) = $0, i >= 0, i <= Int64(Int32.max) * 1024 else {
                throw malformed("tensor \(what) has a negative or absurd entry")
            }
            return Int(i)
        }
    }

    func sequence(_ v: PickleValue) -> [PickleValue]? {
        switch node(of: v) {
        case .tuple(let items)?, .list(let items)?: return items
        default: return nil
        }
    }

    // MARK: - Containers

    mutating func node(_ n: PickleNode) -> Int {
        nodes.append(n)
        return nodes.count - 1
    }

    private mutating func append(_ items: [PickleValue], to target: PickleValue) throws {
        guard case .ref(let i) = target, i < nodes.count else { throw malformed("APPEND target is not a list") }
        switch nodes[i] {
        case .list(var list):
            nodes[i] = .tuple([])  // release the array so appending does not copy it
            list.append(contentsOf: items)
            nodes[i] = .list(list)
        case .set(var set):
            nodes[i] = .tuple([])
            set.append(contentsOf: items)
            nodes[i] = .set(set)
        default:
            throw malformed("APPEND target is not a list")
        }
    }

    private mutating func setItems(_ items: [PickleValue], in target: PickleValue) throws {
        guard case .ref(let i) = target, i < nodes.count, case .dict(var d) = nodes[i] else {
            throw malformed("SETITEM target is not a dict")
        }
        nodes[i] = .tuple([])
        defer { nodes[i] = .dict(d) }
        try pairs(items) { d.set($0, $1) }
    }

    private func pairs(_ items: [PickleValue], _ body: (PickleValue, PickleValue) -> Void) throws {
        guard items.count % 2 == 0 else { throw malformed("odd number of items for a dict") }
        var k = 0
        while k < items.count {
            body(items[k], items[k + 1])
            k += 2
        }
    }

    // MARK: - Stack and memo

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < PickleMachine.maxStackDepth else { throw malformed("stack deeper than \(PickleMachine.maxStackDepth)") }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw malformed("stack underflow") }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last else { throw malformed("stack underflow") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw malformed("no MARK to pop to") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func memoize(_ slot: Int) throws {
        guard memo.count < PickleMachine.maxMemoEntries || memo[slot] != nil else {
            throw malformed("more than \(PickleMachine.maxMemoEntries) memo entries")
        }
        memo.set(try top(), at: slot)
    }

    private func recall(_ slot: Int) throws -> PickleValue {
        guard let v = memo[slot] else { throw malformed("memo slot \(slot) is read before it is written") }
        return v
    }

    // MARK: - Reading bytes

    private mutating func byte() throws -> UInt8 {
        guard pos < bytes.count else { throw malformed("stream ends without STOP") }
        defer { pos += 1 }
        return bytes[pos]
    }

    private mutating func fixed(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= bytes.count - pos else {
            throw malformed("a \(n)-byte field runs past the end of the \(bytes.count)-byte stream")
        }
        defer { pos += n }
        return Array(bytes[pos..<(pos + n)])
    }

    private mutating func littleEndian(_ n: Int) throws -> UInt64 {
        try fixed(n).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func length64() throws -> Int {
        let n = try littleEndian(8)
        guard n <= UInt64(bytes.count - pos) else { throw malformed("a \(n)-byte field runs past the end of the stream") }
        return Int(n)
    }

    private mutating func long(count: Int) throws -> PickleValue {
        let b = try fixed(count)
        if b.isEmpty { return .int(0) }
        if b.count <= 8 {
            var v: UInt64 = 0
            for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
            let shift = UInt64(64 - 8 * b.count)
            return .int(b.count == 8 ? Int64(bitPattern: v) : Int64(bitPattern: v << shift) >> Int64(shift))
        }
        return .bigInt(b)
    }

    private mutating func utf8(count: Int) throws -> String {
        let b = try fixed(count)
        guard let s = String(validating: b, as: UTF8.self) else { throw malformed("string is not valid UTF-8") }
        return s
    }

    private mutating func latin1(count: Int) throws -> String {
        String(String.UnicodeScalarView(try fixed(count).map { Unicode.Scalar($0) }))
    }

    private mutating func line() throws -> String {
        guard let end = bytes[pos...].firstIndex(of: 0x0A), end - pos <= 1024 else {
            throw malformed("GLOBAL name is not a terminated line")
        }
        let s = String(decoding: bytes[pos..<end], as: UTF8.self)
        pos = end + 1
        return s
    }

    func malformed(_ message: String) -> RNNRTError {
        RNNRTError(.malformed, "pickle: \(message) (opcode at byte \(opcodeStart))")
    }
}
