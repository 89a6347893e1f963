// The product of two matrices as stored (see rnnrt_sgemm_avx2 in include/rnnrt_kernels.h): tiles of 4 rows × 16
// columns over B read in place, one row at a time for what is left; a big product packs B and runs the packed product.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

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
        float *packed = (float *)malloc(rnnrt_packed_b_count_inline(k, n) * sizeof(float));
        if (packed) {
            rnnrt_pack_b(k, n, b, ldb, packed);
            rnnrt_sgemm_packed_inline(m, n, k, a, lda, packed, c, ldc, accumulate);
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

#else
void rnnrt_sgemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                      ptrdiff_t ldb, float *c, ptrdiff_t ldc, int accumulate) {}
#endif
