// Internal to Tally: the score store's kernels (storing a batch as per-label order keys and
// truth bits; sorting the stored keys into groups of tied scores for ROC AUC, average
// precision and their curves). Built per instruction-set level like TallyKernels.h's and
// chosen by the same `tk_level()` (TALLY_KERNEL asks for a lower one). No stable API.
#ifndef TALLY_STORE_KERNELS_H
#define TALLY_STORE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Stores rows [r0, r1) of a row-major batch of `n` labels a row: for every label j and row
/// r, keys[j][start + r] = the order key of scores[r * n + j] (the float32 bits, sign bit
/// flipped for positive numbers and every bit for negative ones, after -0 became +0), and
/// bit (start + r) % 64 of word bits[j][(start + r) / 64] is OR-ed with truth[r * n + j]
/// (the words must hold their old bits or zero). Two calls whose row ranges start and end
/// at multiples of 64 of `start + r` write disjoint memory. Returns bit 0 set when a score
/// is not finite and bit 1 when a truth byte is neither 0 nor 1 (the keys and bits written
/// are then meaningless).
int tk_store_fill_f32(const uint8_t *truth, const float *scores, size_t n, size_t start, size_t r0, size_t r1,
                      uint32_t *const *keys, uint64_t *const *bits);
/// The same for float64 scores that float32 holds exactly (each is keyed as its float32).
int tk_store_fill_f64(const uint8_t *truth, const double *scores, size_t n, size_t start, size_t r0, size_t r1,
                      uint32_t *const *keys, uint64_t *const *bits);

/// The ranking sort of stored cells (32-bit keys and truth bits), in four steps that the
/// caller may split over threads: the keys' common bits (`tk_rank_bounds`, AND and OR
/// folded in); a histogram by the top digit below them (`tk_rank_histogram`: cells and
/// positives per bucket, at most 2048 buckets); a scatter of each cell as
/// `(key & low) << 1 | truth` into its bucket (`tk_rank_scatter`); then each bucket, from
/// the highest, sorted in cache and walked from the top (`tk_rank_bucket`), which hands
/// `emit` the groups of tied keys (key, then the cumulative positive and negative counts
/// at or above it, starting from the counts of the buckets above), a chunk at a time.
typedef struct {
    unsigned shift;  // the bucket of a key: (key >> shift) & (buckets - 1)
    unsigned buckets;
    uint32_t high;   // the bits every key shares above the digit
} tk_rank_plan;

/// Folds keys[0..<count] into *and_ and *or_.
void tk_rank_bounds(const uint32_t *keys, size_t count, uint32_t *and_, uint32_t *or_);
/// The plan for keys whose AND and OR are given.
tk_rank_plan tk_rank_make_plan(uint32_t and_, uint32_t or_);
/// Adds rows [r0, r1) of one label (keys[r], truth bit r of bits) to histogram[bucket]:
/// cells in the low 32 bits, positives in the high 32 (fewer than 2^32 cells in all).
void tk_rank_histogram(const uint32_t *keys, const uint64_t *bits, size_t r0, size_t r1, tk_rank_plan plan,
                       uint64_t *histogram);
/// Writes rows [r0, r1) of one label to out[offsets[bucket]++].
void tk_rank_scatter(const uint32_t *keys, const uint64_t *bits, size_t r0, size_t r1, tk_rank_plan plan,
                     size_t *offsets, uint32_t *out);

typedef void (*tk_group_fn)(void *context, const uint32_t *keys, const uint32_t *tp, const uint32_t *fp,
                            size_t count);
/// Buffers groups (4096) and hands them to `emit` with `context` when full and when flushed.
typedef struct tk_rank_emitter tk_rank_emitter;
tk_rank_emitter *tk_rank_emitter_new(void);
void tk_rank_emitter_free(tk_rank_emitter *emitter);
/// Empties the buffer (dropping what it held) and sets the receiver; with `positive_only`
/// only the groups that hold a positive are handed over.
void tk_rank_emitter_reset(tk_rank_emitter *emitter, tk_group_fn emit, void *context, int positive_only);
/// Sorts bucket `bucket`'s cells cells[0..<count] (scratch: `count` slots; both are
/// overwritten) and emits its groups, highest key first; *tp and *fp hold the counts of
/// the cells above the bucket and are advanced past it. Some groups may stay buffered
/// until `tk_rank_flush`.
void tk_rank_bucket(uint32_t *cells, uint32_t *scratch, size_t count, tk_rank_plan plan, unsigned bucket,
                    uint32_t *tp, uint32_t *fp, tk_rank_emitter *emitter);
/// The same walk for the exact ROC area: adds to *twice_area the sum over the bucket's
/// groups of Δnegatives · (positives above the group + positives through it), an integer
/// (fewer than 2^32 cells).
void tk_rank_bucket_area(uint32_t *cells, uint32_t *scratch, size_t count, tk_rank_plan plan, unsigned bucket,
                         uint32_t *tp, uint32_t *fp, uint64_t *twice_area);
/// Hands over the groups still buffered.
void tk_rank_flush(tk_rank_emitter *emitter);

#ifdef __cplusplus
}
#endif

#endif
