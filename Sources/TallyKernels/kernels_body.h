// The kernels' bodies, included once per instruction-set level by kernels.c with
// TK_FN(name) naming that level's copy and TK_ATTR its target attribute.

#define TK_ROW_RANK(SUFFIX, FLOAT, KEY, SIGNED, SHIFT, TOP, ISFINITE)                                       \
    TK_ATTR static long TK_FN(rank_row_##SUFFIX)(const uint8_t *truth, const FLOAT *scores, size_t n,          \
                                                 int coverage_only, KEY *keys, int32_t *above, int32_t *at,   \
                                                 int32_t *rel) {                                              \
        uint8_t bad = 0;                                                                                      \
        int finite = 1;                                                                                       \
        for (size_t j = 0; j < n; j++) {                                                                      \
            FLOAT y = scores[j] + (FLOAT)0; /* -0 becomes +0 */                                               \
            KEY bits;                                                                                         \
            memcpy(&bits, &y, sizeof bits);                                                                   \
            keys[j] = bits ^ ((KEY)((SIGNED)bits >> SHIFT) | TOP);                                            \
            bad |= truth[j];                                                                                  \
            finite &= ISFINITE(scores[j]);                                                                    \
        }                                                                                                     \
        if ((bad & 0xFE) || !finite) return -1;                                                               \
        if (coverage_only) {                                                                                  \
            KEY lowest = (KEY)-1;                                                                             \
            size_t count = 0;                                                                                 \
            for (size_t j = 0; j < n; j++) {                                                                  \
                KEY k = keys[j] | ((KEY)(truth[j] & 1) - 1);                                                  \
                lowest = k < lowest ? k : lowest;                                                             \
                count += truth[j];                                                                            \
            }                                                                                                 \
            if (count == 0) { at[0] = 0; return 0; }                                                          \
            int32_t covered = 0;                                                                              \
            for (size_t j = 0; j < n; j++) covered += keys[j] >= lowest;                                      \
            at[0] = covered;                                                                                  \
            return (long)count;                                                                               \
        }                                                                                                     \
        long count = 0;                                                                                       \
        for (size_t i = 0; i < n; i++) {                                                                      \
            if (!truth[i]) continue;                                                                          \
            KEY ki = keys[i];                                                                                 \
            int32_t gt = 0, ge = 0, re = 0;                                                                   \
            for (size_t j = 0; j < n; j++) {                                                                  \
                KEY y = keys[j];                                                                              \
                gt += y > ki;                                                                                 \
                int32_t g = y >= ki;                                                                          \
                ge += g;                                                                                      \
                re += g & truth[j];                                                                           \
            }                                                                                                 \
            above[count] = gt;                                                                                \
            at[count] = ge;                                                                                   \
            rel[count] = re;                                                                                  \
            count++;                                                                                          \
        }                                                                                                     \
        return count;                                                                                         \
    }

TK_ROW_RANK(f32, float, uint32_t, int32_t, 31, 0x80000000u, tk_isfinite_f32)
TK_ROW_RANK(f64, double, uint64_t, int64_t, 63, 0x8000000000000000ull, tk_isfinite_f64)

// Label sums in byte lanes (flushed every 255 rows, before a lane could wrap) and each
// row's own counts (tk_rows_*), from predictions that `PRED(j)` reads as 0/1 bytes.
#define TK_COUNT(NAME, PARAMS, PRED, CHECK)                                                                    \
    TK_ATTR static int TK_FN(NAME) PARAMS {                                                                    \
        uint8_t lanes[3 * TK_MAX_LANES];                                                                      \
        uint8_t *ltp = lanes, *lpr = lanes + TK_MAX_LANES, *lac = lanes + 2 * TK_MAX_LANES;                   \
        memset(lanes, 0, sizeof lanes);                                                                       \
        uint8_t bad = 0;                                                                                      \
        size_t pending = 0;                                                                                   \
        tk_rows rt;                                                                                           \
        tk_rows_begin(&rt, n, out);                                                                           \
        for (size_t r = 0; r < rows; r++) {                                                                   \
            const uint8_t *t = truth + r * n;                                                                 \
            uint32_t rtp = 0, rpr = 0, rac = 0;                                                               \
            for (size_t j = 0; j < n; j++) {                                                                  \
                uint8_t a = t[j], b = PRED;                                                                   \
                CHECK;                                                                                        \
                a &= 1; b &= 1; /* a bad byte (refused after) keeps the row's triple inside the table */      \
                uint8_t x = a & b;                                                                            \
                ltp[j] += x; lpr[j] += b; lac[j] += a;                                                        \
                rtp += x; rpr += b; rac += a;                                                                 \
            }                                                                                                 \
            tk_rows_add(&rt, rtp, rpr - rtp, rac - rtp);                                                      \
            if (++pending == 255 || r + 1 == rows) {                                                          \
                for (size_t j = 0; j < n; j++) {                                                              \
                    out->counts[3 * j] += ltp[j]; out->counts[3 * j + 1] += lpr[j]; out->counts[3 * j + 2] += lac[j]; \
                }                                                                                             \
                memset(lanes, 0, sizeof lanes);                                                               \
                pending = 0;                                                                                  \
            }                                                                                                 \
        }                                                                                                     \
        tk_rows_end(&rt, out);                                                                                \
        return bad != 0;                                                                                      \
    }

