// What the machine allows the batch-1 recurrences and the big products, next to what rnnrt's kernels do
// (developer tool, not CI; tools/bench/floors.sh builds and runs it). Every figure is a median over repeats:
//   read   — a loop that only reads a layout's bytes (eight vector adds in flight), its blocks in alternating
//            order from pass to pass as rnnrt_step_sequence_avx2 walks them: the floor for a step that reads them;
//   step   — rnnrt_step_sequence_avx2 on the real layout (input projection precomputed), per step;
//   gemm   — rnnrt_sgemm_packed_avx2 against OpenBLAS's cblas_sgemm (one thread) on the same operands,
//            alternating, when built with -DWITH_OPENBLAS.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>
#include <sys/mman.h>
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#ifdef WITH_OPENBLAS
#include <cblas.h>
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static int byValue(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, n, sizeof *v, byValue);
    return v[n / 2];
}
// 2 MB-aligned, huge pages asked for, zeroed (as rnnrt's KernelMemory does for large buffers).
static float *buffer(size_t floats) {
    size_t bytes = (floats * sizeof(float) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    void *p = 0;
    if (posix_memalign(&p, 2u << 20, bytes) != 0) { fprintf(stderr, "out of memory\n"); exit(1); }
    madvise(p, bytes, MADV_HUGEPAGE);
    memset(p, 0, bytes);
    return p;
}
static void fill(float *p, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) p[i] = (float)(rand() % 1000 - 500) * scale;
}

// Sum of n floats in blocks of `block` floats, the blocks last to first when `reverse`.
__attribute__((target("avx2,fma"), noinline)) static float readBlocks(const float *p, size_t n, size_t block, int reverse) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t blocks = n / block;
    for (size_t b = 0; b < blocks; b++) {
        const float *q = p + (reverse ? blocks - 1 - b : b) * block;
        for (size_t i = 0; i + 64 <= block; i += 64) {
            a0 = _mm256_add_ps(a0, _mm256_load_ps(q + i));      a1 = _mm256_add_ps(a1, _mm256_load_ps(q + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_load_ps(q + i + 16)); a3 = _mm256_add_ps(a3, _mm256_load_ps(q + i + 24));
            a4 = _mm256_add_ps(a4, _mm256_load_ps(q + i + 32)); a5 = _mm256_add_ps(a5, _mm256_load_ps(q + i + 40));
            a6 = _mm256_add_ps(a6, _mm256_load_ps(q + i + 48)); a7 = _mm256_add_ps(a7, _mm256_load_ps(q + i + 56));
        }
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    float r[8];
    _mm256_storeu_ps(r, s);
    return r[0] + r[7];
}

// One layer-direction at batch 1: its step layout read alone, then stepped through.
static void batchOne(const char *name, int kind, ptrdiff_t inputs, ptrdiff_t hidden, ptrdiff_t steps) {
    ptrdiff_t gates = kind == RNNRT_STEP_LSTM ? 4 : kind == RNNRT_STEP_GRU ? 3 : 1, gh = gates * hidden;
    float *wih = buffer((size_t)gh * inputs), *whh = buffer((size_t)gh * hidden), *bih = buffer(gh), *bhh = buffer(gh);
    fill(wih, (size_t)gh * inputs, 1e-4f);
    fill(whh, (size_t)gh * hidden, 1e-4f);
    rnnrt_weights none = {0, 0, 0, 0}, w = {whh, hidden, 0, 0};
    size_t count = rnnrt_step_packed_count(kind, 0, hidden);
    float *layout = buffer(count);
    rnnrt_step_pack(kind, 0, hidden, none, w, bih, bhh, layout);
    size_t block = count / (size_t)rnnrt_step_block_count(kind, hidden) / 64 * 64;
    float *xp = buffer((size_t)steps * gh), *out = buffer((size_t)steps * hidden);
    float *h = buffer(hidden), *c = buffer(hidden), *scratch = buffer(hidden + 8);
    fill(xp, (size_t)steps * gh, 1e-3f);
    rnnrt_step_layer layer = {layout, 0};
    enum { REPEATS = 21 };
    double read[REPEATS], step[REPEATS];
    float sink = 0;
    for (int r = 0; r < REPEATS; r++) {
        double t = now();
        for (ptrdiff_t s = 0; s < steps; s++) {
            sink += readBlocks(layout, count / 64 * 64, block, (int)(s & 1));
            __asm__ volatile("" ::: "memory");
        }
        read[r] = (now() - t) / (double)steps;
        memset(h, 0, (size_t)hidden * sizeof(float));
        memset(c, 0, (size_t)hidden * sizeof(float));
        t = now();
        rnnrt_step_sequence_avx2(kind, 0, layer, hidden, steps, 0, 0, xp, h, c, out, hidden, 0, scratch);
        step[r] = (now() - t) / (double)steps;
    }
    printf("%-28s layout %4zu KB  read %6.2f us/step  step %6.2f us/step  (step/read %.2f)%s\n", name,
           count * sizeof(float) / 1024, median(read, REPEATS) * 1e6, median(step, REPEATS) * 1e6,
           median(step, REPEATS) / median(read, REPEATS), sink == 12345 ? " " : "");
}

static void product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k) {
    float *a = buffer((size_t)m * k), *w = buffer((size_t)n * k), *c = buffer((size_t)m * n);
    float *packed = buffer(rnnrt_packed_b_count(k, n));
    fill(a, (size_t)m * k, 1e-3f);
    fill(w, (size_t)n * k, 1e-3f);
    rnnrt_pack_bt(n, k, w, packed);
    enum { REPEATS = 7 };
    double ours[REPEATS], blas[REPEATS], flops = 2.0 * (double)m * (double)n * (double)k;
    for (int r = 0; r < REPEATS; r++) {
        double t = now();
        rnnrt_sgemm_packed_avx2(m, n, k, a, k, packed, c, n, 0);
        ours[r] = now() - t;
#ifdef WITH_OPENBLAS
        t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1, a, (int)k, w, (int)k, 0, c,
                    (int)n);
        blas[r] = now() - t;
#else
        blas[r] = 0;
#endif
    }
    double o = median(ours, REPEATS), b = median(blas, REPEATS);
    printf("gemm %5td x %5td x %5td      rnnrt %5.1f GFLOP/s", m, n, k, flops / o / 1e9);
    if (b > 0) printf("  OpenBLAS %5.1f GFLOP/s  (rnnrt/OpenBLAS %.2f)", flops / b / 1e9, b / o);
    printf("\n");
}

int main(void) {
    if (!rnnrt_has_avx2_fma()) { fprintf(stderr, "needs AVX2 and FMA\n"); return 1; }
    batchOne("lstm_small_b1 LSTM(64,128)", RNNRT_STEP_LSTM, 64, 128, 100);
    batchOne("gru_speech_b1 GRU(256,256)", RNNRT_STEP_GRU, 256, 256, 500);
    product(3200, 2048, 256);   // lstm_bi_b16 layer 1's input projection (one direction)
    product(3200, 2048, 1024);  // layer 2's
    product(500, 768, 256);     // gru_speech_b1 layers 2 and 3
    return 0;
}
