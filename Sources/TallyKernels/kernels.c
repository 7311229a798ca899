// Each kernel of kernels_body.h compiled for three instruction-set levels and chosen at
// run time by the CPU's features (__builtin_cpu_supports, which also checks that the OS
// saves the wide registers). Function attributes, not ifunc resolvers, so the choice
// runs after the program (and a ThreadSanitizer runtime) is up, and a test can ask for a
// lower level through TALLY_KERNEL.
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "TallyKernels.h"

#define TK_MAX_LANES 1024
#define TK_TABLE_LABELS 64

static inline int tk_isfinite_f32(float x) { return (x - x) == (x - x); }
static inline int tk_isfinite_f64(double x) { return (x - x) == (x - x); }

// Each row's own (tp, fp, fn), kept as `tk_count_out` describes: every row in the table of
// every triple (n <= TK_TABLE_LABELS), or the triples below 16 in the 4096-slot table and
// the others' keys listed, or every key listed. Branch-free but for the mode, which
// never changes within a call: a random mix of small and large rows costs no mispredicts.
//
// A row's table increment waits TK_RING rows in a ring of slot addresses. Its address is
// the end of a long chain (mask, popcounts, the offset load), and the table (92 KB for 39
// labels) lives in L2: done at once, each row's read-modify-write queued behind that chain
// and filled the reorder window. Done TK_RING rows later its address is ready, and it runs
// beside later rows' work (39 labels on Zen 4, one thread: 3.3 -> 2.5 ns a row in cache,
// 3.9 -> 3.15 from memory). Every slot still gets every increment.
#define TK_RING 32

typedef struct {
    int64_t *table, *large;
    size_t count;
    int full;
    unsigned at;                // the ring's next entry
    int64_t sink;               // where entries that count nothing point
    int64_t *ring[TK_RING];     // increments not done yet
    int32_t off[(TK_TABLE_LABELS + 1) * (TK_TABLE_LABELS + 1)];  // first slot of (fn, fp), when full
} tk_rows;

// The table of every triple (n <= TK_TABLE_LABELS): fn major, then fp, then tp; `off`
// holds the first slot of each (fn, fp), at fn * (TK_TABLE_LABELS + 1) + fp.
static inline void tk_row_offsets(size_t n, int32_t *off) {
    int32_t slot = 0;
    for (size_t fn = 0; fn <= n; fn++)
        for (size_t fp = 0; fp + fn <= n; fp++) {
            off[fn * (TK_TABLE_LABELS + 1) + fp] = slot;
            slot += (int32_t)(n - fn - fp + 1);
        }
}

static inline __attribute__((always_inline)) void tk_rows_begin(tk_rows *rt, size_t n, const tk_count_out *out) {
    rt->table = out->small;
    rt->large = out->large;
    rt->count = out->large_count;
    rt->full = out->small && n <= TK_TABLE_LABELS;
    rt->at = 0;
    rt->sink = 0;
    for (int i = 0; i < TK_RING; i++) rt->ring[i] = &rt->sink;
    if (rt->full) tk_row_offsets(n, rt->off);
}

static inline __attribute__((always_inline)) void tk_rows_add(tk_rows *rt, uint32_t tp, uint32_t fp, uint32_t fn) {
    int64_t *slot;
    if (rt->full) {
        slot = rt->table + rt->off[fn * (TK_TABLE_LABELS + 1) + fp] + tp;
    } else {
        rt->large[rt->count] = (int64_t)tp | (int64_t)fp << 21 | (int64_t)fn << 42;  // kept when listed
        int listed = !rt->table || (tp | fp | fn) >= 16;
        rt->count += (size_t)listed;
        if (!rt->table) return;
        slot = listed ? &rt->sink : rt->table + (tp | fp << 4 | fn << 8);
    }
    int64_t **entry = &rt->ring[rt->at];
    (**entry)++;
    *entry = slot;
    rt->at = (rt->at + 1) & (TK_RING - 1);
}

static inline __attribute__((always_inline)) void tk_rows_end(tk_rows *rt, tk_count_out *out) {
    for (int i = 0; i < TK_RING; i++) (*rt->ring[i])++;
    out->large_count = rt->count;
}

// The same ring for a weighted row table: each entry also adds the row's weight to its
// slot. Entries leave the ring oldest first, so every slot's weights are still added in
// row order (the same float64 bits).
typedef struct {
    unsigned at;
    int64_t row_sink;
    double weight_sink;
    int64_t *rows[TK_RING];
    double *weights[TK_RING];
    double w[TK_RING];
} tk_weighted_ring;

static inline __attribute__((always_inline)) void tk_weighted_ring_begin(tk_weighted_ring *q) {
    q->at = 0;
    q->row_sink = 0;
    q->weight_sink = 0.0;
    for (int i = 0; i < TK_RING; i++) {
        q->rows[i] = &q->row_sink;
        q->weights[i] = &q->weight_sink;
        q->w[i] = 0.0;
    }
}

