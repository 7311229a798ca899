// The score store's kernels (TallyStoreKernels.h): store_body.h compiled for the same three
// instruction-set levels as kernels.c, plus AVX-512 versions written with intrinsics, chosen
// per call by `tk_level()`.
#include <stdlib.h>
#include <string.h>
#include "TallyKernels.h"
#include "TallyStoreKernels.h"

#define TK_BODY "store_body.h"
#define TK_BODY_NO_AVX512 1
#include "levels.h"

/// Transposes a 64 × 64 bit matrix in place: bit c of a[k] goes to bit k of a[c].
static inline void tk_transpose64(uint64_t a[64]) {
    uint64_t m = 0x00000000FFFFFFFFull;
    for (unsigned j = 32; j != 0; j >>= 1, m ^= m << j) {
        for (unsigned k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
            a[k] ^= t << j;
            a[k | j] ^= t;
        }
    }
}

#ifdef TK_X86
#include <immintrin.h>

/// Transposes 16 rows of 16 dwords: r[c][i] becomes r[i][c].
TK_AVX512 static inline void tk_transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; k++) {
        r[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
        r[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
        r[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        r[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    // r[4k + c] now holds, in its 128-bit lane L, column 4L + c of rows 4k..4k+3.
    for (int c = 0; c < 4; c++) {
        __m512i v = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x88), v1 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xDD);
        __m512i w = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x88), w1 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xDD);
        t[c] = _mm512_shuffle_i32x4(v, w, 0x88);
        t[8 + c] = _mm512_shuffle_i32x4(v, w, 0xDD);
        t[4 + c] = _mm512_shuffle_i32x4(v1, w1, 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(v1, w1, 0xDD);
    }
    for (int k = 0; k < 16; k++) r[k] = t[k];
}

static inline uint32_t tk_key32(float f, uint32_t *infinite) {
    float x = f + 0.0f;  // -0 becomes +0
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    *infinite |= (b & 0x7F800000u) == 0x7F800000u;
    return b ^ ((uint32_t)((int32_t)b >> 31) | 0x80000000u);
}

/// 16 labels of one row as float32 (masked lanes are 0).
TK_AVX512 static inline __m512 tk_load16(const void *scores, int wide, size_t at, __mmask16 lanes) {
    if (!wide) return _mm512_maskz_loadu_ps(lanes, (const float *)scores + at);
    const double *d = (const double *)scores + at;
    __m256 lo = _mm512_cvtpd_ps(_mm512_maskz_loadu_pd((__mmask8)lanes, d));
    __m256 hi = _mm512_cvtpd_ps(_mm512_maskz_loadu_pd((__mmask8)(lanes >> 8), d + 8));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

/// Each 64-row word: the truth bytes of every row as 64-label masks, transposed to one
/// word per label; the scores keyed and transposed 16 rows × 16 labels in registers.
TK_AVX512 static int store_fill_avx512(const uint8_t *truth, const void *scores, int wide, size_t n, size_t start,
                                       size_t r0, size_t r1, uint32_t *const *keys, uint64_t *const *bits) {
    const __m512i exponent = _mm512_set1_epi32(0x7F800000), top = _mm512_set1_epi32((int)0x80000000u);
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 infinite = 0;
    uint32_t infiniteTail = 0;
    __m512i bad = _mm512_setzero_si512();
    uint64_t rm[64];
    size_t r = r0;
    while (r < r1) {
        size_t g = start + r, end = r + (64 - (g & 63));
        if (end > r1) end = r1;
        size_t first = g & 63;
        int partial = first != 0 || end - r != 64;
        for (size_t j0 = 0; j0 < n; j0 += 64) {
            size_t m = n - j0 < 64 ? n - j0 : 64;
            __mmask64 lanes = m == 64 ? ~(__mmask64)0 : (((__mmask64)1 << m) - 1);
            if (partial) memset(rm, 0, sizeof rm);
            for (size_t i = r; i < end; i++) {
                __m512i v = _mm512_maskz_loadu_epi8(lanes, truth + i * n + j0);
                bad = _mm512_or_si512(bad, v);
                rm[first + (i - r)] = _mm512_test_epi8_mask(v, v);
            }
            tk_transpose64(rm);
            for (size_t j = 0; j < m; j++) bits[j0 + j][g >> 6] |= rm[j];
        }
        size_t i = r;
        for (; i + 16 <= end; i += 16) {
            for (size_t j0 = 0; j0 < n; j0 += 16) {
                size_t m = n - j0 < 16 ? n - j0 : 16;
                __mmask16 lanes = m == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << m) - 1);
                __m512i a[16];
                for (int q = 0; q < 16; q++) {
                    __m512i b = _mm512_castps_si512(_mm512_add_ps(tk_load16(scores, wide, (i + q) * n + j0, lanes), zero));
                    infinite |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(b, exponent), exponent);
                    a[q] = _mm512_xor_si512(b, _mm512_or_si512(_mm512_srai_epi32(b, 31), top));
                }
                tk_transpose16(a);
                for (size_t c = 0; c < m; c++) _mm512_storeu_si512((void *)(keys[j0 + c] + start + i), a[c]);
            }
        }
        for (; i < end; i++) {
            for (size_t j = 0; j < n; j++) {
                float f = wide ? (float)((const double *)scores)[i * n + j] : ((const float *)scores)[i * n + j];
                keys[j][start + i] = tk_key32(f, &infiniteTail);
            }
        }
        r = end;
    }
    int badTruth = _mm512_test_epi8_mask(bad, _mm512_set1_epi8((char)0xFE)) != 0;
    return (infinite || infiniteTail ? 1 : 0) | (badTruth ? 2 : 0);
}
#endif

