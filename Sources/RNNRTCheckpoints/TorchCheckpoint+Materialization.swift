import RNNRTCore
import RNNRTKernels

/// Strided materialization: a tensor's view of its storage record copied out (or shared) as a contiguous tensor.
extension TorchCheckpoint {
    /// A view may expand its storage (stride 0) to at most this many bytes more than the storage holds.
    static let maxViewExpansionBytes = 256 << 20

    /// A storage record's contents: raw bytes, or float32 elements when read for a float32 tensor (which
    /// may be borrowed from the archive's mapping: read only).
    enum StorageRecord {
        case bytes([UInt8])
        case floats(FloatStorage)

        var byteCount: Int {
            switch self {
            case .bytes(let b): return b.count
            case .floats(let f): return f.count * 4
            }
        }

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch self {
            case .bytes(let b): return try b.withUnsafeBytes(body)
            case .floats(let f): return try f.withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
            }
        }
    }

    /// Copies a strided view out of its storage into a contiguous C-order `StoredTensor`, checking every
    /// bound before indexing.
    static func materialize(_ ref: TensorReference, bigEndian: Bool,
                            storage load: (String, DType) throws -> StorageRecord) throws -> StoredTensor {
        let size = ref.dtype.byteSize
        // Element count of the storage in the tensor's dtype (untyped storages count bytes).
        let storageElements = ref.storage.dtype == nil ? ref.storage.numel / size : ref.storage.numel
        let storageBytes = ref.storage.dtype == nil ? ref.storage.numel : ref.storage.numel * size
        guard let count = ref.shape.checkedElementCount(), count <= Int.max / size else {
            throw RNNRTError(.malformed, "tensor shape \(ref.shape.shapeDescription) is too large")
        }
        if count > 0 {
            var last = ref.offset
            for (extent, stride) in zip(ref.shape, ref.strides) {
                let (step, o1) = (extent - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw RNNRTError(.malformed, "tensor strides overflow") }
                last = sum
            }
            guard last < storageElements else {
                throw RNNRTError(.malformed, "view (offset \(ref.offset), size \(ref.shape.shapeDescription), stride \(ref.strides.shapeDescription)) reaches element \(last) of a \(storageElements)-element storage '\(ref.storage.key)'")
            }
            guard count * size <= storageBytes + maxViewExpansionBytes else {
                throw RNNRTError(.malformed, "view of \(count) elements expands its \(storageElements)-element storage beyond the \(maxViewExpansionBytes >> 20) MiB allowed")
            }
        }
        let data = try load(ref.storage.key, ref.dtype)
        guard data.byteCount >= storageBytes else {
            throw RNNRTError(.malformed, "storage '\(ref.storage.key)' should hold \(storageBytes) bytes, the record has \(data.byteCount)")
        }
        let contiguous = isContiguous(ref.shape, ref.strides)
        // A float32 tensor laid out in order in its storage takes its elements as they are: the whole record
        // shared, or a mapped record's range borrowed in place (no copy either way; an in-memory record's
        // range is copied by `slice`).
        if contiguous, ref.dtype == .float32, case .floats(let floats) = data,
           let view = floats.slice(ref.offset..<(ref.offset + count)) {
            return try StoredTensor(shape: ref.shape, floatStorage: view)
        }
        // A tensor that is its whole byte record, in order, takes the record as it is (no copy; big-endian
        // records are swapped in this copy-on-write array, never in the archive).
        if ref.offset == 0, data.byteCount == count * size, contiguous, case .bytes(var bytes) = data {
            if bigEndian { swapByteOrder(&bytes, dtype: ref.dtype) }
            return try StoredTensor(dtype: ref.dtype, shape: ref.shape, bytes: bytes)
        }
        var out = [UInt8](repeating: 0, count: count * size)
        if count > 0 {
            let rank = ref.shape.count
            data.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    if contiguous {
                        d.copyMemory(from: s + ref.offset * size, byteCount: count * size)
                        return
                    }
                    var index = [Int](repeating: 0, count: rank)
                    var source = ref.offset
                    for i in 0..<count {
                        (d + i * size).copyMemory(from: s + source * size, byteCount: size)
                        var axis = rank - 1
                        while axis >= 0 {
                            index[axis] += 1
                            source += ref.strides[axis]
                            if index[axis] < ref.shape[axis] { break }
                            source -= ref.strides[axis] * ref.shape[axis]
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
        if bigEndian { swapByteOrder(&out, dtype: ref.dtype) }
        return try StoredTensor(dtype: ref.dtype, shape: ref.shape, bytes: out)
    }

    private static func isContiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }
}