static inline __attribute__((always_inline)) void tk_weighted_ring_add(tk_weighted_ring *q, const tk_weighted_out *out,
                                                                       int32_t slot, double w) {
    unsigned i = q->at;
    (*q->rows[i])++;
    *q->weights[i] += q->w[i];
    q->rows[i] = out->row_table + slot;
    q->weights[i] = out->weight_table + slot;
    q->w[i] = w;
    q->at = (i + 1) & (TK_RING - 1);
}

static inline __attribute__((always_inline)) void tk_weighted_ring_end(tk_weighted_ring *q) {
    for (unsigned k = 0; k < TK_RING; k++) {
        unsigned i = (q->at + k) & (TK_RING - 1);  // oldest first
        (*q->rows[i])++;
        *q->weights[i] += q->w[i];
    }
}

long tk_claim(long *next) { return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED); }

size_t tk_row_slots(size_t n) { return n <= TK_TABLE_LABELS ? (n + 1) * (n + 2) * (n + 3) / 6 : 4096; }

size_t tk_row_entries(size_t n, int64_t *tables, size_t slices, int64_t *keys, int64_t *rows) {
    size_t slots = tk_row_slots(n), found = 0;
    for (size_t s = 1; s < slices; s++)
        for (size_t i = 0; i < slots; i++) tables[i] += tables[s * slots + i];
    if (n <= TK_TABLE_LABELS) {
        size_t slot = 0;
        for (size_t fn = 0; fn <= n; fn++)
            for (size_t fp = 0; fp + fn <= n; fp++)
                for (size_t tp = 0; tp + fp + fn <= n; tp++, slot++) {
                    if (!tables[slot]) continue;
                    keys[found] = (int64_t)tp | (int64_t)fp << 21 | (int64_t)fn << 42;
                    rows[found++] = tables[slot];
                }
    } else {
        for (size_t i = 0; i < slots; i++) {
            if (!tables[i]) continue;
            keys[found] = (int64_t)(i & 15) | (int64_t)((i >> 4) & 15) << 21 | (int64_t)(i >> 8) << 42;
            rows[found++] = tables[i];
        }
    }
    return found;
}

size_t tk_row_entries_weighted(size_t n, const int64_t *row_table, const double *weight_table, int64_t *keys,
                               int64_t *rows, double *weights) {
    size_t slot = 0, found = 0;
    if (n > TK_TABLE_LABELS) return 0;
    for (size_t fn = 0; fn <= n; fn++)
        for (size_t fp = 0; fp + fn <= n; fp++)
            for (size_t tp = 0; tp + fp + fn <= n; tp++, slot++) {
                if (!row_table[slot]) continue;
                keys[found] = (int64_t)tp | (int64_t)fp << 21 | (int64_t)fn << 42;
                rows[found] = row_table[slot];
                weights[found++] = weight_table[slot];
            }
    return found;
}

#define TK_BODY "kernels_body.h"
#include "levels.h"

#ifdef TK_X86
#include <immintrin.h>

#define TK_CHUNKS8(CALL)                                                                                       \
    switch ((n + 7) / 8) {                                                                                     \
    case 1: return CALL(1);                                                                                    \
    case 2: return CALL(2);                                                                                    \
    case 3: return CALL(3);                                                                                    \
    case 4: return CALL(4);                                                                                    \
    case 5: return CALL(5);                                                                                    \
    case 6: return CALL(6);                                                                                    \
    case 7: return CALL(7);                                                                                    \
    default: return CALL(8);                                                                                   \
    }

// AVX2 rows of up to 64 labels: two 32-byte loads per row (rows whose 64 bytes lie inside
// the matrix are read in place, the last few copied into a zeroed buffer; bytes past the row
// belong to later rows, which are checked as their own), label sums in byte lanes of six
// registers, each row's counts from movemask popcounts of the row's n bits.

TK_AVX2 static inline __attribute__((always_inline)) uint64_t bits64_avx2(__m256i lo, __m256i hi) {
    // Bit 0 of each 0/1 byte moved to its bit 7 (a 16-bit shift carries no other bit there).
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(lo, 7)) |
           (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(hi, 7)) << 32;
}

TK_AVX2 static inline void flush64_avx2(__m256i *acc, size_t n, int64_t *counts) {
    uint8_t lanes[3][64];
    for (int k = 0; k < 3; k++) {
        _mm256_storeu_si256((__m256i *)lanes[k], acc[2 * k]);
        _mm256_storeu_si256((__m256i *)(lanes[k] + 32), acc[2 * k + 1]);
        acc[2 * k] = acc[2 * k + 1] = _mm256_setzero_si256();
    }
    for (size_t j = 0; j < n; j++) {
        counts[3 * j] += lanes[0][j]; counts[3 * j + 1] += lanes[1][j]; counts[3 * j + 2] += lanes[2][j];
    }
}

// The row's 64 bytes at `p`, or (past `safe`) its n bytes copied into a zeroed buffer.
TK_AVX2 static inline __attribute__((always_inline)) const uint8_t *row_bytes_avx2(const uint8_t *p, size_t r, size_t safe,
                                                                                   size_t n, uint8_t *pad) {
    if (r < safe) return p;
    memset(pad, 0, 64);
    memcpy(pad, p, n);
    return pad;
}

