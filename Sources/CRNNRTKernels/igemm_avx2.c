// Exact integer products of 8-bit operands (zero points subtracted, so each value is an int16 of magnitude ≤ 255) on
// AVX2's vpmaddwd: each instruction multiplies eight pairs of int16 lanes and adds each pair's two products into an
// int32 lane, 16 multiply-adds; the int32 sums wrap as onnxruntime's integer kernels do. See include/rnnrt_kernels.h.
//
// The right operand B [k × n] is packed in slivers of 16 columns, each [⌈k/2⌉][16][2]: for every pair of rows
// (2q, 2q + 1), the 16 columns' two values side by side (row 2q + 1 is 0 past k). A row of A gives the pair
// (A[2q], A[2q + 1]) as one 32-bit broadcast, so A's rows hold an even number of values (a 0 after an odd k).
#include "rnnrt_kernels.h"

#include <string.h>

size_t rnnrt_pairs_packed_count(ptrdiff_t k, ptrdiff_t n) {
    return (size_t)((n + 15) / 16) * (size_t)((k + 1) / 2) * 32;
}

// The packing loop of rnnrt_pack_pairs with the value of row r, column j given by VALUE(r, j), into out (of TYPE),
// for the slivers from FIRST on: a pair of rows at a time, so B is read in order.
#define PACK_PAIRS(TYPE, VALUE, FIRST)                                                                              \
    ptrdiff_t pairs = (k + 1) / 2;                                                                                  \
    for (ptrdiff_t q = 0; q < pairs; q++) {                                                                         \
        for (ptrdiff_t s = (FIRST); s * 16 < n; s++) {                                                             \
            ptrdiff_t cols = n - s * 16 < 16 ? n - s * 16 : 16;                                                     \
            TYPE *dst = out + ((size_t)s * (size_t)pairs + (size_t)q) * 32;                                         \
            for (ptrdiff_t j = 0; j < 16; j++) {                                                                    \
                ptrdiff_t col = s * 16 + j;                                                                         \
                dst[2 * j] = j < cols ? (TYPE)(VALUE(2 * q, col)) : 0;                                              \
                dst[2 * j + 1] = j < cols && 2 * q + 1 < k ? (TYPE)(VALUE(2 * q + 1, col)) : 0;                     \
            }                                                                                                       \
        }                                                                                                           \
    }

// Value i of 8-bit B held as bytes: int8 when is_signed, else uint8.
static inline int32_t byte_value(const uint8_t *b, ptrdiff_t i, int is_signed) {
    return is_signed ? (int32_t)(int8_t)b[i] : (int32_t)b[i];
}

// The full slivers (of 16 columns) of 8-bit B packed by rnnrt_pack_pair_bytes_8bit; returns how many (the rest are
// packed value by value).
static ptrdiff_t pack_8bit_full_slivers(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset,
                                        int8_t *out);

void rnnrt_pack_pair_bytes_8bit(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset, int8_t *out) {
    ptrdiff_t full = pack_8bit_full_slivers(k, n, b, is_signed, offset, out);
#define SHIFTED(r, j) (byte_value(b, (r) * n + (j), is_signed) - offset)
    PACK_PAIRS(int8_t, SHIFTED, full)
#undef SHIFTED
}

size_t rnnrt_quads_packed_count(ptrdiff_t k, ptrdiff_t n) {
    return (size_t)((n + 15) / 16) * (size_t)((k + 3) / 4) * 64;
}

// The full slivers (of 16 columns) of rnnrt_pack_quads_8bit for the two offsets its callers use (B − 128 for uint8,
// B for int8); returns how many (0 for another offset: the rest are packed value by value).
static ptrdiff_t pack_quads_full_slivers(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset,
                                         int8_t *out);

