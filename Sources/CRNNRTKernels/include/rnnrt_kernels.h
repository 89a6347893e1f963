// rnnrt's x86-64 AVX2/FMA kernels. Each function is compiled for AVX2+FMA with a per-function target
// attribute (no global compiler flags), so callers must check rnnrt_has_avx2_fma() first; the Swift
// kernels in RNNRTKernels are the portable fallback and the reference these are tested against.
#ifndef RNNRT_KERNELS_H
#define RNNRT_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/// 1 when the CPU supports AVX2 and FMA (and the kernels below may be called), else 0.
int rnnrt_has_avx2_fma(void);

/// A flag one thread sets and others read (a caller's cancellation): both accesses atomic.
static inline void rnnrt_flag_set(int *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELEASE); }
static inline int rnnrt_flag_get(const int *flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE); }

/// Nanoseconds on a monotonic clock that costs a few ns to read, for time limits: on Linux CLOCK_MONOTONIC_COARSE
/// (read without a system call; it advances once per timer tick, every 1–4 ms), elsewhere CLOCK_MONOTONIC.
static inline unsigned long long rnnrt_coarse_clock_ns(void) {
    struct timespec t;
#if defined(CLOCK_MONOTONIC_COARSE)
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
#else
    clock_gettime(CLOCK_MONOTONIC, &t);
#endif
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

/// C[m×n] = (accumulate ? C : 0) + A[m×k] · B[k×n], row-major with leading dimensions in elements.
void rnnrt_sgemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                      ptrdiff_t ldb, float *c, ptrdiff_t ldc, int accumulate);

/// Floats needed to hold B[k×n] packed for rnnrt_sgemm_packed_avx2: ceil(n/16) column blocks of k×16.
size_t rnnrt_packed_b_count(ptrdiff_t k, ptrdiff_t n);

/// Packs B[k×n] (row stride ldb) into `out` (rnnrt_packed_b_count floats): for each block of 16 columns,
/// its k rows of 16 values contiguously, the last block zero-padded. Done once for constant weights.
void rnnrt_pack_b(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, float *out);

/// Packs the transpose of S[rows×cols] (row stride cols) as rnnrt_pack_b would pack Sᵀ (k = cols, n = rows):
/// weights stored [G·H × inputs] become the packed [inputs × G·H] operand in one pass.
void rnnrt_pack_bt(ptrdiff_t rows, ptrdiff_t cols, const float *s, float *out);

/// C[m×n] = (accumulate ? C : 0) + A[m×k] · B, with B packed by rnnrt_pack_b: 6×16 register tiles over
/// A packed in L2-sized blocks and B slivers that stay in L1.
void rnnrt_sgemm_packed_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                             const float *packed_b, float *c, ptrdiff_t ldc, int accumulate);

/// y[rows] = (accumulate ? y : 0) + W · x for W [rows × k] row-major (row stride ldw), as weights are stored:
/// eight rows at a time, each a dot product with x.
void rnnrt_gemv_rows_avx2(ptrdiff_t rows, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x, float *y,
                          int accumulate);

/// C[m×n] = (accumulate ? C : 0) + A[m×k] · Wᵀ for W [n×k] row-major (row stride ldw), the weights used in place
/// (no packing at load): one row → rnnrt_gemv_rows_avx2; a few rows → Aᵀ packed per call and 6 weight rows ×
/// 16 activation rows per register tile; many rows → W packed per call (amortized) and the packed kernel.
void rnnrt_sgemm_rows_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w,
                           ptrdiff_t ldw, float *c, ptrdiff_t ldc, int accumulate);

/// A constant weight matrix W [n×k] (the right operand is B = Wᵀ) as the kernels take it: packed by
/// rnnrt_pack_bt (`packed` = 1, `ld` unused), or used in place as stored, row-major with row stride `ld`;
/// `row_slivers`, when not NULL, the same matrix packed by rnnrt_pack_row_slivers, which products with a number
/// of rows rnnrt_row_slivers_suit takes use instead.
typedef struct rnnrt_weights {
    const float *data;
    ptrdiff_t ld;
    int packed;
    const float *row_slivers;
} rnnrt_weights;

