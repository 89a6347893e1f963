// rnnrt's x86-64 AVX2/FMA kernels. Each function is compiled for AVX2+FMA with a per-function target
// attribute (no global compiler flags), so callers must check rnnrt_has_avx2_fma() first; the Swift
// kernels in RNNRTKernels are the portable fallback and the reference these are tested against.
#ifndef RNNRT_KERNELS_H
#define RNNRT_KERNELS_H

#include <stddef.h>

/// 1 when the CPU supports AVX2 and FMA (and the kernels below may be called), else 0.
int rnnrt_has_avx2_fma(void);

/// C[m×n] = (accumulate ? C : 0) + A[m×k] · B[k×n], row-major with leading dimensions in elements.
void rnnrt_sgemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                      ptrdiff_t ldb, float *c, ptrdiff_t ldc, int accumulate);

/// LSTM step: gates [batch × 4H] (PyTorch blocks i, f, g, o, pre-activations); updates c, writes h.
void rnnrt_lstm_pointwise_avx2(const float *gates, float *c, float *h, ptrdiff_t hidden, ptrdiff_t batch);

/// GRU step (reset after the product): input part and hidden part [batch × 3H] (r, z, n); updates h.
void rnnrt_gru_pointwise_avx2(const float *input_part, const float *hidden_part, float *h, ptrdiff_t hidden,
                              ptrdiff_t batch);

/// RNN step: h = tanh(pre) or relu(pre) over count values.
void rnnrt_rnn_pointwise_avx2(const float *pre, float *h, ptrdiff_t count, int relu);

#endif
