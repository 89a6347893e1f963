// AVX2/FMA matrix kernels, streaming steps and whole-sequence loops (see include/rnnrt_kernels.h); the cell
// updates and their vector math are in gates_avx2.c and vecmath_avx2.h.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"

#ifndef RNNRT_ROWS_SMALL_M
#define RNNRT_ROWS_SMALL_M 48
#endif

int rnnrt_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// ---- sgemm ---------------------------------------------------------------------------------------

// 4 rows × 16 columns of C in 8 ymm accumulators.
AVX2 static inline void kernel4x16(ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                   float *c, ptrdiff_t ldc, int accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x = _mm256_broadcast_ss(a0 + p);
        c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + p);
        c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + p);
        c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + p);
        c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        b += ldb;
    }
    if (accumulate) {
        c00 = _mm256_add_ps(c00, _mm256_loadu_ps(c)); c01 = _mm256_add_ps(c01, _mm256_loadu_ps(c + 8));
        c10 = _mm256_add_ps(c10, _mm256_loadu_ps(c + ldc)); c11 = _mm256_add_ps(c11, _mm256_loadu_ps(c + ldc + 8));
        c20 = _mm256_add_ps(c20, _mm256_loadu_ps(c + 2 * ldc)); c21 = _mm256_add_ps(c21, _mm256_loadu_ps(c + 2 * ldc + 8));
        c30 = _mm256_add_ps(c30, _mm256_loadu_ps(c + 3 * ldc)); c31 = _mm256_add_ps(c31, _mm256_loadu_ps(c + 3 * ldc + 8));
    }
    _mm256_storeu_ps(c, c00); _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10); _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20); _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30); _mm256_storeu_ps(c + 3 * ldc + 8, c31);
}

// One row of C, 64 columns at a time (the batch-1 recurrent step: h · Rᵀ): 8 accumulators, B streamed.
AVX2 static inline void row64(ptrdiff_t k, const float *a, const float *b, ptrdiff_t ldb, float *c, int accumulate) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256 x = _mm256_broadcast_ss(a + p);
        s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b), s0);
        s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 8), s1);
        s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 16), s2);
        s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 24), s3);
        s4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 32), s4);
        s5 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 40), s5);
        s6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 48), s6);
        s7 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 56), s7);
        b += ldb;
    }
    __m256 acc[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
    for (int i = 0; i < 8; i++) {
        __m256 v = accumulate ? _mm256_add_ps(acc[i], _mm256_loadu_ps(c + 8 * i)) : acc[i];
        _mm256_storeu_ps(c + 8 * i, v);
    }
}

AVX2 static inline void row8(ptrdiff_t k, const float *a, const float *b, ptrdiff_t ldb, float *c, int accumulate) {
    __m256 s = _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < k; p++) { s = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p), _mm256_loadu_ps(b), s); b += ldb; }
    if (accumulate) s = _mm256_add_ps(s, _mm256_loadu_ps(c));
    _mm256_storeu_ps(c, s);
}

static inline void rowScalar(ptrdiff_t k, const float *a, const float *b, ptrdiff_t ldb, float *c, int accumulate) {
    float s = 0;
    for (ptrdiff_t p = 0; p < k; p++) { s += a[p] * b[p * ldb]; }
    *c = accumulate ? *c + s : s;
}

AVX2 static void oneRow(ptrdiff_t n, ptrdiff_t k, const float *a, const float *b, ptrdiff_t ldb, float *c, int accumulate) {
    ptrdiff_t j = 0;
    for (; j + 64 <= n; j += 64) row64(k, a, b + j, ldb, c + j, accumulate);
    for (; j + 8 <= n; j += 8) row8(k, a, b + j, ldb, c + j, accumulate);
    for (; j < n; j++) rowScalar(k, a, b + j, ldb, c + j, accumulate);
}

AVX2 void rnnrt_sgemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                           ptrdiff_t ldb, float *c, ptrdiff_t ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) for (ptrdiff_t i = 0; i < m; i++) for (ptrdiff_t j = 0; j < n; j++) c[i * ldc + j] = 0;
        return;
    }
    // Big products: pack B once and use the 6×16 kernel.
    if (m >= 24 && n >= 64 && k >= 16) {
        float *packed = (float *)malloc(rnnrt_packed_b_count(k, n) * sizeof(float));
        if (packed) {
            rnnrt_pack_b(k, n, b, ldb, packed);
            rnnrt_sgemm_packed_avx2(m, n, k, a, lda, packed, c, ldc, accumulate);
            free(packed);
            return;
        }
    }
    // Blocks of 256 k so the B panel a 4-row block streams stays in L2.
    const ptrdiff_t kb = 256;
    for (ptrdiff_t p0 = 0; p0 < k; p0 += kb) {
        ptrdiff_t kk = k - p0 < kb ? k - p0 : kb;
        int acc = accumulate || p0 > 0;
        const float *ap = a + p0, *bp = b + p0 * ldb;
        ptrdiff_t i = 0;
        if (m >= 4) {
            ptrdiff_t n16 = n - n % 16;
            for (; i + 4 <= m; i += 4) {
                for (ptrdiff_t j = 0; j < n16; j += 16)
                    kernel4x16(kk, ap + i * lda, lda, bp + j, ldb, c + i * ldc + j, ldc, acc);
                if (n16 < n)
                    for (ptrdiff_t r = 0; r < 4; r++)
                        oneRow(n - n16, kk, ap + (i + r) * lda, bp + n16, ldb, c + (i + r) * ldc + n16, acc);
            }
        }
        for (; i < m; i++) oneRow(n, kk, ap + i * lda, bp, ldb, c + i * ldc, acc);
    }
}

// ---- packed sgemm ---------------------------------------------------------------------------------

size_t rnnrt_packed_b_count(ptrdiff_t k, ptrdiff_t n) {
    return (size_t)((n + 15) / 16) * (size_t)k * 16;
}