void rnnrt_pack_quads_8bit(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset, int8_t *out,
                           int32_t *column_sums) {
    ptrdiff_t quads = (k + 3) / 4, full = pack_quads_full_slivers(k, n, b, is_signed, offset, out);
    for (ptrdiff_t j = 0; j < n; j++) column_sums[j] = 0;
    for (ptrdiff_t p = 0; p < k; p++)
        for (ptrdiff_t j = 0; j < n; j++)
            column_sums[j] += byte_value(b, p * n + j, is_signed) - offset;
    for (ptrdiff_t q = 0; q < quads; q++)
        for (ptrdiff_t s = full; s * 16 < n; s++) {
            int8_t *dst = out + ((size_t)s * (size_t)quads + (size_t)q) * 64;
            for (ptrdiff_t j = 0; j < 16; j++)
                for (ptrdiff_t t = 0; t < 4; t++) {
                    ptrdiff_t col = s * 16 + j, row = 4 * q + t;
                    dst[4 * j + t] = (int8_t)(col < n && row < k ? byte_value(b, row * n + col, is_signed) - offset : 0);
                }
        }
}

void rnnrt_add_zero_point_terms(int32_t *c, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ldc, const uint8_t *a, ptrdiff_t lda,
                                ptrdiff_t k, int32_t a_zero, const int32_t *column_sums, const int32_t *column) {
    for (ptrdiff_t i = 0; i < m; i++) {
        uint32_t sum = 0;  // unsigned: every term wraps as the product's sums do
        for (ptrdiff_t p = 0; p < k; p++) sum += a[i * lda + p];
        uint32_t shifted = sum - (uint32_t)k * (uint32_t)a_zero;
        uint32_t *row = (uint32_t *)(c + i * ldc);
        for (ptrdiff_t j = 0; j < n; j++)
            row[j] += (uint32_t)column[j] * shifted - (uint32_t)a_zero * (uint32_t)column_sums[j];
    }
}

void rnnrt_pack_pairs(ptrdiff_t k, ptrdiff_t n, const int16_t *b, ptrdiff_t ldb, int16_t *out) {
#define VALUE(r, j) b[(r) * ldb + (j)]
    PACK_PAIRS(int16_t, VALUE, 0)
#undef VALUE
}

void rnnrt_pack_pair_bytes(ptrdiff_t k, ptrdiff_t n, const int8_t *b, ptrdiff_t ldb, int8_t *out) {
#define VALUE(r, j) b[(r) * ldb + (j)]
    PACK_PAIRS(int8_t, VALUE, 0)
#undef VALUE
}

void rnnrt_add_row_sums_times(int32_t *c, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ldc, const int16_t *a, ptrdiff_t lda,
                              ptrdiff_t k, const int32_t *column) {
    for (ptrdiff_t i = 0; i < m; i++) {
        uint32_t sum = 0;  // unsigned: the sums wrap as the product's do
        for (ptrdiff_t p = 0; p < k; p++) sum += (uint32_t)(int32_t)a[i * lda + p];
        uint32_t *row = (uint32_t *)(c + i * ldc);
        for (ptrdiff_t j = 0; j < n; j++) row[j] += sum * (uint32_t)column[j];
    }
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma")))

// A tile's ROWS × 16 sums to c (rows ldc apart), its first `cols` columns.
AVX2 static inline void store_tile(const int ROWS, __m256i acc[4][2], int32_t *c, ptrdiff_t ldc, ptrdiff_t cols) {
    for (int r = 0; r < ROWS; r++) {
        if (cols == 16) {
            _mm256_storeu_si256((__m256i *)(c + r * ldc), acc[r][0]);
            _mm256_storeu_si256((__m256i *)(c + r * ldc + 8), acc[r][1]);
        } else {
            int32_t row[16];
            _mm256_storeu_si256((__m256i *)row, acc[r][0]);
            _mm256_storeu_si256((__m256i *)(row + 8), acc[r][1]);
            memcpy(c + r * ldc, row, (size_t)cols * sizeof(int32_t));
        }
    }
}

// The products, one per form of B (int16 pairs, or bytes widened as they are read) and per instruction set: AVX2's
// vpmaddwd then vpaddd, or AVX-512 VNNI's vpdpwssd, which does both in one instruction (on 256-bit registers, as the
// AVX2 form). Each tile multiplies ROWS rows of A (rows lda apart, `pairs` pairs each) by one sliver: 16 int32 sums
// per row, stored to c (ldc apart) for the first `cols` columns.
#define LOAD_PAIRS(sliver, q, half) _mm256_loadu_si256((const __m256i *)((sliver) + (q) * 32 + 16 * (half)))
#define LOAD_BYTES(sliver, q, half) \
    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)((sliver) + (q) * 32 + 16 * (half))))
