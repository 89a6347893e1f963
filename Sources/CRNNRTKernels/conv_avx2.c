// The convolution product (see include/rnnrt_kernels.h): 6×16 register tiles whose B rows are read straight from an
// input image at a per-row offset, so a convolution needs no patch matrix and no packing of its input.
#include "rnnrt_kernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"
#include "lanes_avx2.h"

// Inner values per block: a block's 16-column panel (at most 28 KB) stays in L1 while every sliver of A passes it.
enum { CONV_KC = 448 };
// Output channels up to which the product sums each channel along the image's rows (more pack panels).
enum { CONV_FEW_ROWS = 2 };
// Floats of packed panels a product holds at once (64 KB on the stack: 16 panels of 64 inner values, 2 of 448).
enum { CONV_PANELS_FLOATS = 16 * 1024 };

// Stores (or adds) tile rows r < rows, columns j < count, to c + r·ldc + j.
AVX2 static inline void storeRun(const __m256 acc[12], ptrdiff_t rows, ptrdiff_t first, ptrdiff_t count, float *c,
                                 ptrdiff_t ldc, int accumulate) {
    if (first == 0 && count == 16) {
        for (ptrdiff_t r = 0; r < rows; r++) {
            float *cr = c + r * ldc;
            __m256 v0 = acc[2 * r], v1 = acc[2 * r + 1];
            if (accumulate) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
            }
            _mm256_storeu_ps(cr, v0);
            _mm256_storeu_ps(cr + 8, v1);
        }
        return;
    }
    float tile[12 * 8];
    for (ptrdiff_t r = 0; r < rows; r++) {
        _mm256_storeu_ps(tile + 16 * r, acc[2 * r]);
        _mm256_storeu_ps(tile + 16 * r + 8, acc[2 * r + 1]);
    }
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < count; j++) {
            float v = tile[16 * r + first + j];
            c[r * ldc + j] = accumulate ? c[r * ldc + j] + v : v;
        }
}

// The tile of virtual columns [v0, v0 + 16) to the output: each virtual row of `stride` columns holds `width` real
// ones, written as rows of `width` in c.
AVX2 static void storeTile(const __m256 acc[12], ptrdiff_t rows, ptrdiff_t v0, ptrdiff_t count, ptrdiff_t stride,
                           ptrdiff_t width, float *c, ptrdiff_t ldc, int accumulate) {
    if (stride == width) {
        storeRun(acc, rows, 0, count, c + v0, ldc, accumulate);
        return;
    }
    ptrdiff_t line = v0 / stride, x = v0 - line * stride;
    for (ptrdiff_t j = 0; j < count;) {
        ptrdiff_t run = stride - x < count - j ? stride - x : count - j;
        ptrdiff_t real = x < width ? (width - x < run ? width - x : run) : 0;
        if (real > 0) storeRun(acc, rows, j, real, c + line * width + x, ldc, accumulate);
        j += run;
        line += 1;
        x = 0;
    }
}

// Rows p < kc of the virtual columns [v0, v0 + 16) (only the first `count` read; the rest zero) into panel [kc][16].
AVX2 static void packPanel(ptrdiff_t kc, const float *b, const ptrdiff_t *offsets, ptrdiff_t count, float *panel) {
    if (count == 16) {
        for (ptrdiff_t p = 0; p < kc; p++) {
            const float *row = b + offsets[p];
            _mm256_storeu_ps(panel + 16 * p, _mm256_loadu_ps(row));
            _mm256_storeu_ps(panel + 16 * p + 8, _mm256_loadu_ps(row + 8));
        }
        return;
    }
    __m256i m0 = lanesBelow(count), m1 = lanesBelow(count - 8);
    for (ptrdiff_t p = 0; p < kc; p++) {
        const float *row = b + offsets[p];
        _mm256_storeu_ps(panel + 16 * p, _mm256_maskload_ps(row, m0));
        _mm256_storeu_ps(panel + 16 * p + 8, _mm256_maskload_ps(row + 8, m1));
    }
}

