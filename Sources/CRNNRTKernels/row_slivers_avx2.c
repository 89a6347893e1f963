// Products with W in row slivers (see rnnrt_pack_row_slivers in include/rnnrt_kernels.h): C = A · Wᵀ computed as
// Cᵀ = W · Aᵀ, for the recurrent step of a batch of 8, 16, 32, ... rows.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"

size_t rnnrt_row_slivers_count(ptrdiff_t k, ptrdiff_t n) { return (size_t)((n + 5) / 6) * 6 * (size_t)k; }

void rnnrt_pack_row_slivers(ptrdiff_t rows, ptrdiff_t cols, rnnrt_weights w, float *out) {
    for (ptrdiff_t s = 0; s * 6 < rows; s++) {
        float *dst = out + (size_t)s * (size_t)cols * 6;
        for (ptrdiff_t r = 0; r < 6; r++) {
            ptrdiff_t row = s * 6 + r;
            for (ptrdiff_t p = 0; p < cols; p++) dst[p * 6 + r] = row < rows ? rnnrt_weight_at(w, cols, row, p) : 0;
        }
    }
}

int rnnrt_row_slivers_suit(ptrdiff_t m) { return rnnrt_row_slivers_suit_inline(m); }

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
    return rnnrt_row_slivers_scratch_inline(m, width, k);
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
    ptrdiff_t tw = rnnrt_row_sliver_tile(m) == 8 ? 8 : 16, tiles = (m + tw - 1) / tw, ld = tw * tiles;
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

#else
size_t rnnrt_row_slivers_count(ptrdiff_t k, ptrdiff_t n) { return 0; }
void rnnrt_pack_row_slivers(ptrdiff_t rows, ptrdiff_t cols, rnnrt_weights w, float *out) {}
int rnnrt_row_slivers_suit(ptrdiff_t m) { return 0; }
size_t rnnrt_row_slivers_scratch(ptrdiff_t m, ptrdiff_t width, ptrdiff_t k) { return 0; }
void rnnrt_row_slivers_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w6,
                                   ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c, ptrdiff_t ldc,
                                   int accumulate, float *scratch) {}
#endif
