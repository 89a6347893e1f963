// The products with weights used in place as stored, W [n×k] row-major (see rnnrt_gemv_rows_avx2 and
// rnnrt_sgemm_rows_avx2 in include/rnnrt_kernels.h): y = W · x, eight rows of W at a time, each a dot product with x;
// and C = A · Wᵀ, which hands a few rows of A to the former one by one.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"

#ifndef RNNRT_ROWS_SMALL_M
#define RNNRT_ROWS_SMALL_M 48
#endif

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
        float *pb = (float *)malloc(rnnrt_packed_b_count_inline(k, n) * sizeof(float));
        if (pb) {
            packTransposed(n, k, w, ldw, pb);
            rnnrt_sgemm_packed_inline(m, n, k, a, lda, pb, c, ldc, accumulate);
            free(pb);
            return;
        }
    }
    for (ptrdiff_t i = 0; i < m; i++) rnnrt_gemv_rows_avx2(n, k, w, ldw, a + i * lda, c + i * ldc, accumulate);
}

#else
void rnnrt_gemv_rows_avx2(ptrdiff_t rows, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x, float *y,
                          int accumulate) {}
void rnnrt_sgemm_rows_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w,
                           ptrdiff_t ldw, float *c, ptrdiff_t ldc, int accumulate) {}
#endif
