// Internal to Tally: the per-row hot loops of the counting and ranking metrics, in C so
// that each is compiled for AVX-512, AVX2 and baseline x86-64 (NEON is the AArch64
// baseline) and picked at run time from the CPU's instruction-set features, never from
// a CPU model. `TALLY_KERNEL=baseline|avx2|avx512` asks for a lower level (tests run
// each level against the others); a level the CPU lacks is never used. No stable API.
#ifndef TALLY_KERNELS_H
#define TALLY_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The level in use: 0 baseline (NEON on AArch64), 3 AVX2, 4 AVX-512; chosen once.
int tk_level(void);
/// Its name: "baseline", "neon", "avx2" or "avx512".
const char *tk_level_name(void);
/// Chooses again (after `TALLY_KERNEL` changed; for tests). Not thread-safe against
/// concurrent kernel calls.
void tk_reset_level(void);

/// Per-row results of a count: label sums go to `counts` (tp, predicted, actual per
/// label, added). Each row's own (tp, fp, fn): with `small` NULL, its key
/// (tp | fp << 21 | fn << 42) is appended to `large` (room for every row), `large_count`
/// advanced; else `small` has `tk_row_slots(n)` slots: for n <= 64 one per possible triple,
/// every row counted there (`large` unused); above, 4096 slots (index tp | fp << 4 | fn << 8)
/// for the rows whose counts are all below 16, the others' keys appended to `large`.
/// `tk_row_entries` reads the table.
typedef struct {
    int64_t *counts;
    int64_t *small;
    int64_t *large;
    size_t large_count;
} tk_count_out;

/// Returns `*next` and adds 1, atomically: threads claiming blocks of work.
long tk_claim(long *next);

/// Slots of the row table for `n` labels (see `tk_count_out`).
size_t tk_row_slots(size_t n);
/// Adds the `slices` row tables at `tables` (each `tk_row_slots(n)` slots) into the first
/// and lists its nonzero slots: keys (tp | fp << 21 | fn << 42) and row counts, in key
/// order of the layout (room for `tk_row_slots(n)` each); returns how many.
size_t tk_row_entries(size_t n, int64_t *tables, size_t slices, int64_t *keys, int64_t *rows);

/// Counts `rows` rows of `n` labels of 0/1 bytes. Returns nonzero when a byte is not 0/1
/// (the counts are then meaningless).
int tk_count_bytes(const uint8_t *truth, const uint8_t *pred, size_t rows, size_t n, tk_count_out *out);
/// The same with float32 scores: a label is predicted when `score >= threshold[j]`.
/// Returns nonzero when a truth byte is not 0/1 or a score is nan.
int tk_count_scores_f32(const uint8_t *truth, const float *scores, const float *threshold, size_t rows, size_t n,
                        tk_count_out *out);

/// What a weighted count writes (see `tk_count_bytes_weighted`): two parts, which one call
/// or two calls side by side on the same rows (two threads) can take.
typedef struct {
    /// The label sums, 3 per label; NULL: another call's part.
    double *sums;
    /// The row table, its weights, the weight total and the check of every value; NULL
    /// (`row_table`): another call's part.
    int64_t *row_table;
    double *weight_table;
    /// The rows' weights summed in row order from +0 (may be NULL).
    double *weight_sum;
} tk_weighted_out;

/// Weighted rows of 1 <= n <= 64 labels (bool/uint8 truth and predictions, or float32 scores
/// against `threshold`). The sums part writes, per label, the float64 sums in row order of
/// the weights of the rows where it is a true positive, predicted, actual (`sums`, 3 per
/// label, from +0, bit for bit `sum += w * x` row by row). The table part counts each row
/// at its triple's slot ((0, 0, 0) for weight 0) in `row_table` and adds its weight to
/// `weight_table` there (both `tk_row_slots(n)` slots; start the weights at -0.0, which
/// adding w turns into w exactly), sums the weights, and checks every value: it returns
/// nonzero on a bad value (as above); the sums part alone checks nothing and returns 0.
/// Returns -1 when n is 0 or above 64, or `out` asks for neither part.
int tk_count_bytes_weighted(const uint8_t *truth, const uint8_t *pred, const double *weights, size_t rows, size_t n,
                            tk_weighted_out *out);
int tk_count_scores_f32_weighted(const uint8_t *truth, const float *scores, const float *threshold, const double *weights,
                                 size_t rows, size_t n, tk_weighted_out *out);
/// The nonzero slots of a weighted row table: keys, row counts and weight sums; returns how many.
size_t tk_row_entries_weighted(size_t n, const int64_t *row_table, const double *weight_table, int64_t *keys,
                               int64_t *rows, double *weights);

/// One row of the ranking metrics with 0/1 truth bytes. Keys the scores (order keys,
/// -0 = +0) into `keys` (n slots), lists the relevant labels, and for each relevant
/// label q writes above[q] = #{j: s_j > s_i}, at[q] = #{j: s_j >= s_i},
/// rel[q] = #{relevant j: s_j >= s_i}. Returns the relevant count, or -1 when a truth
/// byte is not 0/1 or a score is not finite. With `coverage_only` it writes only
/// at[0] = the coverage (labels at or above the lowest relevant score).
long tk_rank_row_f32(const uint8_t *truth, const float *scores, size_t n, int coverage_only, uint32_t *keys,
                     int32_t *above, int32_t *at, int32_t *rel);
long tk_rank_row_f64(const uint8_t *truth, const double *scores, size_t n, int coverage_only, uint64_t *keys,
                     int32_t *above, int32_t *at, int32_t *rel);

/// Coverage (as `coverage_only` above) summed over `rows` rows into `*sum`; -1 as above.
int tk_coverage_rows_f32(const uint8_t *truth, const float *scores, size_t rows, size_t n, uint32_t *keys, int64_t *sum);
int tk_coverage_rows_f64(const uint8_t *truth, const double *scores, size_t rows, size_t n, uint64_t *keys, int64_t *sum);

#ifdef __cplusplus
}
#endif

// The score store's kernels (store.c).
#include "TallyStoreKernels.h"

#endif