#define MAC_AVX2(acc, v, b) _mm256_add_epi32((acc), _mm256_madd_epi16((v), (b)))
#define MAC_VNNI(acc, v, b) _mm256_dpwssd_epi32((acc), (v), (b))

#define DEFINE_IGEMM(NAME, LINKAGE, ATTRIBUTES, ELEMENT, LOAD, MAC)                                                           \
    ATTRIBUTES static inline void NAME##_tile(const int ROWS, ptrdiff_t pairs, const int16_t *a, ptrdiff_t lda,     \
                                              const ELEMENT *sliver, int32_t *c, ptrdiff_t ldc, ptrdiff_t cols) {   \
        /* SETS interleaved sets of accumulators over the pairs, so that one or two rows still keep eight sums */ \
        /* in flight (vpdpwssd waits for its accumulator); the sets are added at the end, in int32 as the rest. */ \
        const int SETS = ROWS == 1 ? 4 : ROWS == 2 ? 2 : 1;                                                         \
        __m256i acc[4][2];                                                                                          \
        for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();                                 \
        ptrdiff_t q = 0;                                                                                            \
        for (; q + SETS <= pairs; q += SETS) {                                                                      \
            for (int set = 0; set < SETS; set++) {                                                                  \
                __m256i b0 = LOAD(sliver, q + set, 0), b1 = LOAD(sliver, q + set, 1);                               \
                for (int r = 0; r < ROWS; r++) {                                                                    \
                    int32_t pair;                                                                                   \
                    memcpy(&pair, a + r * lda + 2 * (q + set), sizeof pair);                                        \
                    __m256i v = _mm256_set1_epi32(pair);                                                            \
                    acc[set * ROWS + r][0] = MAC(acc[set * ROWS + r][0], v, b0);                                    \
                    acc[set * ROWS + r][1] = MAC(acc[set * ROWS + r][1], v, b1);                                    \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        for (; q < pairs; q++) {                                                                                    \
            __m256i b0 = LOAD(sliver, q, 0), b1 = LOAD(sliver, q, 1);                                               \
            for (int r = 0; r < ROWS; r++) {                                                                        \
                int32_t pair;                                                                                       \
                memcpy(&pair, a + r * lda + 2 * q, sizeof pair);                                                    \
                __m256i v = _mm256_set1_epi32(pair);                                                                \
                acc[r][0] = MAC(acc[r][0], v, b0);                                                                  \
                acc[r][1] = MAC(acc[r][1], v, b1);                                                                  \
            }                                                                                                       \
        }                                                                                                           \
        for (int set = 1; set < SETS; set++) {                                                                      \
            for (int r = 0; r < ROWS; r++) {                                                                        \
                acc[r][0] = _mm256_add_epi32(acc[r][0], acc[set * ROWS + r][0]);                                    \
                acc[r][1] = _mm256_add_epi32(acc[r][1], acc[set * ROWS + r][1]);                                    \
            }                                                                                                       \
        }                                                                                                           \
        store_tile(ROWS, acc, c, ldc, cols);                                                                        \
    }                                                                                                               \
    LINKAGE ATTRIBUTES void NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,            \
                         const ELEMENT *packed, int32_t *c, ptrdiff_t ldc) {                                        \
        ptrdiff_t pairs = (k + 1) / 2;                                                                              \
        for (ptrdiff_t s = 0; s * 16 < n; s++) {                                                                    \
            const ELEMENT *sliver = packed + (size_t)s * (size_t)pairs * 32;                                        \
            ptrdiff_t cols = n - s * 16 < 16 ? n - s * 16 : 16;                                                     \
            int32_t *cs = c + s * 16;                                                                               \
            ptrdiff_t i = 0;                                                                                        \
            for (; i + 4 <= m; i += 4) NAME##_tile(4, pairs, a + i * lda, lda, sliver, cs + i * ldc, ldc, cols);    \
            switch (m - i) {                                                                                        \
            case 3: NAME##_tile(3, pairs, a + i * lda, lda, sliver, cs + i * ldc, ldc, cols); break;                \
            case 2: NAME##_tile(2, pairs, a + i * lda, lda, sliver, cs + i * ldc, ldc, cols); break;                \
            case 1: NAME##_tile(1, pairs, a + i * lda, lda, sliver, cs + i * ldc, ldc, cols); break;                \
            default: break;                                                                                         \
            }                                                                                                       \
        }                                                                                                           \
    }

#define VNNI __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni")))

DEFINE_IGEMM(rnnrt_igemm_pairs_avx2, , AVX2, int16_t, LOAD_PAIRS, MAC_AVX2)
DEFINE_IGEMM(rnnrt_igemm_pair_bytes_avx2, , AVX2, int8_t, LOAD_BYTES, MAC_AVX2)
DEFINE_IGEMM(igemm_pairs_vnni_slivers, static, VNNI, int16_t, LOAD_PAIRS, MAC_VNNI)
DEFINE_IGEMM(igemm_pair_bytes_vnni_slivers, static, VNNI, int8_t, LOAD_BYTES, MAC_VNNI)

// The VNNI products of three or more rows take two slivers (32 columns) and up to six rows at a time: 24 of AVX-512's
// 32 vector registers hold the sums, so each loaded pair row of B serves six rows of A and each broadcast four
// instructions. Narrower products, and the columns past the last full pair of slivers, go sliver by sliver.
#define DEFINE_IGEMM_WIDE(NAME, ELEMENT, LOAD, SLIVERS)                                                              \
    VNNI static inline void NAME##_tile(const int ROWS, ptrdiff_t pairs, const int16_t *a, ptrdiff_t lda,           \
                                        const ELEMENT *s0, const ELEMENT *s1, int32_t *c, ptrdiff_t ldc) {           \
        __m256i acc[6][4];                                                                                          \
        for (int r = 0; r < ROWS; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_si256();      \
        for (ptrdiff_t q = 0; q < pairs; q++) {                                                                     \
            __m256i b0 = LOAD(s0, q, 0), b1 = LOAD(s0, q, 1), b2 = LOAD(s1, q, 0), b3 = LOAD(s1, q, 1);             \
            for (int r = 0; r < ROWS; r++) {                                                                        \
                int32_t pair;                                                                                       \
                memcpy(&pair, a + r * lda + 2 * q, sizeof pair);                                                    \
                __m256i v = _mm256_set1_epi32(pair);                                                                \
                acc[r][0] = MAC_VNNI(acc[r][0], v, b0);                                                             \
                acc[r][1] = MAC_VNNI(acc[r][1], v, b1);                                                             \
                acc[r][2] = MAC_VNNI(acc[r][2], v, b2);                                                             \
                acc[r][3] = MAC_VNNI(acc[r][3], v, b3);                                                             \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < ROWS; r++) {                                                                            \
            for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)(c + r * ldc + 8 * j), acc[r][j]);           \
        }                                                                                                           \
    }                                                                                                               \
    VNNI void NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda, const ELEMENT *packed,    \
                   int32_t *c, ptrdiff_t ldc) {                                                                     \
        if (m < 3) { SLIVERS(m, n, k, a, lda, packed, c, ldc); return; }                                            \
        ptrdiff_t pairs = (k + 1) / 2, wide = n / 32 * 32;                                                          \
        for (ptrdiff_t s = 0; s * 16 < wide; s += 2) {                                                              \
            const ELEMENT *s0 = packed + (size_t)s * (size_t)pairs * 32, *s1 = s0 + (size_t)pairs * 32;             \
            int32_t *cs = c + s * 16;                                                                               \
            ptrdiff_t i = 0;                                                                                        \
            for (; i + 6 <= m; i += 6) NAME##_tile(6, pairs, a + i * lda, lda, s0, s1, cs + i * ldc, ldc);          \
            switch (m - i) {                                                                                        \
            case 5: NAME##_tile(5, pairs, a + i * lda, lda, s0, s1, cs + i * ldc, ldc); break;                      \
            case 4: NAME##_tile(4, pairs, a + i * lda, lda, s0, s1, cs + i * ldc, ldc); break;                      \
            case 3: NAME##_tile(3, pairs, a + i * lda, lda, s0, s1, cs + i * ldc, ldc); break;                      \
            case 2: NAME##_tile(2, pairs, a + i * lda, lda, s0, s1, cs + i * ldc, ldc); break;                      \
            case 1: NAME##_tile(1, pairs, a + i * lda, lda, s0, s1, cs + i * ldc, ldc); break;                      \
            default: break;                                                                                         \
            }                                                                                                       \
        }                                                                                                           \
        if (wide < n) SLIVERS(m, n - wide, k, a, lda, packed + (size_t)(wide / 16) * (size_t)pairs * 32, c + wide, ldc); \
    }