int tk_store_fill_f32(const uint8_t *truth, const float *scores, size_t n, size_t start, size_t r0, size_t r1,
                      uint32_t *const *keys, uint64_t *const *bits) {
    switch (tk_level()) {
#ifdef TK_X86
    case 4: return store_fill_avx512(truth, scores, 0, n, start, r0, r1, keys, bits);
    case 3: return store_fill_f32_avx2(truth, scores, n, start, r0, r1, keys, bits);
#endif
    default: return store_fill_f32_baseline(truth, scores, n, start, r0, r1, keys, bits);
    }
}

int tk_store_fill_f64(const uint8_t *truth, const double *scores, size_t n, size_t start, size_t r0, size_t r1,
                      uint32_t *const *keys, uint64_t *const *bits) {
    switch (tk_level()) {
#ifdef TK_X86
    case 4: return store_fill_avx512(truth, scores, 1, n, start, r0, r1, keys, bits);
    case 3: return store_fill_f64_avx2(truth, scores, n, start, r0, r1, keys, bits);
#endif
    default: return store_fill_f64_baseline(truth, scores, n, start, r0, r1, keys, bits);
    }
}

// MARK: The ranking sort

/// Buckets above this many cells are split again by their top digit before the sort.
#define TK_RANK_BIG 8192

void tk_rank_bounds(const uint32_t *keys, size_t count, uint32_t *and_, uint32_t *or_) {
    uint32_t a = *and_, o = *or_;
    for (size_t i = 0; i < count; i++) { a &= keys[i]; o |= keys[i]; }
    *and_ = a;
    *or_ = o;
}

tk_rank_plan tk_rank_make_plan(uint32_t and_, uint32_t or_) {
    uint32_t diff = and_ ^ or_;
    unsigned top = diff ? 32 - (unsigned)__builtin_clz(diff) : 0;
    tk_rank_plan plan;
    plan.shift = top > 11 ? top - 11 : 0;
    plan.buckets = 1u << (top - plan.shift);
    plan.high = top >= 32 ? 0 : and_ & ~((1u << top) - 1);
    return plan;
}

void tk_rank_histogram(const uint32_t *keys, const uint64_t *bits, size_t r0, size_t r1, tk_rank_plan plan,
                       uint64_t *histogram) {
    unsigned s = plan.shift;
    uint32_t m = plan.buckets - 1;
    for (size_t r = r0; r < r1; r++) {
        uint64_t t = (bits[r >> 6] >> (r & 63)) & 1;
        histogram[(keys[r] >> s) & m] += 1 | t << 32;
    }
}

