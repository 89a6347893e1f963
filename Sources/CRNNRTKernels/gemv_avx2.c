// A matrix as stored times a vector (see rnnrt_gemv_rows_avx2 in include/rnnrt_kernels.h): eight rows at a time,
// each a dot product with x.
#include "rnnrt_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

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

#else
void rnnrt_gemv_rows_avx2(ptrdiff_t rows, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x, float *y,
                          int accumulate) {}
#endif
