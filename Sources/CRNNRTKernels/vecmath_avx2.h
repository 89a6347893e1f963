// Vectorized sigmoid and tanh for the AVX2/FMA kernels (internal to CRNNRTKernels). They are shaped for the
// cell updates: each returns a numerator and a denominator so an update can fold them into one division
// (σ(a)·tanh(b) = p / (d·q)), and gates_den_pq8 runs many independent evaluations in lockstep so the
// out-of-order core always has ready work (the updates are bound by the two FMA ports and by the length of
// the dependency chains, not by the number of functions).
//
// Accuracy, measured over every float input against a double-precision reference:
// - sigmoid8(x) = 1 / (1 + e^−x): ≤ 2.8 ulp wherever σ(x) is a normal float, so it keeps its relative
//   accuracy near 0 (σ(x) ≈ eˣ for x ≪ 0) as PyTorch's does; exactly 1 for x ≥ 17, exactly 0 for x ≤ −88.7
//   and −∞, NaN for NaN. e^−x = 2^(k/8) · 2ⁿ · e^−u with k, n from round(−8x·log2e), the 2^(k/8) from an
//   8-entry table (a permute), |u| ≤ ln2/16 after Cody–Waite reduction, e^−u a cubic (minimax, relative error
//   2.7e-8).
// - tanh8(x) = x·P(x²) / Q(x²), P and Q of degree 4 (minimax on [−9.02, 9.02], relative error 4e-8 with the
//   float coefficients), x clamped to that range (beyond it tanh rounds to ±1): ≤ 5.5 ulp, absolute error
//   ≤ 3.3e-7 (the largest near ±1, where the result can exceed 1 in magnitude by up to 2 ulp; mean 0.6 ulp);
//   odd, exactly ±1 beyond ±9.02 and at ±∞, NaN for NaN.
// No blends are needed: each clamp takes its constant as the first operand, so max/min pass a NaN operand
// through and NaN propagates through the arithmetic; the clamps keep everything else finite (1 + e^−x is
// +∞ only for x ≤ −88.68, where σ = 1/∞ = 0 is right).
#ifndef RNNRT_VECMATH_AVX2_H
#define RNNRT_VECMATH_AVX2_H
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#ifndef AVX2
#define AVX2 __attribute__((target("avx2,fma")))
#endif
#define VM_INLINE AVX2 __attribute__((always_inline)) static inline
// A loop over lockstep lanes; with a compile-time count it unrolls fully and the lane arrays live in registers.
#define VM_EACH(v, n) _Pragma("clang loop unroll(full)") for (int v = 0; v < (n); v++)
#define VM_MAX 12

