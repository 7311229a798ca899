// The score store's kernels, included once per instruction-set level by store.c with
// TK_FN(name) naming that level's copy and TK_ATTR its target attribute.

// Rows of one 64-row word at a time, 64 labels at a time: the labels' word accumulators
// stay in registers or L1 while each row's scores are read once, in order.
#define TK_STORE_FILL(SUFFIX, FLOAT)                                                                           \
    TK_ATTR static int TK_FN(store_fill_##SUFFIX)(const uint8_t *truth, const FLOAT *scores, size_t n,         \
                                                  size_t start, size_t r0, size_t r1, uint32_t *const *keys,   \
                                                  uint64_t *const *bits) {                                     \
        uint32_t infinite = 0;                                                                                \
        uint8_t bad = 0;                                                                                      \
        uint64_t w[64];                                                                                       \
        size_t r = r0;                                                                                        \
        while (r < r1) {                                                                                      \
            size_t g = start + r, end = r + (64 - (g & 63));                                                  \
            if (end > r1) end = r1;                                                                           \
            for (size_t j0 = 0; j0 < n; j0 += 64) {                                                           \
                size_t m = n - j0 < 64 ? n - j0 : 64;                                                         \
                for (size_t j = 0; j < m; j++) w[j] = 0;                                                      \
                for (size_t i = r; i < end; i++) {                                                            \
                    const FLOAT *s = scores + i * n + j0;                                                     \
                    const uint8_t *t = truth + i * n + j0;                                                    \
                    unsigned shift = (unsigned)((start + i) & 63);                                            \
                    for (size_t j = 0; j < m; j++) {                                                          \
                        float x = (float)s[j] + 0.0f; /* -0 becomes +0 */                                     \
                        uint32_t b;                                                                           \
                        memcpy(&b, &x, sizeof b);                                                             \
                        infinite |= (b & 0x7F800000u) == 0x7F800000u;                                         \
                        keys[j0 + j][start + i] = b ^ ((uint32_t)((int32_t)b >> 31) | 0x80000000u);           \
                        bad |= t[j];                                                                          \
                        w[j] |= (uint64_t)(t[j] & 1) << shift;                                                \
                    }                                                                                         \
                }                                                                                             \
                for (size_t j = 0; j < m; j++) bits[j0 + j][g >> 6] |= w[j];                                  \
            }                                                                                                 \
            r = end;                                                                                          \
        }                                                                                                     \
        return (infinite ? 1 : 0) | ((bad & 0xFE) ? 2 : 0);                                                   \
    }

TK_STORE_FILL(f32, float)
TK_STORE_FILL(f64, double)