void rnnrt_pack_b(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, float *out) {
    for (ptrdiff_t jb = 0; jb * 16 < n; jb++) {
        ptrdiff_t cols = n - jb * 16 < 16 ? n - jb * 16 : 16;
        float *dst = out + (size_t)jb * (size_t)k * 16;
        for (ptrdiff_t p = 0; p < k; p++) {
            const float *src = b + p * ldb + jb * 16;
            ptrdiff_t j = 0;
            for (; j < cols; j++) dst[p * 16 + j] = src[j];
            for (; j < 16; j++) dst[p * 16 + j] = 0;
        }
    }
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

AVX2 void rnnrt_pack_bt(ptrdiff_t rows, ptrdiff_t cols, const float *src, float *out) {
    // B = Sᵀ: k = cols, n = rows; block jb holds B[p][16·jb + j] = S[16·jb + j][p]. Whole blocks go 8×8 at a time.
    ptrdiff_t k = cols, n = rows;
    for (ptrdiff_t jb = 0; jb * 16 < n; jb++) {
        ptrdiff_t width = n - jb * 16 < 16 ? n - jb * 16 : 16;
        float *dst = out + (size_t)jb * (size_t)k * 16;
        const float *block = src + jb * 16 * cols;
        ptrdiff_t p = 0;
        if (width == 16)
            for (; p + 8 <= k; p += 8) {
                transpose8x8(block + p, cols, dst + p * 16, 16, 0);
                transpose8x8(block + 8 * cols + p, cols, dst + p * 16 + 8, 16, 0);
            }
        for (; p < k; p++) {
            ptrdiff_t j = 0;
            for (; j < width; j++) dst[p * 16 + j] = block[j * cols + p];
            for (; j < 16; j++) dst[p * 16 + j] = 0;
        }
    }
}

// One row of C against packed B, four 16-column slivers (64 columns) at a time: the batch-1 step.
AVX2 static void packedRow(ptrdiff_t n, ptrdiff_t k, const float *a, const float *pb, float *c, int accumulate) {
    size_t stride = (size_t)k * 16;
    ptrdiff_t nb = (n + 15) / 16, jb = 0;
    for (; jb + 4 <= nb && (jb + 4) * 16 <= n; jb += 4) {
        const float *b0 = pb + jb * stride, *b1 = b0 + stride, *b2 = b1 + stride, *b3 = b2 + stride;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        for (ptrdiff_t p = 0; p < k; p++) {
            __m256 x = _mm256_broadcast_ss(a + p);
            s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0), s0); s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0 + 8), s1);
            s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1), s2); s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1 + 8), s3);
            s4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2), s4); s5 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + 8), s5);
            s6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3), s6); s7 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3 + 8), s7);
            b0 += 16; b1 += 16; b2 += 16; b3 += 16;
        }
        __m256 acc[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
        float *cp = c + jb * 16;
        for (int i = 0; i < 8; i++) {
            __m256 v = accumulate ? _mm256_add_ps(acc[i], _mm256_loadu_ps(cp + 8 * i)) : acc[i];
            _mm256_storeu_ps(cp + 8 * i, v);
        }
    }
    for (; jb < nb; jb++) {
        const float *b0 = pb + jb * stride;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        for (ptrdiff_t p = 0; p < k; p++) {
            __m256 x = _mm256_broadcast_ss(a + p);
            s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0), s0);
            s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0 + 8), s1);
            b0 += 16;
        }
        float tile[16];
        _mm256_storeu_ps(tile, s0);
        _mm256_storeu_ps(tile + 8, s1);
        ptrdiff_t width = n - jb * 16 < 16 ? n - jb * 16 : 16;
        for (ptrdiff_t j = 0; j < width; j++) c[jb * 16 + j] = accumulate ? c[jb * 16 + j] + tile[j] : tile[j];
    }
}

// 6 rows × 16 columns: A packed [k][6], B packed [k][16].
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

enum { KC = 256, MC = 96 };

// A[rows×kc] (row stride lda) into slivers of 6 rows, each [kc][6], the last zero-padded.
static void packSlivers(ptrdiff_t rows, ptrdiff_t kc, const float *a, ptrdiff_t lda, float *out) {
    for (ptrdiff_t s = 0; s * 6 < rows; s++) {
        float *dst = out + s * kc * 6;
        for (ptrdiff_t r = 0; r < 6; r++) {
            ptrdiff_t row = s * 6 + r;
            if (row < rows) {
                const float *src = a + row * lda;
                for (ptrdiff_t p = 0; p < kc; p++) dst[p * 6 + r] = src[p];
            } else {
                for (ptrdiff_t p = 0; p < kc; p++) dst[p * 6 + r] = 0;
            }
        }
    }
}

// The product of at most MC rows with more than KC inner values: A packed whole, and each 16-column sliver of B read
// from start to end (KC rows at a time, by every tile of rows) before the next, the next one fetched into L2 meanwhile,
// so that B, streamed from memory when large, is read in order instead of a KC block of every sliver per pass (a
// large classifier over a short sequence's rows). 0 when the packed A could not be allocated.
AVX2 static int fewRowsProduct(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed_b,
                               ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c, ptrdiff_t ldc,
                               int accumulate) {
    ptrdiff_t slivers = (m + 5) / 6, nb = (width + 15) / 16;
    float *packA = (float *)malloc((size_t)slivers * (size_t)k * 6 * sizeof(float));
    if (!packA) return 0;
    packSlivers(m, k, a, lda, packA);
    ptrdiff_t tiles = ((k + KC - 1) / KC) * slivers, per = (k + tiles - 1) / tiles;
    for (ptrdiff_t r = 0; r < ranges; r++) {
        for (ptrdiff_t jb = 0; jb < nb; jb++) {
            const float *pb = packed_b + (size_t)(starts[r] / 16 + jb) * (size_t)k * 16;
            const char *next = jb + 1 < nb ? (const char *)(pb + (size_t)k * 16) : 0;
            ptrdiff_t cols = width - jb * 16 < 16 ? width - jb * 16 : 16, line = 0;
            for (ptrdiff_t p0 = 0; p0 < k; p0 += KC) {
                ptrdiff_t kc = k - p0 < KC ? k - p0 : KC;
                for (ptrdiff_t s = 0; s < slivers; s++) {
                    // The next sliver's k lines, a part before each tile.
                    for (ptrdiff_t l = 0; next && l < per && line < k; l++, line++) _mm_prefetch(next + line * 64, _MM_HINT_T1);
                    ptrdiff_t rows = m - s * 6 < 6 ? m - s * 6 : 6;
                    micro6x16(kc, packA + (s * k + p0) * 6, pb + p0 * 16, c + s * 6 * ldc + starts[r] + jb * 16, ldc,
                              rows, cols, accumulate || p0 > 0);
                }
            }
        }
    }
    free(packA);
    return 1;
}

AVX2 void rnnrt_sgemm_packed_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed_b,
                                         ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c,
                                         ptrdiff_t ldc, int accumulate) {
    if (m <= 0 || width <= 0 || ranges <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (ptrdiff_t r = 0; r < ranges; r++)
                for (ptrdiff_t i = 0; i < m; i++) for (ptrdiff_t j = 0; j < width; j++) c[i * ldc + starts[r] + j] = 0;
        return;
    }
    if (m == 1 || k < 8) {
        // One row (or a short k): stream the packed slivers once per row instead of padding the row to a tile.
        for (ptrdiff_t r = 0; r < ranges; r++)
            for (ptrdiff_t i = 0; i < m; i++)
                packedRow(width, k, a + i * lda, packed_b + (size_t)(starts[r] / 16) * (size_t)k * 16,
                          c + i * ldc + starts[r], accumulate);
        return;
    }
    if (m <= MC && k > KC && fewRowsProduct(m, k, a, lda, packed_b, ranges, starts, width, c, ldc, accumulate)) return;
    float packA[MC * KC];
    ptrdiff_t nb = (width + 15) / 16;
    for (ptrdiff_t p0 = 0; p0 < k; p0 += KC) {
        ptrdiff_t kc = k - p0 < KC ? k - p0 : KC;
        int acc = accumulate || p0 > 0;
        for (ptrdiff_t i0 = 0; i0 < m; i0 += MC) {
            ptrdiff_t mc = m - i0 < MC ? m - i0 : MC;
            // Pack A[i0.., p0..] into slivers of 6 rows (once for every range).
            ptrdiff_t slivers = (mc + 5) / 6;
            packSlivers(mc, kc, a + i0 * lda + p0, lda, packA);
            for (ptrdiff_t r = 0; r < ranges; r++) {
                ptrdiff_t first = starts[r] / 16;
                for (ptrdiff_t jb = 0; jb < nb; jb++) {
                    const float *pb = packed_b + (size_t)(first + jb) * (size_t)k * 16 + (size_t)p0 * 16;
                    ptrdiff_t cols = width - jb * 16 < 16 ? width - jb * 16 : 16;
                    // The next sliver of B (kc rows of 16 floats: kc cache lines) is fetched into L2 a part before
                    // each tile of this one, so its first tile does not wait on L3 or memory (all of the sliver,
                    // which gains more than a part of it; fetching into L1 instead loses).
                    const char *next = jb + 1 < nb ? (const char *)(pb + (size_t)k * 16) : 0;
                    ptrdiff_t lines = kc, per = (lines + slivers - 1) / slivers;
                    for (ptrdiff_t s = 0; s < slivers; s++) {
                        if (next) {
                            ptrdiff_t l1 = (s + 1) * per < lines ? (s + 1) * per : lines;
                            for (ptrdiff_t l = s * per; l < l1; l++) _mm_prefetch(next + l * 64, _MM_HINT_T1);
                        }
                        ptrdiff_t rows = mc - s * 6 < 6 ? mc - s * 6 : 6;
                        micro6x16(kc, packA + s * kc * 6, pb, c + (i0 + s * 6) * ldc + starts[r] + jb * 16, ldc, rows,
                                  cols, acc);
                    }
                }
            }
        }
    }
}

