// The fused recurrent step (see rnnrt_step_pack, rnnrt_stream_step_avx2 and rnnrt_step_sequence_avx2 in
// include/rnnrt_kernels.h): its weight layout, one step of a stream, and a whole direction of a layer on it.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "vecmath_avx2.h"
#include "lanes_avx2.h"

// Fused streaming step: each layer's weights laid out once (rnnrt_step_pack) so that one pass over them gives the
// gates of a block of units, bias included, and the block's cell update follows straight from registers while the
// out-of-order core already streams the next block's weights.
//
// Layout, per block of nv vectors of 8 units (nv = the kind's block size while units remain, then what is left;
// the last vector zero-padded to 8 units), gate-major within a row, [gate][vector][8 lanes]:
//   the start values (bias) — LSTM: i, f, g, o (b_ih + b_hh); GRU: r, z (b_ih + b_hh), n_x (b_in), n_h (b_hn);
//   RNN: one gate (b_ih + b_hh);
//   then one row per input column p (W_ih[:, p]): LSTM i, f, g, o; GRU r, z, n_x; RNN the one gate;
//   then one row per hidden column p (W_hh[:, p]): LSTM i, f, g, o; GRU r, z, n_h; RNN the one gate.
// Blocks have a fixed size except the last, so the blocks can be walked in either order: rnnrt_stream_step_avx2
// alternates directions step by step, so weights larger than L1 are read half from L1 (the blocks the last step
// touched last) rather than all from L2.

// Vectors of 8 units per block: LSTM 2 (8 accumulators, 4 gates), GRU 4 (12 live in the hidden loop), RNN 8.
enum { SP_LSTM_NV = 2, SP_GRU_NV = 4, SP_RNN_NV = 8 };

static inline ptrdiff_t spBlockVectors(int kind) {
    return kind == RNNRT_STEP_LSTM ? SP_LSTM_NV : kind == RNNRT_STEP_GRU ? SP_GRU_NV : SP_RNN_NV;
}
// Weight vectors per row per vector of units, and start-value vectors per vector of units.
static inline ptrdiff_t spStartGates(int kind) { return kind == RNNRT_STEP_RNN ? 1 : 4; }

size_t rnnrt_step_packed_count(int kind, ptrdiff_t inputs, ptrdiff_t hidden) {
    ptrdiff_t vectors = (hidden + 7) / 8;
    return (size_t)vectors * 8 * (size_t)(spStartGates(kind) + rnnrt_step_gates(kind) * (inputs + hidden));
}

void rnnrt_step_pack(int kind, ptrdiff_t inputs, ptrdiff_t hidden, rnnrt_weights wih, rnnrt_weights whh,
                     const int *whh_gates, const float *bias_ih, const float *bias_hh, float *out) {
    ptrdiff_t vectors = (hidden + 7) / 8, nvmax = spBlockVectors(kind), G = rnnrt_step_gates(kind), GS = spStartGates(kind);
    float *o = out;
    for (ptrdiff_t v0 = 0; v0 < vectors; v0 += nvmax) {
        ptrdiff_t nv = vectors - v0 < nvmax ? vectors - v0 : nvmax;
        for (ptrdiff_t g = 0; g < GS; g++)
            for (ptrdiff_t v = 0; v < nv; v++)
                for (ptrdiff_t l = 0; l < 8; l++) {
                    ptrdiff_t u = (v0 + v) * 8 + l;
                    float b = 0;
                    if (u < hidden) {
                        if (kind != RNNRT_STEP_GRU) b = bias_ih[g * hidden + u];
                        else if (g < 2) b = bias_ih[g * hidden + u] + bias_hh[g * hidden + u];
                        else b = g == 2 ? bias_ih[2 * hidden + u] : bias_hh[2 * hidden + u];
                    }
                    *o++ = b;
                }
        for (int part = 0; part < 2; part++) {
            ptrdiff_t k = part == 0 ? inputs : hidden;
            rnnrt_weights w = part == 0 ? wih : whh;
            const int *stored = part == 0 ? NULL : whh_gates;
            for (ptrdiff_t p = 0; p < k; p++)
                for (ptrdiff_t g = 0; g < G; g++) {
                    ptrdiff_t first = (stored ? stored[g] : g) * hidden;
                    for (ptrdiff_t v = 0; v < nv; v++)
                        for (ptrdiff_t l = 0; l < 8; l++) {
                            ptrdiff_t u = (v0 + v) * 8 + l;
                            *o++ = u < hidden ? rnnrt_weight_at(w, k, first + u, p) : 0;
                        }
                }
        }
    }
}