TK_AVX2 static inline __attribute__((always_inline)) void
row64_avx2(__m256i tl, __m256i th, __m256i pl, __m256i ph, uint64_t mt, uint64_t mp, __m256i *acc, tk_rows *rt) {
    acc[0] = _mm256_add_epi8(acc[0], _mm256_and_si256(tl, pl));
    acc[1] = _mm256_add_epi8(acc[1], _mm256_and_si256(th, ph));
    acc[2] = _mm256_add_epi8(acc[2], pl);
    acc[3] = _mm256_add_epi8(acc[3], ph);
    acc[4] = _mm256_add_epi8(acc[4], tl);
    acc[5] = _mm256_add_epi8(acc[5], th);
    uint32_t tp = (uint32_t)_mm_popcnt_u64(mt & mp), fp = (uint32_t)_mm_popcnt_u64(mp) - tp,
             fn = (uint32_t)_mm_popcnt_u64(mt) - tp;
    tk_rows_add(rt, tp, fp, fn);
}

TK_AVX2 static int count_bytes_64_avx2(const uint8_t *truth, const uint8_t *pred, size_t rows, size_t n,
                                       tk_count_out *out) {
    const uint64_t row = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
    const size_t safe = rows * n >= 64 ? (rows * n - 64) / n + 1 : 0;
    __m256i acc[6];
    for (int k = 0; k < 6; k++) acc[k] = _mm256_setzero_si256();
    __m256i bad = _mm256_setzero_si256();
    uint8_t pad_t[64], pad_p[64];
    size_t pending = 0;
    tk_rows rt;
    tk_rows_begin(&rt, n, out);
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *t = row_bytes_avx2(truth + r * n, r, safe, n, pad_t), *p = row_bytes_avx2(pred + r * n, r, safe, n, pad_p);
        __m256i tl = _mm256_loadu_si256((const __m256i *)t), th = _mm256_loadu_si256((const __m256i *)(t + 32));
        __m256i pl = _mm256_loadu_si256((const __m256i *)p), ph = _mm256_loadu_si256((const __m256i *)(p + 32));
        bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_or_si256(tl, th), _mm256_or_si256(pl, ph)));
        row64_avx2(tl, th, pl, ph, bits64_avx2(tl, th) & row, bits64_avx2(pl, ph) & row, acc, &rt);
        if (++pending == 255) { flush64_avx2(acc, n, out->counts); pending = 0; }
    }
    flush64_avx2(acc, n, out->counts);
    tk_rows_end(&rt, out);
    return !_mm256_testz_si256(bad, _mm256_set1_epi8((char)0xFE));
}

// A 64-bit mask as 64 bytes of 0xFF / 0x00.
TK_AVX2 static inline __attribute__((always_inline)) void expand64_avx2(uint64_t m, __m256i *lo, __m256i *hi) {
    const __m256i v = _mm256_set1_epi64x((long long)m), bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const __m256i pick_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                             2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i pick_hi = _mm256_setr_epi8(4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5,
                                             6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
    *lo = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, pick_lo), bit), bit);
    *hi = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, pick_hi), bit), bit);
}

TK_AVX2 static inline __attribute__((always_inline)) int
scores64_avx2(const uint8_t *truth, const float *scores, const float *threshold, size_t rows, size_t n,
              tk_count_out *out, const int chunks) {
    const uint64_t row = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
    const size_t safe = rows * n >= 64 ? (rows * n - 64) / n + 1 : 0;
    __m256 th[8];
    __m256i part[8];
    for (int c = 0; c < 8; c++) {
        int32_t lane[8];
        for (int k = 0; k < 8; k++) lane[k] = (size_t)(8 * c + k) < n ? -1 : 0;
        part[c] = _mm256_loadu_si256((const __m256i *)lane);
        th[c] = _mm256_maskload_ps(threshold + 8 * c, part[c]);
    }
    const int full = (int)(n / 8);  // chunks read whole
    __m256i acc[6];
    for (int k = 0; k < 6; k++) acc[k] = _mm256_setzero_si256();
    __m256i bad = _mm256_setzero_si256();
    __m256 nan = _mm256_setzero_ps();
    uint8_t pad_t[64];
    size_t pending = 0;
    tk_rows rt;
    tk_rows_begin(&rt, n, out);
    for (size_t r = 0; r < rows; r++) {
        const float *s = scores + r * n;
        uint64_t mp = 0;
        for (int c = 0; c < chunks; c++) {
            __m256 v = c < full ? _mm256_loadu_ps(s + 8 * c) : _mm256_maskload_ps(s + 8 * c, part[c]);
            mp |= (uint64_t)(uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, th[c], _CMP_GE_OQ)) << (8 * c);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        }
        mp &= row;  // lanes past the row (0 >= 0 there) predict nothing
        const uint8_t *t = row_bytes_avx2(truth + r * n, r, safe, n, pad_t);
        __m256i tl = _mm256_loadu_si256((const __m256i *)t), thi = _mm256_loadu_si256((const __m256i *)(t + 32));
        bad = _mm256_or_si256(bad, _mm256_or_si256(tl, thi));
        __m256i pl, ph;
        expand64_avx2(mp, &pl, &ph);
        pl = _mm256_and_si256(pl, _mm256_set1_epi8(1));
        ph = _mm256_and_si256(ph, _mm256_set1_epi8(1));
        row64_avx2(tl, thi, pl, ph, bits64_avx2(tl, thi) & row, mp, acc, &rt);
        if (++pending == 255) { flush64_avx2(acc, n, out->counts); pending = 0; }
    }
    flush64_avx2(acc, n, out->counts);
    tk_rows_end(&rt, out);
    return !_mm256_testz_si256(bad, _mm256_set1_epi8((char)0xFE)) || _mm256_movemask_ps(nan) != 0;
}