AVX2 void rnnrt_sgemm_packed_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                  const float *packed_b, float *c, ptrdiff_t ldc, int accumulate) {
    ptrdiff_t start = 0;
    rnnrt_sgemm_packed_ranges_avx2(m, k, a, lda, packed_b, 1, &start, n, c, ldc, accumulate);
}

// ---- products with weights as stored (W [n×k] row-major, C = A · Wᵀ) --------------------------------------

// The 8 sums of a0..a7 (horizontal), in order, as one vector.
AVX2 static inline __m256 hsum8x8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6,
                                  __m256 a7) {
    __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

AVX2 static inline float hsum1(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline __m256i tailMask(ptrdiff_t left) {
    static const int lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(lanes + 8 - left));
}

AVX2 void rnnrt_gemv_rows_avx2(ptrdiff_t rows, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x, float *y,
                               int accumulate) {
    ptrdiff_t k8 = k - k % 8;
    __m256i mask = tailMask(k - k8);
    __m256 xt = _mm256_maskload_ps(x + k8, mask);
    ptrdiff_t r = 0;
    for (; r + 8 <= rows; r += 8) {
        const float *w0 = w + r * ldw;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        for (ptrdiff_t p = 0; p < k8; p += 8) {
            __m256 xv = _mm256_loadu_ps(x + p);
            const float *wp = w0 + p;
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s0); wp += ldw;
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s1); wp += ldw;
            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s2); wp += ldw;
            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s3); wp += ldw;
            s4 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s4); wp += ldw;
            s5 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s5); wp += ldw;
            s6 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s6); wp += ldw;
            s7 = _mm256_fmadd_ps(_mm256_loadu_ps(wp), xv, s7);
        }
        if (k8 < k) {
            const float *wp = w0 + k8;
            s0 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s0); wp += ldw;
            s1 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s1); wp += ldw;
            s2 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s2); wp += ldw;
            s3 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s3); wp += ldw;
            s4 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s4); wp += ldw;
            s5 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s5); wp += ldw;
            s6 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s6); wp += ldw;
            s7 = _mm256_fmadd_ps(_mm256_maskload_ps(wp, mask), xt, s7);
        }
        __m256 sum = hsum8x8(s0, s1, s2, s3, s4, s5, s6, s7);
        if (accumulate) sum = _mm256_add_ps(sum, _mm256_loadu_ps(y + r));
        _mm256_storeu_ps(y + r, sum);
    }
    for (; r < rows; r++) {
        const float *w0 = w + r * ldw;
        __m256 s = _mm256_setzero_ps();
        for (ptrdiff_t p = 0; p < k8; p += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + p), _mm256_loadu_ps(x + p), s);
        if (k8 < k) s = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + k8, mask), xt, s);
        float v = hsum1(s);
        y[r] = accumulate ? y[r] + v : v;
    }
}

// Packs the transpose of S[rows×cols] (row stride lds) in 16-column slivers, as rnnrt_pack_b packs Sᵀ.
static void packTransposed(ptrdiff_t rows, ptrdiff_t cols, const float *src, ptrdiff_t lds, float *out) {
    ptrdiff_t k = cols, n = rows;
    for (ptrdiff_t jb = 0; jb * 16 < n; jb++) {
        ptrdiff_t width = n - jb * 16 < 16 ? n - jb * 16 : 16;
        float *dst = out + (size_t)jb * (size_t)k * 16;
        const float *s = src + jb * 16 * lds;
        for (ptrdiff_t p0 = 0; p0 < k; p0 += 64) {
            ptrdiff_t pe = p0 + 64 < k ? p0 + 64 : k;
            for (ptrdiff_t j = 0; j < width; j++)
                for (ptrdiff_t p = p0; p < pe; p++) dst[p * 16 + j] = s[j * lds + p];
            for (ptrdiff_t j = width; j < 16; j++)
                for (ptrdiff_t p = p0; p < pe; p++) dst[p * 16 + j] = 0;
        }
    }
}

// 6 weight rows × 16 activation rows: W rows read in place (broadcast), Aᵀ packed [k][16]. Writes the tile
// transposed: C[b][r] for b < cols, r < rows.
AVX2 static inline void microRows6x16(ptrdiff_t k, const float *w, ptrdiff_t ldw, ptrdiff_t rows, const float *pb,
                                      float *c, ptrdiff_t ldc, ptrdiff_t cols, int accumulate) {
    __m256 acc[12];
    tile6x16(k, w, ldw, 1, rows, pb, acc);
    float tile[6 * 16];
    for (int i = 0; i < 12; i++) _mm256_storeu_ps(tile + 8 * i, acc[i]);
    for (ptrdiff_t b = 0; b < cols; b++) {
        float *cb = c + b * ldc;
        for (ptrdiff_t r = 0; r < rows; r++) cb[r] = accumulate ? cb[r] + tile[16 * r + b] : tile[16 * r + b];
    }
}

// 12 weight rows × 8 activation rows (the last few rows of A): Aᵀ packed [k][8]; writes the tile transposed.
AVX2 static inline void microRows12x8(ptrdiff_t k, const float *w, ptrdiff_t ldw, ptrdiff_t rows, const float *pb,
                                      float *c, ptrdiff_t ldc, ptrdiff_t cols, int accumulate) {
    const float *wr[12];
    for (int r = 0; r < 12; r++) wr[r] = r < rows ? w + r * ldw : w;
    const float *w0 = wr[0], *w1 = wr[1], *w2 = wr[2], *w3 = wr[3], *w4 = wr[4], *w5 = wr[5];
    const float *w6 = wr[6], *w7 = wr[7], *w8 = wr[8], *w9 = wr[9], *w10 = wr[10], *w11 = wr[11];
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m256 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256 b = _mm256_loadu_ps(pb);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w0 + p), b, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w1 + p), b, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w2 + p), b, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w3 + p), b, c3);
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(w4 + p), b, c4);
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(w5 + p), b, c5);
        c6 = _mm256_fmadd_ps(_mm256_broadcast_ss(w6 + p), b, c6);
        c7 = _mm256_fmadd_ps(_mm256_broadcast_ss(w7 + p), b, c7);
        c8 = _mm256_fmadd_ps(_mm256_broadcast_ss(w8 + p), b, c8);
        c9 = _mm256_fmadd_ps(_mm256_broadcast_ss(w9 + p), b, c9);
        c10 = _mm256_fmadd_ps(_mm256_broadcast_ss(w10 + p), b, c10);
        c11 = _mm256_fmadd_ps(_mm256_broadcast_ss(w11 + p), b, c11);
        pb += 8;
    }
    float tile[12 * 8];
    _mm256_storeu_ps(tile, c0); _mm256_storeu_ps(tile + 8, c1); _mm256_storeu_ps(tile + 16, c2);
    _mm256_storeu_ps(tile + 24, c3); _mm256_storeu_ps(tile + 32, c4); _mm256_storeu_ps(tile + 40, c5);
    _mm256_storeu_ps(tile + 48, c6); _mm256_storeu_ps(tile + 56, c7); _mm256_storeu_ps(tile + 64, c8);
    _mm256_storeu_ps(tile + 72, c9); _mm256_storeu_ps(tile + 80, c10); _mm256_storeu_ps(tile + 88, c11);
    for (ptrdiff_t b = 0; b < cols; b++) {
        float *cb = c + b * ldc;
        for (ptrdiff_t r = 0; r < rows; r++) cb[r] = accumulate ? cb[r] + tile[8 * r + b] : tile[8 * r + b];
    }
}