/// Floats rnnrt_pack_row_slivers writes for W [n×k]: ceil(n/6) slivers of k×6.
size_t rnnrt_row_slivers_count(ptrdiff_t k, ptrdiff_t n);

/// Packs W [rows×cols] (in either form; its row_slivers unused) in slivers of 6 rows, each [cols][6] (the last
/// zero-padded): the form in which C = A·Wᵀ runs as Cᵀ = W·Aᵀ, 6 rows of W by 16 rows of A (or 12 by 8) per register
/// tile.
void rnnrt_pack_row_slivers(ptrdiff_t rows, ptrdiff_t cols, rnnrt_weights w, float *out);

/// 1 when a product with m rows of A is faster on row slivers (tiles of 16 rows of A: 13–16, 31 or 32 rows; of 8: 7
/// or 8 rows) than on the other forms (tiles of 6 rows of A), else 0.
int rnnrt_row_slivers_suit(ptrdiff_t m);

/// C[m×n] = (accumulate ? C : 0) + A[m×k] · Wᵀ with W in any of its forms.
void rnnrt_weights_multiply(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                            float *c, ptrdiff_t ldc, int accumulate);

/// The fused streaming step (batch 1, every layer in one call). Kinds: RNNRT_STEP_LSTM, RNNRT_STEP_GRU, RNNRT_STEP_RNN.
enum { RNNRT_STEP_LSTM = 0, RNNRT_STEP_GRU = 1, RNNRT_STEP_RNN = 2 };

/// Floats rnnrt_step_pack writes for one layer.
size_t rnnrt_step_packed_count(int kind, ptrdiff_t inputs, ptrdiff_t hidden);

/// Lays out one layer for rnnrt_stream_step_avx2, once: W_ih [G·H × inputs], W_hh [G·H × hidden] (either kernel
/// form; wih unused when inputs is 0) and the biases — LSTM/RNN: bias_ih = b_ih + b_hh (bias_hh unused); GRU: b_ih and
/// b_hh — interleaved per block of units so one pass gives a block's gates with the bias as the starting value.
/// whh_gates: gate g of W_hh is its stored block whh_gates[g] of hidden rows (a gate order other than the kernels'),
/// or NULL when they are in order.
void rnnrt_step_pack(int kind, ptrdiff_t inputs, ptrdiff_t hidden, rnnrt_weights wih, rnnrt_weights whh,
                     const int *whh_gates, const float *bias_ih, const float *bias_hh, float *out);

/// One layer of a fused stream: its rnnrt_step_pack weights and its input width.
typedef struct rnnrt_step_layer {
    const float *weights;
    ptrdiff_t inputs;
} rnnrt_step_layer;

/// One batch-1 time step through `layers` layers of `hidden` units: x [layer[0].inputs] in, h [layers × hidden]
/// (and LSTM c [layers × hidden]) updated, the top h copied to output [hidden]. `scratch` holds hidden + 8 floats.
/// `parity` is per-stream state (start at 0): consecutive steps walk the weight blocks in alternate directions.
/// RNN: `relu` chooses the nonlinearity.
void rnnrt_stream_step_avx2(int kind, int relu, ptrdiff_t layers, const rnnrt_step_layer *layer, ptrdiff_t hidden,
                            const float *x, float *h, float *c, float *output, float *scratch, unsigned *parity);