DEFINE_IGEMM_WIDE(rnnrt_igemm_pairs_vnni, int16_t, LOAD_PAIRS, igemm_pairs_vnni_slivers)
DEFINE_IGEMM_WIDE(rnnrt_igemm_pair_bytes_vnni, int8_t, LOAD_BYTES, igemm_pair_bytes_vnni_slivers)

// ROWS rows of uint8 A (rows lda apart, `quads` groups of 4 values each) times one sliver of B packed by
// rnnrt_pack_quads_8bit: 16 int32 sums per row (vpdpbusd: four u8 × s8 products added into each lane), stored to c
// for the first `cols` columns. One or two rows keep 4 or 2 interleaved sets of sums, added at the end.
VNNI static inline void quads_tile(const int ROWS, ptrdiff_t quads, const uint8_t *a, ptrdiff_t lda, const int8_t *sliver,
                                   int32_t *c, ptrdiff_t ldc, ptrdiff_t cols) {
    const int SETS = ROWS == 1 ? 4 : ROWS == 2 ? 2 : 1;
    __m256i acc[4][2];
    for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    ptrdiff_t q = 0;
    for (; q + SETS <= quads; q += SETS)
        for (int set = 0; set < SETS; set++) {
            __m256i b0 = _mm256_loadu_si256((const __m256i *)(sliver + (q + set) * 64));
            __m256i b1 = _mm256_loadu_si256((const __m256i *)(sliver + (q + set) * 64 + 32));
            for (int r = 0; r < ROWS; r++) {
                int32_t quad;
                memcpy(&quad, a + r * lda + 4 * (q + set), sizeof quad);
                __m256i v = _mm256_set1_epi32(quad);
                acc[set * ROWS + r][0] = _mm256_dpbusd_epi32(acc[set * ROWS + r][0], v, b0);
                acc[set * ROWS + r][1] = _mm256_dpbusd_epi32(acc[set * ROWS + r][1], v, b1);
            }
        }
    for (; q < quads; q++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(sliver + q * 64));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(sliver + q * 64 + 32));
        for (int r = 0; r < ROWS; r++) {
            int32_t quad;
            memcpy(&quad, a + r * lda + 4 * q, sizeof quad);
            __m256i v = _mm256_set1_epi32(quad);
            acc[r][0] = _mm256_dpbusd_epi32(acc[r][0], v, b0);
            acc[r][1] = _mm256_dpbusd_epi32(acc[r][1], v, b1);
        }
    }
    for (int set = 1; set < SETS; set++)
        for (int r = 0; r < ROWS; r++) {
            acc[r][0] = _mm256_add_epi32(acc[r][0], acc[set * ROWS + r][0]);
            acc[r][1] = _mm256_add_epi32(acc[r][1], acc[set * ROWS + r][1]);
        }
    store_tile(ROWS, acc, c, ldc, cols);
}