// Packs Aᵀ for rows [0, mb) of A (mb ≤ width) as [k][width], zero-padded.
static void packActivations(ptrdiff_t mb, ptrdiff_t width, ptrdiff_t k, const float *a, ptrdiff_t lda, float *out) {
    for (ptrdiff_t p0 = 0; p0 < k; p0 += 64) {
        ptrdiff_t pe = p0 + 64 < k ? p0 + 64 : k;
        for (ptrdiff_t b = 0; b < width; b++)
            for (ptrdiff_t p = p0; p < pe; p++) out[p * width + b] = b < mb ? a[b * lda + p] : 0;
    }
}

// C = A · Wᵀ for a few rows of A: Aᵀ packed in slivers of 16 rows (the last ≤ 8 rows: 8), the weights
// streamed once per sliver and read in place.
AVX2 static void sgemmRowsSmallM(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w,
                                 ptrdiff_t ldw, float *c, ptrdiff_t ldc, int accumulate, float *pb) {
    for (ptrdiff_t i0 = 0; i0 < m;) {
        ptrdiff_t left = m - i0;
        if (left > 8) {
            ptrdiff_t mb = left < 16 ? left : 16;
            packActivations(mb, 16, k, a + i0 * lda, lda, pb);
            for (ptrdiff_t j0 = 0; j0 < n; j0 += 6) {
                ptrdiff_t rows = n - j0 < 6 ? n - j0 : 6;
                microRows6x16(k, w + j0 * ldw, ldw, rows, pb, c + i0 * ldc + j0, ldc, mb, accumulate);
            }
            i0 += mb;
        } else {
            packActivations(left, 8, k, a + i0 * lda, lda, pb);
            for (ptrdiff_t j0 = 0; j0 < n; j0 += 12) {
                ptrdiff_t rows = n - j0 < 12 ? n - j0 : 12;
                microRows12x8(k, w + j0 * ldw, ldw, rows, pb, c + i0 * ldc + j0, ldc, left, accumulate);
            }
            i0 += left;
        }
    }
}

AVX2 void rnnrt_sgemm_rows_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w,
                                ptrdiff_t ldw, float *c, ptrdiff_t ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) for (ptrdiff_t i = 0; i < m; i++) for (ptrdiff_t j = 0; j < n; j++) c[i * ldc + j] = 0;
        return;
    }
    if (m < 6) {
        for (ptrdiff_t i = 0; i < m; i++) rnnrt_gemv_rows_avx2(n, k, w, ldw, a + i * lda, c + i * ldc, accumulate);
        return;
    }
    if (m <= RNNRT_ROWS_SMALL_M) {
        float *pb = (float *)malloc((size_t)k * 16 * sizeof(float));
        if (pb) {
            sgemmRowsSmallM(m, n, k, a, lda, w, ldw, c, ldc, accumulate, pb);
            free(pb);
            return;
        }
    } else {
        // Many rows: the weights packed into slivers once per call (amortized over m rows), then the 6×16 kernel.
        float *pb = (float *)malloc(rnnrt_packed_b_count(k, n) * sizeof(float));
        if (pb) {
            packTransposed(n, k, w, ldw, pb);
            rnnrt_sgemm_packed_avx2(m, n, k, a, lda, pb, c, ldc, accumulate);
            free(pb);
            return;
        }
    }
    for (ptrdiff_t i = 0; i < m; i++) rnnrt_gemv_rows_avx2(n, k, w, ldw, a + i * lda, c + i * ldc, accumulate);
}

// W[row][col] of W [n×k] in either of its rnnrt_weights forms.
static inline float weightAt(rnnrt_weights w, ptrdiff_t k, ptrdiff_t row, ptrdiff_t col) {
    if (w.packed) return w.data[(size_t)(row / 16) * (size_t)k * 16 + (size_t)col * 16 + (size_t)(row % 16)];
    return w.data[(size_t)row * (size_t)w.ld + (size_t)col];
}

// ---- products with W in row slivers (the recurrent step of a batch of 16, 32, …) ----------------------------

size_t rnnrt_row_slivers_count(ptrdiff_t k, ptrdiff_t n) { return (size_t)((n + 5) / 6) * 6 * (size_t)k; }

void rnnrt_pack_row_slivers(ptrdiff_t rows, ptrdiff_t cols, rnnrt_weights w, float *out) {
    for (ptrdiff_t s = 0; s * 6 < rows; s++) {
        float *dst = out + (size_t)s * (size_t)cols * 6;
        for (ptrdiff_t r = 0; r < 6; r++) {
            ptrdiff_t row = s * 6 + r;
            for (ptrdiff_t p = 0; p < cols; p++) dst[p * 6 + r] = row < rows ? weightAt(w, cols, row, p) : 0;
        }
    }
}

// Rows of A per register tile on row slivers for a product with m rows of A: 16 (13–16, 31, 32 rows) or 8 (7, 8
// rows) where that pads fewer rows than the other forms' tiles of 6 rows of A, else 0: at those counts row slivers
// beat the packed form, at others (12, 24, 48, 64 rows) tiles of 16 lose to it or only tie.
static ptrdiff_t rowSliverTile(ptrdiff_t m) {
    if (m == 7 || m == 8) return 8;
    return m >= 13 && m <= 32 && (m + 15) / 16 * 16 < (m + 5) / 6 * 6 ? 16 : 0;
}

int rnnrt_row_slivers_suit(ptrdiff_t m) { return rowSliverTile(m) != 0; }

// dst[j·ldd + i] = (accumulate ? dst[j·ldd + i] : 0) + src[i·lds + j] for i < rows, j < cols: 8×8 blocks
// transposed in registers.
AVX2 static void transposeInto(ptrdiff_t rows, ptrdiff_t cols, const float *src, ptrdiff_t lds, float *dst,
                               ptrdiff_t ldd, int accumulate) {
    ptrdiff_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        ptrdiff_t j = 0;
        for (; j + 8 <= cols; j += 8) transpose8x8(src + i * lds + j, lds, dst + j * ldd + i, ldd, accumulate);
        for (; j < cols; j++)
            for (ptrdiff_t q = i; q < i + 8; q++)
                dst[j * ldd + q] = accumulate ? dst[j * ldd + q] + src[q * lds + j] : src[q * lds + j];
    }
    for (; i < rows; i++)
        for (ptrdiff_t j = 0; j < cols; j++)
            dst[j * ldd + i] = accumulate ? dst[j * ldd + i] + src[i * lds + j] : src[i * lds + j];
}

