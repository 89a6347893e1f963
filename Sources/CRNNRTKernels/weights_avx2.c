// The product with constant weights in any of their forms (see rnnrt_weights in include/rnnrt_kernels.h): row slivers
// where the number of rows suits them, else the packed or the in-place product.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 void rnnrt_weights_product_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                                     float *c, ptrdiff_t ldc, int accumulate, float *scratch) {
    if (w.row_slivers && k > 0 && rnnrt_row_slivers_suit_inline(m)) {
        float *own = scratch ? 0 : (float *)malloc(rnnrt_row_slivers_scratch_inline(m, n, k) * sizeof(float));
        if (scratch || own) {
            ptrdiff_t start = 0;
            rnnrt_row_slivers_ranges_avx2(m, k, a, lda, w.row_slivers, 1, &start, n, c, ldc, accumulate,
                                          scratch ? scratch : own);
            free(own);
            return;
        }
    }
    if (w.packed) rnnrt_sgemm_packed_inline(m, n, k, a, lda, w.data, c, ldc, accumulate);
    else rnnrt_sgemm_rows_avx2(m, n, k, a, lda, w.data, w.ld, c, ldc, accumulate);
}

AVX2 void rnnrt_weights_multiply(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                                 float *c, ptrdiff_t ldc, int accumulate) {
    rnnrt_weights_product_avx2(m, n, k, a, lda, w, c, ldc, accumulate, 0);
}

#else
void rnnrt_weights_product_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                                float *c, ptrdiff_t ldc, int accumulate, float *scratch) {}
void rnnrt_weights_multiply(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                            float *c, ptrdiff_t ldc, int accumulate) {}
#endif