// packedTile in a frame of its own: inlined into the loops below, it would share the registers with them and spill an
// accumulator.
AVX2 __attribute__((noinline)) static void panelTile(ptrdiff_t rows, ptrdiff_t kc, const float *pa, const float *panel,
                                                  __m256 acc[12]) {
    packedTile(rows, kc, pa, panel, acc);
}

// panelTile for a tile whose 16 columns are 16 consecutive outputs: the sums stored (plus the bias, or added to what
// is there) from the registers, without passing through memory.
AVX2 __attribute__((noinline)) static void panelTileInto(ptrdiff_t rows, ptrdiff_t kc, const float *pa,
                                                        const float *panel, const float *bias, float *c, ptrdiff_t ldc,
                                                        int accumulate) {
    __m256 acc[12];
    packedTile(rows, kc, pa, panel, acc);
    for (ptrdiff_t r = 0; r < rows; r++) {
        __m256 v0 = acc[2 * r], v1 = acc[2 * r + 1];
        if (bias) {
            __m256 b = _mm256_broadcast_ss(bias + r);
            v0 = _mm256_add_ps(v0, b);
            v1 = _mm256_add_ps(v1, b);
        }
        float *cr = c + r * ldc;
        if (accumulate) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
        }
        _mm256_storeu_ps(cr, v0);
        _mm256_storeu_ps(cr + 8, v1);
    }
}

// One sliver of A (rows of 6) times the 16-column panel of virtual columns [v0, v0 + count) to the output.
AVX2 static void sliverPanel(ptrdiff_t rows, ptrdiff_t kc, const float *pa, const float *panel, ptrdiff_t v0,
                             ptrdiff_t count, ptrdiff_t stride, ptrdiff_t width, const float *bias, float *c, ptrdiff_t ldc,
                             int accumulate) {
    // The 16 columns as 16 consecutive outputs: within one line (or lines without padding between them).
    ptrdiff_t x = v0 % stride, line = v0 / stride;
    if (count == 16 && (stride == width || x + 16 <= width)) {
        panelTileInto(rows, kc, pa, panel, bias, c + (stride == width ? v0 : line * width + x), ldc, accumulate);
        return;
    }
    __m256 acc[12];
    panelTile(rows, kc, pa, panel, acc);
    if (bias)
        for (ptrdiff_t r = 0; r < rows; r++) {
            __m256 v = _mm256_broadcast_ss(bias + r);
            acc[2 * r] = _mm256_add_ps(acc[2 * r], v);
            acc[2 * r + 1] = _mm256_add_ps(acc[2 * r + 1], v);
        }
    storeTile(acc, rows, v0, count, stride, width, c, ldc, accumulate);
}

AVX2 static void depthwiseChannel(ptrdiff_t taps, const float *w, ptrdiff_t ldw, const float *plane,
                                  const ptrdiff_t *offsets, ptrdiff_t lines, ptrdiff_t stride, ptrdiff_t width,
                                  float bias, float *out, int accumulate);