TK_AVX2 static int count_scores_f32_64_avx2(const uint8_t *truth, const float *scores, const float *threshold,
                                            size_t rows, size_t n, tk_count_out *out) {
#define TK_CALL(C) scores64_avx2(truth, scores, threshold, rows, n, out, C)
    TK_CHUNKS8(TK_CALL)
#undef TK_CALL
}

// AVX-512BW rows of up to 64 labels: one masked load per row (no read past the row), label
// sums in byte lanes of three registers, each row's counts from mask popcounts.

// The byte lanes take 255 rows, then go into 16-bit lanes (vector adds), which go into the
// int64 counts every 256 such flushes (65280 rows, below 2^16) and at the end. Flushing the
// bytes into the counts one by one every 255 rows cost 0.4 ns a row of 39 labels in cache on
// Zen 4 (a sixth of the kernel).
typedef struct {
    __m512i lanes[6];  // tp, predicted, actual: labels 0-31, then 32-63
    unsigned flushes;
} tk_wide64;

TK_AVX512 static inline __attribute__((always_inline)) void wide64_begin(tk_wide64 *wd) {
    for (int k = 0; k < 6; k++) wd->lanes[k] = _mm512_setzero_si512();
    wd->flushes = 0;
}

TK_AVX512 static inline __attribute__((always_inline)) void wide64_end(tk_wide64 *wd, size_t n, int64_t *counts) {
    uint16_t lanes[6][32];
    for (int k = 0; k < 6; k++) {
        _mm512_storeu_si512((void *)lanes[k], wd->lanes[k]);
        wd->lanes[k] = _mm512_setzero_si512();
    }
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < 3; k++) counts[3 * j + k] += j < 32 ? lanes[2 * k][j] : lanes[2 * k + 1][j - 32];
    wd->flushes = 0;
}

TK_AVX512 static inline __attribute__((always_inline)) void flush64(__m512i *acc, tk_wide64 *wd, size_t n,
                                                                    int64_t *counts) {
    for (int k = 0; k < 3; k++) {
        wd->lanes[2 * k] = _mm512_add_epi16(wd->lanes[2 * k], _mm512_cvtepu8_epi16(_mm512_castsi512_si256(acc[k])));
        wd->lanes[2 * k + 1] =
            _mm512_add_epi16(wd->lanes[2 * k + 1], _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(acc[k], 1)));
        acc[k] = _mm512_setzero_si512();
    }
    if (++wd->flushes == 256) wide64_end(wd, n, counts);
}

TK_AVX512 static inline __attribute__((always_inline)) void row64(__m512i ta, __m512i pa, __m512i *acc, tk_rows *rt) {
    __mmask64 mt = _mm512_test_epi8_mask(ta, ta), mp = _mm512_test_epi8_mask(pa, pa), mx = mt & mp;
    acc[0] = _mm512_add_epi8(acc[0], _mm512_and_si512(ta, pa));
    acc[1] = _mm512_add_epi8(acc[1], pa);
    acc[2] = _mm512_add_epi8(acc[2], ta);
    uint32_t tp = (uint32_t)_mm_popcnt_u64(mx), fp = (uint32_t)_mm_popcnt_u64(mp) - tp,
             fn = (uint32_t)_mm_popcnt_u64(mt) - tp;
    tk_rows_add(rt, tp, fp, fn);
}

/// The byte lanes of a row of n ≤ 64 labels.
static inline __mmask64 row_mask(size_t n) { return n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1); }

/// The row's thresholds in four vectors of 16 floats, and each vector's lanes (`part`).
TK_AVX512 static inline __attribute__((always_inline)) void
load_thresholds(const float *threshold, __mmask64 row, __m512 th[4], __mmask16 part[4]) {
    for (int c = 0; c < 4; c++) {
        part[c] = (__mmask16)(row >> (16 * c));
        th[c] = _mm512_maskz_loadu_ps(part[c], threshold + 16 * c);
    }
}

