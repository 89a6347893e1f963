// The fused LSTM/GRU/RNN cell updates (see include/rnnrt_kernels.h), on the vector math of vecmath_avx2.h.
//
// Units go 8 to a vector, in blocks of four vectors (32 units), then two, then one; within a block all the gate
// nonlinearities are evaluated in lockstep (gates_den_pq8), then the state update. (Four vectors at once beat
// two from hidden 64 up, despite a few register spills.) Every
// product with a sigmoid is a division by its denominator 1 + e^−x, folded with tanh's own denominator where
// both meet, so an LSTM unit costs three divisions instead of five reciprocals and five multiplies. Tails
// (hidden not a multiple of 8) run the same vector code on masked loads and stores, so every unit gets the
// same arithmetic whatever its position.
#include "rnnrt_kernels.h"
#include "vecmath_avx2.h"
#include "lanes_avx2.h"

#if defined(__x86_64__) || defined(_M_X64)

VM_INLINE __m256 load8(const float *p, int masked, __m256i m) {
    return masked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}

VM_INLINE void store8(float *p, __m256 v, int masked, __m256i m) {
    if (masked) _mm256_maskstore_ps(p, m, v);
    else _mm256_storeu_ps(p, v);
}

// ---- fused cell updates ----------------------------------------------------------------------------

// LSTM, nv vectors of 8 units from unit 0 of `g` (gate blocks H apart), `c`, `h`:
// c' = σ(f)·c + σ(i)·tanh(g) = c / d_f + p_g / (d_i·q_g), h' = σ(o)·tanh(c') = p_c / (d_o·q_c).
VM_INLINE void lstm_block(int nv, const float *g, ptrdiff_t H, float *c, float *h, int masked, __m256i m) {
    __m256 xs[12], ds[12], xg[4], pg[4], qg[4], cn[4], pc[4], qc[4];
    VM_EACH(v, nv) {
        xs[3 * v] = load8(g + 8 * v, masked, m);
        xs[3 * v + 1] = load8(g + H + 8 * v, masked, m);
        xs[3 * v + 2] = load8(g + 3 * H + 8 * v, masked, m);
        xg[v] = load8(g + 2 * H + 8 * v, masked, m);
    }
    gates_den_pq8(3 * nv, xs, ds, nv, xg, pg, qg);
    VM_EACH(v, nv) {
        __m256 keep = _mm256_div_ps(load8(c + 8 * v, masked, m), ds[3 * v + 1]);
        cn[v] = _mm256_add_ps(keep, _mm256_div_ps(pg[v], _mm256_mul_ps(ds[3 * v], qg[v])));
    }
    gates_den_pq8(0, 0, 0, nv, cn, pc, qc);
    VM_EACH(v, nv) {
        store8(c + 8 * v, cn[v], masked, m);
        store8(h + 8 * v, _mm256_div_ps(pc[v], _mm256_mul_ps(ds[3 * v + 2], qc[v])), masked, m);
    }
}

AVX2 void rnnrt_lstm_pointwise_range_avx2(const float *gates, ptrdiff_t gate_stride, ptrdiff_t gate_row, float *c,
                                          float *h, ptrdiff_t state_row, ptrdiff_t count, ptrdiff_t batch) {
    __m256i none = _mm256_setzero_si256();
    ptrdiff_t H = gate_stride;
    for (ptrdiff_t r = 0; r < batch; r++) {
        const float *g = gates + r * gate_row;
        float *cr = c + r * state_row, *hr = h + r * state_row;
        ptrdiff_t j = 0;
        for (; j + 32 <= count; j += 32) lstm_block(4, g + j, H, cr + j, hr + j, 0, none);
        if (j + 16 <= count) {
            lstm_block(2, g + j, H, cr + j, hr + j, 0, none);
            j += 16;
        }
        if (j + 8 <= count) {
            lstm_block(1, g + j, H, cr + j, hr + j, 0, none);
            j += 8;
        }
        if (j < count) lstm_block(1, g + j, H, cr + j, hr + j, 1, lanesBelow(count - j));
    }
}

AVX2 void rnnrt_lstm_pointwise_avx2(const float *gates, float *c, float *h, ptrdiff_t hidden, ptrdiff_t batch) {
    rnnrt_lstm_pointwise_range_avx2(gates, hidden, 4 * hidden, c, h, hidden, hidden, batch);
}

