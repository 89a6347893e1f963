// 3×3 convolutions at stride 1 by Winograd's F(2×2, 3×3) (see include/rnnrt_kernels.h): each 2×2 block of outputs
// from a 4×4 block of the input in 16 products of transformed values instead of 36, the 16 products of a block of
// tiles being 16 matrix products on the register tiles of the packed products (tiles_avx2.h).
//
// With d a 4×4 input block, g a 3×3 kernel and Y the 2×2 outputs: U = G g Gᵀ (at load), V = Bᵀ d B, M = Σ_c U ⊙ V,
// Y = Aᵀ M A, where
//     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1].
#include "rnnrt_kernels.h"
#include <string.h>

size_t rnnrt_winograd_weights_count(ptrdiff_t m, ptrdiff_t c) { return (size_t)16 * (size_t)((m + 5) / 6) * 6 * (size_t)c; }

void rnnrt_winograd_pack_weights(ptrdiff_t m, ptrdiff_t c, const float *w, float *u) {
    size_t slivers = (size_t)((m + 5) / 6), per = slivers * 6 * (size_t)c;
    memset(u, 0, 16 * per * sizeof(float));
    for (ptrdiff_t o = 0; o < m; o++) {
        for (ptrdiff_t ci = 0; ci < c; ci++) {
            const float *g = w + (o * c + ci) * 9;
            float t[4][3];  // G g
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                float v[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; j++)
                    u[(size_t)(i * 4 + j) * per + (size_t)(o / 6) * (size_t)c * 6 + (size_t)ci * 6 + (size_t)(o % 6)] = v[j];
            }
        }
    }
}

