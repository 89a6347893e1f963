/// The pickle machine's memo: values by slot number, with `[Int: PickleValue]`'s semantics.
///
/// Picklers number slots 0, 1, 2, … in the order they write them, so those live in an array; any other
/// slot (only a hand-made stream writes one) goes to a dictionary, so a hostile slot number cannot make
/// the array large. Not simply a dictionary because the first `[Int: PickleValue]` a process grows makes
/// the Swift runtime look up `Int: Hashable` through every conformance record of every loaded library
/// (Foundation has many), a noticeable share of a small checkpoint's load.
struct PickleMemo {
    private var dense: [PickleValue?] = []
    private var sparse: [Int: PickleValue] = [:]
    /// Number of slots written.
    private(set) var count = 0

    /// The value in `slot`, if one was written.
    subscript(slot: Int) -> PickleValue? {
        if slot >= 0, slot < dense.count { return dense[slot] }
        return sparse.isEmpty ? nil : sparse[slot]
    }

    /// Writes `value` to `slot` (replacing what was there).
    mutating func set(_ value: PickleValue, at slot: Int) {
        if slot >= 0, slot < dense.count {
            if dense[slot] == nil { count += 1 }
            dense[slot] = value
        } else if slot == dense.count {
            // A slot written out of order earlier moves to the array.
            if sparse.isEmpty || sparse.removeValue(forKey: slot) == nil { count += 1 }
            dense.append(value)
        } else if sparse.updateValue(value, forKey: slot) == nil {
            count += 1
        }
    }
}
