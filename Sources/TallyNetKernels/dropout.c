// Dropout's mask, in C so that its 32-bit multiplies run as AVX-512/AVX2 vectors (baseline
// x86-64, which the Swift code is built for, has no 32-bit vector multiply).
#include <stdint.h>
#include "TallyNetKernels.h"

#include "dispatch.h"

static inline __attribute__((always_inline)) float factor(long i, uint32_t key, int32_t threshold, float scale) {
    uint32_t h = ((uint32_t)i * 0x9E3779B9u) ^ key;
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    const int32_t u = (int32_t)(h >> 8);
    const uint32_t dropped = (uint32_t)(u - threshold) >> 31;  // u < threshold
    return (float)(1 - (int32_t)dropped) * scale;
}

static inline __attribute__((always_inline)) void in_place(float *y, long n, uint32_t key, int32_t threshold,
                                                           float scale) {
    for (long i = 0; i < n; i++) y[i] *= factor(i, key, threshold, scale);
}

static inline __attribute__((always_inline)) void copying(const float *restrict x, float *restrict y, long n,
                                                          uint32_t key, int32_t threshold, float scale) {
    for (long i = 0; i < n; i++) y[i] = x[i] * factor(i, key, threshold, scale);
}

TK_DISPATCH
void tk_dropout(const float *x, float *y, long n, unsigned key, int threshold, float scale) {
    // Two loops: with one pointer in place, no alias check sends the loop down a scalar path.
    if (x == y) {
        in_place(y, n, key, threshold, scale);
    } else {
        copying(x, y, n, key, threshold, scale);
    }
}