size_t rnnrt_winograd_scratch(ptrdiff_t m, ptrdiff_t c) {
    // V: 16 panels of [c][16]; M: 16 × m rows × 16 tiles, and the 8 floats a last group of 8 tiles may read past it.
    return (size_t)16 * 16 * (size_t)c + (size_t)16 * 16 * (size_t)((m + 5) / 6) * 6 + 8;
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#include "tiles_avx2.h"

// The 4×4 input block of tile (ty, tx) from the image [rows × cols] (zero outside it) into d.
static inline void inputBlock(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ty, ptrdiff_t tx, float d[16]) {
    ptrdiff_t r0 = 2 * ty, c0 = 2 * tx;
    if (r0 + 4 <= rows && c0 + 4 <= cols) {
        for (int i = 0; i < 4; i++) memcpy(d + 4 * i, x + (r0 + i) * cols + c0, 4 * sizeof(float));
        return;
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) d[4 * i + j] = r0 + i < rows && c0 + j < cols ? x[(r0 + i) * cols + c0 + j] : 0;
}

// V = Bᵀ d B of one block into v[16] (index 4i + j).
static inline void inputTransform(const float d[16], float v[16]) {
    float t[16];
    for (int j = 0; j < 4; j++) {
        t[0 + j] = d[0 + j] - d[8 + j];
        t[4 + j] = d[4 + j] + d[8 + j];
        t[8 + j] = d[8 + j] - d[4 + j];
        t[12 + j] = d[4 + j] - d[12 + j];
    }
    for (int i = 0; i < 4; i++) {
        const float *r = t + 4 * i;
        v[4 * i + 0] = r[0] - r[2];
        v[4 * i + 1] = r[1] + r[2];
        v[4 * i + 2] = r[2] - r[1];
        v[4 * i + 3] = r[1] - r[3];
    }
}

// Y = Aᵀ M A of one block: m[16] (index 4i + j) into y[4] (index 2i + j).
static inline void outputTransform(const float m[16], float y[4]) {
    float t[8];
    for (int j = 0; j < 4; j++) {
        t[j] = m[j] + m[4 + j] + m[8 + j];
        t[4 + j] = m[4 + j] - m[8 + j] - m[12 + j];
    }
    for (int i = 0; i < 2; i++) {
        y[2 * i] = t[4 * i] + t[4 * i + 1] + t[4 * i + 2];
        y[2 * i + 1] = t[4 * i + 1] - t[4 * i + 2] - t[4 * i + 3];
    }
}

// The even and the odd elements of a[0..8], b[0..8], in order.
AVX2 static inline __m256 evens(__m256 a, __m256 b) {
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
AVX2 static inline __m256 odds(__m256 a, __m256 b) {
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

// inputTransform for the 8 tiles (ty, tx0 + l) of one tile row at once, lane l each: row i of their input blocks is
// elements 2l + j of image line 2ty + i. Writes v[e·stride + l].
AVX2 static void inputTransform8(const float *plane, ptrdiff_t cols, ptrdiff_t ty, ptrdiff_t tx0, float *v,
                                 size_t stride) {
    __m256 d[4][4];
    for (int i = 0; i < 4; i++) {
        const float *row = plane + (2 * ty + i) * cols + 2 * tx0;
        __m256 a = _mm256_loadu_ps(row), b = _mm256_loadu_ps(row + 8);
        __m256 a2 = _mm256_loadu_ps(row + 2), b2 = _mm256_loadu_ps(row + 10);
        d[i][0] = evens(a, b);
        d[i][1] = odds(a, b);
        d[i][2] = evens(a2, b2);
        d[i][3] = odds(a2, b2);
    }
    for (int j = 0; j < 4; j++) {
        __m256 t0 = _mm256_sub_ps(d[0][j], d[2][j]), t1 = _mm256_add_ps(d[1][j], d[2][j]);
        __m256 t2 = _mm256_sub_ps(d[2][j], d[1][j]), t3 = _mm256_sub_ps(d[1][j], d[3][j]);
        d[0][j] = t0; d[1][j] = t1; d[2][j] = t2; d[3][j] = t3;
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(v + (size_t)(4 * i + 0) * stride, _mm256_sub_ps(d[i][0], d[i][2]));
        _mm256_storeu_ps(v + (size_t)(4 * i + 1) * stride, _mm256_add_ps(d[i][1], d[i][2]));
        _mm256_storeu_ps(v + (size_t)(4 * i + 2) * stride, _mm256_sub_ps(d[i][2], d[i][1]));
        _mm256_storeu_ps(v + (size_t)(4 * i + 3) * stride, _mm256_sub_ps(d[i][1], d[i][3]));
    }
}

// outputTransform for 8 tiles of one tile row, lane l each (q[e·stride + l]): the 2×2 blocks plus `bias`, as 16
// consecutive outputs of each of two lines, into lines[0] and lines[1] (written, or added to when `accumulate`).
AVX2 static void outputTransform8(const float *q, size_t stride, float bias, float *line0, float *line1,
                                  int accumulate) {
    __m256 m[16];
    for (int e = 0; e < 16; e++) m[e] = _mm256_loadu_ps(q + (size_t)e * stride);
    __m256 t[2][4];
    for (int j = 0; j < 4; j++) {
        t[0][j] = _mm256_add_ps(_mm256_add_ps(m[j], m[4 + j]), m[8 + j]);
        t[1][j] = _mm256_sub_ps(_mm256_sub_ps(m[4 + j], m[8 + j]), m[12 + j]);
    }
    __m256 b = _mm256_set1_ps(bias);
    float *lines[2] = {line0, line1};
    for (int i = 0; i < 2; i++) {
        __m256 y0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(t[i][0], t[i][1]), t[i][2]), b);
        __m256 y1 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(t[i][1], t[i][2]), t[i][3]), b);
        __m256 lo = _mm256_unpacklo_ps(y0, y1), hi = _mm256_unpackhi_ps(y0, y1);
        __m256 first = _mm256_permute2f128_ps(lo, hi, 0x20), second = _mm256_permute2f128_ps(lo, hi, 0x31);
        if (accumulate) {
            first = _mm256_add_ps(first, _mm256_loadu_ps(lines[i]));
            second = _mm256_add_ps(second, _mm256_loadu_ps(lines[i] + 8));
        }
        _mm256_storeu_ps(lines[i], first);
        _mm256_storeu_ps(lines[i] + 8, second);
    }
}

// packedTile in a frame of its own (inlined into the loops below, it would share their registers and spill).
AVX2 __attribute__((noinline)) static void winogradTile(ptrdiff_t rows, ptrdiff_t k, const float *pa, const float *pb,
                                                       float *out) {
    __m256 acc[12];
    packedTile(rows, k, pa, pb, acc);
    for (ptrdiff_t r = 0; r < rows; r++) {
        _mm256_storeu_ps(out + 16 * r, acc[2 * r]);
        _mm256_storeu_ps(out + 16 * r + 8, acc[2 * r + 1]);
    }
}

// The geometry of one image's tiles.
typedef struct {
    ptrdiff_t m, c, rows, cols, oh, ow, tilesWide;
} WinogradShape;

// V of tiles [t0, t0 + count) (the rest of the 16 zero) into 16 panels [c][16], 8 tiles of a tile row at a time (a
// last group of fewer through a scratch panel: the lanes past them read whatever lies there and are not kept).
AVX2 static void transformInputs(WinogradShape g, ptrdiff_t t0, ptrdiff_t count, const float *x, float *v) {
    size_t stride = (size_t)g.c * 16;
    for (ptrdiff_t ci = 0; ci < g.c; ci++) {
        const float *plane = x + ci * g.rows * g.cols;
        float *panel = v + (size_t)ci * 16;
        if (count < 16)
            for (int e = 0; e < 16; e++) memset(panel + (size_t)e * stride + count, 0, (size_t)(16 - count) * sizeof(float));
        for (ptrdiff_t t = 0; t < count;) {
            ptrdiff_t ty = (t0 + t) / g.tilesWide, tx = (t0 + t) % g.tilesWide;
            ptrdiff_t n = count - t < g.tilesWide - tx ? count - t : g.tilesWide - tx;
            if (n > 8) n = 8;
            if (n == 8) {
                inputTransform8(plane, g.cols, ty, tx, panel + t, stride);
            } else {
                float part[16 * 8];
                inputTransform8(plane, g.cols, ty, tx, part, 8);
                for (int e = 0; e < 16; e++) memcpy(panel + (size_t)e * stride + t, part + 8 * e, (size_t)n * sizeof(float));
            }
            t += n;
        }
    }
}