/// A whole batch-1 direction of one layer on its rnnrt_step_pack layout: h (and LSTM c) [hidden] updated, h after step
/// t written to row t of output (stride out_stride); `reverse` walks t from the end; consecutive steps walk the weight
/// blocks in alternate directions. The input comes one of two ways:
/// - `projection` NULL: row t of x (stride x_stride), each step's product running over [x_t; h] (a layout with inputs);
/// - `projection` non-NULL: row t of it ([G·hidden], PyTorch's gate blocks, computed up front for the whole sequence)
///   added to the start values, on a layout made with 0 inputs (x unused).
/// `scratch` holds hidden + 8 floats.
void rnnrt_step_sequence_avx2(int kind, int relu, rnnrt_step_layer layer, ptrdiff_t hidden, ptrdiff_t steps,
                              const float *x, ptrdiff_t x_stride, const float *projection, float *h, float *c,
                              float *output, ptrdiff_t out_stride, int reverse, float *scratch);

/// A whole direction of a PyTorch-form layer over `steps` time steps, the loop in C: `xp` holds the input
/// projection `[steps × batch × G·H]` (bias + x·W_ih; LSTM/RNN: b_ih + b_hh folded in) and is used as scratch;
/// `h` (and `c`) `[batch × H]` are the state, updated; row `(t·batch + b)` of `output` (stride
/// `out_stride`) receives h after step t. `reverse` walks t from the end. GRU: `bias_hh` `[3H]` and
/// `scratch` `[batch × 3H]` for the hidden part. RNN: `relu` chooses the nonlinearity.
void rnnrt_lstm_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                              float *h, float *c, float *output, ptrdiff_t out_stride, int reverse);
void rnnrt_gru_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, const float *xp, rnnrt_weights whh,
                             const float *bias_hh, float *h, float *output, ptrdiff_t out_stride, int reverse, float *scratch);
void rnnrt_rnn_sequence_avx2(ptrdiff_t steps, ptrdiff_t batch, ptrdiff_t hidden, float *xp, rnnrt_weights whh,
                             float *h, float *output, ptrdiff_t out_stride, int reverse, int relu);

/// One direction of a PyTorch-form layer (no projection) over a whole sequence, for rnnrt_pair_sequence_avx2.
typedef struct rnnrt_pair_sequence {
    int kind;                 ///< RNNRT_STEP_LSTM, RNNRT_STEP_GRU or RNNRT_STEP_RNN
    int relu;                 ///< RNN: the nonlinearity
    int reverse;              ///< walk t from the end
    ptrdiff_t steps, batch, hidden, inputs;
    const float *x;           ///< [steps·batch × inputs], time-major
    rnnrt_weights wih;        ///< W_ih [G·H × inputs]
    const float *bias;        ///< [G·H], the projection's start: b_ih + b_hh (LSTM, RNN) or b_ih (GRU)
    float *projection;        ///< scratch, [steps·batch × G·H]
    rnnrt_weights whh;        ///< W_hh [G·H × H] (unused with a step layout)
    const float *bias_hh;     ///< GRU: b_hh [3H] (unused with a step layout)
    const float *step_layout; ///< batch 1: a rnnrt_step_pack layout with 0 inputs (GRU start values b_hh), or NULL
    float *h;                 ///< [batch × H], the initial state on entry and the final one on return
    float *c;                 ///< LSTM: [batch × H], likewise
    float *state;             ///< scratch, 2 · batch · (H + 8) floats
    float *scratch;           ///< GRU without a step layout: scratch, [batch × 3H]
    float *output;            ///< row (t·batch + b), stride out_stride, receives h after step t
    ptrdiff_t out_stride;
    const int *stop;          ///< a flag (rnnrt_flag_set) that stops the sequence at the next barrier, or NULL
    unsigned long long deadline; ///< rnnrt_coarse_clock_ns() past which the sequence stops at the next barrier; ~0: none
} rnnrt_pair_sequence;

/// Runs `job` on two threads, the caller's and one started here, each computing half of the input projection's rows
/// and then, step by step, the gates and new state of half of the hidden units (a barrier between steps). Each unit
/// gets the arithmetic it gets on one thread, up to the summation order of a product tiled differently. Returns 1 when it ran; 0 — having written
/// nothing — when the layer cannot be split (fewer than two blocks of units; packed W_hh without row slivers for the
/// batch and with a hidden size not a multiple of 16) or no thread or scratch could be had; 2 when it stopped early,
/// `stop` set or `deadline` passed (the outputs and the state are then partly written).
int rnnrt_pair_sequence_avx2(const rnnrt_pair_sequence *job);