AVX2 void rnnrt_conv_product_avx2(ptrdiff_t m, ptrdiff_t k, const float *a6, const float *b, const ptrdiff_t *offsets,
                                  ptrdiff_t lines, ptrdiff_t stride, ptrdiff_t width, const float *bias, float *c,
                                  ptrdiff_t ldc, int accumulate) {
    if (m <= 0 || lines <= 0 || width <= 0 || k <= 0) return;
    ptrdiff_t n = (lines - 1) * stride + width, slivers = (m + 5) / 6;
    ptrdiff_t blocks = (k + CONV_KC - 1) / CONV_KC, kc0 = (k + blocks - 1) / blocks;
    if (m <= CONV_FEW_ROWS) {
        // Each output channel a sum in vectors along the lines straight from the image (rnnrt_conv_depthwise_avx2's
        // form), its weights read down the sliver: packing panels would copy every inner value's row for a row or two
        // of products. The inner values in the product's blocks, each block's in one chain (the tiles' few-row form
        // splits even and odd ones).
        for (ptrdiff_t p0 = 0; p0 < k; p0 += kc0)
            for (ptrdiff_t o = 0; o < m; o++)
                depthwiseChannel(k - p0 < kc0 ? k - p0 : kc0, a6 + p0 * 6 + o, 6, b, offsets + p0, lines, stride,
                                 width, p0 == 0 && bias ? bias[o] : 0, c + o * ldc, accumulate || p0 > 0);
        return;
    }
    // Panels of 16 columns packed CONV_PANELS_FLOATS at a time, then each sliver of A passes all of them: a sliver's
    // rows of the output and its A stay close (few pages, one 6-row stripe of stores) while the panels stream from L2.
    float panels[CONV_PANELS_FLOATS];
    ptrdiff_t perBlock = CONV_PANELS_FLOATS / (kc0 * 16);
    for (ptrdiff_t v = 0; v < n; v += 16 * perBlock) {
        ptrdiff_t count = n - v < 16 * perBlock ? n - v : 16 * perBlock, packed = (count + 15) / 16;
        for (ptrdiff_t p0 = 0; p0 < k; p0 += kc0) {
            ptrdiff_t kc = k - p0 < kc0 ? k - p0 : kc0;
            for (ptrdiff_t j = 0; j < packed; j++)
                packPanel(kc, b + v + 16 * j, offsets + p0, count - 16 * j < 16 ? count - 16 * j : 16,
                          panels + j * kc * 16);
            for (ptrdiff_t s = 0; s < slivers; s++) {
                ptrdiff_t rows = m - 6 * s < 6 ? m - 6 * s : 6;
                for (ptrdiff_t j = 0; j < packed; j++)
                    sliverPanel(rows, kc, a6 + (s * k + p0) * 6, panels + j * kc * 16, v + 16 * j,
                                count - 16 * j < 16 ? count - 16 * j : 16, stride, width,
                                p0 == 0 && bias ? bias + 6 * s : 0, c + 6 * s * ldc, ldc, accumulate || p0 > 0);
            }
        }
    }
}

// Output channel o of a convolution with one input channel per group: line by line, 8 outputs at a time, each the sum
// over the taps of w[t·ldw] · plane[offsets[t] + l·stride + x], plus the bias.
AVX2 static void depthwiseChannel(ptrdiff_t taps, const float *w, ptrdiff_t ldw, const float *plane,
                                  const ptrdiff_t *offsets, ptrdiff_t lines, ptrdiff_t stride, ptrdiff_t width,
                                  float bias, float *out, int accumulate) {
    __m256 b = _mm256_set1_ps(bias);
    for (ptrdiff_t l = 0; l < lines; l++) {
        const float *row = plane + l * stride;
        float *dst = out + l * width;
        ptrdiff_t x = 0;
        // 32 outputs at a time: four independent sums, so the multiply-adds of one tap do not wait for each other.
        for (; x + 32 <= width; x += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (ptrdiff_t t = 0; t < taps; t++) {
                __m256 wt = _mm256_set1_ps(w[t * ldw]);
                const float *in = row + offsets[t] + x;
                a0 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in), a0);
                a1 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in + 8), a1);
                a2 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in + 16), a2);
                a3 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in + 24), a3);
            }
            __m256 sums[4] = {a0, a1, a2, a3};
            for (int v = 0; v < 4; v++) {
                __m256 y = _mm256_add_ps(sums[v], b);
                if (accumulate) y = _mm256_add_ps(y, _mm256_loadu_ps(dst + x + 8 * v));
                _mm256_storeu_ps(dst + x + 8 * v, y);
            }
        }
        for (; x + 8 <= width; x += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (ptrdiff_t t = 0; t < taps; t++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(w[t * ldw]), _mm256_loadu_ps(row + offsets[t] + x), acc);
            acc = _mm256_add_ps(acc, b);
            if (accumulate) acc = _mm256_add_ps(acc, _mm256_loadu_ps(dst + x));
            _mm256_storeu_ps(dst + x, acc);
        }
        if (x < width) {
            // The last outputs of the line: masked reads, stored through a small buffer (masked stores are slow).
            __m256i mask = lanesBelow(width - x);
            __m256 acc = _mm256_setzero_ps();
            for (ptrdiff_t t = 0; t < taps; t++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(w[t * ldw]), _mm256_maskload_ps(row + offsets[t] + x, mask), acc);
            acc = _mm256_add_ps(acc, b);
            float lanes[8];
            _mm256_storeu_ps(lanes, acc);
            for (ptrdiff_t j = 0; j < width - x; j++) dst[x + j] = accumulate ? dst[x + j] + lanes[j] : lanes[j];
        }
    }
}