void tk_rank_scatter(const uint32_t *keys, const uint64_t *bits, size_t r0, size_t r1, tk_rank_plan plan,
                     size_t *offsets, uint32_t *out) {
    unsigned s = plan.shift;
    uint32_t m = plan.buckets - 1, low = (1u << s) - 1;
    for (size_t r = r0; r < r1; r++) {
        uint32_t k = keys[r], t = (uint32_t)(bits[r >> 6] >> (r & 63)) & 1;
        out[offsets[(k >> s) & m]++] = (k & low) << 1 | t;
    }
}

struct tk_rank_emitter {
    tk_group_fn emit;
    void *context;
    size_t count;
    uint32_t all;  // 1: every group; 0: the groups with a positive
    uint32_t keys[4096], tp[4096], fp[4096];
};

tk_rank_emitter *tk_rank_emitter_new(void) {
    tk_rank_emitter *em = malloc(sizeof *em);
    if (em) tk_rank_emitter_reset(em, NULL, NULL, 0);
    return em;
}

void tk_rank_emitter_free(tk_rank_emitter *em) { free(em); }

void tk_rank_emitter_reset(tk_rank_emitter *em, tk_group_fn emit, void *context, int positive_only) {
    em->all = !positive_only;
    em->emit = emit;
    em->context = context;
    em->count = 0;
}

void tk_rank_flush(tk_rank_emitter *em) {
    if (em->count) em->emit(em->context, em->keys, em->tp, em->fp, em->count);
    em->count = 0;
}

/// Walks ascending cells from the top: one group per distinct key (every cell writes its
/// group's slot, the last one of the group leaves the slot's final counts).
static void rank_scan(const uint32_t *e, size_t m, uint32_t high, uint32_t *ptp, uint32_t *pfp, tk_rank_emitter *em) {
    uint32_t tp = *ptp, fp = *pfp, start = tp, all = em->all;
    size_t g = em->count;
    for (size_t i = m; i-- > 0;) {
        uint32_t x = e[i], t = x & 1;
        tp += t;
        fp += t ^ 1;
        em->keys[g] = high | (x >> 1);
        em->tp[g] = tp;
        em->fp[g] = fp;
        uint32_t boundary = i == 0 || (e[i - 1] >> 1) != (x >> 1);
        g += boundary & (all | (tp != start));
        start = boundary ? tp : start;
        if (g == 4096) { em->count = g; tk_rank_flush(em); g = 0; }
    }
    em->count = g;
    *ptp = tp;
    *pfp = fp;
}

/// The exact ROC area of ascending cells walked from the top, as an integer: twice the
/// area is the sum over groups of Δnegatives · (positives above + positives through the
/// group), here 2 · (positives above the group) for each negative plus Δneg · Δpos per group.
static void rank_scan_area(const uint32_t *e, size_t m, uint32_t *ptp, uint32_t *pfp, uint64_t *area) {
    uint32_t tp = *ptp, fp = *pfp, tps = tp, fps = fp;
    uint64_t a = 0;
    for (size_t i = m; i-- > 0;) {
        uint32_t x = e[i], t = x & 1;
        tp += t;
        fp += t ^ 1;
        a += (uint64_t)(t ^ 1) * 2 * tps;
        uint64_t boundary = i == 0 || (e[i - 1] >> 1) != (x >> 1);
        a += boundary * ((uint64_t)(fp - fps) * (tp - tps));
        tps = boundary ? tp : tps;
        fps = boundary ? fp : fps;
    }
    *area += a;
    *ptp = tp;
    *pfp = fp;
}