/// LSTM step: gates [batch × 4H] (PyTorch blocks i, f, g, o, pre-activations); updates c, writes h.
void rnnrt_lstm_pointwise_avx2(const float *gates, float *c, float *h, ptrdiff_t hidden, ptrdiff_t batch);

/// GRU step (reset after the product): input part and hidden part [batch × 3H] (r, z, n); updates h.
void rnnrt_gru_pointwise_avx2(const float *input_part, const float *hidden_part, float *h, ptrdiff_t hidden,
                              ptrdiff_t batch);

/// The LSTM step on units [0, count) of `batch` rows, in any layout: row r's gates at gates + r·gate_row (gate blocks
/// gate_stride apart), its c and h at c + r·state_row and h + r·state_row. rnnrt_lstm_pointwise_avx2 is this with
/// every stride from `hidden`; a thread updating its share of the units passes pointers to its first unit.
void rnnrt_lstm_pointwise_range_avx2(const float *gates, ptrdiff_t gate_stride, ptrdiff_t gate_row, float *c, float *h,
                                     ptrdiff_t state_row, ptrdiff_t count, ptrdiff_t batch);

/// The GRU step on units [0, count) of `batch` rows (strides as rnnrt_lstm_pointwise_range_avx2; both parts share
/// them), the old h read from h_in and the new one written to h_out (the same buffer, or another).
void rnnrt_gru_pointwise_range_avx2(const float *input_part, const float *hidden_part, ptrdiff_t gate_stride,
                                    ptrdiff_t gate_row, const float *h_in, float *h_out, ptrdiff_t state_row,
                                    ptrdiff_t count, ptrdiff_t batch);

/// RNN step: h = tanh(pre) or relu(pre) over count values (also the graph executor's Tanh and Relu over arrays; h may
/// be pre).
void rnnrt_rnn_pointwise_avx2(const float *pre, float *h, ptrdiff_t count, int relu);

/// y = σ(x) = 1 / (1 + e^−x) over n values (y may be x): ≤ 2.8 ulp wherever σ(x) is a normal float.
void rnnrt_sigmoid_avx2(const float *x, float *y, ptrdiff_t n);

/// y = x·σ(x) (SiLU, PyTorch's nn.SiLU; an exported `x * sigmoid(x)`) over n values (y may be x).
void rnnrt_silu_avx2(const float *x, float *y, ptrdiff_t n);

/// The product of a convolution whose input rows are read in place: for i < m and output lines l < `lines`, columns
/// x < `width`,
///     C[i·ldc + l·width + x] = (accumulate ? C : 0) + (bias ? bias[i] : 0) + Σ_p A[i][p] · b[offsets[p] + l·stride + x]
/// with A packed by rnnrt_pack_row_slivers (`a6`: ceil(m/6) slivers of k×6). It computes every column v < (lines − 1)
/// · stride + width of the virtual rows b + offsets[p] + v (16 at a time, the last tile's reads masked to that count),
/// so all of them must be readable, and keeps the `width` real columns of each line of `stride`: a convolution over
/// an image whose rows are `stride` wide (padded, or split into stride phases) reads its taps as shifted rows. One or
/// two rows of A are summed along the lines instead, reading only each line's `width` columns.
void rnnrt_conv_product_avx2(ptrdiff_t m, ptrdiff_t k, const float *a6, const float *b, const ptrdiff_t *offsets,
                             ptrdiff_t lines, ptrdiff_t stride, ptrdiff_t width, const float *bias, float *c,
                             ptrdiff_t ldc, int accumulate);

