// The lane mask of a vector's first lanes, for the AVX2 kernels' tails (internal to CRNNRTKernels).
#ifndef RNNRT_LANES_AVX2_H
#define RNNRT_LANES_AVX2_H
#if defined(__x86_64__) || defined(_M_X64)
#include <stddef.h>
#include <immintrin.h>

#ifndef AVX2
#define AVX2 __attribute__((target("avx2,fma")))
#endif

// Lanes j < n set (none for n ≤ 0, all for n ≥ 8), for maskload and maskstore: lanes not set load as 0 and are not
// written.
AVX2 static inline __m256i lanesBelow(ptrdiff_t n) {
    int count = n < 0 ? 0 : n > 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#endif
#endif
