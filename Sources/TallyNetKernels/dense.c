// TallyNet's own AVX-512 loops for the GEMMs of a Dense layer whose batch is the short side
// (m = batch rows, often 32): the forward `c = x·W`, the input gradient `dX = dy·Wᵀ`, and
// (SGD with momentum) the weight gradient fused with the update of the rows it belongs to.
// BLIS runs these skinny shapes at ≈ 60 GFLOP/s per Zen 4 core with the kernel (680 MB in the
// seed's model) streaming from memory; register tiles that read each weight once and
// prefetch the kernel ahead into L2 run them at ≈ 85–95 (bench/trainer prints both).
// Chosen at run time from the CPU's features (avx512.h), never from a table of models;
// elsewhere TallyNet keeps BLIS. No stable API.
#include <string.h>
#include <stdlib.h>
#include "TallyNetKernels.h"

#include "avx512.h"

#if defined(TN_HAVE_AVX512)

// Rows of the kernel per chunk of the forward: a 48-column panel of a chunk (12 KB) stays in
// L1 while the row groups of x pass over it; the chunk two ahead is prefetched into L2.
enum { FWD_KC = 64, FWD_AHEAD = 2, PANEL = 48 };

/// One MR × (16·NV) tile of c (row stride ldc) over kc kernel rows: c = (load ? c : 0) + x·w;
/// `last` masks the tile's last 16 columns. With `pf`, prefetches 3 lines a row of the region
/// of the kernel it is given (one panel's share of a chunk ahead).
#define TN_FWD_TILE(MR, NV)                                                                                    \
    TN_AVX512 static void fwd_##MR##x##NV(const float *x, long lda, const float *w, long ldw,                  \
                                          long kc, float *c, long ldc, __mmask16 last, int load,               \
                                          const float *pf) {                                                   \
        __m512 a[MR][NV];                                                                                      \
        TN_UNROLL                                                                                              \
        for (int i = 0; i < MR; i++)                                                                           \
            TN_UNROLL                                                                                          \
            for (int v = 0; v < NV; v++)                                                                       \
                a[i][v] = load ? _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, c + i * ldc + 16 * v)      \
                               : _mm512_setzero_ps();                                                          \
        for (long k = 0; k < kc; k++) {                                                                        \
            if (pf) {                                                                                          \
                _mm_prefetch((const char *)(pf + k * PANEL), _MM_HINT_T1);                                     \
                _mm_prefetch((const char *)(pf + k * PANEL + 16), _MM_HINT_T1);                                \
                _mm_prefetch((const char *)(pf + k * PANEL + 32), _MM_HINT_T1);                                \
            }                                                                                                  \
            __m512 b[NV];                                                                                      \
            TN_UNROLL                                                                                          \
            for (int v = 0; v < NV; v++)                                                                       \
                b[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, w + k * ldw + 16 * v);               \
            TN_UNROLL                                                                                          \
            for (int i = 0; i < MR; i++) {                                                                     \
                __m512 s = _mm512_set1_ps(x[i * lda + k]);                                                     \
                TN_UNROLL                                                                                      \
                for (int v = 0; v < NV; v++) a[i][v] = _mm512_fmadd_ps(s, b[v], a[i][v]);                      \
            }                                                                                                  \
        }                                                                                                      \
        TN_UNROLL                                                                                              \
        for (int i = 0; i < MR; i++)                                                                           \
            TN_UNROLL                                                                                          \
            for (int v = 0; v < NV; v++)                                                                       \
                _mm512_mask_storeu_ps(c + i * ldc + 16 * v, v == NV - 1 ? last : 0xFFFF, a[i][v]);             \
    }

TN_FWD_TILE(8, 3) TN_FWD_TILE(8, 2) TN_FWD_TILE(8, 1)
TN_FWD_TILE(4, 3) TN_FWD_TILE(4, 2) TN_FWD_TILE(4, 1)
TN_FWD_TILE(2, 3) TN_FWD_TILE(2, 2) TN_FWD_TILE(2, 1)
TN_FWD_TILE(1, 3) TN_FWD_TILE(1, 2) TN_FWD_TILE(1, 1)

typedef void (*fwd_tile)(const float *, long, const float *, long, long, float *, long, __mmask16, int,
                         const float *);
