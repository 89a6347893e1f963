import CRNNRTKernels

/// Single-precision matrix product on row-major buffers:
/// `C[m×n] = (accumulate ? C : 0) + A[m×k] · B[k×n]`.
///
/// `lda`, `ldb`, `ldc` are the row strides in elements. Never allocates, never throws; sizes and strides
/// are the caller's contract (checked with `precondition`). The inner kernel keeps a 4×16 block of C in
/// SIMD registers and streams rows of B, so B should be the wide, pre-packed operand (weights laid out
/// `[k×n]` once at load time).
package func sgemm(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    precondition(m >= 0 && n >= 0 && k >= 0 && lda >= k && ldb >= n && ldc >= n)
    if m == 0 || n == 0 { return }
    if KernelSet.avx2 {
        rnnrt_sgemm_avx2(m, n, k, a, lda, b, ldb, c, ldc, accumulate ? 1 : 0)
        return
    }
    portableSgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
}

/// The portable Swift `sgemm` (SIMD8 register blocks): the fallback on CPUs without AVX2/FMA and the
/// reference the AVX2 kernel is tested against.
package func portableSgemm(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    precondition(m >= 0 && n >= 0 && k >= 0 && lda >= k && ldb >= n && ldc >= n)
    if m == 0 || n == 0 { return }
    let n16 = n - n % 16
    var i = 0
    while i + 4 <= m {
        var j = 0
        while j < n16 {
            kernel4x16(k: k, a: a + i * lda, lda: lda, b: b + j, ldb: ldb, c: c + i * ldc + j, ldc: ldc,
                       accumulate: accumulate)
            j += 16
        }
        if n16 < n {
            for r in 0..<4 {
                tail(k: k, a: a + (i + r) * lda, b: b, ldb: ldb, c: c + (i + r) * ldc, from: n16, to: n,
                     accumulate: accumulate)
            }
        }
        i += 4
    }
    while i < m {
        var j = 0
        while j < n16 {
            kernel1x16(k: k, a: a + i * lda, b: b + j, ldb: ldb, c: c + i * ldc + j, accumulate: accumulate)
            j += 16
        }
        if n16 < n {
            tail(k: k, a: a + i * lda, b: b, ldb: ldb, c: c + i * ldc, from: n16, to: n, accumulate: accumulate)
        }
        i += 1
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

@inline(__always)
private func kernel4x16(
    k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
    var bp = b
    for p in 0..<k {
        let b0 = load8(bp), b1 = load8(bp + 8)
        let x0 = SIMD8(repeating: a0[p]), x1 = SIMD8(repeating: a1[p])
        let x2 = SIMD8(repeating: a2[p]), x3 = SIMD8(repeating: a3[p])
        c00 += x0 * b0; c01 += x0 * b1
        c10 += x1 * b0; c11 += x1 * b1
        c20 += x2 * b0; c21 += x2 * b1
        c30 += x3 * b0; c31 += x3 * b1
        bp += ldb
    }
    if accumulate {
        c00 += load8(c); c01 += load8(c + 8)
        c10 += load8(c + ldc); c11 += load8(c + ldc + 8)
        c20 += load8(c + 2 * ldc); c21 += load8(c + 2 * ldc + 8)
        c30 += load8(c + 3 * ldc); c31 += load8(c + 3 * ldc + 8)
    }
    store8(c00, c); store8(c01, c + 8)
    store8(c10, c + ldc); store8(c11, c + ldc + 8)
    store8(c20, c + 2 * ldc); store8(c21, c + 2 * ldc + 8)
    store8(c30, c + 3 * ldc); store8(c31, c + 3 * ldc + 8)
}

@inline(__always)
private func kernel1x16(
    k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    var c0 = SIMD8<Float>(), c1 = SIMD8<Float>()
    var bp = b
    for p in 0..<k {
        let x = SIMD8(repeating: a[p])
        c0 += x * load8(bp)
        c1 += x * load8(bp + 8)
        bp += ldb
    }
    if accumulate {
        c0 += load8(c); c1 += load8(c + 8)
    }
    store8(c0, c); store8(c1, c + 8)
}

@inline(__always)
private func tail(
    k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, from: Int, to: Int, accumulate: Bool
) {
    for j in from..<to {
        var s: Float = 0
        var bp = b + j
        for p in 0..<k {
            s += a[p] * bp.pointee
            bp += ldb
        }
        c[j] = accumulate ? c[j] + s : s
    }
}
