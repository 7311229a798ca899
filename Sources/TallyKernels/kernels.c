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

static inline int tk_isfinite_f32(float x) { return (x - x) == (x - x); }
static inline int tk_isfinite_f64(double x) { return (x - x) == (x - x); }

#define TK_FN(name) name##_baseline
#define TK_ATTR
#include "kernels_body.h"
#undef TK_FN
#undef TK_ATTR

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define TK_X86 1
#define TK_FN(name) name##_avx2
#define TK_ATTR __attribute__((target("avx2,bmi,bmi2,popcnt")))
#include "kernels_body.h"
#undef TK_FN
#undef TK_ATTR
#define TK_FN(name) name##_avx512
#define TK_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi,bmi2,popcnt")))
#include "kernels_body.h"
#undef TK_FN
#undef TK_ATTR
#endif

#ifdef TK_X86
#include <immintrin.h>

// AVX-512BW rows of up to 64 labels: one masked load per row (no read past the row), label
// sums in byte lanes of three registers, each row's counts from mask popcounts.
#define TK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi,bmi2,popcnt")))

TK_AVX512 static inline void flush64(__m512i *acc, size_t n, int64_t *counts) {
    uint8_t lanes[3][64];
    for (int k = 0; k < 3; k++) { _mm512_storeu_si512((void *)lanes[k], acc[k]); acc[k] = _mm512_setzero_si512(); }
    for (size_t j = 0; j < n; j++) {
        counts[3 * j] += lanes[0][j]; counts[3 * j + 1] += lanes[1][j]; counts[3 * j + 2] += lanes[2][j];
    }
}

TK_AVX512 static inline void row64(__m512i ta, __m512i pa, __m512i *acc, tk_count_out *out) {
    __mmask64 mt = _mm512_test_epi8_mask(ta, ta), mp = _mm512_test_epi8_mask(pa, pa), mx = mt & mp;
    acc[0] = _mm512_add_epi8(acc[0], _mm512_and_si512(ta, pa));
    acc[1] = _mm512_add_epi8(acc[1], pa);
    acc[2] = _mm512_add_epi8(acc[2], ta);
    uint32_t tp = (uint32_t)_mm_popcnt_u64(mx), fp = (uint32_t)_mm_popcnt_u64(mp) - tp,
             fn = (uint32_t)_mm_popcnt_u64(mt) - tp;
    if (out->small && (tp | fp | fn) < 16) out->small[tp | fp << 4 | fn << 8]++;
    else out->large[out->large_count++] = (int64_t)tp | (int64_t)fp << 21 | (int64_t)fn << 42;
}

TK_AVX512 static int count_bytes_64_avx512(const uint8_t *truth, const uint8_t *pred, size_t rows, size_t n,
                                           tk_count_out *out) {
    __mmask64 row = n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
    __m512i acc[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    __m512i bad = _mm512_setzero_si512();
    size_t pending = 0;
    for (size_t r = 0; r < rows; r++) {
        __m512i ta = _mm512_maskz_loadu_epi8(row, truth + r * n), pa = _mm512_maskz_loadu_epi8(row, pred + r * n);
        bad = _mm512_or_si512(bad, _mm512_or_si512(ta, pa));
        row64(ta, pa, acc, out);
        if (++pending == 255) { flush64(acc, n, out->counts); pending = 0; }
    }
    flush64(acc, n, out->counts);
    return _mm512_test_epi8_mask(bad, _mm512_set1_epi8((char)0xFE)) != 0;
}

TK_AVX512 static int count_scores_f32_64_avx512(const uint8_t *truth, const float *scores, const float *threshold,
                                                size_t rows, size_t n, tk_count_out *out) {
    __mmask64 row = n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
    __m512 th[4];
    __mmask16 part[4];
    for (int c = 0; c < 4; c++) {
        part[c] = (__mmask16)(row >> (16 * c));
        th[c] = _mm512_maskz_loadu_ps(part[c], threshold + 16 * c);
    }
    const __m512i one = _mm512_set1_epi8(1);
    __m512i acc[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    __m512i bad = _mm512_setzero_si512();
    __mmask16 nan = 0;
    size_t pending = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *s = scores + r * n;
        uint64_t predicted = 0;
        for (int c = 0; c < 4; c++) {
            if (!part[c]) break;
            __m512 v = _mm512_maskz_loadu_ps(part[c], s + 16 * c);
            predicted |= (uint64_t)_mm512_mask_cmp_ps_mask(part[c], v, th[c], _CMP_GE_OQ) << (16 * c);
            nan |= _mm512_mask_cmp_ps_mask(part[c], v, v, _CMP_UNORD_Q);
        }
        __m512i ta = _mm512_maskz_loadu_epi8(row, truth + r * n);
        bad = _mm512_or_si512(bad, ta);
        row64(ta, _mm512_maskz_mov_epi8((__mmask64)predicted, one), acc, out);
        if (++pending == 255) { flush64(acc, n, out->counts); pending = 0; }
    }
    flush64(acc, n, out->counts);
    return _mm512_test_epi8_mask(bad, _mm512_set1_epi8((char)0xFE)) != 0 || nan != 0;
}
#endif

typedef long (*rank_f32_fn)(const uint8_t *, const float *, size_t, int, uint32_t *, int32_t *, int32_t *, int32_t *);
typedef long (*rank_f64_fn)(const uint8_t *, const double *, size_t, int, uint64_t *, int32_t *, int32_t *, int32_t *);
typedef int (*coverage_f32_fn)(const uint8_t *, const float *, size_t, size_t, uint32_t *, int64_t *);
typedef int (*coverage_f64_fn)(const uint8_t *, const double *, size_t, size_t, uint64_t *, int64_t *);
typedef int (*count_bytes_fn)(const uint8_t *, const uint8_t *, size_t, size_t, tk_count_out *);
typedef int (*count_f32_fn)(const uint8_t *, const float *, const float *, size_t, size_t, tk_count_out *);

static struct {
    int level;
    rank_f32_fn rank_f32;
    rank_f64_fn rank_f64;
    coverage_f32_fn coverage_f32;
    coverage_f64_fn coverage_f64;
    count_bytes_fn count_bytes;
    count_f32_fn count_f32;
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
     table.count_f32 = count_scores_f32_small_##L)
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
#endif
    return table.count_bytes(truth, pred, rows, n, out);
}

int tk_count_scores_f32(const uint8_t *truth, const float *scores, const float *threshold, size_t rows, size_t n,
                        tk_count_out *out) {
    ensure();
    if (n > TK_MAX_LANES) return -1;
#ifdef TK_X86
    if (table.level == 4 && n <= 64) return count_scores_f32_64_avx512(truth, scores, threshold, rows, n, out);
#endif
    return table.count_f32(truth, scores, threshold, rows, n, out);
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