AVX2 void rnnrt_conv_depthwise_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w, const float *b,
                                    ptrdiff_t planeFloats, const ptrdiff_t *offsets, ptrdiff_t lines, ptrdiff_t stride,
                                    ptrdiff_t width, const float *bias, float *c, ptrdiff_t ldc, int accumulate) {
    if (m <= 0 || perPlane <= 0 || lines <= 0 || width <= 0) return;
    for (ptrdiff_t o = 0; o < m; o++)
        depthwiseChannel(taps, w + o * taps, 1, b + (o / perPlane) * planeFloats, offsets, lines, stride, width,
                         bias ? bias[o] : 0, c + o * ldc, accumulate);
}

// Zeros n floats (short runs: the padding at the ends of a line).
AVX2 static inline void zeroRun(float *dst, ptrdiff_t n) {
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(dst + j, _mm256_setzero_ps());
    for (; j < n; j++) dst[j] = 0;
}

// Sum over the taps of w[t] · tap[t][q] for q < n (each tap a shifted phase line, readable from −8 to n + 8), plus the
// bias, into out: 32 outputs at a time in four independent sums, then 8, then the last few through a small buffer.
AVX2 static void depthwiseLongLine(ptrdiff_t taps, const float *w, const float *const *tap, ptrdiff_t n, float bias,
                                   float *out) {
    __m256 b = _mm256_set1_ps(bias);
    ptrdiff_t q = 0;
    for (; q + 32 <= n; q += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (ptrdiff_t t = 0; t < taps; t++) {
            __m256 wt = _mm256_set1_ps(w[t]);
            const float *in = tap[t] + q;
            a0 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in), a0);
            a1 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in + 8), a1);
            a2 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in + 16), a2);
            a3 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(in + 24), a3);
        }
        _mm256_storeu_ps(out + q, _mm256_add_ps(a0, b));
        _mm256_storeu_ps(out + q + 8, _mm256_add_ps(a1, b));
        _mm256_storeu_ps(out + q + 16, _mm256_add_ps(a2, b));
        _mm256_storeu_ps(out + q + 24, _mm256_add_ps(a3, b));
    }
    for (; q < n; q += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (ptrdiff_t t = 0; t < taps; t++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(w[t]), _mm256_loadu_ps(tap[t] + q), acc);
        acc = _mm256_add_ps(acc, b);
        if (q + 8 <= n) {
            _mm256_storeu_ps(out + q, acc);
        } else {
            float lanes[8];
            _mm256_storeu_ps(lanes, acc);
            for (ptrdiff_t j = 0; j < n - q; j++) out[q + j] = lanes[j];
        }
    }
}

