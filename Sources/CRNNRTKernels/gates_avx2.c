// The fused LSTM/GRU/RNN cell updates (see include/rnnrt_kernels.h), on the vector math of vecmath_avx2.h.
#include "rnnrt_kernels.h"
#include "vecmath_avx2.h"

#if defined(__x86_64__) || defined(_M_X64)

// ---- fused cell updates ----------------------------------------------------------------------------

AVX2 void rnnrt_lstm_pointwise_avx2(const float *gates, float *c, float *h, ptrdiff_t hidden, ptrdiff_t batch) {
    for (ptrdiff_t r = 0; r < batch; r++) {
        const float *g = gates + r * 4 * hidden;
        float *cr = c + r * hidden, *hr = h + r * hidden;
        ptrdiff_t j = 0;
        for (; j + 8 <= hidden; j += 8) {
            __m256 i = sigmoid8(_mm256_loadu_ps(g + j));
            __m256 f = sigmoid8(_mm256_loadu_ps(g + hidden + j));
            __m256 cand = tanh8(_mm256_loadu_ps(g + 2 * hidden + j));
            __m256 o = sigmoid8(_mm256_loadu_ps(g + 3 * hidden + j));
            __m256 cn = _mm256_fmadd_ps(f, _mm256_loadu_ps(cr + j), _mm256_mul_ps(i, cand));
            _mm256_storeu_ps(cr + j, cn);
            _mm256_storeu_ps(hr + j, _mm256_mul_ps(o, tanh8(cn)));
        }
        for (; j < hidden; j++) {
            float i = sigmoid1(g[j]), f = sigmoid1(g[hidden + j]), cand = tanh1(g[2 * hidden + j]), o = sigmoid1(g[3 * hidden + j]);
            float cn = f * cr[j] + i * cand;
            cr[j] = cn;
            hr[j] = o * tanh1(cn);
        }
    }
}

AVX2 void rnnrt_gru_pointwise_avx2(const float *input_part, const float *hidden_part, float *h, ptrdiff_t hidden,
                                   ptrdiff_t batch) {
    __m256 one = _mm256_set1_ps(1.0f);
    for (ptrdiff_t b = 0; b < batch; b++) {
        const float *x = input_part + b * 3 * hidden, *p = hidden_part + b * 3 * hidden;
        float *hr = h + b * hidden;
        ptrdiff_t j = 0;
        for (; j + 8 <= hidden; j += 8) {
            __m256 r = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(p + j)));
            __m256 z = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(x + hidden + j), _mm256_loadu_ps(p + hidden + j)));
            __m256 n = tanh8(_mm256_fmadd_ps(r, _mm256_loadu_ps(p + 2 * hidden + j), _mm256_loadu_ps(x + 2 * hidden + j)));
            __m256 hp = _mm256_loadu_ps(hr + j);
            _mm256_storeu_ps(hr + j, _mm256_fmadd_ps(_mm256_sub_ps(one, z), n, _mm256_mul_ps(z, hp)));
        }
        for (; j < hidden; j++) {
            float r = sigmoid1(x[j] + p[j]), z = sigmoid1(x[hidden + j] + p[hidden + j]);
            float n = tanh1(x[2 * hidden + j] + r * p[2 * hidden + j]);
            hr[j] = (1 - z) * n + z * hr[j];
        }
    }
}

AVX2 void rnnrt_rnn_pointwise_avx2(const float *pre, float *h, ptrdiff_t count, int relu) {
    ptrdiff_t j = 0;
    if (relu) {
        for (; j + 8 <= count; j += 8) {
            __m256 v = _mm256_loadu_ps(pre + j);
            __m256 nanMask = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
            _mm256_storeu_ps(h + j, _mm256_blendv_ps(_mm256_max_ps(v, _mm256_setzero_ps()), v, nanMask));
        }
        for (; j < count; j++) h[j] = pre[j] != pre[j] ? pre[j] : (pre[j] > 0 ? pre[j] : 0);
    } else {
        for (; j + 8 <= count; j += 8) _mm256_storeu_ps(h + j, tanh8(_mm256_loadu_ps(pre + j)));
        for (; j < count; j++) h[j] = tanh1(pre[j]);
    }
}


#else
void rnnrt_lstm_pointwise_avx2(const float *gates, float *c, float *h, ptrdiff_t hidden, ptrdiff_t batch) {}
void rnnrt_gru_pointwise_avx2(const float *input_part, const float *hidden_part, float *h, ptrdiff_t hidden,
                              ptrdiff_t batch) {}
void rnnrt_rnn_pointwise_avx2(const float *pre, float *h, ptrdiff_t count, int relu) {}
#endif