size_t rnnrt_row_slivers_scratch(ptrdiff_t m, ptrdiff_t width, ptrdiff_t k) {
    // Aᵀ in tiles of rows of A, and Cᵀ for the slivers one range overlaps (at most width + 10 rows; with slack).
    size_t ld = (size_t)(m + 15) / 16 * 16;
    return ld * (size_t)k + ld * (size_t)(width + 18);
}

// 6·count rows of W (count slivers: 1 or 2) × 8 rows of A (Aᵀ packed [k][8]): the Cᵀ rows, stride ldc.
AVX2 static void microSlivers8(ptrdiff_t k, const float *w0, ptrdiff_t count, const float *at, float *ct,
                               ptrdiff_t ldc) {
    const float *w1 = count > 1 ? w0 + k * 6 : w0;
    __m256 acc[12];
    for (int r = 0; r < 12; r++) acc[r] = _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256 b = _mm256_loadu_ps(at + 8 * p);
        const float *u = w0 + 6 * p, *v = w1 + 6 * p;
        for (int r = 0; r < 6; r++) {  // unrolled: the accumulators stay in registers
            acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(u + r), b, acc[r]);
            acc[6 + r] = _mm256_fmadd_ps(_mm256_broadcast_ss(v + r), b, acc[6 + r]);
        }
    }
    for (ptrdiff_t r = 0; r < 6 * count; r++) _mm256_storeu_ps(ct + r * ldc, acc[r]);
}

// C = A · Wᵀ over column ranges, computed as Cᵀ = W · Aᵀ: per register tile, 6 rows of W (one sliver, streamed once)
// × 16 rows of A, or 12 rows of W × 8 rows of A (Aᵀ packed [k][16] or [k][8], read from L1/L2), so 16 or 8 rows of A
// fill their tiles where tiles of 6 rows of A pad 16 to 18 and 8 to 12; each range's Cᵀ (in L2) is then added to C
// transposed.
AVX2 void rnnrt_row_slivers_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w6,
                                        ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c,
                                        ptrdiff_t ldc, int accumulate, float *scratch) {
    if (m <= 0 || width <= 0 || ranges <= 0) return;
    ptrdiff_t tw = rowSliverTile(m) == 8 ? 8 : 16, tiles = (m + tw - 1) / tw, ld = tw * tiles;
    float *at = scratch, *ct = scratch + (size_t)ld * (size_t)k;
    for (ptrdiff_t q = 0; q < tiles; q++) {
        ptrdiff_t rows = m - tw * q < tw ? m - tw * q : tw;
        float *dst = at + (size_t)q * (size_t)k * (size_t)tw;
        transposeInto(rows, k, a + tw * q * lda, lda, dst, tw, 0);
        if (rows < tw)
            for (ptrdiff_t p = 0; p < k; p++) memset(dst + p * tw + rows, 0, (size_t)(tw - rows) * sizeof(float));
    }
    for (ptrdiff_t r = 0; r < ranges; r++) {
        // The slivers this range overlaps, computed whole (W's rows are zero-padded to a whole sliver).
        ptrdiff_t s0 = starts[r] / 6, s1 = (starts[r] + width + 5) / 6;
        if (tw == 8) {
            for (ptrdiff_t s = s0; s < s1; s += 2)
                microSlivers8(k, w6 + (size_t)s * (size_t)k * 6, s + 1 < s1 ? 2 : 1, at, ct + 6 * (s - s0) * ld, ld);
        } else {
            for (ptrdiff_t s = s0; s < s1; s++)
                for (ptrdiff_t q = 0; q < tiles; q++)
                    micro6x16(k, w6 + (size_t)s * (size_t)k * 6, at + (size_t)q * (size_t)k * 16,
                              ct + 6 * (s - s0) * ld + 16 * q, ld, 6, 16, 0);
        }
        transposeInto(width, m, ct + (starts[r] - 6 * s0) * ld, ld, c + starts[r], ldc, accumulate);
    }
}

// rnnrt_weights_multiply with the scratch a row-sliver product needs (NULL: allocated here when it is used).
AVX2 static void weightsProduct(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                                float *c, ptrdiff_t ldc, int accumulate, float *scratch) {
    if (w.row_slivers && k > 0 && rnnrt_row_slivers_suit(m)) {
        float *own = scratch ? 0 : (float *)malloc(rnnrt_row_slivers_scratch(m, n, k) * sizeof(float));
        if (scratch || own) {
            ptrdiff_t start = 0;
            rnnrt_row_slivers_ranges_avx2(m, k, a, lda, w.row_slivers, 1, &start, n, c, ldc, accumulate,
                                          scratch ? scratch : own);
            free(own);
            return;
        }
    }
    if (w.packed) rnnrt_sgemm_packed_avx2(m, n, k, a, lda, w.data, c, ldc, accumulate);
    else rnnrt_sgemm_rows_avx2(m, n, k, a, lda, w.data, w.ld, c, ldc, accumulate);
}

AVX2 void rnnrt_weights_multiply(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                                 float *c, ptrdiff_t ldc, int accumulate) {
    weightsProduct(m, n, k, a, lda, w, c, ldc, accumulate, 0);
}

// Scratch for a sequence's recurrent products (malloc'd once, not per step): NULL when they need none or it could
// not be allocated (the products then allocate their own).
static float *sequenceScratch(ptrdiff_t batch, ptrdiff_t n, ptrdiff_t k, rnnrt_weights w) {
    if (!w.row_slivers || !rnnrt_row_slivers_suit(batch)) return 0;
    return (float *)malloc(rnnrt_row_slivers_scratch(batch, n, k) * sizeof(float));
}

// ---- streaming steps ---------------------------------------------------------------------------------

#include "vecmath_avx2.h"


// Fused streaming step: each layer's weights laid out once (rnnrt_step_pack) so that one pass over them gives the
// gates of a block of units, bias included, and the block's cell update follows straight from registers while the
// out-of-order core already streams the next block's weights.
//
// Layout, per block of nv vectors of 8 units (nv = the kind's block size while units remain, then what is left;
// the last vector zero-padded to 8 units), gate-major within a row, [gate][vector][8 lanes]:
//   the start values (bias) — LSTM: i, f, g, o (b_ih + b_hh); GRU: r, z (b_ih + b_hh), n_x (b_in), n_h (b_hn);
//   RNN: one gate (b_ih + b_hh);
//   then one row per input column p (W_ih[:, p]): LSTM i, f, g, o; GRU r, z, n_x; RNN the one gate;
//   then one row per hidden column p (W_hh[:, p]): LSTM i, f, g, o; GRU r, z, n_h; RNN the one gate.
// Blocks have a fixed size except the last, so the blocks can be walked in either order: rnnrt_stream_step_avx2
// alternates directions step by step, so weights larger than L1 are read half from L1 (the blocks the last step
// touched last) rather than all from L2.

// Vectors of 8 units per block: LSTM 2 (8 accumulators, 4 gates), GRU 4 (12 live in the hidden loop), RNN 8.
enum { SP_LSTM_NV = 2, SP_GRU_NV = 4, SP_RNN_NV = 8 };