/// rnnrt_conv_product_avx2 for a convolution with one input channel per group: output channel o (of m) reads the
/// image plane o / perPlane (planes planeFloats apart, from b) with its own `taps` weights w[o·taps ...], and each
/// output is a sum over the taps in vectors along the line (no register tiles to fill: a depthwise convolution has
/// one row per product). The same reads as rnnrt_conv_product_avx2 (masked at the end of each line).
void rnnrt_conv_depthwise_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w, const float *b,
                               ptrdiff_t planeFloats, const ptrdiff_t *offsets, ptrdiff_t lines, ptrdiff_t stride,
                               ptrdiff_t width, const float *bias, float *c, ptrdiff_t ldc, int accumulate);

/// Taps of a depthwise convolution along lines (rnnrt_conv_depthwise_lines_avx2) at most, and the zeros its scratch
/// holds around each phase line.
#define RNNRT_DEPTHWISE_LINES_MAX_TAPS 64
#define RNNRT_DEPTHWISE_LINES_SLACK 80

/// A depthwise convolution whose kernel spans one line (1 × taps, undilated, stride s along the line, padL zeros
/// before each line): output channel o of m reads input plane o / perPlane (planes of `lines` lines of win = s · wout
/// values, contiguous from x) and writes its plane of lines × wout outputs at y + o · lines · wout, plus bias[o] (bias
/// may be NULL). Each plane is read as one long line split into its s phases (into scratch: s · (lines · wout +
/// 2 · RNNRT_DEPTHWISE_LINES_SLACK) floats), every output a sum of taps in vectors along it; the few outputs of each
/// line with a tap in the padding are computed again from their own line. The same sums, in the same order, as
/// rnnrt_conv_depthwise_avx2 over a zero-padded image. Does nothing unless 1 ≤ taps ≤ RNNRT_DEPTHWISE_LINES_MAX_TAPS,
/// 1 ≤ s ≤ taps, 0 ≤ padL < taps and win = s · wout.
void rnnrt_conv_depthwise_lines_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w, const float *x,
                                     ptrdiff_t lines, ptrdiff_t win, ptrdiff_t wout, ptrdiff_t s, ptrdiff_t padL,
                                     const float *bias, float *y, float *scratch);

/// The transposed convolution of rnnrt_conv_depthwise_lines_avx2's kind (ONNX ConvTranspose, one input channel per
/// group, a 1 × taps kernel along the line, stride s, padL trimmed before each line) when each line of win inputs gives
/// wout = s · win outputs: output channel o reads input plane o / perPlane (lines × win, contiguous from x) and writes
/// its plane (lines × wout at y + o · lines · wout), each output bias[o] (0 when bias is NULL) plus the rounded
/// products w[o·taps + t] · x of its taps added in tap order, as the product-and-scatter form adds them. Each plane is
/// read as one long line (into scratch: lines · win + 2 · RNNRT_DEPTHWISE_LINES_SLACK floats); the outputs of each line
/// with a tap outside it are computed again from their own line. Does nothing unless 1 ≤ taps ≤
/// RNNRT_DEPTHWISE_LINES_MAX_TAPS, 1 ≤ s ≤ taps and 0 ≤ padL < taps.
void rnnrt_conv_transpose_depthwise_lines_avx2(ptrdiff_t m, ptrdiff_t perPlane, ptrdiff_t taps, const float *w,
                                               const float *x, ptrdiff_t lines, ptrdiff_t win, ptrdiff_t s,
                                               ptrdiff_t padL, const float *bias, float *y, float *scratch);

/// dst[j] = src[j·step] for j < count (reads no further than src[(count − 1)·step]); a stride-2 convolution's input
/// split into its two phases along a line.
void rnnrt_copy_every_avx2(const float *src, ptrdiff_t step, ptrdiff_t count, float *dst);

/// `lines` rows of `count` values into dst (count apart): in row l, values lo ≤ j < lo + n are src[l·ld + (j − lo)·step]
/// (rnnrt_copy_every_avx2's reads; a copy for step 1), the others 0. A strided convolution's input lines split into a
/// stride phase and padded.
void rnnrt_copy_every_lines_avx2(const float *src, ptrdiff_t ld, ptrdiff_t step, ptrdiff_t lines, ptrdiff_t lo,
                                 ptrdiff_t n, ptrdiff_t count, float *dst);