TK_AVX512 static int count_bytes_64_avx512(const uint8_t *truth, const uint8_t *pred, size_t rows, size_t n,
                                           tk_count_out *out) {
    __mmask64 row = row_mask(n);
    __m512i acc[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    __m512i bad = _mm512_setzero_si512();
    size_t pending = 0;
    tk_wide64 wide;
    wide64_begin(&wide);
    tk_rows rt;
    tk_rows_begin(&rt, n, out);
    for (size_t r = 0; r < rows; r++) {
        __m512i ta = _mm512_maskz_loadu_epi8(row, truth + r * n), pa = _mm512_maskz_loadu_epi8(row, pred + r * n);
        bad = _mm512_or_si512(bad, _mm512_or_si512(ta, pa));
        row64(ta, pa, acc, &rt);
        if (++pending == 255) { flush64(acc, &wide, n, out->counts); pending = 0; }
    }
    flush64(acc, &wide, n, out->counts);
    wide64_end(&wide, n, out->counts);
    tk_rows_end(&rt, out);
    return _mm512_test_epi8_mask(bad, _mm512_set1_epi8((char)0xFE)) != 0;
}

// One row of float32 scores (`chunks` masked loads of 16, a constant once inlined) as a
// predicted mask: score >= threshold, ordered, so nan is never predicted. Nan is found
// without mask registers (the scarce resource here): the largest |bits| seen, kept in
// `*top`, is above 0x7F800000 (inf) exactly when some score was nan.
TK_AVX512 static inline __attribute__((always_inline)) __mmask64
predicted64(const float *s, const __m512 *th, const __mmask16 *part, int chunks, __m512i *top) {
    __mmask16 p[4] = {0, 0, 0, 0};
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF);
    for (int c = 0; c < chunks; c++) {
        __m512 v = _mm512_maskz_loadu_ps(part[c], s + 16 * c);
        p[c] = _mm512_mask_cmp_ps_mask(part[c], v, th[c], _CMP_GE_OQ);
        *top = _mm512_max_epu32(*top, _mm512_and_si512(_mm512_castps_si512(v), magnitude));
    }
    return _mm512_kunpackd((__mmask64)_mm512_kunpackw(p[3], p[2]), (__mmask64)_mm512_kunpackw(p[1], p[0]));
}

