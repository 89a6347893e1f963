// The register tiles of the packed products (kernels_avx2.c, conv_avx2.c): 6 rows of A × 16 columns of B.
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

#endif