AVX2 void rnnrt_conv_depthwise_lines_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w,
                                          const float *x, ptrdiff_t lines, ptrdiff_t win, ptrdiff_t wout, ptrdiff_t s,
                                          ptrdiff_t padL, const float *bias, float *y, float *scratch) {
    if (m <= 0 || perPlane <= 0 || taps <= 0 || taps > RNNRT_DEPTHWISE_LINES_MAX_TAPS || lines <= 0 || wout <= 0 ||
        s <= 0 || s > taps || padL < 0 || padL >= taps || win != s * wout)
        return;
    ptrdiff_t n = lines * wout, phaseFloats = n + 2 * RNNRT_DEPTHWISE_LINES_SLACK;
    // The outputs x < xlo and x > xhi of each line have a tap in the padding: the long line read the neighbouring line
    // there, so they are computed again from their line's own inputs.
    ptrdiff_t xlo = (padL + s - 1) / s, xhi = (win - taps + padL) < 0 ? -1 : (win - taps + padL) / s;
    const float *tap[RNNRT_DEPTHWISE_LINES_MAX_TAPS];
    for (ptrdiff_t plane = 0; plane * perPlane < m; plane++) {
        const float *in = x + plane * lines * win;
        // The plane as one long line, split into its s phases (phase p: in[s·q + p]), zeros around each.
        for (ptrdiff_t p = 0; p < s; p++) {
            float *phase = scratch + p * phaseFloats;
            zeroRun(phase, RNNRT_DEPTHWISE_LINES_SLACK);
            rnnrt_copy_every_avx2(in + p, s, n, phase + RNNRT_DEPTHWISE_LINES_SLACK);
            zeroRun(phase + RNNRT_DEPTHWISE_LINES_SLACK + n, RNNRT_DEPTHWISE_LINES_SLACK);
        }
        for (ptrdiff_t t = 0; t < taps; t++) {
            // Output q reads input s·q + t − padL: phase (t − padL) mod s, shifted by floor((t − padL) / s).
            ptrdiff_t r = t - padL, p = ((r % s) + s) % s, d = (r - p) / s;
            tap[t] = scratch + p * phaseFloats + RNNRT_DEPTHWISE_LINES_SLACK + d;
        }
        ptrdiff_t last = (plane + 1) * perPlane < m ? (plane + 1) * perPlane : m;
        for (ptrdiff_t o = plane * perPlane; o < last; o++) {
            const float *wo = w + o * taps;
            float b = bias ? bias[o] : 0, *out = y + o * n;
            depthwiseLongLine(taps, wo, tap, n, b, out);
            for (ptrdiff_t l = 0; l < lines; l++) {
                const float *line = in + l * win;
                for (ptrdiff_t xo = 0; xo < wout; xo++) {
                    if (xo == xlo && xhi >= xlo) xo = xhi + 1;  // the outputs between read their own line only
                    if (xo >= wout) break;
                    float acc = 0;
                    for (ptrdiff_t t = 0; t < taps; t++) {
                        ptrdiff_t position = s * xo + t - padL;
                        if (position >= 0 && position < win) acc = fmaf(wo[t], line[position], acc);
                    }
                    out[l * wout + xo] = acc + b;
                }
            }
        }
    }
}

// Phase r of outputs q..q+7 of a depthwise transposed convolution along a long line: the bias plus, tap by tap in
// order, the rounded products w[t] · x[q − shift[t]] of the phase's taps (order[first[r] ..< first[r + 1]]).
AVX2 static inline __m256 transposePhase(ptrdiff_t r, const float *w, const ptrdiff_t *order, const ptrdiff_t *first,
                                         const ptrdiff_t *shift, const float *xs, ptrdiff_t q, __m256 bias) {
    __m256 acc = bias;
    for (ptrdiff_t i = first[r]; i < first[r + 1]; i++) {
        ptrdiff_t t = order[i];
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(w[t]), _mm256_loadu_ps(xs + q - shift[t])));
    }
    return acc;
}

