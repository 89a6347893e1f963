// The register tiles of the products (internal to CRNNRTKernels): 6 rows of A × 16 columns of B, in the packed,
// row-sliver, in-place and convolution products, and the 8×8 transpose of the packings and the row-sliver product.
#ifndef RNNRT_TILES_AVX2_H
#define RNNRT_TILES_AVX2_H

#include <stddef.h>
#include <immintrin.h>

#ifndef AVX2
#define AVX2 __attribute__((target("avx2,fma")))
#endif

// The 6×16 register tile both product forms use: C rows r < 6, 16 columns = Σ_p a(r, p) · B[p][0..16] with
// a(r, p) = a[r·rs + p·ps] (packed A slivers: rs 1, ps 6; weight rows in place: rs ldw, ps 1) and B packed
// [k][16]. Rows at or beyond `rows` repeat row 0 (never stored). acc[2r], acc[2r+1] hold row r.
AVX2 __attribute__((always_inline)) static inline void tile6x16(ptrdiff_t k, const float *a, ptrdiff_t rs, ptrdiff_t ps,
                                                             ptrdiff_t rows, const float *pb, __m256 acc[12]) {
    const float *a0 = a, *a1 = rows > 1 ? a + rs : a, *a2 = rows > 2 ? a + 2 * rs : a;
    const float *a3 = rows > 3 ? a + 3 * rs : a, *a4 = rows > 4 ? a + 4 * rs : a, *a5 = rows > 5 ? a + 5 * rs : a;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (ptrdiff_t p = 0, q = 0; p < k; p++, q += ps) {
        __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
        __m256 x = _mm256_broadcast_ss(a0 + q);
        c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + q);
        c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + q);
        c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + q);
        c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + q);
        c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + q);
        c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
        pb += 16;
    }
    acc[0] = c00; acc[1] = c01; acc[2] = c10; acc[3] = c11; acc[4] = c20; acc[5] = c21;
    acc[6] = c30; acc[7] = c31; acc[8] = c40; acc[9] = c41; acc[10] = c50; acc[11] = c51;
}

// Rows r < n of the packed-A tile, for the last sliver of a product whose row count is not a multiple of 6, without the
// FMAs of the padding rows. n < 6 is a constant where this is inlined, so the row loops unroll and the accumulators
// stay in registers. With 3 rows or fewer, the FMA latency, not their number, would bound the loop: even and odd k
// then go to two sets of accumulators, added at the end.
AVX2 __attribute__((always_inline)) static inline void tileFewx16(int n, ptrdiff_t k, const float *pa, const float *pb,
                                                               __m256 acc[12]) {
    __m256 c[10], d[10];
    const int split = n <= 3;
    _Pragma("clang loop unroll(full)") for (int r = 0; r < 2 * n; r++) c[r] = d[r] = _mm256_setzero_ps();
    ptrdiff_t p = 0;
    if (split) {
        for (; p + 2 <= k; p += 2) {
            __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
            __m256 e0 = _mm256_loadu_ps(pb + 16), e1 = _mm256_loadu_ps(pb + 24);
            _Pragma("clang loop unroll(full)") for (int r = 0; r < n; r++) {
                __m256 x = _mm256_broadcast_ss(pa + r), y = _mm256_broadcast_ss(pa + 6 + r);
                c[2 * r] = _mm256_fmadd_ps(x, b0, c[2 * r]);
                c[2 * r + 1] = _mm256_fmadd_ps(x, b1, c[2 * r + 1]);
                d[2 * r] = _mm256_fmadd_ps(y, e0, d[2 * r]);
                d[2 * r + 1] = _mm256_fmadd_ps(y, e1, d[2 * r + 1]);
            }
            pa += 12;
            pb += 32;
        }
    }
    for (; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
        _Pragma("clang loop unroll(full)") for (int r = 0; r < n; r++) {
            __m256 x = _mm256_broadcast_ss(pa + r);
            c[2 * r] = _mm256_fmadd_ps(x, b0, c[2 * r]);
            c[2 * r + 1] = _mm256_fmadd_ps(x, b1, c[2 * r + 1]);
        }
        pa += 6;
        pb += 16;
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < 2 * n; r++) acc[r] = split ? _mm256_add_ps(c[r], d[r]) : c[r];
}

// Rows r < rows (1 to 6) of A slivers [k][6] × B packed [k][16] into acc[2r], acc[2r+1].
AVX2 __attribute__((always_inline)) static inline void packedTile(ptrdiff_t rows, ptrdiff_t k, const float *pa,
                                                               const float *pb, __m256 acc[12]) {
    switch (rows) {
    case 1: tileFewx16(1, k, pa, pb, acc); break;
    case 2: tileFewx16(2, k, pa, pb, acc); break;
    case 3: tileFewx16(3, k, pa, pb, acc); break;
    case 4: tileFewx16(4, k, pa, pb, acc); break;
    case 5: tileFewx16(5, k, pa, pb, acc); break;
    default: tile6x16(k, pa, 1, 6, 6, pb, acc);
    }
}

// 6 rows × 16 columns of C (the first `rows`, `cols`) from A packed [k][6] and B packed [k][16], added to C when
// `accumulate`.
AVX2 static inline void micro6x16(ptrdiff_t k, const float *pa, const float *pb, float *c, ptrdiff_t ldc,
                                  ptrdiff_t rows, ptrdiff_t cols, int accumulate) {
    __m256 acc[12];
    // The C tile is read and written after the product: fetched now, its misses (C of a long sequence lives in
    // memory, and each KC pass revisits it) overlap the product instead of stalling after it.
    for (ptrdiff_t r = 0; r < rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);
    }
    packedTile(rows, k, pa, pb, acc);
    if (cols == 16) {
        for (ptrdiff_t r = 0; r < rows; r++) {
            float *cr = c + r * ldc;
            __m256 v0 = acc[2 * r], v1 = acc[2 * r + 1];
            if (accumulate) { v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr)); v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8)); }
            _mm256_storeu_ps(cr, v0);
            _mm256_storeu_ps(cr + 8, v1);
        }
        return;
    }
    float tile[6 * 16];
    for (ptrdiff_t r = 0; r < rows; r++) {
        _mm256_storeu_ps(tile + 16 * r, acc[2 * r]);
        _mm256_storeu_ps(tile + 16 * r + 8, acc[2 * r + 1]);
    }
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < cols; j++) c[r * ldc + j] = accumulate ? c[r * ldc + j] + tile[16 * r + j] : tile[16 * r + j];
}

// The 8×8 block at s (row stride lds) transposed into dst (row stride ldd): dst[q·ldd + j] = s[j·lds + q], added to
// what dst holds when `accumulate`.
AVX2 static inline void transpose8x8(const float *s, ptrdiff_t lds, float *dst, ptrdiff_t ldd, int accumulate) {
    __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds), r2 = _mm256_loadu_ps(s + 2 * lds);
    __m256 r3 = _mm256_loadu_ps(s + 3 * lds), r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    __m256 out[8] = {
        _mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
        _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
        _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
        _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
    for (int q = 0; q < 8; q++) {
        float *d = dst + q * ldd;
        _mm256_storeu_ps(d, accumulate ? _mm256_add_ps(out[q], _mm256_loadu_ps(d)) : out[q]);
    }
}

#endif