/// Taps of a max pooling window along either axis (rnnrt_max_pool_2d_avx2) at most.
#define RNNRT_MAX_POOL_MAX_TAPS 64

/// Floats of scratch rnnrt_max_pool_2d_avx2 needs for ih input rows, kw taps along a row at stride sw and dilation dw,
/// and ow outputs along a row; 0 outside its limits.
ptrdiff_t rnnrt_max_pool_2d_scratch_floats(ptrdiff_t ih, ptrdiff_t kw, ptrdiff_t sw, ptrdiff_t dw, ptrdiff_t ow);

/// ONNX MaxPool over the last two axes of `planes` planes of ih × iw floats (contiguous from x) into planes of
/// oh × ow (from y): output (o1, o2) is the largest input at rows o1·sh − padT + t1·dh (t1 < kh) and columns
/// o2·sw − padL + t2·dw (t2 < kw) that lie in the plane, −∞ when none does; NaN when any of them is NaN, and of equal
/// values (+0, −0) the first in row-major order. Each row's maxima along the row are taken first, then those rows'
/// maxima down the columns. Does nothing unless every size and step is at least 1, kh, kw ≤ RNNRT_MAX_POOL_MAX_TAPS
/// and the pads are not negative; scratch holds rnnrt_max_pool_2d_scratch_floats(ih, kw, sw, dw, ow) floats.
void rnnrt_max_pool_2d_avx2(ptrdiff_t planes, const float *x, ptrdiff_t ih, ptrdiff_t iw, ptrdiff_t kh, ptrdiff_t kw,
                            ptrdiff_t sh, ptrdiff_t sw, ptrdiff_t dh, ptrdiff_t dw, ptrdiff_t padT, ptrdiff_t padL,
                            ptrdiff_t oh, ptrdiff_t ow, float *y, float *scratch);

/// Floats rnnrt_winograd_pack_weights writes for m output and c input channels: 16 sets of ceil(m/6) slivers of c×6.
size_t rnnrt_winograd_weights_count(ptrdiff_t m, ptrdiff_t c);

/// A 3×3 convolution's weights W [m][c][3][3] transformed for Winograd's F(2×2, 3×3), U = G·g·Gᵀ for each kernel g,
/// as the 16 left operands of its products, each in slivers of 6 output channels (rnnrt_pack_row_slivers' layout).
void rnnrt_winograd_pack_weights(ptrdiff_t m, ptrdiff_t c, const float *w, float *u);

/// Floats of scratch rnnrt_winograd_conv_avx2 needs for m output and c input channels.
size_t rnnrt_winograd_scratch(ptrdiff_t m, ptrdiff_t c);

/// Y [m][oh][ow] = (accumulate ? Y : 0) + (bias ? bias[o] : 0) + the 3×3 convolution at stride 1 of the image x
/// [c][rows][cols] (padding included: output (r, q) reads image positions r..r+2, q..q+2; rows ≥ oh + 2, cols ≥ ow + 2)
/// with the weights packed by rnnrt_winograd_pack_weights, by Winograd's F(2×2, 3×3). Reads up to cols + 32 floats
/// past the image's last channel (their values only reach outputs that are not kept).
void rnnrt_winograd_conv_avx2(ptrdiff_t m, ptrdiff_t c, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t oh, ptrdiff_t ow,
                              const float *x, const float *u, const float *bias, float *y, int accumulate,
                              float *scratch);

/// The smallest and largest of 0 and x[0..<n] (NaNs ignored): the range onnxruntime's dynamic quantization covers.
void rnnrt_min_max(const float *x, ptrdiff_t n, float *low, float *high);

/// q[i] = x[i] / scale rounded half to even, plus zero, saturated to 0…255 (NaN: 0): uint8 quantization, for n values.
void rnnrt_quantize_uint8(const float *x, ptrdiff_t n, float scale, float zero, int64_t *q);