// ds[v] = 1 + e^(−xs[v]) for v < ns (σ = 1 / ds, σ·y = y / ds) and tanh(xt[v]) ≈ pt[v] / qt[v] for v < nt
// (qt ∈ [1, 422)), one step at a time across all of them. ns, nt ≤ VM_MAX, compile-time constants at the call.
VM_INLINE void gates_den_pq8(int ns, const __m256 *xs, __m256 *ds, int nt, const __m256 *xt, __m256 *pt, __m256 *qt) {
    // e^(−x): m = round(−8x·log2e) by adding 1.5·2²³ + 1016, which leaves m + 1016 (= 8·(n + 127) + k) in the
    // low 11 mantissa bits; the clamp keeps m in [−1008, 1024], so n + 127 ∈ [1, 255] (255: 2ⁿ = +∞, only
    // with k = 0). Shifting left by 20 and masking gives the exponent field of 2ⁿ; adding the table entry
    // (the bits of 2^(k/8) less the exponent bias, selected by the low 3 bits) gives 2^(m/8) as a float. The
    // reduced argument is kept negated, u = x + m·ln2/8 = −r, ln2/8 in two parts (the first has 13
    // significant bits, so m·hi is exact), so the cubic for e^r = e^−u has its odd coefficients negated.
    const __m256 magic = _mm256_set1_ps(12583928.0f), one = _mm256_set1_ps(1.0f);
    const __m256i pow2k8 = _mm256_setr_epi32(0x0, 0xb95c2, 0x1837f0, 0x25fed7, 0x3504f3, 0x45672a, 0x5744fd, 0x6ac0c7);
    __m256 u[VM_MAX], fx[VM_MAX], e[VM_MAX], y[VM_MAX], t[VM_MAX], a[VM_MAX], b[VM_MAX];
    VM_EACH(v, ns) u[v] = _mm256_min_ps(_mm256_set1_ps(87.33f), _mm256_max_ps(_mm256_set1_ps(-88.72f), xs[v]));
    VM_EACH(v, nt) y[v] = _mm256_min_ps(_mm256_set1_ps(9.02f), _mm256_max_ps(_mm256_set1_ps(-9.02f), xt[v]));
    VM_EACH(v, ns) fx[v] = _mm256_fmadd_ps(u[v], _mm256_set1_ps(-11.5415603f), magic);
    VM_EACH(v, nt) t[v] = _mm256_mul_ps(y[v], y[v]);
    VM_EACH(v, ns) e[v] = _mm256_sub_ps(fx[v], magic);
    VM_EACH(v, nt) {
        a[v] = _mm256_fmadd_ps(_mm256_set1_ps(1.3319035e-08f), t[v], _mm256_set1_ps(2.0583466e-05f));
        b[v] = _mm256_fmadd_ps(_mm256_set1_ps(7.7620075e-07f), t[v], _mm256_set1_ps(3.2830919e-04f));
    }
    VM_EACH(v, ns) u[v] = _mm256_fmadd_ps(e[v], _mm256_set1_ps(0.086639404296875f), u[v]);
    VM_EACH(v, nt) {
        a[v] = _mm256_fmadd_ps(a[v], t[v], _mm256_set1_ps(3.4940345e-03f));
        b[v] = _mm256_fmadd_ps(b[v], t[v], _mm256_set1_ps(2.5871076e-02f));
    }
    VM_EACH(v, ns) u[v] = _mm256_fmadd_ps(e[v], _mm256_set1_ps(3.99327312e-06f), u[v]);
    VM_EACH(v, nt) {
        a[v] = _mm256_fmadd_ps(a[v], t[v], _mm256_set1_ps(1.3379720e-01f));
        b[v] = _mm256_fmadd_ps(b[v], t[v], _mm256_set1_ps(4.6713039e-01f));
    }
    VM_EACH(v, ns) e[v] = _mm256_fmadd_ps(_mm256_set1_ps(-0.166642934f), u[v], _mm256_set1_ps(0.500064909f));
    VM_EACH(v, nt) {
        a[v] = _mm256_fmadd_ps(a[v], t[v], one);
        qt[v] = _mm256_fmadd_ps(b[v], t[v], one);
    }
    VM_EACH(v, ns) e[v] = _mm256_fmadd_ps(e[v], u[v], _mm256_set1_ps(-1.0f));
    VM_EACH(v, nt) pt[v] = _mm256_mul_ps(a[v], y[v]);
    VM_EACH(v, ns) e[v] = _mm256_fmadd_ps(e[v], u[v], one);
    VM_EACH(v, ns) {
        __m256i m = _mm256_castps_si256(fx[v]);
        __m256i pow2n = _mm256_and_si256(_mm256_slli_epi32(m, 20), _mm256_set1_epi32(0x7F800000));
        __m256i scale = _mm256_add_epi32(pow2n, _mm256_permutevar8x32_epi32(pow2k8, m));
        ds[v] = _mm256_fmadd_ps(e[v], _mm256_castsi256_ps(scale), one);
    }
}

// 1 + e^−x: σ(x) = 1 / sigmoid_den8(x).
VM_INLINE __m256 sigmoid_den8(__m256 x) {
    __m256 d;
    gates_den_pq8(1, &x, &d, 0, 0, 0, 0);
    return d;
}

VM_INLINE __m256 sigmoid8(__m256 x) { return _mm256_div_ps(_mm256_set1_ps(1.0f), sigmoid_den8(x)); }

// tanh(x) ≈ *p / *q, *q ∈ [1, 422).
VM_INLINE void tanh_pq8(__m256 x, __m256 *p, __m256 *q) { gates_den_pq8(0, 0, 0, 1, &x, p, q); }

VM_INLINE __m256 tanh8(__m256 x) {
    __m256 p, q;
    tanh_pq8(x, &p, &q);
    return _mm256_div_ps(p, q);
}

#endif
#endif