static inline ptrdiff_t spBlockVectors(int kind) {
    return kind == RNNRT_STEP_LSTM ? SP_LSTM_NV : kind == RNNRT_STEP_GRU ? SP_GRU_NV : SP_RNN_NV;
}
// Weight vectors per row per vector of units, and start-value vectors per vector of units.
static inline ptrdiff_t spStartGates(int kind) { return kind == RNNRT_STEP_RNN ? 1 : 4; }

size_t rnnrt_step_packed_count(int kind, ptrdiff_t inputs, ptrdiff_t hidden) {
    ptrdiff_t vectors = (hidden + 7) / 8;
    return (size_t)vectors * 8 * (size_t)(spStartGates(kind) + rnnrt_step_gates(kind) * (inputs + hidden));
}

void rnnrt_step_pack(int kind, ptrdiff_t inputs, ptrdiff_t hidden, rnnrt_weights wih, rnnrt_weights whh,
                     const float *bias_ih, const float *bias_hh, float *out) {
    ptrdiff_t vectors = (hidden + 7) / 8, nvmax = spBlockVectors(kind), G = rnnrt_step_gates(kind), GS = spStartGates(kind);
    float *o = out;
    for (ptrdiff_t v0 = 0; v0 < vectors; v0 += nvmax) {
        ptrdiff_t nv = vectors - v0 < nvmax ? vectors - v0 : nvmax;
        for (ptrdiff_t g = 0; g < GS; g++)
            for (ptrdiff_t v = 0; v < nv; v++)
                for (ptrdiff_t l = 0; l < 8; l++) {
                    ptrdiff_t u = (v0 + v) * 8 + l;
                    float b = 0;
                    if (u < hidden) {
                        if (kind != RNNRT_STEP_GRU) b = bias_ih[g * hidden + u];
                        else if (g < 2) b = bias_ih[g * hidden + u] + bias_hh[g * hidden + u];
                        else b = g == 2 ? bias_ih[2 * hidden + u] : bias_hh[2 * hidden + u];
                    }
                    *o++ = b;
                }
        for (int part = 0; part < 2; part++) {
            ptrdiff_t k = part == 0 ? inputs : hidden;
            rnnrt_weights w = part == 0 ? wih : whh;
            for (ptrdiff_t p = 0; p < k; p++)
                for (ptrdiff_t g = 0; g < G; g++)
                    for (ptrdiff_t v = 0; v < nv; v++)
                        for (ptrdiff_t l = 0; l < 8; l++) {
                            ptrdiff_t u = (v0 + v) * 8 + l;
                            *o++ = u < hidden ? weightAt(w, k, g * hidden + u, p) : 0;
                        }
        }
    }
}

#define SP_INLINE AVX2 __attribute__((always_inline)) static inline

// State vectors (c, the old h of a block's units) are read and written masked in the last vector of the last block
// when hidden is not a multiple of 8; the new h goes to a buffer padded to whole vectors.
#define SP_MASKED(v, nv) ((v) == (nv) - 1 && tail)
SP_INLINE __m256 spLoad(const float *p, int masked, __m256i m) { return masked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p); }
SP_INLINE void spStore(float *p, __m256 x, int masked, __m256i m) {
    if (masked) _mm256_maskstore_ps(p, m, x);
    else _mm256_storeu_ps(p, x);
}

// Adds gate q's slice of an input projection row to accumulators acc[q·nv + v] (q < gates): proj points at the block's
// first unit of gate 0, gate blocks H apart, the last vector masked when it is the layer's tail.
SP_INLINE void spAddProjection(int nv, int gates, __m256 *acc, const float *proj, ptrdiff_t H, int tail, __m256i m) {
    for (int q = 0; q < gates; q++)
        VM_EACH(v, nv) acc[q * nv + v] = _mm256_add_ps(acc[q * nv + v], spLoad(proj + q * H + 8 * v, SP_MASKED(v, nv), m));
}

// LSTM block: gates = start + x·W_ih + h·W_hh in 4·nv accumulators, then the update of gates_avx2.c's lstm_block:
// c' = c / d_f + p_g / (d_i·q_g), h' = p_c / (d_o·q_c).
SP_INLINE void lstmBlock(int nv, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *hOld, const float *w,
                         const float *proj, float *c, float *hNew, int tail, __m256i m) {
    __m256 acc[4 * SP_LSTM_NV];
    VM_EACH(j, 4 * nv) acc[j] = _mm256_loadu_ps(w + 8 * j);
    if (proj) spAddProjection(nv, 4, acc, proj, hidden, tail, m);
    w += 32 * nv;
    for (ptrdiff_t p = 0; p < inputs; p++) {
        __m256 b = _mm256_broadcast_ss(x + p);
        VM_EACH(j, 4 * nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 32 * nv;
    }
    for (ptrdiff_t p = 0; p < hidden; p++) {
        __m256 b = _mm256_broadcast_ss(hOld + p);
        VM_EACH(j, 4 * nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 32 * nv;
    }
    __m256 xs[3 * SP_LSTM_NV], ds[3 * SP_LSTM_NV], xg[SP_LSTM_NV], pg[SP_LSTM_NV], qg[SP_LSTM_NV];
    __m256 cn[SP_LSTM_NV], pc[SP_LSTM_NV], qc[SP_LSTM_NV];
    VM_EACH(v, nv) {
        xs[3 * v] = acc[v];
        xs[3 * v + 1] = acc[nv + v];
        xs[3 * v + 2] = acc[3 * nv + v];
        xg[v] = acc[2 * nv + v];
    }
    gates_den_pq8(3 * nv, xs, ds, nv, xg, pg, qg);
    VM_EACH(v, nv) {
        __m256 keep = _mm256_div_ps(spLoad(c + 8 * v, SP_MASKED(v, nv), m), ds[3 * v + 1]);
        cn[v] = _mm256_add_ps(keep, _mm256_div_ps(pg[v], _mm256_mul_ps(ds[3 * v], qg[v])));
    }
    gates_den_pq8(0, 0, 0, nv, cn, pc, qc);
    VM_EACH(v, nv) {
        spStore(c + 8 * v, cn[v], SP_MASKED(v, nv), m);
        _mm256_storeu_ps(hNew + 8 * v, _mm256_div_ps(pc[v], _mm256_mul_ps(ds[3 * v + 2], qc[v])));
    }
}

// GRU block: r, z = start + x·W_i + h·W_h; n_x = b_in + x·W_in; n_h = b_hn + h·W_hn; then gates_avx2.c's gru_block:
// n = tanh(n_x + n_h / d_r), h' = n + (h − n) / d_z.
SP_INLINE void gruBlock(int nv, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *hOld, const float *hUnits,
                        const float *w, const float *proj, float *hNew, int tail, __m256i m) {
    __m256 r[SP_GRU_NV], z[SP_GRU_NV], nx[SP_GRU_NV], nh[SP_GRU_NV];
    VM_EACH(v, nv) {
        r[v] = _mm256_loadu_ps(w + 8 * v);
        z[v] = _mm256_loadu_ps(w + 8 * (nv + v));
        nx[v] = _mm256_loadu_ps(w + 8 * (2 * nv + v));
        nh[v] = _mm256_loadu_ps(w + 8 * (3 * nv + v));
    }
    if (proj) {
        spAddProjection(nv, 1, r, proj, hidden, tail, m);
        spAddProjection(nv, 1, z, proj + hidden, hidden, tail, m);
        spAddProjection(nv, 1, nx, proj + 2 * hidden, hidden, tail, m);
    }
    w += 32 * nv;
    for (ptrdiff_t p = 0; p < inputs; p++) {
        __m256 b = _mm256_broadcast_ss(x + p);
        VM_EACH(v, nv) {
            r[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * v), r[v]);
            z[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (nv + v)), z[v]);
            nx[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (2 * nv + v)), nx[v]);
        }
        w += 24 * nv;
    }
    for (ptrdiff_t p = 0; p < hidden; p++) {
        __m256 b = _mm256_broadcast_ss(hOld + p);
        VM_EACH(v, nv) {
            r[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * v), r[v]);
            z[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (nv + v)), z[v]);
            nh[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (2 * nv + v)), nh[v]);
        }
        w += 24 * nv;
    }
    __m256 xs[2 * SP_GRU_NV], ds[2 * SP_GRU_NV], xn[SP_GRU_NV], pn[SP_GRU_NV], qn[SP_GRU_NV];
    VM_EACH(v, nv) {
        xs[2 * v] = r[v];
        xs[2 * v + 1] = z[v];
    }
    gates_den_pq8(2 * nv, xs, ds, 0, 0, 0, 0);
    VM_EACH(v, nv) xn[v] = _mm256_add_ps(nx[v], _mm256_div_ps(nh[v], ds[2 * v]));
    gates_den_pq8(0, 0, 0, nv, xn, pn, qn);
    VM_EACH(v, nv) {
        __m256 n = _mm256_div_ps(pn[v], qn[v]);
        __m256 hp = spLoad(hUnits + 8 * v, SP_MASKED(v, nv), m);
        _mm256_storeu_ps(hNew + 8 * v, _mm256_add_ps(n, _mm256_div_ps(_mm256_sub_ps(hp, n), ds[2 * v + 1])));
    }
}