/// As rnnrt_quantize_uint8, minus zero, as floats: a quantized product's exact operand.
void rnnrt_quantize_uint8_shifted(const float *x, ptrdiff_t n, float scale, float zero, float *q);

/// The uint8 quantization of rnnrt_quantize_uint8 minus `shift`, as int16 (a product's operand).
void rnnrt_quantize_uint8_to_int16(const float *x, ptrdiff_t n, float scale, float zero, int32_t shift, int16_t *out);

/// out[i] = x[i] − zero as floats for n values; returns 0 if a value lies outside low…high (each ≤ 2^24 in magnitude),
/// else 1.
int rnnrt_shifted_to_float(const int64_t *x, ptrdiff_t n, int64_t low, int64_t high, float zero, float *out);

/// out[r·ldo + j] = (int16)a[r·lda + j] for r < rows, j < k, and 0 for k ≤ j < ldo: integer-valued floats of magnitude
/// < 2^15 as int16 rows padded for rnnrt_igemm_pairs_avx2.
void rnnrt_float_rows_to_int16(const float *a, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t lda, int16_t *out, ptrdiff_t ldo);

/// out[i] = x[i] − zero as int16 for n values; returns 0 if a value lies outside low…high (each within int16 once the
/// zero point is subtracted), else 1.
int rnnrt_shifted_to_int16(const int64_t *x, ptrdiff_t n, int64_t low, int64_t high, int64_t zero, int16_t *out);

/// acc[i] = (first ? 0 : acc[i]) + (int32)src[i], wrapping, for n values: src holds integers of magnitude < 2^31 (the
/// float sums of an exact integer product).
void rnnrt_add_exact_integers(const float *src, int32_t *acc, ptrdiff_t n, int first);

/// dst[i] = (float)src[i] for n values, rounded to nearest even.
void rnnrt_int32_to_float(const int32_t *src, float *dst, ptrdiff_t n);

/// int16 values B [k × n] (rows ldb apart) packed for rnnrt_igemm_pairs_avx2: slivers of 16 columns, each holding
/// ⌈k/2⌉ pairs of rows side by side per column (zeros past k and n); rnnrt_pairs_packed_count(k, n) values.
size_t rnnrt_pairs_packed_count(ptrdiff_t k, ptrdiff_t n);
void rnnrt_pack_pairs(ptrdiff_t k, ptrdiff_t n, const int16_t *b, ptrdiff_t ldb, int16_t *out);

/// The patches of a 2-D convolution of one item and group packed as rnnrt_pack_pairs packs B [k × n]: row (c, i, j) of
/// k = channels·kh·kw, column (y, x) of n = oh·ow, the value of x [channels][h][w] (int16) that output position reads
/// through kernel tap (i, j), 0 outside the input (the padding). `out` holds rnnrt_pairs_packed_count(k, n) values,
/// `scratch` 2·n.
void rnnrt_pack_conv_pairs(const int16_t *x, ptrdiff_t channels, ptrdiff_t h, ptrdiff_t w, ptrdiff_t kh, ptrdiff_t kw,
                           ptrdiff_t sh, ptrdiff_t sw, ptrdiff_t dh, ptrdiff_t dw, ptrdiff_t pad_top,
                           ptrdiff_t pad_left, ptrdiff_t oh, ptrdiff_t ow, int16_t *out, int16_t *scratch);

/// int8 values B [k × n] (rows ldb apart) packed as rnnrt_pack_pairs packs int16 ones, a byte per value, for
/// rnnrt_igemm_pair_bytes_avx2; rnnrt_pairs_packed_count(k, n) bytes.
void rnnrt_pack_pair_bytes(ptrdiff_t k, ptrdiff_t n, const int8_t *b, ptrdiff_t ldb, int8_t *out);

/// Whether the CPU (and the OS) run AVX-512 VNNI on 256-bit registers (vpdpwssd), for the *_vnni products.
int rnnrt_has_avx512_vnni(void);

