import RNNRTCore

/// The values a plan knows at load, by slot. An 8-bit initializer stays as the file stores it until something reads it
/// as a `GraphTensor` (it is widened to int64 then, once): weights that operators bind from the stored form
/// (`OperatorContext.eightBitInput`) and that no step reads as a value are never widened.
final class KnownValues {
    private var values: [Int: GraphTensor] = [:]
    /// 8-bit initializers as stored, widened or not.
    private var storedValues: [Int: StoredTensor] = [:]

    /// Whether an initializer is kept as stored until read (`keepStored`).
    static func keepsStored(_ stored: StoredTensor) -> Bool { stored.dtype == .uint8 || stored.dtype == .int8 }

    /// Binds `slot` to an initializer kept as stored until read.
    func keepStored(_ stored: StoredTensor, at slot: Int) {
        storedValues[slot] = stored
        values[slot] = nil
    }

    /// The slots bound to a value.
    var slots: Set<Int> { Set(values.keys).union(storedValues.keys) }

    func contains(_ slot: Int) -> Bool { values[slot] != nil || storedValues[slot] != nil }

    /// `slot`'s initializer as stored, if it is kept so.
    func stored(_ slot: Int) -> StoredTensor? { storedValues[slot] }

    /// The value bound to `slot` (a stored initializer widened on the first read); setting it replaces any.
    subscript(slot: Int) -> GraphTensor? {
        get {
            if let value = values[slot] { return value }
            // An 8-bit tensor always converts.
            guard let stored = storedValues[slot], let value = try? GraphTensor(stored) else { return nil }
            values[slot] = value
            return value
        }
        set {
            values[slot] = newValue
            storedValues[slot] = nil
        }
    }
}