static const fwd_tile fwd_tiles[4][3] = {
    {fwd_8x1, fwd_8x2, fwd_8x3}, {fwd_4x1, fwd_4x2, fwd_4x3},
    {fwd_2x1, fwd_2x2, fwd_2x3}, {fwd_1x1, fwd_1x2, fwd_1x3}};

TN_AVX512 static void dense_forward_avx512(const float *x, long lda, const float *w, long k, long n, long m,
                                           float *c, int accumulate) {
    for (long k0 = 0; k0 < k; k0 += FWD_KC) {
        long kc = k - k0 < FWD_KC ? k - k0 : FWD_KC;
        int load = accumulate || k0 > 0;
        // The chunk FWD_AHEAD ahead, while it lies wholly inside the kernel.
        const float *ahead = k0 + (FWD_AHEAD + 1) * FWD_KC <= k ? w + (k0 + FWD_AHEAD * FWD_KC) * n : NULL;
        for (long i0 = 0; i0 < m;) {
            long left = m - i0;
            int g = left >= 8 ? 0 : left >= 4 ? 1 : left >= 2 ? 2 : 3;
            long mr = 8 >> g;
            for (long j0 = 0, p = 0; j0 < n; j0 += PANEL, p++) {
                long cols = n - j0 < PANEL ? n - j0 : PANEL;
                int nv = (int)((cols + 15) / 16);
                __mmask16 last = (__mmask16)((1u << (cols - 16 * (nv - 1))) - 1);
                const float *pf = i0 == 0 && ahead ? ahead + p * FWD_KC * PANEL : NULL;
                fwd_tiles[g][nv - 1](x + i0 * lda + k0, lda, w + k0 * n + j0, n, kc, c + i0 * n + j0, n, last,
                                     load, pf);
            }
            i0 += mr;
        }
    }
}

/// R kernel rows × (16·NV) batch rows of dX: dx[i·ldc + r] = Σ_j dyt[j·mp + i]·w[r·u + j] for the
/// `rows_i` batch rows that exist. With `pf`, prefetches the next R kernel rows into L1.
#define TN_DX_TILE(R, NV)                                                                                      \
    TN_AVX512 static void dx_##R##x##NV(const float *w, long u, const float *dyt, long mp, float *dx,          \
                                        long ldc, long rows_i, int pf) {                                       \
        __m512 a[R][NV];                                                                                       \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++)                                                                            \
            TN_UNROLL                                                                                          \
            for (int v = 0; v < NV; v++) a[r][v] = _mm512_setzero_ps();                                        \
        for (long j = 0; j < u; j++) {                                                                         \
            if (pf && (j & 15) == 0)                                                                           \
                TN_UNROLL                                                                                      \
                for (int r = 0; r < R; r++) _mm_prefetch((const char *)(w + (R + r) * u + j), _MM_HINT_T0);    \
            __m512 d[NV];                                                                                      \
            TN_UNROLL                                                                                          \
            for (int v = 0; v < NV; v++) d[v] = _mm512_loadu_ps(dyt + j * mp + 16 * v);                        \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) {                                                                      \
                __m512 s = _mm512_set1_ps(w[r * u + j]);                                                       \
                TN_UNROLL                                                                                      \
                for (int v = 0; v < NV; v++) a[r][v] = _mm512_fmadd_ps(s, d[v], a[r][v]);                      \
            }                                                                                                  \
        }                                                                                                      \
        float t[R][16 * NV];                                                                                   \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++)                                                                            \
            TN_UNROLL                                                                                          \
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(t[r] + 16 * v, a[r][v]);                             \
        for (long i = 0; i < rows_i; i++)                                                                      \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) dx[i * ldc + r] = t[r][i];                                             \
    }

TN_DX_TILE(12, 2) TN_DX_TILE(12, 1)
TN_DX_TILE(4, 2) TN_DX_TILE(4, 1)
TN_DX_TILE(1, 2) TN_DX_TILE(1, 1)