#define SP_INLINE AVX2 __attribute__((always_inline)) static inline

// State vectors (c, the old h of a block's units) are read and written masked in the last vector of the last block
// when hidden is not a multiple of 8; the new h goes to a buffer padded to whole vectors.
#define SP_MASKED(v, nv) ((v) == (nv) - 1 && tail)
SP_INLINE __m256 spLoad(const float *p, int masked, __m256i m) { return masked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p); }
SP_INLINE void spStore(float *p, __m256 x, int masked, __m256i m) {
    if (masked) _mm256_maskstore_ps(p, m, x);
    else _mm256_storeu_ps(p, x);
}

// Adds gate q's slice of an input projection row to accumulators acc[q·nv + v] (q < gates): proj points at the block's
// first unit of gate 0, gate blocks H apart, the last vector masked when it is the layer's tail.
SP_INLINE void spAddProjection(int nv, int gates, __m256 *acc, const float *proj, ptrdiff_t H, int tail, __m256i m) {
    for (int q = 0; q < gates; q++)
        VM_EACH(v, nv) acc[q * nv + v] = _mm256_add_ps(acc[q * nv + v], spLoad(proj + q * H + 8 * v, SP_MASKED(v, nv), m));
}

// LSTM block: gates = start + x·W_ih + h·W_hh in 4·nv accumulators, then the update of gates_avx2.c's lstm_block:
// c' = c / d_f + p_g / (d_i·q_g), h' = p_c / (d_o·q_c).
SP_INLINE void lstmBlock(int nv, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *hOld, const float *w,
                         const float *proj, float *c, float *hNew, int tail, __m256i m) {
    __m256 acc[4 * SP_LSTM_NV];
    VM_EACH(j, 4 * nv) acc[j] = _mm256_loadu_ps(w + 8 * j);
    if (proj) spAddProjection(nv, 4, acc, proj, hidden, tail, m);
    w += 32 * nv;
    for (ptrdiff_t p = 0; p < inputs; p++) {
        __m256 b = _mm256_broadcast_ss(x + p);
        VM_EACH(j, 4 * nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 32 * nv;
    }
    for (ptrdiff_t p = 0; p < hidden; p++) {
        __m256 b = _mm256_broadcast_ss(hOld + p);
        VM_EACH(j, 4 * nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 32 * nv;
    }
    __m256 xs[3 * SP_LSTM_NV], ds[3 * SP_LSTM_NV], xg[SP_LSTM_NV], pg[SP_LSTM_NV], qg[SP_LSTM_NV];
    __m256 cn[SP_LSTM_NV], pc[SP_LSTM_NV], qc[SP_LSTM_NV];
    VM_EACH(v, nv) {
        xs[3 * v] = acc[v];
        xs[3 * v + 1] = acc[nv + v];
        xs[3 * v + 2] = acc[3 * nv + v];
        xg[v] = acc[2 * nv + v];
    }
    gates_den_pq8(3 * nv, xs, ds, nv, xg, pg, qg);
    VM_EACH(v, nv) {
        __m256 keep = _mm256_div_ps(spLoad(c + 8 * v, SP_MASKED(v, nv), m), ds[3 * v + 1]);
        cn[v] = _mm256_add_ps(keep, _mm256_div_ps(pg[v], _mm256_mul_ps(ds[3 * v], qg[v])));
    }
    gates_den_pq8(0, 0, 0, nv, cn, pc, qc);
    VM_EACH(v, nv) {
        spStore(c + 8 * v, cn[v], SP_MASKED(v, nv), m);
        _mm256_storeu_ps(hNew + 8 * v, _mm256_div_ps(pc[v], _mm256_mul_ps(ds[3 * v + 2], qc[v])));
    }
}

// GRU block: r, z = start + x·W_i + h·W_h; n_x = b_in + x·W_in; n_h = b_hn + h·W_hn; then gates_avx2.c's gru_block:
// n = tanh(n_x + n_h / d_r), h' = n + (h − n) / d_z.
SP_INLINE void gruBlock(int nv, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *hOld, const float *hUnits,
                        const float *w, const float *proj, float *hNew, int tail, __m256i m) {
    __m256 r[SP_GRU_NV], z[SP_GRU_NV], nx[SP_GRU_NV], nh[SP_GRU_NV];
    VM_EACH(v, nv) {
        r[v] = _mm256_loadu_ps(w + 8 * v);
        z[v] = _mm256_loadu_ps(w + 8 * (nv + v));
        nx[v] = _mm256_loadu_ps(w + 8 * (2 * nv + v));
        nh[v] = _mm256_loadu_ps(w + 8 * (3 * nv + v));
    }
    if (proj) {
        spAddProjection(nv, 1, r, proj, hidden, tail, m);
        spAddProjection(nv, 1, z, proj + hidden, hidden, tail, m);
        spAddProjection(nv, 1, nx, proj + 2 * hidden, hidden, tail, m);
    }
    w += 32 * nv;
    for (ptrdiff_t p = 0; p < inputs; p++) {
        __m256 b = _mm256_broadcast_ss(x + p);
        VM_EACH(v, nv) {
            r[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * v), r[v]);
            z[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (nv + v)), z[v]);
            nx[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (2 * nv + v)), nx[v]);
        }
        w += 24 * nv;
    }
    for (ptrdiff_t p = 0; p < hidden; p++) {
        __m256 b = _mm256_broadcast_ss(hOld + p);
        VM_EACH(v, nv) {
            r[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * v), r[v]);
            z[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (nv + v)), z[v]);
            nh[v] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * (2 * nv + v)), nh[v]);
        }
        w += 24 * nv;
    }
    __m256 xs[2 * SP_GRU_NV], ds[2 * SP_GRU_NV], xn[SP_GRU_NV], pn[SP_GRU_NV], qn[SP_GRU_NV];
    VM_EACH(v, nv) {
        xs[2 * v] = r[v];
        xs[2 * v + 1] = z[v];
    }
    gates_den_pq8(2 * nv, xs, ds, 0, 0, 0, 0);
    VM_EACH(v, nv) xn[v] = _mm256_add_ps(nx[v], _mm256_div_ps(nh[v], ds[2 * v]));
    gates_den_pq8(0, 0, 0, nv, xn, pn, qn);
    VM_EACH(v, nv) {
        __m256 n = _mm256_div_ps(pn[v], qn[v]);
        __m256 hp = spLoad(hUnits + 8 * v, SP_MASKED(v, nv), m);
        _mm256_storeu_ps(hNew + 8 * v, _mm256_add_ps(n, _mm256_div_ps(_mm256_sub_ps(hp, n), ds[2 * v + 1])));
    }
}