VNNI void rnnrt_igemm_quads_vnni(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const uint8_t *a, ptrdiff_t lda,
                                 const int8_t *packed, int32_t *c, ptrdiff_t ldc) {
    ptrdiff_t quads = (k + 3) / 4;
    for (ptrdiff_t s = 0; s * 16 < n; s++) {
        ptrdiff_t cols = n - s * 16 < 16 ? n - s * 16 : 16;
        const int8_t *sliver = packed + (size_t)s * (size_t)quads * 64;
        int32_t *cs = c + s * 16;
        ptrdiff_t i = 0;
        for (; i + 4 <= m; i += 4) quads_tile(4, quads, a + i * lda, lda, sliver, cs + i * ldc, ldc, cols);
        if (i + 2 <= m) { quads_tile(2, quads, a + i * lda, lda, sliver, cs + i * ldc, ldc, cols); i += 2; }
        if (i < m) quads_tile(1, quads, a + i * lda, lda, sliver, cs + i * ldc, ldc, cols);
    }
}

AVX2 static ptrdiff_t pack_quads_full_slivers(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset,
                                              int8_t *out) {
    if (is_signed ? offset != 0 : offset != 128) return 0;
    // B − 128 for uint8 is its bits with the top one flipped, read as int8; int8 B is itself.
    __m128i flip = _mm_set1_epi8(is_signed ? 0 : (char)0x80), zero = _mm_setzero_si128();
    ptrdiff_t quads = (k + 3) / 4, full = n / 16;
    for (ptrdiff_t q = 0; q < quads; q++)
        for (ptrdiff_t s = 0; s < full; s++) {
            __m128i r[4];
            for (int t = 0; t < 4; t++)
                r[t] = 4 * q + t < k
                    ? _mm_xor_si128(_mm_loadu_si128((const __m128i *)(b + (4 * q + t) * n + s * 16)), flip) : zero;
            __m128i a = _mm_unpacklo_epi8(r[0], r[1]), bb = _mm_unpackhi_epi8(r[0], r[1]);
            __m128i c = _mm_unpacklo_epi8(r[2], r[3]), d = _mm_unpackhi_epi8(r[2], r[3]);
            int8_t *dst = out + ((size_t)s * (size_t)quads + (size_t)q) * 64;
            _mm_storeu_si128((__m128i *)dst, _mm_unpacklo_epi16(a, c));
            _mm_storeu_si128((__m128i *)(dst + 16), _mm_unpackhi_epi16(a, c));
            _mm_storeu_si128((__m128i *)(dst + 32), _mm_unpacklo_epi16(bb, d));
            _mm_storeu_si128((__m128i *)(dst + 48), _mm_unpackhi_epi16(bb, d));
        }
    return full;
}

