// Max pooling over the last two axes (see include/rnnrt_kernels.h): each input row's maxima along the row first, in
// vectors along the row's stride phases, then the maxima of those rows down the columns.
#include "rnnrt_kernels.h"

#include <math.h>

static ptrdiff_t minIndex(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }

// Scratch layout: one phase line for each distinct (tap · dw) mod sw, then ih rows of ow rounded up to 8 row maxima.
static ptrdiff_t phaseFloats(ptrdiff_t kw, ptrdiff_t sw, ptrdiff_t dw, ptrdiff_t ow) {
    return ((ow + 7) & ~(ptrdiff_t)7) + (kw - 1) * dw / sw + 1;
}

ptrdiff_t rnnrt_max_pool_2d_scratch_floats(ptrdiff_t ih, ptrdiff_t kw, ptrdiff_t sw, ptrdiff_t dw, ptrdiff_t ow) {
    if (ih < 1 || kw < 1 || kw > RNNRT_MAX_POOL_MAX_TAPS || sw < 1 || dw < 1 || ow < 1) return 0;
    return minIndex(sw, kw) * phaseFloats(kw, sw, dw, ow) + ih * ((ow + 7) & ~(ptrdiff_t)7);
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "lanes_avx2.h"

// The larger of acc and v, NaN where either is NaN; of two equal values (+0 and −0), acc's.
AVX2 static inline __m256 maxKeepingNaN(__m256 acc, __m256 v) {
    return _mm256_blendv_ps(_mm256_max_ps(v, acc), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

AVX2 static void fillLowest(float *dst, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) dst[j] = -INFINITY;
}

// phase[q] = row[sw·q + r − padL] where that lies in the row, −∞ elsewhere, for q < n.
AVX2 static void phaseLine(const float *row, ptrdiff_t iw, ptrdiff_t sw, ptrdiff_t r, ptrdiff_t padL, ptrdiff_t n,
                           float *phase) {
    ptrdiff_t before = padL - r, after = iw + padL - r;
    ptrdiff_t q0 = before > 0 ? (before + sw - 1) / sw : 0, q1 = after > 0 ? (after + sw - 1) / sw : 0;
    q1 = minIndex(q1, n);
    q0 = minIndex(q0, q1);
    fillLowest(phase, q0);
    if (q1 > q0) rnnrt_copy_every_avx2(row + sw * q0 + r - padL, sw, q1 - q0, phase + q0);
    fillLowest(phase + q1, n - q1);
}

AVX2 void rnnrt_max_pool_2d_avx2(ptrdiff_t planes, const float *x, ptrdiff_t ih, ptrdiff_t iw, ptrdiff_t kh,
                                 ptrdiff_t kw, ptrdiff_t sh, ptrdiff_t sw, ptrdiff_t dh, ptrdiff_t dw, ptrdiff_t padT,
                                 ptrdiff_t padL, ptrdiff_t oh, ptrdiff_t ow, float *y, float *scratch) {
    if (planes < 1 || ih < 1 || iw < 1 || kh < 1 || kh > RNNRT_MAX_POOL_MAX_TAPS || kw < 1 ||
        kw > RNNRT_MAX_POOL_MAX_TAPS || sh < 1 || sw < 1 || dh < 1 || dw < 1 || padT < 0 || padL < 0 || oh < 1 || ow < 1)
        return;
    ptrdiff_t owv = (ow + 7) & ~(ptrdiff_t)7, n = phaseFloats(kw, sw, dw, ow);
    // Tap t of output o reads phase line slot[t] at o + shift[t].
    ptrdiff_t residue[RNNRT_MAX_POOL_MAX_TAPS], slot[RNNRT_MAX_POOL_MAX_TAPS], shift[RNNRT_MAX_POOL_MAX_TAPS];
    ptrdiff_t slots = 0;
    for (ptrdiff_t t = 0; t < kw; t++) {
        ptrdiff_t r = t * dw % sw, s = 0;
        while (s < slots && residue[s] != r) s++;
        if (s == slots) residue[slots++] = r;
        slot[t] = s;
        shift[t] = t * dw / sw;
    }
    const float *tap[RNNRT_MAX_POOL_MAX_TAPS];
    for (ptrdiff_t t = 0; t < kw; t++) tap[t] = scratch + slot[t] * n + shift[t];
    float *rows = scratch + slots * n;
    ptrdiff_t taken[RNNRT_MAX_POOL_MAX_TAPS];
    for (ptrdiff_t p = 0; p < planes; p++) {
        const float *in = x + p * ih * iw;
        float *out = y + p * oh * ow;
        for (ptrdiff_t i = 0; i < ih; i++) {
            for (ptrdiff_t s = 0; s < slots; s++) phaseLine(in + i * iw, iw, sw, residue[s], padL, n, scratch + s * n);
            float *rowMax = rows + i * owv;
            for (ptrdiff_t o = 0; o < owv; o += 8) {
                __m256 acc = _mm256_loadu_ps(tap[0] + o);
                for (ptrdiff_t t = 1; t < kw; t++) acc = maxKeepingNaN(acc, _mm256_loadu_ps(tap[t] + o));
                _mm256_storeu_ps(rowMax + o, acc);
            }
        }
        for (ptrdiff_t o1 = 0; o1 < oh; o1++, out += ow) {
            ptrdiff_t count = 0;
            for (ptrdiff_t t = 0; t < kh; t++) {
                ptrdiff_t i = o1 * sh - padT + t * dh;
                if (i >= 0 && i < ih) taken[count++] = i;
            }
            if (count == 0) {
                fillLowest(out, ow);
                continue;
            }
            // Rows of row maxima hold owv values: the last vector of a row is read whole and stored in part.
            for (ptrdiff_t o = 0; o < ow; o += 8) {
                __m256 acc = _mm256_loadu_ps(rows + taken[0] * owv + o);
                for (ptrdiff_t t = 1; t < count; t++) acc = maxKeepingNaN(acc, _mm256_loadu_ps(rows + taken[t] * owv + o));
                if (o + 8 <= ow)
                    _mm256_storeu_ps(out + o, acc);
                else
                    _mm256_maskstore_ps(out + o, lanesBelow(ow - o), acc);
            }
        }
    }
}

#else
void rnnrt_max_pool_2d_avx2(ptrdiff_t planes, const float *x, ptrdiff_t ih, ptrdiff_t iw, ptrdiff_t kh, ptrdiff_t kw,
                            ptrdiff_t sh, ptrdiff_t sw, ptrdiff_t dh, ptrdiff_t dw, ptrdiff_t padT, ptrdiff_t padL,
                            ptrdiff_t oh, ptrdiff_t ow, float *y, float *scratch) {}
#endif
