// The product with weights used in place as stored, W [n×k] row-major, C = A · Wᵀ (see rnnrt_sgemm_rows_avx2 in
// include/rnnrt_kernels.h).
#include "rnnrt_kernels.h"
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"

#ifndef RNNRT_ROWS_SMALL_M
#define RNNRT_ROWS_SMALL_M 48
#endif

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

#else
void rnnrt_sgemm_rows_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w,
                           ptrdiff_t ldw, float *c, ptrdiff_t ldc, int accumulate) {}
#endif
