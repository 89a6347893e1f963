// Declarations shared between the kernel files of CRNNRTKernels (not part of the module's interface).
#ifndef RNNRT_KERNELS_INTERNAL_H
#define RNNRT_KERNELS_INTERNAL_H

#include <stddef.h>
#include "rnnrt_kernels.h"

/// Gate blocks of a kind (RNNRT_STEP_*): LSTM 4, GRU 3, RNN 1.
static inline ptrdiff_t rnnrt_step_gates(int kind) {
    return kind == RNNRT_STEP_LSTM ? 4 : kind == RNNRT_STEP_GRU ? 3 : 1;
}

/// W[row][col] of W [n×k] in either of its rnnrt_weights forms.
static inline float rnnrt_weight_at(rnnrt_weights w, ptrdiff_t k, ptrdiff_t row, ptrdiff_t col) {
    if (w.packed) return w.data[(size_t)(row / 16) * (size_t)k * 16 + (size_t)col * 16 + (size_t)(row % 16)];
    return w.data[(size_t)row * (size_t)w.ld + (size_t)col];
}

/// rnnrt_weights_multiply with the scratch a row-sliver product needs (rnnrt_row_slivers_scratch floats; NULL:
/// allocated per call when it is used), for loops that make the same product step after step.
void rnnrt_weights_product_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, rnnrt_weights w,
                                float *c, ptrdiff_t ldc, int accumulate, float *scratch);

/// rnnrt_sgemm_packed_avx2 over several column ranges of the packed B at once, A packed once for all: range r is
/// columns [starts[r], starts[r] + width) of B (starts[r] a multiple of 16), written to the same columns of C (c
/// points at column 0). A thread computing its units of every gate makes one call instead of one per gate.
void rnnrt_sgemm_packed_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed_b,
                                    ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c,
                                    ptrdiff_t ldc, int accumulate);

/// Floats of scratch rnnrt_row_slivers_ranges_avx2 needs for m rows of A, ranges of `width` columns and inner size k.
size_t rnnrt_row_slivers_scratch(ptrdiff_t m, ptrdiff_t width, ptrdiff_t k);

/// rnnrt_sgemm_packed_ranges_avx2 on W's row slivers (rnnrt_pack_row_slivers; `w6`): columns [starts[r], starts[r] +
/// width) of C (+)= A · W[those rows]ᵀ for each range r (any start: the slivers a range overlaps are computed whole and
/// only its columns written); Aᵀ is packed once for all ranges into `scratch`.
void rnnrt_row_slivers_ranges_avx2(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *w6,
                                   ptrdiff_t ranges, const ptrdiff_t *starts, ptrdiff_t width, float *c, ptrdiff_t ldc,
                                   int accumulate, float *scratch);

// Inline forms of small functions that products in other files call on every call, which would otherwise cost them a
// call each time; each exported function is its inline form.

/// rnnrt_packed_b_count.
static inline size_t rnnrt_packed_b_count_inline(ptrdiff_t k, ptrdiff_t n) {
    return (size_t)((n + 15) / 16) * (size_t)k * 16;
}

/// rnnrt_sgemm_packed_avx2: the packed product as one range of rnnrt_sgemm_packed_ranges_avx2.
static inline void rnnrt_sgemm_packed_inline(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                             const float *packed_b, float *c, ptrdiff_t ldc, int accumulate) {
    ptrdiff_t start = 0;
    rnnrt_sgemm_packed_ranges_avx2(m, k, a, lda, packed_b, 1, &start, n, c, ldc, accumulate);
}

/// Rows of A per register tile on row slivers for a product with m rows of A: 16 (13–16, 31, 32 rows) or 8 (7, 8
/// rows) where that pads fewer rows than the other forms' tiles of 6 rows of A, else 0: at those counts row slivers
/// beat the packed form, at others (12, 24, 48, 64 rows) tiles of 16 lose to it or only tie.
static inline ptrdiff_t rnnrt_row_sliver_tile(ptrdiff_t m) {
    if (m == 7 || m == 8) return 8;
    return m >= 13 && m <= 32 && (m + 15) / 16 * 16 < (m + 5) / 6 * 6 ? 16 : 0;
}

/// rnnrt_row_slivers_suit.
static inline int rnnrt_row_slivers_suit_inline(ptrdiff_t m) { return rnnrt_row_sliver_tile(m) != 0; }

/// rnnrt_row_slivers_scratch: Aᵀ in tiles of rows of A, and Cᵀ for the slivers one range overlaps (at most width + 10
/// rows; with slack).
static inline size_t rnnrt_row_slivers_scratch_inline(ptrdiff_t m, ptrdiff_t width, ptrdiff_t k) {
    size_t ld = (size_t)(m + 15) / 16 * 16;
    return ld * (size_t)k + ld * (size_t)(width + 18);
}

/// Blocks of units of a rnnrt_step_pack layout: how many a layer of `hidden` units has.
ptrdiff_t rnnrt_step_block_count(int kind, ptrdiff_t hidden);

/// Units in each block but the last (which holds what is left).
ptrdiff_t rnnrt_step_block_units(int kind);

/// One step of blocks [first, end) of a layer on its rnnrt_step_pack layout `w` (with `inputs` input columns): the
/// new h of their units into hNew (at the units' own offsets, whole vectors: hNew holds the hidden size rounded up
/// to 8), c (LSTM) updated in place, hOld (all units) read; `xp` (or NULL) an input projection row added to the
/// start values; blocks last to first when `reverse`.
void rnnrt_step_blocks_avx2(int kind, int relu, ptrdiff_t inputs, ptrdiff_t hidden, const float *x, const float *w,
                            const float *xp, const float *hOld, float *c, float *hNew, ptrdiff_t first, ptrdiff_t end,
                            int reverse);

#endif