// One output channel's long line of s·n outputs from the n inputs xs (readable from −RNNRT_DEPTHWISE_LINES_SLACK to
// n + RNNRT_DEPTHWISE_LINES_SLACK): 8 inputs' outputs at a time, the phases' vectors interleaved.
AVX2 static void transposeLongLine(ptrdiff_t s, const float *w, const ptrdiff_t *order, const ptrdiff_t *first,
                                   const ptrdiff_t *shift, const float *xs, ptrdiff_t n, float bias, float *y) {
    __m256 b = _mm256_set1_ps(bias);
    ptrdiff_t q = 0;
    if (s == 2)
        for (; q + 8 <= n; q += 8) {
            __m256 v0 = transposePhase(0, w, order, first, shift, xs, q, b);
            __m256 v1 = transposePhase(1, w, order, first, shift, xs, q, b);
            __m256 lo = _mm256_unpacklo_ps(v0, v1), hi = _mm256_unpackhi_ps(v0, v1);
            _mm256_storeu_ps(y + 2 * q, _mm256_permute2f128_ps(lo, hi, 0x20));
            _mm256_storeu_ps(y + 2 * q + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
        }
    if (s == 1)
        for (; q + 8 <= n; q += 8) _mm256_storeu_ps(y + q, transposePhase(0, w, order, first, shift, xs, q, b));
    for (; q < n; q += 8) {
        float lanes[8];
        ptrdiff_t count = n - q < 8 ? n - q : 8;
        for (ptrdiff_t r = 0; r < s; r++) {
            _mm256_storeu_ps(lanes, transposePhase(r, w, order, first, shift, xs, q, b));
            for (ptrdiff_t j = 0; j < count; j++) y[s * (q + j) + r] = lanes[j];
        }
    }
}

AVX2 void rnnrt_conv_transpose_depthwise_lines_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w,
                                                    const float *x, ptrdiff_t lines, ptrdiff_t win, ptrdiff_t s,
                                                    ptrdiff_t padL, const float *bias, float *y, float *scratch) {
    if (m <= 0 || perPlane <= 0 || taps <= 0 || taps > RNNRT_DEPTHWISE_LINES_MAX_TAPS || lines <= 0 || win <= 0 ||
        s <= 0 || s > taps || padL < 0 || padL >= taps)
        return;
    ptrdiff_t n = lines * win, wout = s * win;
    // Output s·q + r of the long line takes tap t when t − padL = s·d + r, from input q − d: each phase's taps in order.
    ptrdiff_t order[RNNRT_DEPTHWISE_LINES_MAX_TAPS], first[RNNRT_DEPTHWISE_LINES_MAX_TAPS + 1], shift[RNNRT_DEPTHWISE_LINES_MAX_TAPS];
    // Inputs j of a line whose outputs have a tap outside the line (j < lo[r] or j ≥ hi[r]): computed again from the line.
    ptrdiff_t lo[RNNRT_DEPTHWISE_LINES_MAX_TAPS], hi[RNNRT_DEPTHWISE_LINES_MAX_TAPS], filled = 0;
    for (ptrdiff_t r = 0; r < s; r++) {
        first[r] = filled;
        lo[r] = 0;
        hi[r] = win;
        for (ptrdiff_t t = 0; t < taps; t++) {
            ptrdiff_t u = t - padL, phase = ((u % s) + s) % s;
            if (phase != r) continue;
            shift[t] = (u - phase) / s;
            order[filled++] = t;
            if (shift[t] > lo[r]) lo[r] = shift[t];
            if (win + shift[t] < hi[r]) hi[r] = win + shift[t];
        }
    }
    first[s] = filled;
    float *xs = scratch + RNNRT_DEPTHWISE_LINES_SLACK;
    for (ptrdiff_t plane = 0; plane * perPlane < m; plane++) {
        const float *in = x + plane * n;
        zeroRun(scratch, RNNRT_DEPTHWISE_LINES_SLACK);
        memcpy(xs, in, (size_t)n * sizeof(float));
        zeroRun(xs + n, RNNRT_DEPTHWISE_LINES_SLACK);
        ptrdiff_t last = (plane + 1) * perPlane < m ? (plane + 1) * perPlane : m;
        for (ptrdiff_t o = plane * perPlane; o < last; o++) {
            const float *wo = w + o * taps;
            float b = bias ? bias[o] : 0, *out = y + o * lines * wout;
            transposeLongLine(s, wo, order, first, shift, xs, n, b, out);
            for (ptrdiff_t l = 0; l < lines; l++) {
                const float *line = in + l * win;
                for (ptrdiff_t r = 0; r < s; r++)
                    for (ptrdiff_t j = 0; j < win; j++) {
                        if (j == lo[r] && hi[r] > lo[r]) j = hi[r];  // the inputs between read their own line only
                        if (j >= win) break;
                        float acc = b;
                        for (ptrdiff_t i = first[r]; i < first[r + 1]; i++) {
                            ptrdiff_t t = order[i], source = j - shift[t];
                            if (source < 0 || source >= win) continue;
                            float product = wo[t] * line[source];
                            acc = acc + product;
                        }
                        out[l * wout + s * j + r] = acc;
                    }
            }
        }
    }
}