// One row's 16 values of a sliver as int16, minus `shift`.
AVX2 static inline __m256i sliver_row(const uint8_t *row, int is_signed, __m256i shift) {
    __m128i bytes = _mm_loadu_si128((const __m128i *)row);
    return _mm256_sub_epi16(is_signed ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes), shift);
}

AVX2 static ptrdiff_t pack_8bit_full_slivers(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset,
                                             int8_t *out) {
    ptrdiff_t pairs = (k + 1) / 2, full = n / 16;
    __m256i shift = _mm256_set1_epi16((int16_t)offset);
    for (ptrdiff_t s = 0; s < full; s++) {
        for (ptrdiff_t q = 0; q < pairs; q++) {
            const uint8_t *row0 = b + 2 * q * n + s * 16;
            __m256i v0 = sliver_row(row0, is_signed, shift);
            __m256i v1 = 2 * q + 1 < k ? sliver_row(row0 + n, is_signed, shift) : _mm256_setzero_si256();
            __m256i lo = _mm256_unpacklo_epi16(v0, v1), hi = _mm256_unpackhi_epi16(v0, v1);
            __m256i first = _mm256_permute2x128_si256(lo, hi, 0x20), second = _mm256_permute2x128_si256(lo, hi, 0x31);
            // Every value fits int8, so packing is exact; the permute puts packs' 128-bit lanes in order.
            _mm256_storeu_si256((__m256i *)(out + ((size_t)s * (size_t)pairs + (size_t)q) * 32),
                                _mm256_permute4x64_epi64(_mm256_packs_epi16(first, second), 0xD8));
        }
    }
    return full;
}

