// TallyNet's element-wise passes in C, built per instruction set (TK_DISPATCH): dropout's
// mask (its 32-bit multiplies run as AVX-512/AVX2 vectors; baseline x86-64, which the Swift
// code is built for, has no 32-bit vector multiply), the relu gradient pass, and the finite
// check of float32 inputs.
#include <stdint.h>
#include "TallyNetKernels.h"

#include "dispatch.h"

// In 32-bit lanes throughout: the element index as a 32-bit induction (64-bit lanes cost two
// conversions a vector) and the factor as a select between the same two values as
// `(1 - dropped) · scale` (0 and scale), not a convert and a multiply.
static inline __attribute__((always_inline)) float factor(uint32_t j, uint32_t key, int32_t threshold, float scale) {
    uint32_t h = (j * 0x9E3779B9u) ^ key;
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    const int32_t u = (int32_t)(h >> 8);
    return u < threshold ? 0.0f : scale;
}

static inline __attribute__((always_inline)) void in_place(float *y, long n, long first, uint32_t key,
                                                           int32_t threshold, float scale) {
    uint32_t j = (uint32_t)first;
    for (long i = 0; i < n; i++, j++) y[i] *= factor(j, key, threshold, scale);
}

static inline __attribute__((always_inline)) void copying(const float *restrict x, float *restrict y, long n,
                                                          long first, uint32_t key, int32_t threshold, float scale) {
    uint32_t j = (uint32_t)first;
    for (long i = 0; i < n; i++, j++) y[i] = x[i] * factor(j, key, threshold, scale);
}

TK_DISPATCH
void tk_dropout(const float *x, float *y, long n, long first, unsigned key, int threshold, float scale) {
    // Two loops: with one pointer in place, no alias check sends the loop down a scalar path.
    if (x == y) {
        in_place(y, n, first, key, threshold, scale);
    } else {
        copying(x, y, n, first, key, threshold, scale);
    }
}

/// bias[ch] += o[p·c + ch] over the row's pixels p in order. With c a constant (inlined into a
/// case of its own) the c sums stay in registers; with c a variable each pixel's adds went
/// through memory, a store-to-load chain that took a third of the pass in cache (c = 32; in the
/// seed model at 64×64 the pass mostly waits on loading its inputs either way).
static inline __attribute__((always_inline)) void row_bias_sums(const float *restrict o, long width, long c,
                                                                float *restrict bias) {
    float acc[64];
    if (c > 64) {
        for (long p = 0; p < width; p++)
            for (long ch = 0; ch < c; ch++) bias[ch] += o[p * c + ch];
        return;
    }
    for (long ch = 0; ch < c; ch++) acc[ch] = bias[ch];
    for (long p = 0; p < width; p++)
        for (long ch = 0; ch < c; ch++) acc[ch] += o[p * c + ch];
    for (long ch = 0; ch < c; ch++) bias[ch] = acc[ch];
}

// The gradient at a relu convolution's pre-activation, in one pass over a sample instead of
// three (relu's derivative in place, the bias sums, the copy into the convolution's padded
// gradient buffer) or four (a dropout above folded in, reading its mask back from y as
// `Dropout.backwardFromOutput` does). The same two products as the separate passes, in the
// same order, and the bias sums in pixel order: the same bits.
TK_DISPATCH
void tk_relu_grad_rows(const float *restrict dy, const float *restrict y, long rows, long width, long c,
                       float keptScale, float *restrict dst, long dstStride, float *restrict bias) {
    const long n = width * c;
    for (long r = 0; r < rows; r++) {
        const float *d = dy + r * n, *v = y + r * n;
        float *o = dst + r * dstStride;
        for (long i = 0; i < n; i++) {
            const float kept = v[i] != 0 ? keptScale : 0, positive = v[i] > 0 ? 1 : 0;
            o[i] = d[i] * kept * positive;
        }
        if (bias) {
            switch (c) {  // a constant channel count keeps the sums in registers across the row
            case 16: row_bias_sums(o, width, 16, bias); break;
            case 32: row_bias_sums(o, width, 32, bias); break;
            case 64: row_bias_sums(o, width, 64, bias); break;
            default: row_bias_sums(o, width, c, bias); break;
            }
        }
    }
}

// Blocks of 1024 values: the exponent test of a block vectorises (or-reduced, no early exit),
// and only a block that holds a non-finite value is searched one value at a time.
typedef uint32_t __attribute__((may_alias)) tk_bits;

TK_DISPATCH
long tk_first_nonfinite(const float *x, long n) {
    const tk_bits *b = (const tk_bits *)x;
    for (long i0 = 0; i0 < n; i0 += 1024) {
        const long i1 = n - i0 < 1024 ? n : i0 + 1024;
        uint32_t any = 0;
        for (long i = i0; i < i1; i++) any |= (b[i] & 0x7F800000u) == 0x7F800000u;
        if (any)
            for (long i = i0; i < i1; i++)
                if ((b[i] & 0x7F800000u) == 0x7F800000u) return i;
    }
    return -1;
}
