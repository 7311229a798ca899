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

#ifdef __cplusplus
}
#endif

#endif
