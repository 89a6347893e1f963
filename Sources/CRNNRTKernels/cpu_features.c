// Whether the CPU can run the AVX2/FMA kernels (see include/rnnrt_kernels.h).
#include "rnnrt_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
int rnnrt_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
int rnnrt_has_avx2_fma(void) { return 0; }
#endif
