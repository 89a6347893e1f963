// Activations over whole arrays, for the graph executor's elementwise operators (see include/rnnrt_kernels.h), on
// the vector math of vecmath_avx2.h. Four vectors are evaluated in lockstep; tails run the same vector code on
// masked loads and stores, so every element gets the same arithmetic whatever its position.
#include "rnnrt_kernels.h"
#include "vecmath_avx2.h"
#include "lanes_avx2.h"

#if defined(__x86_64__) || defined(_M_X64)

// y = x·σ(x) when `gated`, else σ(x): both divide by the denominator 1 + e^−x.
AVX2 static void sigmoid_family(const float *x, float *y, ptrdiff_t n, int gated) {
    const __m256 one = _mm256_set1_ps(1.0f);
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 v[4], d[4];
        VM_EACH(k, 4) v[k] = _mm256_loadu_ps(x + i + 8 * k);
        gates_den_pq8(4, v, d, 0, 0, 0, 0);
        VM_EACH(k, 4) _mm256_storeu_ps(y + i + 8 * k, _mm256_div_ps(gated ? v[k] : one, d[k]));
    }
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(y + i, _mm256_div_ps(gated ? v : one, sigmoid_den8(v)));
    }
    if (i < n) {
        __m256i m = lanesBelow(n - i);
        __m256 v = _mm256_maskload_ps(x + i, m);
        _mm256_maskstore_ps(y + i, m, _mm256_div_ps(gated ? v : one, sigmoid_den8(v)));
    }
}

AVX2 void rnnrt_sigmoid_avx2(const float *x, float *y, ptrdiff_t n) { sigmoid_family(x, y, n, 0); }

AVX2 void rnnrt_silu_avx2(const float *x, float *y, ptrdiff_t n) { sigmoid_family(x, y, n, 1); }

#else
void rnnrt_sigmoid_avx2(const float *x, float *y, ptrdiff_t n) {}
void rnnrt_silu_avx2(const float *x, float *y, ptrdiff_t n) {}
#endif