int rnnrt_has_avx512_vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
}

#else
static ptrdiff_t pack_8bit_full_slivers(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset,
                                        int8_t *out) {
    (void)k, (void)n, (void)b, (void)is_signed, (void)offset, (void)out;
    return 0;
}
static ptrdiff_t pack_quads_full_slivers(ptrdiff_t k, ptrdiff_t n, const uint8_t *b, int is_signed, int32_t offset,
                                         int8_t *out) {
    (void)k, (void)n, (void)b, (void)is_signed, (void)offset, (void)out;
    return 0;
}
int rnnrt_has_avx512_vnni(void) { return 0; }
void rnnrt_igemm_quads_vnni(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const uint8_t *a, ptrdiff_t lda,
                            const int8_t *packed, int32_t *c, ptrdiff_t ldc) {}
void rnnrt_igemm_pairs_vnni(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                            const int16_t *packed, int32_t *c, ptrdiff_t ldc) {}
void rnnrt_igemm_pair_bytes_vnni(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                                 const int8_t *packed, int32_t *c, ptrdiff_t ldc) {}
void rnnrt_igemm_pair_bytes_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                                 const int8_t *packed, int32_t *c, ptrdiff_t ldc) {}
void rnnrt_igemm_pairs_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const int16_t *a, ptrdiff_t lda,
                            const int16_t *packed, int32_t *c, ptrdiff_t ldc) {}
#endif

// The input row one kernel row reads at output row y (NULL in the padding, or for a row of the patch matrix past its
// `rows`, which pads an odd count).
static inline const int16_t *input_line(const int16_t *x, ptrdiff_t r, ptrdiff_t rows, ptrdiff_t kh, ptrdiff_t kw,
                                        ptrdiff_t h, ptrdiff_t w, ptrdiff_t y, ptrdiff_t sh, ptrdiff_t dh,
                                        ptrdiff_t pad_top) {
    if (r >= rows) return NULL;
    ptrdiff_t c = r / (kh * kw), i = (r / kw) % kh;
    ptrdiff_t row = y * sh - pad_top + i * dh;
    return row >= 0 && row < h ? x + (c * h + row) * w : NULL;
}

// Row r of the patch matrix at output row y into `dst` (ow values): the input row's values at columns
// x·sw + first, 0 outside the row (or for a row past the matrix, or a row in the padding: line NULL).
static inline void patch_line(const int16_t *line, ptrdiff_t first, ptrdiff_t sw, ptrdiff_t w, ptrdiff_t ow,
                              int16_t *dst) {
    if (!line) {
        memset(dst, 0, (size_t)ow * sizeof *dst);
        return;
    }
    // Columns lo..<hi read inside the row.
    ptrdiff_t lo = first >= 0 ? 0 : (-first + sw - 1) / sw;
    ptrdiff_t hi = first >= w ? 0 : (w - 1 - first) / sw + 1;
    if (lo > ow) lo = ow;
    if (hi > ow) hi = ow;
    if (hi < lo) hi = lo;
    ptrdiff_t col = 0;
    for (; col < lo; col++) dst[col] = 0;
    if (sw == 1) {
        memcpy(dst + lo, line + lo + first, (size_t)(hi - lo) * sizeof *dst);
        col = hi;
    } else {
        for (; col < hi; col++) dst[col] = line[col * sw + first];
    }
    for (; col < ow; col++) dst[col] = 0;
}

