// The product with a right operand packed by rnnrt_pack_b (see include/rnnrt_kernels.h): A packed in slivers of 6
// rows per block of KC inner values and MC rows, 6×16 register tiles (tiles_avx2.h); one row at a time streams B.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"

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
    rnnrt_sgemm_packed_inline(m, n, k, a, lda, packed_b, c, ldc, accumulate);
}

#else
void rnnrt_sgemm_packed_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed_b,
                                    ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c,
                                    ptrdiff_t ldc, int accumulate) {}
void rnnrt_sgemm_packed_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                             const float *packed_b, float *c, ptrdiff_t ldc, int accumulate) {}
#endif