// RNN block: pre = start + x·W_ih + h·W_hh, then rnnrt_rnn_pointwise_avx2's tanh (p / q) or relu (NaN kept).
SP_INLINE void rnnBlock(int nv, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *hOld, const float *w,
                        const float *proj, float *hNew, int relu, int tail, __m256i m) {
    __m256 acc[SP_RNN_NV];
    VM_EACH(j, nv) acc[j] = _mm256_loadu_ps(w + 8 * j);
    if (proj) spAddProjection(nv, 1, acc, proj, hidden, tail, m);
    w += 8 * nv;
    for (ptrdiff_t p = 0; p < inputs; p++) {
        __m256 b = _mm256_broadcast_ss(x + p);
        VM_EACH(j, nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 8 * nv;
    }
    for (ptrdiff_t p = 0; p < hidden; p++) {
        __m256 b = _mm256_broadcast_ss(hOld + p);
        VM_EACH(j, nv) acc[j] = _mm256_fmadd_ps(b, _mm256_loadu_ps(w + 8 * j), acc[j]);
        w += 8 * nv;
    }
    if (relu) {
        VM_EACH(j, nv) {
            __m256 nanMask = _mm256_cmp_ps(acc[j], acc[j], _CMP_UNORD_Q);
            _mm256_storeu_ps(hNew + 8 * j, _mm256_blendv_ps(_mm256_max_ps(acc[j], _mm256_setzero_ps()), acc[j], nanMask));
        }
    } else {
        __m256 p[SP_RNN_NV], q[SP_RNN_NV];
        gates_den_pq8(0, 0, 0, nv, acc, p, q);
        VM_EACH(j, nv) _mm256_storeu_ps(hNew + 8 * j, _mm256_div_ps(p[j], q[j]));
    }
}

// A block of nv vectors with nv a compile-time constant (≤ NVMAX) in each instance.
#define SP_DISPATCH(NVMAX, CALL) \
    switch (nv) { \
    case 1: CALL(1); break; \
    case 2: if (2 <= NVMAX) CALL(2); break; \
    case 3: if (3 <= NVMAX) CALL(3); break; \
    case 4: if (4 <= NVMAX) CALL(4); break; \
    case 5: if (5 <= NVMAX) CALL(5); break; \
    case 6: if (6 <= NVMAX) CALL(6); break; \
    case 7: if (7 <= NVMAX) CALL(7); break; \
    default: if (8 <= NVMAX) CALL(8); break; \
    }

ptrdiff_t rnnrt_step_block_units(int kind) { return spBlockVectors(kind) * 8; }

ptrdiff_t rnnrt_step_block_count(int kind, ptrdiff_t hidden) {
    ptrdiff_t vectors = (hidden + 7) / 8, nvmax = spBlockVectors(kind);
    return (vectors + nvmax - 1) / nvmax;
}

// Blocks [first, end) of one layer: their units' new h into hNew (whole vectors, at the units' own offsets), c (LSTM)
// updated in place; blocks last to first when `reverse`. `xp` (or NULL): an input projection row [G·hidden] added to
// the start values.
SP_INLINE void stepBlocks(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                          const float *xp, const float *hOld, float *c, float *hNew, ptrdiff_t first, ptrdiff_t end,
                          int reverse) {
    ptrdiff_t vectors = (hidden + 7) / 8, nvmax = spBlockVectors(kind);
    ptrdiff_t blocks = (vectors + nvmax - 1) / nvmax;
    size_t blockSize = (size_t)nvmax * 8 * (size_t)(spStartGates(kind) + rnnrt_step_gates(kind) * (inputs + hidden));
    ptrdiff_t tailLanes = hidden % 8;
    __m256i m = lanesBelow(tailLanes);
    for (ptrdiff_t i = 0; i < end - first; i++) {
        ptrdiff_t b = reverse ? end - 1 - i : first + i;
        ptrdiff_t v0 = b * nvmax, nv = vectors - v0 < nvmax ? vectors - v0 : nvmax;
        const float *wb = w + (size_t)b * blockSize;
        int tail = tailLanes != 0 && b == blocks - 1;
        const float *proj = xp ? xp + 8 * v0 : 0;
        if (kind == RNNRT_STEP_LSTM) {
#define SP_CALL(N) lstmBlock(N, inputs, hidden, x, hOld, wb, proj, c + 8 * v0, hNew + 8 * v0, tail, m)
            SP_DISPATCH(SP_LSTM_NV, SP_CALL)
#undef SP_CALL
        } else if (kind == RNNRT_STEP_GRU) {
#define SP_CALL(N) gruBlock(N, inputs, hidden, x, hOld, hOld + 8 * v0, wb, proj, hNew + 8 * v0, tail, m)
            SP_DISPATCH(SP_GRU_NV, SP_CALL)
#undef SP_CALL
        } else {
#define SP_CALL(N) rnnBlock(N, inputs, hidden, x, hOld, wb, proj, hNew + 8 * v0, relu, tail, m)
            SP_DISPATCH(SP_RNN_NV, SP_CALL)
#undef SP_CALL
        }
    }
}

// All blocks of one layer (see stepBlocks).
AVX2 static void stepLayer(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                           const float *xp, const float *hOld, float *c, float *hNew, int reverse) {
    stepBlocks(kind, relu, inputs, hidden, x, w, xp, hOld, c, hNew, 0, rnnrt_step_block_count(kind, hidden), reverse);
}

AVX2 void rnnrt_step_blocks_avx2(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                                 const float *xp, const float *hOld, float *c, float *hNew, ptrdiff_t first,
                                 ptrdiff_t end, int reverse) {
    stepBlocks(kind, relu, inputs, hidden, x, w, xp, hOld, c, hNew, first, end, reverse);
}

// dst[0, n) = src[0, n) (a few vectors: inline rather than a call to memcpy).
SP_INLINE void spCopy(float *dst, const float *src, ptrdiff_t n) {
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
    if (j < n) {
        __m256i m = lanesBelow(n - j);
        _mm256_maskstore_ps(dst + j, m, _mm256_maskload_ps(src + j, m));
    }
}

AVX2 void rnnrt_stream_step_avx2(int kind, int relu, ptrdiff_t layers, const rnnrt_step_layer *layer, ptrdiff_t hidden,
                                 const float *x, float *h, float *c, float *output, float *scratch, unsigned *parity) {
    int reverse = (int)(*parity & 1);
    *parity ^= 1;
    const float *in = x;
    for (ptrdiff_t l = 0; l < layers; l++) {
        float *hl = h + l * hidden;
        stepLayer(kind, relu, layer[l].inputs, hidden, in, layer[l].weights, 0, hl,
                  kind == RNNRT_STEP_LSTM ? c + l * hidden : c, scratch, reverse);
        spCopy(hl, scratch, hidden);
        in = hl;
    }
    spCopy(output, scratch, hidden);
}

AVX2 void rnnrt_step_sequence_avx2(int kind, int relu, rnnrt_step_layer layer, ptrdiff_t hidden, ptrdiff_t steps,
                                   const float *x, ptrdiff_t x_stride, const float *projection, float *h, float *c,
                                   float *output, ptrdiff_t out_stride, int reverse, float *scratch) {
    ptrdiff_t g = rnnrt_step_gates(kind) * hidden;
    for (ptrdiff_t s = 0; s < steps; s++) {
        ptrdiff_t t = reverse ? steps - 1 - s : s;
        stepLayer(kind, relu, layer.inputs, hidden, x ? x + t * x_stride : 0, layer.weights,
                  projection ? projection + t * g : 0, h, c, scratch, (int)(s & 1));
        spCopy(h, scratch, hidden);
        spCopy(output + t * out_stride, scratch, hidden);
    }
}

#else
size_t rnnrt_step_packed_count(int kind, ptrdiff_t inputs, ptrdiff_t hidden) { return 0; }
void rnnrt_step_pack(int kind, ptrdiff_t inputs, ptrdiff_t hidden, rnnrt_weights wih, rnnrt_weights whh,
                     const int *whh_gates, const float *bias_ih, const float *bias_hh, float *out) {}
ptrdiff_t rnnrt_step_block_count(int kind, ptrdiff_t hidden) { return 0; }
ptrdiff_t rnnrt_step_block_units(int kind) { return 8; }
void rnnrt_step_blocks_avx2(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                            const float *xp, const float *hOld, float *c, float *hNew, ptrdiff_t first, ptrdiff_t end,
                            int reverse) {}
void rnnrt_stream_step_avx2(int kind, int relu, ptrdiff_t layers, const rnnrt_step_layer *layer, ptrdiff_t hidden,
                            const float *x, float *h, float *c, float *output, float *scratch, unsigned *parity) {}
void rnnrt_step_sequence_avx2(int kind, int relu, rnnrt_step_layer layer, ptrdiff_t hidden, ptrdiff_t steps,
                              const float *x, ptrdiff_t x_stride, const float *projection, float *h, float *c,
                              float *output, ptrdiff_t out_stride, int reverse, float *scratch) {}
#endif