// Two rows of `positions` values side by side, 16 positions per sliver: sliver s (at out + s·stride) gets
// (row0[16s + j], row1[16s + j]) at lanes 2j, 2j + 1, zeros past `positions`.
static void interleave_rows_portable(const int16_t *row0, const int16_t *row1, ptrdiff_t positions, int16_t *out,
                                     ptrdiff_t stride, ptrdiff_t first) {
    for (ptrdiff_t s = first; s * 16 < positions; s++) {
        int16_t *sliver = out + s * stride;
        ptrdiff_t count = positions - s * 16 < 16 ? positions - s * 16 : 16;
        for (ptrdiff_t lane = 0; lane < count; lane++) {
            sliver[lane * 2] = row0[s * 16 + lane];
            sliver[lane * 2 + 1] = row1[s * 16 + lane];
        }
        for (ptrdiff_t lane = count; lane < 16; lane++) sliver[lane * 2] = sliver[lane * 2 + 1] = 0;
    }
}

#if defined(__x86_64__) || defined(_M_X64)
// interleave_rows_portable on AVX2 for the full slivers: unpack the two rows' 16 values within 128-bit lanes, then put
// the lanes in order.
AVX2 static void interleave_rows(const int16_t *row0, const int16_t *row1, ptrdiff_t positions, int16_t *out,
                                 ptrdiff_t stride) {
    ptrdiff_t s = 0;
    for (; (s + 1) * 16 <= positions; s++) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(row0 + s * 16));
        __m256i b = _mm256_loadu_si256((const __m256i *)(row1 + s * 16));
        __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
        _mm256_storeu_si256((__m256i *)(out + s * stride), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(out + s * stride + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    interleave_rows_portable(row0, row1, positions, out, stride, s);
}
#else
static void interleave_rows(const int16_t *row0, const int16_t *row1, ptrdiff_t positions, int16_t *out,
                            ptrdiff_t stride) {
    interleave_rows_portable(row0, row1, positions, out, stride, 0);
}
#endif

void rnnrt_pack_conv_pairs(const int16_t *x, ptrdiff_t channels, ptrdiff_t h, ptrdiff_t w, ptrdiff_t kh, ptrdiff_t kw,
                           ptrdiff_t sh, ptrdiff_t sw, ptrdiff_t dh, ptrdiff_t dw, ptrdiff_t pad_top,
                           ptrdiff_t pad_left, ptrdiff_t oh, ptrdiff_t ow, int16_t *out, int16_t *scratch) {
    ptrdiff_t rows = channels * kh * kw, pairs = (rows + 1) / 2, positions = oh * ow;
    int16_t *row0 = scratch, *row1 = scratch + positions;
    for (ptrdiff_t q = 0; q < pairs; q++) {
        // Rows 2q and 2q + 1 of the patch matrix, each laid out whole, then interleaved into the slivers.
        for (int half = 0; half < 2; half++) {
            ptrdiff_t r = 2 * q + half;
            ptrdiff_t c = r / (kh * kw), i = (r / kw) % kh, first = (r % kw) * dw - pad_left;
            int16_t *dst = half ? row1 : row0;
            for (ptrdiff_t y = 0; y < oh; y++) {
                ptrdiff_t in_row = y * sh - pad_top + i * dh;
                const int16_t *line = r < rows && in_row >= 0 && in_row < h ? x + (c * h + in_row) * w : NULL;
                patch_line(line, first, sw, w, ow, dst + y * ow);
            }
        }
        interleave_rows(row0, row1, positions, out + q * 32, pairs * 32);
    }
}