AVX2 void rnnrt_copy_every_avx2(const float *src, ptrdiff_t step, ptrdiff_t count, float *dst) {
    ptrdiff_t j = 0;
    if (step == 1) {
        for (; j + 8 <= count; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
        if (j + 4 <= count) {
            _mm_storeu_ps(dst + j, _mm_loadu_ps(src + j));
            j += 4;
        }
    } else if (step == 2) {
        for (; j + 8 <= count; j += 8) {
            // The even elements of 16. The last pair's odd element may lie past the source: the last vector's second
            // half reads seven lanes.
            __m256 a = _mm256_loadu_ps(src + 2 * j);
            __m256 b = j + 8 < count ? _mm256_loadu_ps(src + 2 * j + 8) : _mm256_maskload_ps(src + 2 * j + 8, lanesBelow(7));
            __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
            _mm256_storeu_ps(dst + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0))));
        }
    }
    for (; j < count; j++) dst[j] = src[j * step];
}

AVX2 void rnnrt_copy_every_lines_avx2(const float *src, ptrdiff_t ld, ptrdiff_t step, ptrdiff_t lines, ptrdiff_t lo,
                                      ptrdiff_t n, ptrdiff_t count, float *dst) {
    // Lines are often short (a few dozen values): copied inline, without a library call per line.
    for (ptrdiff_t l = 0; l < lines; l++) {
        float *row = dst + l * count;
        zeroRun(row, lo);
        rnnrt_copy_every_avx2(src + l * ld, step, n, row + lo);
        zeroRun(row + lo + n, count - lo - n);
    }
}

#else
void rnnrt_copy_every_lines_avx2(const float *src, ptrdiff_t ld, ptrdiff_t step, ptrdiff_t lines, ptrdiff_t lo,
                                 ptrdiff_t n, ptrdiff_t count, float *dst) {}
void rnnrt_conv_product_avx2(ptrdiff_t m, ptrdiff_t k, const float *a6, const float *b, const ptrdiff_t *offsets,
                             ptrdiff_t lines, ptrdiff_t stride, ptrdiff_t width, const float *bias, float *c,
                             ptrdiff_t ldc, int accumulate) {}
void rnnrt_conv_depthwise_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w, const float *b,
                               ptrdiff_t planeFloats, const ptrdiff_t *offsets, ptrdiff_t lines, ptrdiff_t stride,
                               ptrdiff_t width, const float *bias, float *c, ptrdiff_t ldc, int accumulate) {}
void rnnrt_copy_every_avx2(const float *src, ptrdiff_t step, ptrdiff_t count, float *dst) {}
void rnnrt_conv_depthwise_lines_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w, const float *x,
                                     ptrdiff_t lines, ptrdiff_t win, ptrdiff_t wout, ptrdiff_t s, ptrdiff_t padL,
                                     const float *bias, float *y, float *scratch) {}
void rnnrt_conv_transpose_depthwise_lines_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w,
                                               const float *x, ptrdiff_t lines, ptrdiff_t win, ptrdiff_t s,
                                               ptrdiff_t padL, const float *bias, float *y, float *scratch) {}
#endif
