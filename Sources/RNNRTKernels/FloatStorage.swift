/// Immutable float32 elements shared without copying: a Swift array, or elements borrowed from memory that
/// another object owns (a checkpoint's read-only file mapping), which the storage keeps alive.
///
/// Read-only by construction: nothing here writes to the elements, and borrowed memory may be mapped
/// `PROT_READ`, where a write would fault rather than reach the file. It lives in RNNRTKernels, the lowest
/// Swift target, because `WeightMatrix` keeps large weights in place in one; `StoredTensor` (RNNRTCore)
/// carries it from the checkpoint reader to binding.
///
/// `@unchecked Sendable`: the array is a value, and borrowed memory is never written while its owner (itself
/// `Sendable`) lives, so any thread may read it.
package struct FloatStorage: @unchecked Sendable {
    private enum Elements {
        case array([Float])
        case borrowed(base: UnsafePointer<Float>, count: Int, owner: AnyObject & Sendable)
    }

    private let elements: Elements

    /// The elements of `floats` (shared, not copied).
    package init(_ floats: [Float]) {
        elements = .array(floats)
    }

    /// `count` floats at `base`, which must stay initialized, unchanged and valid for as long as `owner`
    /// lives; the storage and every copy of it keep `owner` alive.
    package init(unsafeBorrowing base: UnsafePointer<Float>, count: Int, owner: AnyObject & Sendable) {
        elements = .borrowed(base: base, count: max(count, 0), owner: owner)
    }

    /// Number of elements.
    package var count: Int {
        switch elements {
        case .array(let a): return a.count
        case .borrowed(_, let count, _): return count
        }
    }

    /// Whether the elements are borrowed from another object's memory (a file mapping) rather than an array.
    package var isBorrowed: Bool {
        if case .borrowed = elements { return true }
        return false
    }

    /// Calls `body` with the elements, valid only inside `body`.
    package func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch elements {
        case .array(let a):
            return try a.withUnsafeBufferPointer(body)
        case .borrowed(let base, let count, let owner):
            return try withExtendedLifetime(owner) { try body(UnsafeBufferPointer(start: base, count: count)) }
        }
    }

    /// The elements as an array: the array itself when there is one, else a copy of the borrowed elements.
    package var array: [Float] {
        switch elements {
        case .array(let a):
            return a
        case .borrowed:
            return withUnsafeBufferPointer { [Float]($0) }
        }
    }

    /// The elements in `range`: borrowed storage is narrowed without a copy, an array is shared when the
    /// range is all of it and copied otherwise. Nil when `range` does not lie within `0..<count`.
    package func slice(_ range: Range<Int>) -> FloatStorage? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        switch elements {
        case .array(let a):
            return range == 0..<a.count ? self : FloatStorage(Array(a[range]))
        case .borrowed(let base, _, let owner):
            return FloatStorage(unsafeBorrowing: base + range.lowerBound, count: range.count, owner: owner)
        }
    }
}