// Y of tiles [t0, t0 + count) from their products mm [16][padded rows][16], plus the bias, into y [m][oh][ow], 8 tiles
// of a tile row at a time (a group that reaches past the output through a scratch pair of lines).
AVX2 static void transformOutputs(WinogradShape g, ptrdiff_t t0, ptrdiff_t count, const float *mm, ptrdiff_t padded,
                                  const float *bias, float *y, int accumulate) {
    size_t stride = (size_t)padded * 16;
    for (ptrdiff_t o = 0; o < g.m; o++) {
        float b = bias ? bias[o] : 0;
        for (ptrdiff_t t = 0; t < count;) {
            ptrdiff_t ty = (t0 + t) / g.tilesWide, tx = (t0 + t) % g.tilesWide;
            ptrdiff_t n = count - t < g.tilesWide - tx ? count - t : g.tilesWide - tx;
            if (n > 8) n = 8;
            float *line = y + (o * g.oh + 2 * ty) * g.ow + 2 * tx;
            const float *q = mm + (size_t)o * 16 + (size_t)t;
            if (n == 8 && 2 * (tx + 8) <= g.ow && 2 * ty + 2 <= g.oh) {
                outputTransform8(q, stride, b, line, line + g.ow, accumulate);
            } else {
                float part[2][16];
                outputTransform8(q, stride, b, part[0], part[1], 0);
                ptrdiff_t columns = g.ow - 2 * tx < 2 * n ? g.ow - 2 * tx : 2 * n;
                for (int i = 0; i < 2 && 2 * ty + i < g.oh; i++)
                    for (ptrdiff_t j = 0; j < columns; j++) {
                        float *dst = line + i * g.ow + j;
                        *dst = accumulate ? *dst + part[i][j] : part[i][j];
                    }
            }
            t += n;
        }
    }
}

// Tiles [t0, t0 + count) (count ≤ 16) of one image: transformed into v, multiplied into mm, and written to y.
AVX2 static void tileBlock(WinogradShape g, ptrdiff_t t0, ptrdiff_t count, const float *x, const float *u,
                           const float *bias, float *y, int accumulate, float *v, float *mm) {
    size_t slivers = (size_t)((g.m + 5) / 6), per = slivers * 6 * (size_t)g.c;
    transformInputs(g, t0, count, x, v);
    ptrdiff_t padded = (ptrdiff_t)slivers * 6;
    for (int e = 0; e < 16; e++)
        for (ptrdiff_t s = 0; s < (ptrdiff_t)slivers; s++) {
            ptrdiff_t rows = g.m - 6 * s < 6 ? g.m - 6 * s : 6;
            winogradTile(rows, g.c, u + (size_t)e * per + (size_t)s * (size_t)g.c * 6, v + (size_t)e * (size_t)g.c * 16,
                         mm + ((size_t)e * (size_t)padded + (size_t)s * 6) * 16);
        }
    transformOutputs(g, t0, count, mm, padded, bias, y, accumulate);
}

AVX2 void rnnrt_winograd_conv_avx2(ptrdiff_t m, ptrdiff_t c, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t oh, ptrdiff_t ow,
                                   const float *x, const float *u, const float *bias, float *y, int accumulate,
                                   float *scratch) {
    if (m <= 0 || c <= 0 || oh <= 0 || ow <= 0) return;
    WinogradShape g = {m, c, rows, cols, oh, ow, (ow + 1) / 2};
    ptrdiff_t tiles = g.tilesWide * ((oh + 1) / 2);
    float *v = scratch, *mm = scratch + (size_t)16 * 16 * (size_t)c;
    for (ptrdiff_t t0 = 0; t0 < tiles; t0 += 16)
        tileBlock(g, t0, tiles - t0 < 16 ? tiles - t0 : 16, x, u, bias, y, accumulate, v, mm);
}

#else
void rnnrt_winograd_conv_avx2(ptrdiff_t m, ptrdiff_t c, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t oh, ptrdiff_t ow,
                              const float *x, const float *u, const float *bias, float *y, int accumulate,
                              float *scratch) {}
#endif