TK_AVX512 static inline __attribute__((always_inline)) int
scores64(const uint8_t *truth, const float *scores, const float *threshold, size_t rows, size_t n,
         tk_count_out *out, const int chunks) {
    __mmask64 row = row_mask(n);
    __m512 th[4];
    __mmask16 part[4];
    load_thresholds(threshold, row, th, part);
    const __m512i minus_one = _mm512_set1_epi8(-1);
    __m512i acc[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    __m512i bad = _mm512_setzero_si512(), nan = _mm512_setzero_si512();
    size_t pending = 0;
    tk_wide64 wide;
    wide64_begin(&wide);
    tk_rows rt;
    tk_rows_begin(&rt, n, out);
    for (size_t r = 0; r < rows; r++) {
        __mmask64 mp = predicted64(scores + r * n, th, part, chunks, &nan);
        __m512i ta = _mm512_maskz_loadu_epi8(row, truth + r * n);
        bad = _mm512_or_si512(bad, ta);
        __mmask64 mt = _mm512_test_epi8_mask(ta, ta);
        acc[0] = _mm512_mask_add_epi8(acc[0], mp, acc[0], ta);
        acc[1] = _mm512_mask_sub_epi8(acc[1], mp, acc[1], minus_one);
        acc[2] = _mm512_add_epi8(acc[2], ta);
        uint32_t tp = (uint32_t)_mm_popcnt_u64(_kand_mask64(mt, mp)), fp = (uint32_t)_mm_popcnt_u64(mp) - tp,
                 fn = (uint32_t)_mm_popcnt_u64(mt) - tp;
        tk_rows_add(&rt, tp, fp, fn);
        if (++pending == 255) { flush64(acc, &wide, n, out->counts); pending = 0; }
    }
    flush64(acc, &wide, n, out->counts);
    wide64_end(&wide, n, out->counts);
    tk_rows_end(&rt, out);
    return _mm512_test_epi8_mask(bad, _mm512_set1_epi8((char)0xFE)) != 0 ||
           _mm512_cmpgt_epu32_mask(nan, _mm512_set1_epi32(0x7F800000)) != 0;
}

TK_AVX512 static int count_scores_f32_64_avx512(const uint8_t *truth, const float *scores, const float *threshold,
                                                size_t rows, size_t n, tk_count_out *out) {
    switch ((n + 15) / 16) {
    case 1: return scores64(truth, scores, threshold, rows, n, out, 1);
    case 2: return scores64(truth, scores, threshold, rows, n, out, 2);
    case 3: return scores64(truth, scores, threshold, rows, n, out, 3);
    default: return scores64(truth, scores, threshold, rows, n, out, 4);
    }
}

// Weighted rows of up to 64 labels, in two parts that one call or two threads do: the
// label sums (`sums`) and the row table with the weight total and the check of every value
// (`table`). The label sums take 8 labels at a time with masked adds (a lane left alone
// equals a lane given w * 0: the sums never are -0), in row order, in registers. Bytes:
// each add's mask comes straight from a test of its 8 bytes into a mask register; deriving
// the eight masks by shifting the row's 64-bit masks costs one more mask-register operation
// per add, and mask registers, not the adds, then set the pace (33 against 19 cycles a row
// of 39 labels on Zen 4). Tested from the bytes, the 15 masked zmm adds a row of 39 labels,
// which Zen 4 runs one a cycle, are the bound. Scores: one compare of 16 scores gives two
// chunks' masks. The row table comes from the row's 64-bit masks, as unweighted.

TK_AVX512 static inline __attribute__((always_inline)) void
weighted8(__m512d *acc, __mmask8 mx, __mmask8 mp, __mmask8 mt, __m512d wv) {
    acc[0] = _mm512_mask_add_pd(acc[0], mx, acc[0], wv);
    acc[1] = _mm512_mask_add_pd(acc[1], mp, acc[1], wv);
    acc[2] = _mm512_mask_add_pd(acc[2], mt, acc[2], wv);
}

TK_AVX512 static inline __attribute__((always_inline)) void
weighted64_row(const int32_t *off, uint64_t mx, uint64_t mp, uint64_t mt, double w, tk_weighted_out *out,
               tk_weighted_ring *ring) {
    uint32_t tp = (uint32_t)_mm_popcnt_u64(mx), fp = (uint32_t)_mm_popcnt_u64(mp) - tp, fn = (uint32_t)_mm_popcnt_u64(mt) - tp;
    int32_t slot = off[fn * (TK_TABLE_LABELS + 1) + fp] + (int32_t)tp;
    slot = w == 0 ? 0 : slot;
    tk_weighted_ring_add(ring, out, slot, w);
}

TK_AVX512 static inline __attribute__((always_inline)) void
weighted64_store(const __m512d *acc, int chunks, size_t n, double total, tk_weighted_out *out) {
    if (out->sums) {
        double lanes[3][64];
        for (int c = 0; c < chunks; c++)
            for (int k = 0; k < 3; k++) _mm512_storeu_pd(lanes[k] + 8 * c, acc[3 * c + k]);
        for (size_t j = 0; j < n; j++) {
            out->sums[3 * j] = lanes[0][j]; out->sums[3 * j + 1] = lanes[1][j]; out->sums[3 * j + 2] = lanes[2][j];
        }
    }
    if (out->row_table && out->weight_sum) *out->weight_sum = total;
}

TK_AVX512 static inline __attribute__((always_inline)) int
bytes64_weighted(const uint8_t *truth, const uint8_t *pred, const double *weights, size_t rows, size_t n,
                 tk_weighted_out *out, const int chunks, const int sums, const int table) {
    const __mmask64 row = row_mask(n);
    // The last chunk's lanes; the others are whole (one constant mask, not one per chunk).
    const __mmask16 last = (__mmask16)((row >> (8 * (chunks - 1))) & 0xFF);
    __m512d acc[24];
    for (int i = 0; i < 3 * chunks; i++) acc[i] = _mm512_setzero_pd();
    __m512i bad = _mm512_setzero_si512();
    int32_t off[(TK_TABLE_LABELS + 1) * (TK_TABLE_LABELS + 1)];
    tk_weighted_ring ring;
    if (table) {
        tk_row_offsets(n, off);
        tk_weighted_ring_begin(&ring);
    }
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const double w = weights[r];
        const uint8_t *t = truth + r * n, *p = pred + r * n;
        if (sums) {
            const __m512d wv = _mm512_set1_pd(w);
            for (int c = 0; c < chunks; c++) {
                const __mmask16 lanes = c == chunks - 1 ? last : 0xFF;
                __m128i tb = _mm_maskz_loadu_epi8(lanes, t + 8 * c), pb = _mm_maskz_loadu_epi8(lanes, p + 8 * c);
                // tp's mask as a test of t & p, not kt & kp: one mask-register operation
                // fewer per chunk (4.84 -> 4.45 ns a row of 39 labels in cache on Zen 4). The
                // same mask for 0/1 bytes; a batch with other bytes is refused by the table part.
                __mmask8 kt = (__mmask8)_mm_test_epi8_mask(tb, tb), kp = (__mmask8)_mm_test_epi8_mask(pb, pb),
                         kx = (__mmask8)_mm_test_epi8_mask(tb, pb);
                weighted8(acc + 3 * c, kx, kp, kt, wv);
            }
        }
        if (table) {
            __m512i ta = _mm512_maskz_loadu_epi8(row, t), pa = _mm512_maskz_loadu_epi8(row, p);
            bad = _mm512_ternarylogic_epi64(bad, ta, pa, 0xFE);
            uint64_t mt = _mm512_test_epi8_mask(ta, ta), mp = _mm512_test_epi8_mask(pa, pa);
            weighted64_row(off, mt & mp, mp, mt, w, out, &ring);
            total += w;
        }
    }
    if (table) tk_weighted_ring_end(&ring);
    weighted64_store(acc, chunks, n, total, out);
    return _mm512_test_epi8_mask(bad, _mm512_set1_epi8((char)0xFE)) != 0;
}