TK_COUNT(count_bytes_small, (const uint8_t *truth, const uint8_t *pred, size_t rows, size_t n, tk_count_out *out),
         pred[r * n + j], bad |= (a | b) & 0xFE)
TK_COUNT(count_scores_f32_small,
         (const uint8_t *truth, const float *scores, const float *threshold, size_t rows, size_t n, tk_count_out *out),
         (uint8_t)(scores[r * n + j] >= threshold[j]), bad |= (a & 0xFE) | (uint8_t)(scores[r * n + j] != scores[r * n + j]))

// Weighted rows of up to 64 labels: per label, float64 sums of the row weights in row
// order (each label's own accumulator, so vectorizing across labels keeps every sum's
// order; `w * x` as the row loop adds it); each row's triple, (0, 0, 0) for weight 0,
// counted in the row table with its weight, and the weight total. Either part may be left
// to another call (`sums` or `row_table` NULL).
#define TK_COUNT_WEIGHTED(NAME, PARAMS, PRED, CHECK)                                                           \
    TK_ATTR static int TK_FN(NAME) PARAMS {                                                                    \
        double stp[TK_TABLE_LABELS], spr[TK_TABLE_LABELS], sac[TK_TABLE_LABELS];                              \
        for (size_t j = 0; j < n; j++) stp[j] = spr[j] = sac[j] = 0.0;                                        \
        int32_t off[(TK_TABLE_LABELS + 1) * (TK_TABLE_LABELS + 1)];                                           \
        const int sums = out->sums != NULL, table = out->row_table != NULL;                                  \
        if (table) tk_row_offsets(n, off);                                                                    \
        double total = 0.0;                                                                                   \
        uint8_t bad = 0;                                                                                      \
        for (size_t r = 0; r < rows; r++) {                                                                   \
            const uint8_t *t = truth + r * n;                                                                 \
            const double w = weights[r];                                                                      \
            uint32_t rtp = 0, rpr = 0, rac = 0;                                                               \
            uint8_t p[TK_TABLE_LABELS];                                                                       \
            for (size_t j = 0; j < n; j++) {                                                                  \
                uint8_t a = t[j], b = PRED;                                                                   \
                if (table) CHECK;                                                                             \
                a &= 1; b &= 1; /* as above: tp <= predicted, actual <= n for any bytes */                    \
                p[j] = b;                                                                                     \
                rtp += a & b; rpr += b; rac += a;                                                             \
            }                                                                                                 \
            if (sums)                                                                                         \
                for (size_t j = 0; j < n; j++) {                                                              \
                    uint64_t a = t[j] & 1, b = p[j];                                                          \
                    stp[j] += w * (double)(a & b); spr[j] += w * (double)b; sac[j] += w * (double)a;          \
                }                                                                                             \
            if (table) {                                                                                      \
                int32_t slot = off[(rac - rtp) * (TK_TABLE_LABELS + 1) + (rpr - rtp)] + (int32_t)rtp;        \
                slot = w == 0 ? 0 : slot;                                                                     \
                out->row_table[slot]++;                                                                       \
                out->weight_table[slot] += w;                                                                 \
                total += w;                                                                                   \
            }                                                                                                 \
        }                                                                                                     \
        if (sums)                                                                                             \
            for (size_t j = 0; j < n; j++) {                                                                  \
                out->sums[3 * j] = stp[j]; out->sums[3 * j + 1] = spr[j]; out->sums[3 * j + 2] = sac[j];      \
            }                                                                                                 \
        if (table && out->weight_sum) *out->weight_sum = total;                                               \
        return bad != 0;                                                                                      \
    }

TK_COUNT_WEIGHTED(count_bytes_weighted,
                  (const uint8_t *truth, const uint8_t *pred, const double *weights, size_t rows, size_t n,
                   tk_weighted_out *out),
                  pred[r * n + j], bad |= (a | b) & 0xFE)
TK_COUNT_WEIGHTED(count_scores_f32_weighted,
                  (const uint8_t *truth, const float *scores, const float *threshold, const double *weights, size_t rows,
                   size_t n, tk_weighted_out *out),
                  (uint8_t)(scores[r * n + j] >= threshold[j]),
                  bad |= (a & 0xFE) | (uint8_t)(scores[r * n + j] != scores[r * n + j]))

// Coverage summed over unweighted rows: integers, so the sum is exact in any order.
#define TK_COVERAGE_ROWS(SUFFIX, FLOAT, KEY)                                                                   \
    TK_ATTR static int TK_FN(coverage_rows_##SUFFIX)(const uint8_t *truth, const FLOAT *scores, size_t rows,   \
                                                     size_t n, KEY *keys, int64_t *sum) {                     \
        int64_t total = 0;                                                                                    \
        int32_t at;                                                                                           \
        for (size_t r = 0; r < rows; r++) {                                                                   \
            if (TK_FN(rank_row_##SUFFIX)(truth + r * n, scores + r * n, n, 1, keys, NULL, &at, NULL) < 0)      \
                return -1;                                                                                    \
            total += at;                                                                                      \
        }                                                                                                     \
        *sum = total;                                                                                         \
        return 0;                                                                                             \
    }

TK_COVERAGE_ROWS(f32, float, uint32_t)
TK_COVERAGE_ROWS(f64, double, uint64_t)