// RNN block: pre = start + x·W_ih + h·W_hh, then rnnrt_rnn_pointwise_avx2's tanh (p / q) or relu (NaN kept).
SP_INLINE void rnnBlock(int nv, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *hOld, const float *w,
                        const float *proj, float *hNew, int relu, int tail, __m256i m) {
    __m256 acc[SP_RNN_NV];
    VM_EACH(j, nv) acc[j] = _mm256_loadu_ps(w + 8 * j);
    if (proj) spAddProjection(nv, 1, acc, proj, hidden, tail, m);
    w += 8 * nv;
    for (ptrdiff_t p = 0; p < inputs; p++) {
        __m256 b = _mm256_broadcast_ss(x + p);
        VM_EACH(j, nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 8 * nv;
    }
    for (ptrdiff_t p = 0; p < hidden; p++) {
        __m256 b = _mm256_broadcast_ss(hOld + p);
        VM_EACH(j, nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 8 * nv;
    }
    if (relu) {
        VM_EACH(j, nv) {
            __m256 nanMask = _mm256_cmp_ps(acc[j], acc[j], _CMP_UNORD_Q);
            _mm256_storeu_ps(hNew + 8 * j, _mm256_blendv_ps(_mm256_max_ps(acc[j], _mm256_setzero_ps()), acc[j], nanMask));
        }
    } else {
        __m256 p[SP_RNN_NV], q[SP_RNN_NV];
        gates_den_pq8(0, 0, 0, nv, acc, p, q);
        VM_EACH(j, nv) _mm256_storeu_ps(hNew + 8 * j, _mm256_div_ps(p[j], q[j]));
    }
}

// A block of nv vectors with nv a compile-time constant (≤ NVMAX) in each instance.
#define SP_DISPATCH(NVMAX, CALL) \
    switch (nv) { \
    case 1: CALL(1); break; \
    case 2: if (2 <= NVMAX) CALL(2); break; \
    case 3: if (3 <= NVMAX) CALL(3); break; \
    case 4: if (4 <= NVMAX) CALL(4); break; \
    case 5: if (5 <= NVMAX) CALL(5); break; \
    case 6: if (6 <= NVMAX) CALL(6); break; \
    case 7: if (7 <= NVMAX) CALL(7); break; \
    default: if (8 <= NVMAX) CALL(8); break; \
    }

ptrdiff_t rnnrt_step_block_units(int kind) { return spBlockVectors(kind) * 8; }

ptrdiff_t rnnrt_step_block_count(int kind, ptrdiff_t hidden) {
    ptrdiff_t vectors = (hidden + 7) / 8, nvmax = spBlockVectors(kind);
    return (vectors + nvmax - 1) / nvmax;
}

// Blocks [first, end) of one layer: their units' new h into hNew (whole vectors, at the units' own offsets), c (LSTM)
// updated in place; blocks last to first when `reverse`. `xp` (or NULL): an input projection row [G·hidden] added to
// the start values.
SP_INLINE void stepBlocks(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                          const float *xp, const float *hOld, float *c, float *hNew, ptrdiff_t first, ptrdiff_t end,
                          int reverse) {
    ptrdiff_t vectors = (hidden + 7) / 8, nvmax = spBlockVectors(kind);
    ptrdiff_t blocks = (vectors + nvmax - 1) / nvmax;
    size_t blockSize = (size_t)nvmax * 8 * (size_t)(spStartGates(kind) + rnnrt_step_gates(kind) * (inputs + hidden));
    ptrdiff_t tailLanes = hidden % 8;
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)tailLanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (ptrdiff_t i = 0; i < end - first; i++) {
        ptrdiff_t b = reverse ? end - 1 - i : first + i;
        ptrdiff_t v0 = b * nvmax, nv = vectors - v0 < nvmax ? vectors - v0 : nvmax;
        const float *wb = w + (size_t)b * blockSize;
        int tail = tailLanes != 0 && b == blocks - 1;
        const float *proj = xp ? xp + 8 * v0 : 0;
        if (kind == RNNRT_STEP_LSTM) {
#define SP_CALL(N) lstmBlock(N, inputs, hidden, x, hOld, wb, proj, c + 8 * v0, hNew + 8 * v0, tail, m)
            SP_DISPATCH(SP_LSTM_NV, SP_CALL)
#undef SP_CALL
        } else if (kind == RNNRT_STEP_GRU) {
#define SP_CALL(N) gruBlock(N, inputs, hidden, x, hOld, hOld + 8 * v0, wb, proj, hNew + 8 * v0, tail, m)
            SP_DISPATCH(SP_GRU_NV, SP_CALL)
#undef SP_CALL
        } else {
#define SP_CALL(N) rnnBlock(N, inputs, hidden, x, hOld, wb, proj, hNew + 8 * v0, relu, tail, m)
            SP_DISPATCH(SP_RNN_NV, SP_CALL)
#undef SP_CALL
        }
    }
}

// All blocks of one layer (see stepBlocks).
AVX2 static void stepLayer(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                           const float *xp, const float *hOld, float *c, float *hNew, int reverse) {
    stepBlocks(kind, relu, inputs, hidden, x, w, xp, hOld, c, hNew, 0, rnnrt_step_block_count(kind, hidden), reverse);
}

AVX2 void rnnrt_step_blocks_avx2(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                                 const float *xp, const float *hOld, float *c, float *hNew, ptrdiff_t first,
                                 ptrdiff_t end, int reverse) {
    stepBlocks(kind, relu, inputs, hidden, x, w, xp, hOld, c, hNew, first, end, reverse);
}

// dst[0, n) = src[0, n) (a few vectors: inline rather than a call to memcpy).
SP_INLINE void spCopy(float *dst, const float *src, ptrdiff_t n) {
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
    if (j < n) {
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - j)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        _mm256_maskstore_ps(dst + j, m, _mm256_maskload_ps(src + j, m));
    }
}

