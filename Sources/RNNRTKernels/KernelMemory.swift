#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for the buffers the kernels stream through: workspace (a sequence's input projection, layer outputs)
/// and weights copied into a kernel form.
package enum KernelMemory {
    /// Buffers from this size on are 2 MB aligned and, on Linux, advised `MADV_HUGEPAGE`: a product over tens of
    /// megabytes then walks a few 2 MB pages instead of thousands of 4 KB ones, whose translations do not fit the
    /// TLB. The kernel decides whether huge pages are used; smaller buffers get 64 bytes.
    package static let hugePageBytes = 2 << 20

    /// Room for `count` floats (contents unspecified), 64-byte aligned at least (a cache line: vector loads and
    /// stores never straddle two lines); release it with `deallocate()`.
    package static func allocate(floats count: Int) -> UnsafeMutablePointer<Float> {
        let block = blockLayout(bytes: max(count, 1) * MemoryLayout<Float>.stride, smallAlignment: 64)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: block.size, alignment: block.alignment)
        if block.huge { adviseHugePages(raw, byteCount: block.size) }
        return raw.bindMemory(to: Float.self, capacity: block.size / MemoryLayout<Float>.stride)
    }

    /// How a block of `bytes` is laid out: from `hugePageBytes` on, whole 2 MB pages 2 MB aligned (to be advised huge
    /// once allocated), else as asked with `smallAlignment`. A size too close to `Int.max` to round up stays as it is
    /// (no allocator gives it).
    package static func blockLayout(bytes: Int, smallAlignment: Int) -> (size: Int, alignment: Int, huge: Bool) {
        guard bytes >= hugePageBytes else { return (bytes, smallAlignment, false) }
        let (rounded, overflow) = (bytes / hugePageBytes + (bytes % hugePageBytes == 0 ? 0 : 1))
            .multipliedReportingOverflow(by: hugePageBytes)
        return (overflow ? bytes : rounded, hugePageBytes, true)
    }

    /// A fresh array of `count` floats, every one written by `fill`, its whole 2 MB pages advised huge first
    /// (`adviseHugePages`): for the large copies loading makes (tensors out of a file, weights reordered).
    package static func floats(count: Int, fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { adviseHugePages(base, byteCount: count * MemoryLayout<Float>.stride) }
            fill(buffer)
            initialized = count
        }
    }

    /// Advises the whole 2 MB pages inside `byteCount` bytes at `start` (memory not yet written: a fresh array about
    /// to be filled) `MADV_HUGEPAGE` on Linux, so filling it takes a page fault per 2 MB instead of per 4 KB.
    /// Nothing elsewhere, and nothing when no whole 2 MB page lies inside.
    package static func adviseHugePages(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        #if os(Linux)
        let first = (UInt(bitPattern: start) + UInt(hugePageBytes - 1)) & ~UInt(hugePageBytes - 1)
        let end = (UInt(bitPattern: start) + UInt(byteCount)) & ~UInt(hugePageBytes - 1)
        if end >= first + UInt(hugePageBytes), let page = UnsafeMutableRawPointer(bitPattern: first) {
            _ = madvise(page, Int(end - first), MADV_HUGEPAGE)
        }
        #endif
    }
}
