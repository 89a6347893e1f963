// The element loops of 8-bit quantized arithmetic (see include/rnnrt_kernels.h). Portable C without branches in the
// loops, which compilers vectorize on every target.
#include "rnnrt_kernels.h"

// 1.5 · 2^23: adding and subtracting it rounds a float of magnitude below 2^22 to an integer, half to even, in the
// default rounding mode (no call to a rounding function, which the baseline x86-64 target lacks).
static const float round_magic = 12582912.0f;

// x / scale rounded half to even plus zero, saturated to 0…255; NaN gives 0. The quotient is clamped to ±1024 first
// (beyond that the result saturates whatever the rounding, and a NaN becomes −1024).
static inline float quantize_uint8(float x, float scale, float zero) {
    float v = x / scale;
    v = v > -1024.0f ? v : -1024.0f;
    v = v < 1024.0f ? v : 1024.0f;
    float q = (v + round_magic) - round_magic + zero;
    q = q > 0.0f ? q : 0.0f;
    return q < 255.0f ? q : 255.0f;
}

void rnnrt_min_max(const float *x, ptrdiff_t n, float *low, float *high) {
    // Eight running minima and maxima, one per lane, so the loop vectorizes; `v < lo ? v : lo` keeps lo for a NaN v.
    float lo[8] = {0}, hi[8] = {0};
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) {
            float v = x[i + l];
            lo[l] = v < lo[l] ? v : lo[l];
            hi[l] = v > hi[l] ? v : hi[l];
        }
    }
    for (; i < n; i++) {
        lo[0] = x[i] < lo[0] ? x[i] : lo[0];
        hi[0] = x[i] > hi[0] ? x[i] : hi[0];
    }
    float l0 = 0, h0 = 0;
    for (int l = 0; l < 8; l++) {
        l0 = lo[l] < l0 ? lo[l] : l0;
        h0 = hi[l] > h0 ? hi[l] : h0;
    }
    *low = l0;
    *high = h0;
}

void rnnrt_quantize_uint8(const float *x, ptrdiff_t n, float scale, float zero, int64_t *q) {
    for (ptrdiff_t i = 0; i < n; i++) q[i] = (int64_t)(int32_t)quantize_uint8(x[i], scale, zero);
}

// The per-call quantizing loops, defined twice: for the baseline target, and on x86-64 once more compiled for AVX2
// (eight lanes instead of four, the same operations in the same order, so the same values), chosen at run time.
#define QUANTIZE_LOOPS(SUFFIX, ATTRIBUTES)                                                                          \
    ATTRIBUTES static void quantize_shifted_##SUFFIX(const float *x, ptrdiff_t n, float scale, float zero, float *q) { \
        for (ptrdiff_t i = 0; i < n; i++) q[i] = quantize_uint8(x[i], scale, zero) - zero;                          \
    }                                                                                                               \
    ATTRIBUTES static void quantize_to_int16_##SUFFIX(const float *x, ptrdiff_t n, float scale, float zero,          \
                                                      int32_t shift, int16_t *out) {                                \
        for (ptrdiff_t i = 0; i < n; i++) out[i] = (int16_t)((int32_t)quantize_uint8(x[i], scale, zero) - shift);   \
    }

QUANTIZE_LOOPS(baseline, )
#if defined(__x86_64__) || defined(_M_X64)
QUANTIZE_LOOPS(avx2, __attribute__((target("avx2"))))
#define QUANTIZE(NAME, ...) (rnnrt_has_avx2_fma() ? NAME##_avx2(__VA_ARGS__) : NAME##_baseline(__VA_ARGS__))
#else
#define QUANTIZE(NAME, ...) NAME##_baseline(__VA_ARGS__)
#endif

void rnnrt_quantize_uint8_shifted(const float *x, ptrdiff_t n, float scale, float zero, float *q) {
    QUANTIZE(quantize_shifted, x, n, scale, zero, q);
}

void rnnrt_quantize_uint8_to_int16(const float *x, ptrdiff_t n, float scale, float zero, int32_t shift, int16_t *out) {
    QUANTIZE(quantize_to_int16, x, n, scale, zero, shift, out);
}

int rnnrt_shifted_to_float(const int64_t *x, ptrdiff_t n, int64_t low, int64_t high, float zero, float *out) {
    int inside = 1;
    for (ptrdiff_t i = 0; i < n; i++) {
        inside &= (x[i] >= low) & (x[i] <= high);
        out[i] = (float)(int32_t)x[i] - zero;
    }
    return inside;
}

void rnnrt_add_exact_integers(const float *src, int32_t *acc, ptrdiff_t n, int first) {
    if (first) {
        for (ptrdiff_t i = 0; i < n; i++) acc[i] = (int32_t)src[i];
    } else {
        for (ptrdiff_t i = 0; i < n; i++) acc[i] = (int32_t)((uint32_t)acc[i] + (uint32_t)(int32_t)src[i]);
    }
}

void rnnrt_int32_to_float(const int32_t *src, float *dst, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

void rnnrt_float_rows_to_int16(const float *a, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t lda, int16_t *out, ptrdiff_t ldo) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        for (ptrdiff_t j = 0; j < k; j++) out[r * ldo + j] = (int16_t)(int32_t)a[r * lda + j];
        for (ptrdiff_t j = k; j < ldo; j++) out[r * ldo + j] = 0;
    }
}

void rnnrt_float_rows_to_uint8(const float *a, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t lda, int32_t offset, uint8_t *out,
                               ptrdiff_t ldo) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        for (ptrdiff_t j = 0; j < k; j++) out[r * ldo + j] = (uint8_t)((int32_t)a[r * lda + j] + offset);
        for (ptrdiff_t j = k; j < ldo; j++) out[r * ldo + j] = 0;
    }
}

int rnnrt_shifted_to_int16(const int64_t *x, ptrdiff_t n, int64_t low, int64_t high, int64_t zero, int16_t *out) {
    int inside = 1;
    for (ptrdiff_t i = 0; i < n; i++) {
        inside &= (x[i] >= low) & (x[i] <= high);
        out[i] = (int16_t)(x[i] - zero);
    }
    return inside;
}