TN_AVX512 static void dense_input_grad_avx512(const float *dyt, long m, long u, const float *w, long k,
                                              float *dx, long ldc) {
    long mp = (m + 15) / 16 * 16;
    for (long r0 = 0; r0 < k;) {
        long left = k - r0, rr = left >= 12 ? 12 : left >= 4 ? 4 : 1;
        int pf = r0 + 2 * rr <= k;
        // Batch rows in groups of 32 (two vectors), the last group 16 or 32 wide.
        for (long i0 = 0; i0 < m; i0 += 32) {
            long rows_i = m - i0 < 32 ? m - i0 : 32;
            int two = mp - i0 > 16;
            const float *wr = w + r0 * u, *d = dyt + i0;
            float *o = dx + i0 * ldc + r0;
            int p = pf && i0 == 0;
            if (rr == 12) two ? dx_12x2(wr, u, d, mp, o, ldc, rows_i, p) : dx_12x1(wr, u, d, mp, o, ldc, rows_i, p);
            else if (rr == 4) two ? dx_4x2(wr, u, d, mp, o, ldc, rows_i, p) : dx_4x1(wr, u, d, mp, o, ldc, rows_i, p);
            else two ? dx_1x2(wr, u, d, mp, o, ldc, rows_i, p) : dx_1x1(wr, u, d, mp, o, ldc, rows_i, p);
        }
        r0 += rr;
    }
}

/// R kernel rows × one 128-column segment of the momentum step (see tk_dense_momentum_rows):
/// the rows' gradient in registers (batch `m` deep), then v, w and the column squares. With
/// `pw`/`pv`, asks for the same segment of R rows of w and v there, two lines per batch row.
#define TN_MOMENTUM_TILE(R)                                                                                    \
    TN_AVX512 static void momentum_##R(const float *x, long lda, const float *dy, long m, long u,              \
                                       const __mmask16 *mask, float alpha, float beta, float *w,               \
                                       float *v, const float *scale, float *sums, const float *pw,             \
                                       const float *pv) {                                                      \
        __m512 a[R][8];                                                                                        \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++)                                                                            \
            TN_UNROLL                                                                                          \
            for (int q = 0; q < 8; q++) a[r][q] = _mm512_setzero_ps();                                         \
        for (long i = 0; i < m; i++) {                                                                         \
            if (pw && i < 8 * R) {                                                                             \
                const long at = (i >> 3) * u + 16 * (i & 7);                                                   \
                _mm_prefetch((const char *)(pw + at), _MM_HINT_T1);                                            \
                _mm_prefetch((const char *)(pv + at), _MM_HINT_T1);                                            \
            }                                                                                                  \
            __m512 b[R];                                                                                       \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) b[r] = _mm512_set1_ps(x[i * lda + r]);                                 \
            TN_UNROLL                                                                                          \
            for (int q = 0; q < 8; q++) {                                                                      \
                __m512 d = _mm512_maskz_loadu_ps(mask[q], dy + i * u + 16 * q);                                \
                TN_UNROLL                                                                                      \
                for (int r = 0; r < R; r++) a[r][q] = _mm512_fmadd_ps(b[r], d, a[r][q]);                       \
            }                                                                                                  \
        }                                                                                                      \
        /* Per 16 columns: the column squares stay in a register across the R rows (added in row  */           \
        /* order as before), one load and one store of `sums` per tile instead of one per row.     */          \
        __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);                                          \
        TN_UNROLL                                                                                              \
        for (int q = 0; q < 8; q++) {                                                                          \
            const __mmask16 k = mask[q];                                                                       \
            __m512 f = sums ? _mm512_maskz_loadu_ps(k, sums + 16 * q) : _mm512_setzero_ps();                   \
            const __m512 s = scale ? _mm512_maskz_loadu_ps(k, scale + 16 * q) : _mm512_setzero_ps();           \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) {                                                                      \
                float *wr = w + r * u + 16 * q, *vr = v + r * u + 16 * q;                                      \
                __m512 g = _mm512_mul_ps(al, a[r][q]);                                                         \
                __m512 vv = _mm512_add_ps(g, _mm512_mul_ps(be, _mm512_maskz_loadu_ps(k, vr)));                 \
                __m512 ww = _mm512_maskz_loadu_ps(k, wr);                                                      \
                if (scale) ww = _mm512_mul_ps(ww, s);                                                          \
                ww = _mm512_add_ps(ww, vv);                                                                    \
                _mm512_mask_storeu_ps(vr, k, vv);                                                              \
                _mm512_mask_storeu_ps(wr, k, ww);                                                              \
                if (sums) f = _mm512_add_ps(f, _mm512_mul_ps(ww, ww));                                         \
            }                                                                                                  \
            if (sums) _mm512_mask_storeu_ps(sums + 16 * q, k, f);                                              \
        }                                                                                                      \
    }