// GRU, nv vectors of 8 units: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n) = tanh(x_n + h_n / d_r),
// h' = (1 − z)·n + z·h = n + (h − n) / d_z, h read from hIn and written to hOut (the same place or another buffer).
VM_INLINE void gru_block(int nv, const float *x, const float *p, ptrdiff_t H, const float *hIn, float *hOut, int masked,
                         __m256i m) {
    __m256 xs[8], ds[8], xn[4], pn[4], qn[4];
    VM_EACH(v, nv) {
        xs[2 * v] = _mm256_add_ps(load8(x + 8 * v, masked, m), load8(p + 8 * v, masked, m));
        xs[2 * v + 1] = _mm256_add_ps(load8(x + H + 8 * v, masked, m), load8(p + H + 8 * v, masked, m));
    }
    gates_den_pq8(2 * nv, xs, ds, 0, 0, 0, 0);
    VM_EACH(v, nv) xn[v] = _mm256_add_ps(load8(x + 2 * H + 8 * v, masked, m),
                                         _mm256_div_ps(load8(p + 2 * H + 8 * v, masked, m), ds[2 * v]));
    gates_den_pq8(0, 0, 0, nv, xn, pn, qn);
    VM_EACH(v, nv) {
        __m256 n = _mm256_div_ps(pn[v], qn[v]);
        __m256 hp = load8(hIn + 8 * v, masked, m);
        store8(hOut + 8 * v, _mm256_add_ps(n, _mm256_div_ps(_mm256_sub_ps(hp, n), ds[2 * v + 1])), masked, m);
    }
}

AVX2 void rnnrt_gru_pointwise_range_avx2(const float *input_part, const float *hidden_part, ptrdiff_t gate_stride,
                                         ptrdiff_t gate_row, const float *h_in, float *h_out, ptrdiff_t state_row,
                                         ptrdiff_t count, ptrdiff_t batch) {
    __m256i none = _mm256_setzero_si256();
    ptrdiff_t H = gate_stride;
    for (ptrdiff_t b = 0; b < batch; b++) {
        const float *x = input_part + b * gate_row, *p = hidden_part + b * gate_row;
        const float *hi = h_in + b * state_row;
        float *ho = h_out + b * state_row;
        ptrdiff_t j = 0;
        for (; j + 32 <= count; j += 32) gru_block(4, x + j, p + j, H, hi + j, ho + j, 0, none);
        if (j + 16 <= count) {
            gru_block(2, x + j, p + j, H, hi + j, ho + j, 0, none);
            j += 16;
        }
        if (j + 8 <= count) {
            gru_block(1, x + j, p + j, H, hi + j, ho + j, 0, none);
            j += 8;
        }
        if (j < count) gru_block(1, x + j, p + j, H, hi + j, ho + j, 1, lanesBelow(count - j));
    }
}

AVX2 void rnnrt_gru_pointwise_avx2(const float *input_part, const float *hidden_part, float *h, ptrdiff_t hidden,
                                   ptrdiff_t batch) {
    rnnrt_gru_pointwise_range_avx2(input_part, hidden_part, hidden, 3 * hidden, h, h, hidden, hidden, batch);
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
        for (; j + 32 <= count; j += 32) {
            __m256 x[4], p[4], q[4];
            VM_EACH(v, 4) x[v] = _mm256_loadu_ps(pre + j + 8 * v);
            gates_den_pq8(0, 0, 0, 4, x, p, q);
            VM_EACH(v, 4) _mm256_storeu_ps(h + j + 8 * v, _mm256_div_ps(p[v], q[v]));
        }
        for (; j + 8 <= count; j += 8) _mm256_storeu_ps(h + j, tanh8(_mm256_loadu_ps(pre + j)));
        if (j < count) {
            __m256i m = lanesBelow(count - j);
            _mm256_maskstore_ps(h + j, m, tanh8(_mm256_maskload_ps(pre + j, m)));
        }
    }
}

#else
void rnnrt_lstm_pointwise_range_avx2(const float *gates, ptrdiff_t gate_stride, ptrdiff_t gate_row, float *c, float *h,
                                     ptrdiff_t state_row, ptrdiff_t count, ptrdiff_t batch) {}
void rnnrt_gru_pointwise_range_avx2(const float *input_part, const float *hidden_part, ptrdiff_t gate_stride,
                                    ptrdiff_t gate_row, const float *h_in, float *h_out, ptrdiff_t state_row,
                                    ptrdiff_t count, ptrdiff_t batch) {}
void rnnrt_lstm_pointwise_avx2(const float *gates, float *c, float *h, ptrdiff_t hidden, ptrdiff_t batch) {}
void rnnrt_gru_pointwise_avx2(const float *input_part, const float *hidden_part, float *h, ptrdiff_t hidden,
                              ptrdiff_t batch) {}
void rnnrt_rnn_pointwise_avx2(const float *pre, float *h, ptrdiff_t count, int relu) {}
#endif