/// LSD radix sort of e[0..<m) on its low `bits` bits, in digits sized to m (in cache).
static void rank_lsd(uint32_t *e, uint32_t *tmp, size_t m, unsigned bits) {
    unsigned d = 64 - (unsigned)__builtin_clzll((unsigned long long)m);  // about log2(m) + 1
    if (d > 11) d = 11;
    if (d < 4) d = 4;
    unsigned passes = (bits + d - 1) / d;
    d = (bits + passes - 1) / passes;
    uint32_t counts[2048];
    uint32_t *src = e, *dst = tmp, mask = (1u << d) - 1;
    for (unsigned p = 0, shift = 0; p < passes; p++, shift += d) {
        memset(counts, 0, sizeof(uint32_t) << d);
        for (size_t i = 0; i < m; i++) counts[(src[i] >> shift) & mask]++;
        uint32_t sum = 0;
        for (uint32_t b = 0; b <= mask; b++) { uint32_t c = counts[b]; counts[b] = sum; sum += c; }
        for (size_t i = 0; i < m; i++) { uint32_t x = src[i]; dst[counts[(x >> shift) & mask]++] = x; }
        uint32_t *t = src; src = dst; dst = t;
    }
    if (src != e) memcpy(e, src, m * sizeof *e);
}

/// Sorts and walks one bucket into `em`, or (em NULL) adds its twice-area to *area.
static void rank_sort_walk(uint32_t *e, uint32_t *scratch, size_t m, uint32_t high, uint32_t *tp, uint32_t *fp,
                           tk_rank_emitter *em, uint64_t *area) {
    if (m == 0) return;
    uint32_t a = ~0u, o = 0;
    for (size_t i = 0; i < m; i++) { a &= e[i]; o |= e[i]; }
    uint32_t diff = a ^ o;
    if (diff <= 1) {  // one key: one group
        uint32_t positives = 0;
        for (size_t i = 0; i < m; i++) positives += e[i] & 1;
        if (!em) {
            *area += (uint64_t)((uint32_t)m - positives) * (2 * (uint64_t)*tp + positives);
            *tp += positives;
            *fp += (uint32_t)m - positives;
            return;
        }
        *tp += positives;
        *fp += (uint32_t)m - positives;
        size_t g = em->count;
        em->keys[g] = high | (a >> 1);
        em->tp[g] = *tp;
        em->fp[g] = *fp;
        em->count = g + (em->all | (positives != 0));
        if (em->count == 4096) tk_rank_flush(em);
        return;
    }
    unsigned bits = 32 - (unsigned)__builtin_clz(diff);
    if (m > TK_RANK_BIG && bits > 12) {
        // Split by the top 11 varying bits (never the truth bit: a key stays in one part).
        unsigned shift = bits - 11;
        size_t counts[2048];
        memset(counts, 0, sizeof counts);
        for (size_t i = 0; i < m; i++) counts[(e[i] >> shift) & 2047]++;
        size_t starts[2048], sum = 0;
        for (unsigned b = 0; b < 2048; b++) { starts[b] = sum; sum += counts[b]; }
        for (size_t i = 0; i < m; i++) { uint32_t x = e[i]; scratch[starts[(x >> shift) & 2047]++] = x; }
        for (unsigned b = 2048; b-- > 0;) {
            size_t first = starts[b] - counts[b];
            rank_sort_walk(scratch + first, e + first, counts[b], high, tp, fp, em, area);
        }
        return;
    }
    if (m <= 32) {
        for (size_t i = 1; i < m; i++) {
            uint32_t x = e[i];
            size_t j = i;
            while (j > 0 && e[j - 1] > x) { e[j] = e[j - 1]; j--; }
            e[j] = x;
        }
    } else {
        rank_lsd(e, scratch, m, bits);
    }
    if (em) rank_scan(e, m, high, tp, fp, em);
    else rank_scan_area(e, m, tp, fp, area);
}

void tk_rank_bucket(uint32_t *cells, uint32_t *scratch, size_t count, tk_rank_plan plan, unsigned bucket,
                    uint32_t *tp, uint32_t *fp, tk_rank_emitter *emitter) {
    rank_sort_walk(cells, scratch, count, plan.high | (uint32_t)bucket << plan.shift, tp, fp, emitter, NULL);
}

void tk_rank_bucket_area(uint32_t *cells, uint32_t *scratch, size_t count, tk_rank_plan plan, unsigned bucket,
                         uint32_t *tp, uint32_t *fp, uint64_t *twice_area) {
    rank_sort_walk(cells, scratch, count, plan.high | (uint32_t)bucket << plan.shift, tp, fp, NULL, twice_area);
}