/// rnnrt_igemm_pairs_avx2 and rnnrt_igemm_pair_bytes_avx2 on AVX-512 VNNI's vpdpwssd (the same sums).
void rnnrt_igemm_pairs_vnni(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                            const int16_t *packed, int32_t *c, ptrdiff_t ldc);
void rnnrt_igemm_pair_bytes_vnni(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                                 const int8_t *packed, int32_t *c, ptrdiff_t ldc);

/// B [k × n] of 8-bit values (bytes, int8 when is_signed, else uint8) minus `offset` (each difference must fit int8),
/// packed as rnnrt_pack_pair_bytes packs; rnnrt_pairs_packed_count(k, n) bytes.
void rnnrt_pack_pair_bytes_8bit(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset, int8_t *out);

/// out[r·ldo + j] = a[r·lda + j] + offset as uint8 for r < rows, j < k, and 0 for k ≤ j < ldo: integer-valued floats
/// that the offset brings into 0…255 as uint8 rows padded for rnnrt_igemm_quads_vnni.
void rnnrt_float_rows_to_uint8(const float *a, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t lda, int32_t offset, uint8_t *out,
                               ptrdiff_t ldo);

/// B [k × n] of 8-bit values (bytes, int8 when is_signed, else uint8) minus `offset` (each difference must fit int8)
/// packed for rnnrt_igemm_quads_vnni: slivers of 16 columns, each ⌈k/4⌉ groups of four rows side by side per column
/// (zeros past k and n), rnnrt_quads_packed_count(k, n) bytes; and each column's sum of B − offset.
size_t rnnrt_quads_packed_count(ptrdiff_t k, ptrdiff_t n);
void rnnrt_pack_quads_8bit(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset, int8_t *out,
                           int32_t *column_sums);

/// C[m×n] (int32, rows ldc apart) = A[m×k] · B′ exactly, wrapping, on AVX-512 VNNI's vpdpbusd: A uint8 (rows lda
/// apart, lda a multiple of 4, zeros from k to the next multiple of 4), B′ packed by rnnrt_pack_quads_8bit.
void rnnrt_igemm_quads_vnni(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const uint8_t *a, ptrdiff_t lda,
                            const int8_t *packed, int32_t *c, ptrdiff_t ldc);

/// C[i][j] += column[j] · (Σ_p a[i][p] − k · a_zero) − a_zero · column_sums[j], wrapping: with C = A · B′ (A uint8,
/// B′ = B − offset) and column[j] = offset − bZero[j], C becomes (A − a_zero) · (B − bZero) exactly.
void rnnrt_add_zero_point_terms(int32_t *c, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ldc, const uint8_t *a, ptrdiff_t lda,
                                ptrdiff_t k, int32_t a_zero, const int32_t *column_sums, const int32_t *column);

/// rnnrt_igemm_pairs_avx2 with B packed as bytes by rnnrt_pack_pair_bytes.
void rnnrt_igemm_pair_bytes_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                                 const int8_t *packed, int32_t *c, ptrdiff_t ldc);

/// c[i·ldc + j] += (Σ_{p<k} a[i·lda + p]) · column[j] for i < m, j < n, wrapping: the rank-one term of a product whose
/// B was stored shifted by a constant per column.
void rnnrt_add_row_sums_times(int32_t *c, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ldc, const int16_t *a, ptrdiff_t lda,
                              ptrdiff_t k, const int32_t *column);

/// C[m×n] (int32, rows ldc apart) = A[m×k] · B exactly, wrapping, with B packed by rnnrt_pack_pairs and A int16 with
/// rows lda apart holding an even count of values (2·⌈k/2⌉, a 0 after an odd k); every value at most 255 in magnitude
/// keeps each pair's sum of two products in int16 · int16 range (vpmaddwd).
void rnnrt_igemm_pairs_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                            const int16_t *packed, int32_t *c, ptrdiff_t ldc);

#endif