TK_AVX512 static inline __attribute__((always_inline)) int
scores64_weighted(const uint8_t *truth, const float *scores, const float *threshold, const double *weights, size_t rows,
                  size_t n, tk_weighted_out *out, const int chunks, const int sums, const int table) {
    const __mmask64 row = row_mask(n);
    __m512 th[4];
    __mmask16 part[4];
    load_thresholds(threshold, row, th, part);
    const int steps = (chunks + 1) / 2;  // of 16 labels
    __m512d acc[24];
    for (int i = 0; i < 3 * chunks; i++) acc[i] = _mm512_setzero_pd();
    __m512i bad = _mm512_setzero_si512(), nan = _mm512_setzero_si512();
    int32_t off[(TK_TABLE_LABELS + 1) * (TK_TABLE_LABELS + 1)];
    tk_weighted_ring ring;
    if (table) {
        tk_row_offsets(n, off);
        tk_weighted_ring_begin(&ring);
    }
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const double w = weights[r];
        const __m512d wv = _mm512_set1_pd(w);
        if (table) {
            // The row's masks give the table and, in one pass, the sums' masks.
            uint64_t mp = predicted64(scores + r * n, th, part, steps, &nan);
            __m512i ta = _mm512_maskz_loadu_epi8(row, truth + r * n);
            bad = _mm512_or_si512(bad, ta);
            uint64_t mt = _mm512_test_epi8_mask(ta, ta), mx = mt & mp;
            if (sums)
                for (int c = 0; c < chunks; c++)
                    weighted8(acc + 3 * c, (__mmask8)(mx >> (8 * c)), (__mmask8)(mp >> (8 * c)), (__mmask8)(mt >> (8 * c)), wv);
            weighted64_row(off, mx, mp, mt, w, out, &ring);
            total += w;
            continue;
        }
        const uint8_t *t = truth + r * n;
        const float *s = scores + r * n;
        for (int c = 0; c < steps; c++) {
            const __mmask16 lanes = c == steps - 1 ? part[steps - 1] : 0xFFFF;
            __m512 v = _mm512_maskz_loadu_ps(lanes, s + 16 * c);
            __mmask16 kp = _mm512_mask_cmp_ps_mask(lanes, v, th[c], _CMP_GE_OQ);
            __m128i tb = _mm_maskz_loadu_epi8(lanes, t + 16 * c);
            __mmask16 kt = _mm_test_epi8_mask(tb, tb), kx = kt & kp;
            weighted8(acc + 6 * c, (__mmask8)kx, (__mmask8)kp, (__mmask8)kt, wv);
            if (2 * c + 1 < chunks)
                weighted8(acc + 6 * c + 3, (__mmask8)(kx >> 8), (__mmask8)(kp >> 8), (__mmask8)(kt >> 8), wv);
        }
    }
    if (table) tk_weighted_ring_end(&ring);
    weighted64_store(acc, chunks, n, total, out);
    return _mm512_test_epi8_mask(bad, _mm512_set1_epi8((char)0xFE)) != 0 ||
           _mm512_cmpgt_epu32_mask(nan, _mm512_set1_epi32(0x7F800000)) != 0;
}

// One instance per chunk count (a constant, so the chunk loops unroll) and part.
#define TK_WEIGHTED_PARTS(C)                                                                                   \
    (out->sums && out->row_table ? TK_CALL(C, 1, 1) : out->sums ? TK_CALL(C, 1, 0) : TK_CALL(C, 0, 1))

TK_AVX512 static int count_bytes_weighted_64_avx512(const uint8_t *truth, const uint8_t *pred, const double *weights,
                                                    size_t rows, size_t n, tk_weighted_out *out) {
#define TK_CALL(C, S, T) bytes64_weighted(truth, pred, weights, rows, n, out, C, S, T)
    TK_CHUNKS8(TK_WEIGHTED_PARTS)
#undef TK_CALL
}

TK_AVX512 static int count_scores_f32_weighted_64_avx512(const uint8_t *truth, const float *scores, const float *threshold,
                                                         const double *weights, size_t rows, size_t n, tk_weighted_out *out) {
#define TK_CALL(C, S, T) scores64_weighted(truth, scores, threshold, weights, rows, n, out, C, S, T)
    TK_CHUNKS8(TK_WEIGHTED_PARTS)
#undef TK_CALL
}
#endif

typedef long (*rank_f32_fn)(const uint8_t *, const float *, size_t, int, uint32_t *, int32_t *, int32_t *, int32_t *);
typedef long (*rank_f64_fn)(const uint8_t *, const double *, size_t, int, uint64_t *, int32_t *, int32_t *, int32_t *);
typedef int (*coverage_f32_fn)(const uint8_t *, const float *, size_t, size_t, uint32_t *, int64_t *);
typedef int (*coverage_f64_fn)(const uint8_t *, const double *, size_t, size_t, uint64_t *, int64_t *);
typedef int (*count_bytes_fn)(const uint8_t *, const uint8_t *, size_t, size_t, tk_count_out *);
typedef int (*count_f32_fn)(const uint8_t *, const float *, const float *, size_t, size_t, tk_count_out *);
typedef int (*count_bytes_w_fn)(const uint8_t *, const uint8_t *, const double *, size_t, size_t, tk_weighted_out *);
typedef int (*count_f32_w_fn)(const uint8_t *, const float *, const float *, const double *, size_t, size_t, tk_weighted_out *);

