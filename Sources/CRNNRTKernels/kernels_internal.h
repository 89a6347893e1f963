// Declarations shared between the kernel files of CRNNRTKernels (not part of the module's interface).
#ifndef RNNRT_KERNELS_INTERNAL_H
#define RNNRT_KERNELS_INTERNAL_H

#include <stddef.h>

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
