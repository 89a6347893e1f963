// The right operand of the packed products laid out in slivers of 16 columns (see rnnrt_pack_b and rnnrt_pack_bt in
// include/rnnrt_kernels.h).
#include "rnnrt_kernels.h"
#include "kernels_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"

size_t rnnrt_packed_b_count(ptrdiff_t k, ptrdiff_t n) { return rnnrt_packed_b_count_inline(k, n); }

void rnnrt_pack_b(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, float *out) {
    for (ptrdiff_t jb = 0; jb * 16 < n; jb++) {
        ptrdiff_t cols = n - jb * 16 < 16 ? n - jb * 16 : 16;
        float *dst = out + (size_t)jb * (size_t)k * 16;
        for (ptrdiff_t p = 0; p < k; p++) {
            const float *src = b + p * ldb + jb * 16;
            ptrdiff_t j = 0;
            for (; j < cols; j++) dst[p * 16 + j] = src[j];
            for (; j < 16; j++) dst[p * 16 + j] = 0;
        }
    }
}

AVX2 void rnnrt_pack_bt(ptrdiff_t rows, ptrdiff_t cols, const float *src, float *out) {
    // B = Sᵀ: k = cols, n = rows; block jb holds B[p][16·jb + j] = S[16·jb + j][p]. Whole blocks go 8×8 at a time.
    ptrdiff_t k = cols, n = rows;
    for (ptrdiff_t jb = 0; jb * 16 < n; jb++) {
        ptrdiff_t width = n - jb * 16 < 16 ? n - jb * 16 : 16;
        float *dst = out + (size_t)jb * (size_t)k * 16;
        const float *block = src + jb * 16 * cols;
        ptrdiff_t p = 0;
        if (width == 16)
            for (; p + 8 <= k; p += 8) {
                transpose8x8(block + p, cols, dst + p * 16, 16, 0);
                transpose8x8(block + 8 * cols + p, cols, dst + p * 16 + 8, 16, 0);
            }
        for (; p < k; p++) {
            ptrdiff_t j = 0;
            for (; j < width; j++) dst[p * 16 + j] = block[j * cols + p];
            for (; j < 16; j++) dst[p * 16 + j] = 0;
        }
    }
}

#else
size_t rnnrt_packed_b_count(ptrdiff_t k, ptrdiff_t n) { return 0; }
void rnnrt_pack_b(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, float *out) {}
void rnnrt_pack_bt(ptrdiff_t rows, ptrdiff_t cols, const float *s, float *out) {}
#endif