AVX2 void rnnrt_stream_step_avx2(int kind, int relu, ptrdiff_t layers, const rnnrt_step_layer *layer, ptrdiff_t hidden,
                                 const float *x, float *h, float *c, float *output, float *scratch, unsigned *parity) {
    int reverse = (int)(*parity & 1);
    *parity ^= 1;
    const float *in = x;
    for (ptrdiff_t l = 0; l < layers; l++) {
        float *hl = h + l * hidden;
        stepLayer(kind, relu, layer[l].inputs, hidden, in, layer[l].weights, 0, hl,
                  kind == RNNRT_STEP_LSTM ? c + l * hidden : c, scratch, reverse);
        spCopy(hl, scratch, hidden);
        in = hl;
    }
    spCopy(output, scratch, hidden);
}

AVX2 void rnnrt_step_sequence_avx2(int kind, int relu, rnnrt_step_layer layer, ptrdiff_t hidden, ptrdiff_t steps,
                                   const float *x, ptrdiff_t x_stride, const float *projection, float *h, float *c,
                                   float *output, ptrdiff_t out_stride, int reverse, float *scratch) {
    ptrdiff_t g = rnnrt_step_gates(kind) * hidden;
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        stepLayer(kind, relu, layer.inputs, hidden, x ? x + t * x_stride : 0, layer.weights,
                  projection ? projection + t * g : 0, h, c, scratch, (int)(s & 1));
        spCopy(h, scratch, hidden);
        spCopy(output + t * out_stride, scratch, hidden);
    }
}

// ---- whole sequences ---------------------------------------------------------------------------------

static inline void copyRows(const float *h, ptrdiff_t batch, ptrdiff_t hidden, float *out, ptrdiff_t stride) {
    for (ptrdiff_t b = 0; b < batch; b++) memcpy(out + b * stride, h + b * hidden, (size_t)hidden * sizeof(float));
}

AVX2 void rnnrt_lstm_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                                   float *h, float *c, float *output, ptrdiff_t out_stride, int reverse) {
    ptrdiff_t g = 4 * hidden;
    float *products = sequenceScratch(batch, g, hidden, whh);
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        float *gates = xp + t * batch * g;
        weightsProduct(batch, g, hidden, h, hidden, whh, gates, g, 1, products);
        rnnrt_lstm_pointwise_avx2(gates, c, h, hidden, batch);
        copyRows(h, batch, hidden, output + t * batch * out_stride, out_stride);
    }
    free(products);
}

AVX2 void rnnrt_gru_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, const float *xp, rnnrt_weights whh,
                                  const float *bias_hh, float *h, float *output, ptrdiff_t out_stride, int reverse, float *scratch) {
    ptrdiff_t g = 3 * hidden;
    float *products = sequenceScratch(batch, g, hidden, whh);
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        for (ptrdiff_t b = 0; b < batch; b++) memcpy(scratch + b * g, bias_hh, (size_t)g * sizeof(float));
        weightsProduct(batch, g, hidden, h, hidden, whh, scratch, g, 1, products);
        rnnrt_gru_pointwise_avx2(xp + t * batch * g, scratch, h, hidden, batch);
        copyRows(h, batch, hidden, output + t * batch * out_stride, out_stride);
    }
    free(products);
}

AVX2 void rnnrt_rnn_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                                  float *h, float *output, ptrdiff_t out_stride, int reverse, int relu) {
    float *products = sequenceScratch(batch, hidden, hidden, whh);
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        float *pre = xp + t * batch * hidden;
        weightsProduct(batch, hidden, hidden, h, hidden, whh, pre, hidden, 1, products);
        rnnrt_rnn_pointwise_avx2(pre, h, batch * hidden, relu);
        copyRows(h, batch, hidden, output + t * batch * out_stride, out_stride);
    }
    free(products);
}

#else
int rnnrt_has_avx2_fma(void) { return 0; }
void rnnrt_sgemm_packed_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed_b,
                                    ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c,
                                    ptrdiff_t ldc, int accumulate) {}
ptrdiff_t rnnrt_step_block_count(int kind, ptrdiff_t hidden) { return 0; }
ptrdiff_t rnnrt_step_block_units(int kind) { return 8; }
void rnnrt_step_blocks_avx2(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                            const float *xp, const float *hOld, float *c, float *hNew, ptrdiff_t first, ptrdiff_t end,
                            int reverse) {}
void rnnrt_lstm_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                              float *h, float *c, float *output, ptrdiff_t out_stride, int reverse) {}
void rnnrt_gru_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, const float *xp, rnnrt_weights whh,
                             const float *bias_hh, float *h, float *output, ptrdiff_t out_stride, int reverse, float *scratch) {}
void rnnrt_rnn_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                             float *h, float *output, ptrdiff_t out_stride, int reverse, int relu) {}
size_t rnnrt_step_packed_count(int kind, ptrdiff_t inputs, ptrdiff_t hidden) { return 0; }
void rnnrt_step_pack(int kind, ptrdiff_t inputs, ptrdiff_t hidden, rnnrt_weights wih, rnnrt_weights whh,
                     const float *bias_ih, const float *bias_hh, float *out) {}
void rnnrt_stream_step_avx2(int kind, int relu, ptrdiff_t layers, const rnnrt_step_layer *layer, ptrdiff_t hidden,
                            const float *x, float *h, float *c, float *output, float *scratch, unsigned *parity) {}
size_t rnnrt_packed_b_count(ptrdiff_t k, ptrdiff_t n) { return 0; }
size_t rnnrt_row_slivers_count(ptrdiff_t k, ptrdiff_t n) { return 0; }
void rnnrt_pack_row_slivers(ptrdiff_t rows, ptrdiff_t cols, rnnrt_weights w, float *out) {}
int rnnrt_row_slivers_suit(ptrdiff_t m) { return 0; }
size_t rnnrt_row_slivers_scratch(ptrdiff_t m, ptrdiff_t width, ptrdiff_t k) { return 0; }
void rnnrt_row_slivers_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w6,
                                   ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c, ptrdiff_t ldc,
                                   int accumulate, float *scratch) {}
void rnnrt_pack_b(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, float *out) {}
void rnnrt_pack_bt(ptrdiff_t rows, ptrdiff_t cols, const float *s, float *out) {}
void rnnrt_sgemm_packed_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                             const float *packed_b, float *c, ptrdiff_t ldc, int accumulate) {}
void rnnrt_sgemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                      ptrdiff_t ldb, float *c, ptrdiff_t ldc, int accumulate) {}
void rnnrt_gemv_rows_avx2(ptrdiff_t rows, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x, float *y,
                          int accumulate) {}
void rnnrt_sgemm_rows_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w,
                           ptrdiff_t ldw, float *c, ptrdiff_t ldc, int accumulate) {}
void rnnrt_weights_multiply(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                            float *c, ptrdiff_t ldc, int accumulate) {}
void rnnrt_step_sequence_avx2(int kind, int relu, rnnrt_step_layer layer, ptrdiff_t hidden, ptrdiff_t steps,
                              const float *x, ptrdiff_t x_stride, const float *projection, float *h, float *c,
                              float *output, ptrdiff_t out_stride, int reverse, float *scratch) {}
#endif