static struct {
    int level;
    rank_f32_fn rank_f32;
    rank_f64_fn rank_f64;
    coverage_f32_fn coverage_f32;
    coverage_f64_fn coverage_f64;
    count_bytes_fn count_bytes;
    count_f32_fn count_f32;
    count_bytes_w_fn count_bytes_weighted;
    count_f32_w_fn count_f32_weighted;
} table;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

static int best_supported(void) {
#ifdef TK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt"))
        return 4;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) return 3;
#endif
    return 0;
}

static void choose(void) {
    int level = best_supported();
    const char *asked = getenv("TALLY_KERNEL");
    if (asked) {
        int want = level;
        if (!strcmp(asked, "baseline") || !strcmp(asked, "neon")) want = 0;
        else if (!strcmp(asked, "avx2")) want = 3;
        else if (!strcmp(asked, "avx512")) want = 4;
        if (want < level) level = want;
    }
    table.level = level;
#define TK_USE(L)                                                                                              \
    (table.rank_f32 = rank_row_f32_##L, table.rank_f64 = rank_row_f64_##L, table.coverage_f32 = coverage_rows_f32_##L, \
     table.coverage_f64 = coverage_rows_f64_##L, table.count_bytes = count_bytes_small_##L,                    \
     table.count_f32 = count_scores_f32_small_##L, table.count_bytes_weighted = count_bytes_weighted_##L,      \
     table.count_f32_weighted = count_scores_f32_weighted_##L)
    TK_USE(baseline);
#ifdef TK_X86
    if (level == 3) TK_USE(avx2);
    if (level == 4) TK_USE(avx512);
#endif
}

static inline void ensure(void) { pthread_once(&chosen, choose); }

int tk_level(void) { ensure(); return table.level; }

const char *tk_level_name(void) {
    ensure();
    switch (table.level) {
    case 4: return "avx512";
    case 3: return "avx2";
    default:
#if defined(__aarch64__)
        return "neon";
#else
        return "baseline";
#endif
    }
}

void tk_reset_level(void) { choose(); }

int tk_count_bytes(const uint8_t *truth, const uint8_t *pred, size_t rows, size_t n, tk_count_out *out) {
    ensure();
    if (n > TK_MAX_LANES) return -1;
#ifdef TK_X86
    if (table.level == 4 && n <= 64) return count_bytes_64_avx512(truth, pred, rows, n, out);
    if (table.level == 3 && n <= 64) return count_bytes_64_avx2(truth, pred, rows, n, out);
#endif
    return table.count_bytes(truth, pred, rows, n, out);
}

int tk_count_scores_f32(const uint8_t *truth, const float *scores, const float *threshold, size_t rows, size_t n,
                        tk_count_out *out) {
    ensure();
    if (n > TK_MAX_LANES) return -1;
#ifdef TK_X86
    if (table.level == 4 && n <= 64) return count_scores_f32_64_avx512(truth, scores, threshold, rows, n, out);
    if (table.level == 3 && n <= 64) return count_scores_f32_64_avx2(truth, scores, threshold, rows, n, out);
#endif
    return table.count_f32(truth, scores, threshold, rows, n, out);
}

int tk_count_bytes_weighted(const uint8_t *truth, const uint8_t *pred, const double *weights, size_t rows, size_t n,
                            tk_weighted_out *out) {
    ensure();
    if (n == 0 || n > TK_TABLE_LABELS || (!out->sums && !out->row_table)) return -1;
#ifdef TK_X86
    if (table.level == 4) return count_bytes_weighted_64_avx512(truth, pred, weights, rows, n, out);
#endif
    return table.count_bytes_weighted(truth, pred, weights, rows, n, out);
}

int tk_count_scores_f32_weighted(const uint8_t *truth, const float *scores, const float *threshold, const double *weights,
                                 size_t rows, size_t n, tk_weighted_out *out) {
    ensure();
    if (n == 0 || n > TK_TABLE_LABELS || (!out->sums && !out->row_table)) return -1;
#ifdef TK_X86
    if (table.level == 4) return count_scores_f32_weighted_64_avx512(truth, scores, threshold, weights, rows, n, out);
#endif
    return table.count_f32_weighted(truth, scores, threshold, weights, rows, n, out);
}

long tk_rank_row_f32(const uint8_t *truth, const float *scores, size_t n, int coverage_only, uint32_t *keys,
                     int32_t *above, int32_t *at, int32_t *rel) {
    ensure();
    return table.rank_f32(truth, scores, n, coverage_only, keys, above, at, rel);
}

long tk_rank_row_f64(const uint8_t *truth, const double *scores, size_t n, int coverage_only, uint64_t *keys,
                     int32_t *above, int32_t *at, int32_t *rel) {
    ensure();
    return table.rank_f64(truth, scores, n, coverage_only, keys, above, at, rel);
}

int tk_coverage_rows_f32(const uint8_t *truth, const float *scores, size_t rows, size_t n, uint32_t *keys, int64_t *sum) {
    ensure();
    return table.coverage_f32(truth, scores, rows, n, keys, sum);
}

int tk_coverage_rows_f64(const uint8_t *truth, const double *scores, size_t rows, size_t n, uint64_t *keys, int64_t *sum) {
    ensure();
    return table.coverage_f64(truth, scores, rows, n, keys, sum);
}
