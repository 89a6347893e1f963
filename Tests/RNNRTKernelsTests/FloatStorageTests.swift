import RNNRTKernels
import Testing

/// `FloatStorage` shares arrays, borrows memory another object owns (keeping it alive), and narrows a
/// borrowed range without copying; ranges outside the elements give nil, never a crash.
@Suite struct FloatStorageTests {
    /// Stands for a file mapping: owns the floats a borrowed storage points into.
    final class Owner: @unchecked Sendable {
        let base: UnsafeMutablePointer<Float>
        let count = 8

        init() {
            base = .allocate(capacity: count)
            for i in 0..<count { (base + i).initialize(to: Float(i)) }
        }

        deinit { base.deallocate() }
    }

    @Test func borrowsAndSlices() {
        var storage: FloatStorage
        do {
            let owner = Owner()
            storage = FloatStorage(unsafeBorrowing: owner.base, count: owner.count, owner: owner)
        }
        // The storage alone keeps the owner, and so its memory, alive.
        #expect(storage.isBorrowed && storage.count == 8 && storage.array == (0..<8).map(Float.init))
        let middle = storage.slice(2..<5)
        #expect(middle?.isBorrowed == true && middle?.array == [2, 3, 4])
        #expect(storage.slice(6..<9) == nil && storage.slice(-1..<2) == nil)
        #expect(storage.slice(8..<8)?.count == 0)
        storage = FloatStorage([])
        #expect(storage.count == 0)
    }

    @Test func sharesArrays() {
        let array = FloatStorage([1, 2, 3])
        #expect(!array.isBorrowed && array.array == [1, 2, 3])
        #expect(array.slice(0..<3)?.array == [1, 2, 3] && array.slice(1..<2)?.array == [2])
        #expect(array.slice(0..<4) == nil)
        #expect(array.withUnsafeBufferPointer { $0.reduce(0, +) } == 6)
    }
}