TN_MOMENTUM_TILE(3) TN_MOMENTUM_TILE(1)

TN_AVX512 static void dense_momentum_avx512(const float *x, long lda, const float *dy, long m, long u, long rows,
                                            float alpha, float beta, float *w, float *v, const float *scale,
                                            float *sums) {
    // Blocks of BLOCK rows, each walked one 128-column segment at a time: a segment of dy
    // (32 rows x 128 columns, 16 KB) then stays in L1 for the whole block instead of all of dy
    // (64 KB, more than L1) streaming through it for every three rows, and the block's w and v
    // rows stay in L2 between its segments. Each column still sums its rows' squares in row order.
    // The step streams w and v from memory (the seed's 680 MB kernel): each tile asks for its
    // segment of the rows a block ahead into L2, a few lines per batch row, so that the requests
    // go out while the FMAs run. Asking for the next three whole rows at once (192 lines, more
    // than L2 keeps in flight), rows outer, the step took 113-135 ms per batch of the seed's model
    // at 204x204 on two threads (C harness, Zen 4); prefetching as here, 93-107 rows outer and
    // 85-96 in blocks (77-84 with w and v in cache).
    enum { BLOCK = 24 };
    for (long b0 = 0; b0 < rows; b0 += BLOCK) {
        const long b1 = b0 + BLOCK < rows ? b0 + BLOCK : rows;
        for (long j0 = 0; j0 < u; j0 += 128) {
            __mmask16 mask[8];
            for (int q = 0; q < 8; q++) {
                long left = u - j0 - 16 * q;
                mask[q] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            }
            const float *sc = scale ? scale + j0 : NULL;
            float *sm = sums ? sums + j0 : NULL;
            for (long r0 = b0; r0 < b1;) {
                if (b1 - r0 >= 3) {
                    const int pf = r0 + BLOCK + 3 <= rows && j0 + 128 <= u;  // whole segments only
                    const float *pw = pf ? w + (r0 + BLOCK) * u + j0 : NULL;
                    const float *pv = pf ? v + (r0 + BLOCK) * u + j0 : NULL;
                    momentum_3(x + r0, lda, dy + j0, m, u, mask, alpha, beta, w + r0 * u + j0, v + r0 * u + j0, sc,
                               sm, pw, pv);
                    r0 += 3;
                } else {
                    momentum_1(x + r0, lda, dy + j0, m, u, mask, alpha, beta, w + r0 * u + j0, v + r0 * u + j0, sc,
                               sm, NULL, NULL);
                    r0 += 1;
                }
            }
        }
    }
}

#endif

int tk_own_kernels_available(void) { return tn_avx512_available(); }

void tk_dense_forward(const float *x, long lda, const float *w, long k, long n, long m, float *c, int accumulate) {
    if (k == 0) {
        if (!accumulate)
            for (long i = 0; i < m; i++) memset(c + i * n, 0, (size_t)n * sizeof(float));
        return;
    }
#if defined(TN_HAVE_AVX512)
    dense_forward_avx512(x, lda, w, k, n, m, c, accumulate);
#else
    abort();  // callers ask tk_own_kernels_available() first
#endif
}

void tk_dense_pack_gradient(const float *dy, long m, long u, float *dyt) {
    long mp = (m + 15) / 16 * 16;
    for (long j = 0; j < u; j++) {
        float *row = dyt + j * mp;
        for (long i = 0; i < m; i++) row[i] = dy[i * u + j];
        for (long i = m; i < mp; i++) row[i] = 0;
    }
}

void tk_dense_momentum_rows(const float *x, long lda, const float *dy, long m, long u, long rows, float alpha,
                            float beta, float *w, float *v, const float *scale, float *sums) {
#if defined(TN_HAVE_AVX512)
    dense_momentum_avx512(x, lda, dy, m, u, rows, alpha, beta, w, v, scale, sums);
#else
    abort();  // callers ask tk_own_kernels_available() first
#endif
}

void tk_dense_input_grad(const float *dyt, long m, long u, const float *w, long k, float *dx, long ldc) {
#if defined(TN_HAVE_AVX512)
    dense_input_grad_avx512(dyt, m, u, w, k, dx, ldc);
#else
    abort();  // callers ask tk_own_kernels_available() first
#endif
}
