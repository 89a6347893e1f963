// Vectorized exp, sigmoid and tanh for the AVX2/FMA kernels (internal to CRNNRTKernels). Accuracy: exp is a
// degree-6 polynomial after range reduction (≤ 2 ulp on [-88, 88]); sigmoid = 1 / (1 + exp(-x)) with a
// reciprocal estimate and one Newton step; tanh(x) = a rational approximation on [-7.9, 7.9] (Eigen's float
// tanh), a few ulp. Both saturate correctly at ±∞ and keep NaN.
#ifndef RNNRT_VECMATH_AVX2_H
#define RNNRT_VECMATH_AVX2_H
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#ifndef AVX2
#define AVX2 __attribute__((target("avx2,fma")))
#endif


AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647950f), lo = _mm256_set1_ps(-88.3762626647949f);
    __m256 nanMask = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    __m256 x2 = _mm256_mul_ps(x, x);
    y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_cvtps_epi32(fx);
    // 2^n built in two halves so n = 128 (x near 88.38) does not overflow the exponent field.
    __m256i half = _mm256_srai_epi32(n, 1);
    __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, half), _mm256_set1_epi32(127)), 23));
    y = _mm256_mul_ps(_mm256_mul_ps(y, p1), p2);
    return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_nanf("")), nanMask);
}

// 1/d with the fast reciprocal estimate and one Newton step (relative error ≈ 2⁻²², a few ulp), instead of
// a division whose latency dominates the short gate updates.
AVX2 static inline __m256 reciprocal8(__m256 d) {
    __m256 r = _mm256_rcp_ps(d);
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
}

AVX2 static inline __m256 sigmoid8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 nanMask = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    __m256 d = _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x)));
    // d ≥ 1; for d = +inf (x very negative) the Newton step would give NaN: sigmoid is 0 there.
    __m256 r = _mm256_and_ps(reciprocal8(d), _mm256_cmp_ps(d, _mm256_set1_ps(__builtin_inff()), _CMP_LT_OQ));
    return _mm256_blendv_ps(r, x, nanMask);
}

AVX2 static inline __m256 tanh8(__m256 x) {
    // Rational approximation on [-7.9053, 7.9053] (beyond it tanh rounds to ±1 in float), as in Eigen's
    // float tanh; |x| < 4e-4 returns x.
    __m256 nanMask = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    __m256 tiny = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(0.0004f), _CMP_LT_OQ);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-7.90531110763549805f)), _mm256_set1_ps(7.90531110763549805f));
    __m256 x2 = _mm256_mul_ps(xc, xc);
    __m256 p = _mm256_set1_ps(-2.76076847742355e-16f);
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(2.00018790482477e-13f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-8.60467152213735e-11f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(5.12229709037114e-08f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(1.48572235717979e-05f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(6.37261928875436e-04f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(4.89352455891786e-03f));
    p = _mm256_mul_ps(xc, p);
    __m256 q = _mm256_set1_ps(1.19825839466702e-06f);
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(1.18534705686654e-04f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(2.26843463243900e-03f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(4.89352518554385e-03f));
    __m256 t = _mm256_mul_ps(p, reciprocal8(q));
    t = _mm256_blendv_ps(t, x, tiny);
    return _mm256_blendv_ps(t, x, nanMask);
}

// Scalar versions of the same formulas for the tails (so every element gets identical rounding behaviour
// class; tails are short).
static inline float sigmoid1(float x) { return 1.0f / (1.0f + __builtin_expf(-x)); }
static inline float tanh1(float x) { return __builtin_tanhf(x); }

#endif
#endif
