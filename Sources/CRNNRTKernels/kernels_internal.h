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
