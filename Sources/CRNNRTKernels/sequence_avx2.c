// Whole directions of PyTorch-form layers, the loop over time steps in C (see rnnrt_lstm_sequence_avx2 in
// include/rnnrt_kernels.h): each step the recurrent product, then the cell update of gates_avx2.c.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define AVX2 __attribute__((target("avx2,fma")))

// Scratch for a sequence's recurrent products (malloc'd once, not per step): NULL when they need none or it could
// not be allocated (the products then allocate their own).
static float *sequenceScratch(ptrdiff_t batch, ptrdiff_t n, ptrdiff_t k, rnnrt_weights w) {
    if (!w.row_slivers || !rnnrt_row_slivers_suit_inline(batch)) return 0;
    return (float *)malloc(rnnrt_row_slivers_scratch_inline(batch, n, k) * sizeof(float));
}

static inline void copyRows(const float *h, ptrdiff_t batch, ptrdiff_t hidden, float *out, ptrdiff_t stride) {
    for (ptrdiff_t b = 0; b < batch; b++) memcpy(out + b * stride, h + b * hidden, (size_t)hidden * sizeof(float));
}

AVX2 void rnnrt_lstm_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                                   float *h, float *c, float *output, ptrdiff_t out_stride, int reverse) {
    ptrdiff_t g = 4 * hidden;
    float *products = sequenceScratch(batch, g, hidden, whh);
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        float *gates = xp + t * batch * g;
        rnnrt_weights_product_avx2(batch, g, hidden, h, hidden, whh, gates, g, 1, products);
        rnnrt_lstm_pointwise_avx2(gates, c, h, hidden, batch);
        copyRows(h, batch, hidden, output + t * batch * out_stride, out_stride);
    }
    free(products);
}

AVX2 void rnnrt_gru_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, const float *xp, rnnrt_weights whh,
                                  const float *bias_hh, float *h, float *output, ptrdiff_t out_stride, int reverse, float *scratch) {
    ptrdiff_t g = 3 * hidden;
    float *products = sequenceScratch(batch, g, hidden, whh);
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        for (ptrdiff_t b = 0; b < batch; b++) memcpy(scratch + b * g, bias_hh, (size_t)g * sizeof(float));
        rnnrt_weights_product_avx2(batch, g, hidden, h, hidden, whh, scratch, g, 1, products);
        rnnrt_gru_pointwise_avx2(xp + t * batch * g, scratch, h, hidden, batch);
        copyRows(h, batch, hidden, output + t * batch * out_stride, out_stride);
    }
    free(products);
}

AVX2 void rnnrt_rnn_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                                  float *h, float *output, ptrdiff_t out_stride, int reverse, int relu) {
    float *products = sequenceScratch(batch, hidden, hidden, whh);
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        float *pre = xp + t * batch * hidden;
        rnnrt_weights_product_avx2(batch, hidden, hidden, h, hidden, whh, pre, hidden, 1, products);
        rnnrt_rnn_pointwise_avx2(pre, h, batch * hidden, relu);
        copyRows(h, batch, hidden, output + t * batch * out_stride, out_stride);
    }
    free(products);
}

#else
void rnnrt_lstm_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                              float *h, float *c, float *output, ptrdiff_t out_stride, int reverse) {}
void rnnrt_gru_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, const float *xp, rnnrt_weights whh,
                             const float *bias_hh, float *h, float *output, ptrdiff_t out_stride, int reverse, float *scratch) {}
void rnnrt_rnn_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                             float *h, float *output, ptrdiff_t out_stride, int reverse, int relu) {}
#endif
