import RNNRTCore

/// A uint8 or int8 tensor a byte per value, as a model file stores it: the form in which constant 8-bit weights reach
/// what operators bind at load (`IntegerWeights`, `ExactIntegerConv`). An initializer is read as stored
/// (`OperatorContext.eightBitInput`), so weights bound this way are never widened to the int64 of a `GraphTensor`;
/// a constant computed at load (a folded node's output) is narrowed from its `GraphTensor`, each value checked.
struct EightBitTensor: Sendable {
    let shape: [Int]
    /// `.uint8` or `.int8`.
    let type: DType
    /// The values' bit patterns, C order.
    let bytes: [UInt8]

    /// A stored uint8 or int8 tensor as it is; nil for other types.
    init?(_ stored: StoredTensor) {
        guard stored.dtype == .uint8 || stored.dtype == .int8 else { return nil }
        shape = stored.shape
        type = stored.dtype
        bytes = stored.bytes
    }

    /// An 8-bit integer `GraphTensor`'s values; `.invalidArgument` naming `what` for another type or a value outside
    /// the tensor's type.
    init(_ t: GraphTensor, _ what: String, _ label: String) throws {
        guard case .int(let v) = t.elements, let range = Quantization.range(of: t.integerType) else {
            throw RNNRTError(.invalidArgument, "\(label): \(what) must be uint8 or int8, got \(t.typeName) \(t.shape.shapeDescription)")
        }
        if let bad = v.first(where: { $0 < Int64(range.lowerBound) || $0 > Int64(range.upperBound) }) {
            throw RNNRTError(.invalidArgument, "\(label): \(what) value \(bad) is outside \(t.integerType.rawValue)")
        }
        shape = t.shape
        type = t.integerType
        bytes = v.map { UInt8(truncatingIfNeeded: $0) }
    }

    var rank: Int { shape.count }
    var count: Int { bytes.count }
    var isSigned: Bool { type == .int8 }

    /// Value `i`.
    subscript(i: Int) -> Int32 { isSigned ? Int32(Int8(bitPattern: bytes[i])) : Int32(bytes[i]) }

    /// Every value, as Int32.
    var values: [Int32] { isSigned ? bytes.map { Int32(Int8(bitPattern: $0)) } : bytes.map { Int32($0) } }

    /// `.invalidArgument` naming `what` when the zero point `zT` (if any) is not of this tensor's type.
    func checkZeroPoint(_ zT: GraphTensor?, _ what: String, _ label: String) throws {
        if let zT, zT.integerType != type {
            throw RNNRTError(.invalidArgument, "\(label): \(what) is \(type.rawValue) but its zero point is \(zT.typeName)")
        }
    }
}

extension OperatorContext {
    /// Input `index` as an `EightBitTensor` when it is a constant: an initializer as stored, without widening it, or
    /// a constant computed at load narrowed from its values. nil when the input is absent or not known at load;
    /// `.invalidArgument` naming `what` when it is not uint8 or int8.
    func eightBitInput(_ index: Int, _ what: String) throws -> EightBitTensor? {
        guard hasInput(index) else { return nil }
        let name = node.inputs[index]
        if let stored = storedConstant(name), let bytes = EightBitTensor(stored) { return bytes }
        return try constant(name).map { try EightBitTensor($0, what, node.label) }
    }
}
