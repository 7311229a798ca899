// The 36 small GEMMs of each Winograd block (conv2 of the seed's model: 128 tiles × 32
// channels × 32 channels each) in one call and on TallyNet's own AVX-512 register tiles:
// through BLIS they are 108 calls per block, each too small to amortise its call and
// packing. The same tiles run the stacked-row convolution of an RGB image (the seed's conv1:
// k = 27, with its bias and relu applied as each tile is stored). Used where
// tk_own_kernels_available(); elsewhere Winograd.swift and Convolution.swift call BLIS. No stable API.
#include <stdlib.h>
#include "TallyNetKernels.h"
#include "avx512.h"

#if defined(TN_HAVE_AVX512)

/// Masks of a 32-column panel's two vectors for `cols` (1...32) columns.
static inline void panel_masks(long cols, __mmask16 *m0, __mmask16 *m1) {
    *m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    *m1 = cols >= 32 ? (__mmask16)0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
}

/// R rows × one 32-column panel of c = act(a·b + bias) (a: R × K, row stride lda; b: K × N;
/// c row stride N; `bias`: the panel's N-side values or NULL; `relu`: max(·, 0) after it).
#define TN_PROD_TILE(R)                                                                                        \
    TN_AVX512 static void prod_##R(const float *a, long lda, long K, const float *b, long N, float *c,         \
                                   __mmask16 m0, __mmask16 m1, const float *bias, int relu) {                  \
        __m512 acc[R][2];                                                                                      \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();                               \
        for (long k = 0; k < K; k++) {                                                                         \
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b + k * N), b1 = _mm512_maskz_loadu_ps(m1, b + k * N + 16);  \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) {                                                                      \
                __m512 s = _mm512_set1_ps(a[r * lda + k]);                                                     \
                acc[r][0] = _mm512_fmadd_ps(s, b0, acc[r][0]);                                                 \
                acc[r][1] = _mm512_fmadd_ps(s, b1, acc[r][1]);                                                 \
            }                                                                                                  \
        }                                                                                                      \
        if (bias) {                                                                                            \
            __m512 c0 = _mm512_maskz_loadu_ps(m0, bias), c1 = _mm512_maskz_loadu_ps(m1, bias + 16);            \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) {                                                                      \
                acc[r][0] = _mm512_add_ps(acc[r][0], c0);                                                      \
                acc[r][1] = _mm512_add_ps(acc[r][1], c1);                                                      \
            }                                                                                                  \
        }                                                                                                      \
        if (relu) {                                                                                            \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) {                                                                      \
                acc[r][0] = _mm512_max_ps(acc[r][0], _mm512_setzero_ps());                                     \
                acc[r][1] = _mm512_max_ps(acc[r][1], _mm512_setzero_ps());                                     \
            }                                                                                                  \
        }                                                                                                      \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++) {                                                                          \
            _mm512_mask_storeu_ps(c + r * N, m0, acc[r][0]);                                                   \
            _mm512_mask_storeu_ps(c + r * N + 16, m1, acc[r][1]);                                              \
        }                                                                                                      \
    }

/// R rows (kernel inputs k0 ..< k0+R) × one 32-column panel of d += aᵀ·g over n rows
/// (a: n × K with row stride lda, g: n × N, d: K × N, row-major).
#define TN_KPROD_TILE(R)                                                                                       \
    TN_AVX512 static void kprod_##R(const float *a, long lda, const float *g, long N, long n, float *d,        \
                                    __mmask16 m0, __mmask16 m1) {                                              \
        __m512 acc[R][2];                                                                                      \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++) {                                                                          \
            acc[r][0] = _mm512_maskz_loadu_ps(m0, d + r * N);                                                  \
            acc[r][1] = _mm512_maskz_loadu_ps(m1, d + r * N + 16);                                             \
        }                                                                                                      \
        for (long t = 0; t < n; t++) {                                                                         \
            __m512 g0 = _mm512_maskz_loadu_ps(m0, g + t * N), g1 = _mm512_maskz_loadu_ps(m1, g + t * N + 16);  \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) {                                                                      \
                __m512 s = _mm512_set1_ps(a[t * lda + r]);                                                     \
                acc[r][0] = _mm512_fmadd_ps(s, g0, acc[r][0]);                                                 \
                acc[r][1] = _mm512_fmadd_ps(s, g1, acc[r][1]);                                                 \
            }                                                                                                  \
        }                                                                                                      \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++) {                                                                          \
            _mm512_mask_storeu_ps(d + r * N, m0, acc[r][0]);                                                   \
            _mm512_mask_storeu_ps(d + r * N + 16, m1, acc[r][1]);                                              \
        }                                                                                                      \
    }

TN_PROD_TILE(12) TN_PROD_TILE(4) TN_PROD_TILE(1)
TN_KPROD_TILE(12) TN_KPROD_TILE(4) TN_KPROD_TILE(3) TN_KPROD_TILE(1)

/// c (n × N) = act(a·b + bias), a: n × K with row stride lda; 12, 4 and 1-row tiles.
TN_AVX512 static void rows_avx512(const float *a, long lda, long K, const float *b, long N, long n, float *c,
                                  const float *bias, int relu) {
    for (long j0 = 0; j0 < N; j0 += 32) {
        __mmask16 m0, m1;
        panel_masks(N - j0, &m0, &m1);
        const float *bj = bias ? bias + j0 : NULL;
        for (long r0 = 0; r0 < n;) {
            long left = n - r0;
            const float *ar = a + r0 * lda;
            float *cr = c + r0 * N + j0;
            if (left >= 12) { prod_12(ar, lda, K, b + j0, N, cr, m0, m1, bj, relu); r0 += 12; }
            else if (left >= 4) { prod_4(ar, lda, K, b + j0, N, cr, m0, m1, bj, relu); r0 += 4; }
            else { prod_1(ar, lda, K, b + j0, N, cr, m0, m1, bj, relu); r0 += 1; }
        }
    }
}

/// d (K × N) += aᵀ·g over n rows, a: n × K with row stride lda; 12, 4, 3 and 1-row tiles
/// (K = 27, an RGB image's 3×3 patch: 12 + 12 + 3, three passes over g).
TN_AVX512 static void kernel_rows_avx512(const float *a, long lda, const float *g, long n, long K, long N, float *d) {
    for (long j0 = 0; j0 < N; j0 += 32) {
        __mmask16 m0, m1;
        panel_masks(N - j0, &m0, &m1);
        for (long k0 = 0; k0 < K;) {
            long left = K - k0;
            const float *ak = a + k0;
            float *dk = d + k0 * N + j0;
            if (left >= 12) { kprod_12(ak, lda, g + j0, N, n, dk, m0, m1); k0 += 12; }
            else if (left >= 4) { kprod_4(ak, lda, g + j0, N, n, dk, m0, m1); k0 += 4; }
            else if (left >= 3) { kprod_3(ak, lda, g + j0, N, n, dk, m0, m1); k0 += 3; }
            else { kprod_1(ak, lda, g + j0, N, n, dk, m0, m1); k0 += 1; }
        }
    }
}

TN_AVX512 static void products_avx512(const float *a, long as, const float *b, long n, long K, long N, float *c,
                                      long cs) {
    for (int e = 0; e < 36; e++) rows_avx512(a + e * as, K, K, b + e * K * N, N, n, c + e * cs, NULL, 0);
}

TN_AVX512 static void kernel_products_avx512(const float *a, long as, const float *g, long gs, long n, long K,
                                             long N, float *d) {
    for (int e = 0; e < 36; e++) kernel_rows_avx512(a + e * as, K, g + e * gs, n, K, N, d + e * K * N);
}
#endif

void tk_wino_products(const float *a, long as, const float *b, long n, long K, long N, float *c, long cs) {
#if defined(TN_HAVE_AVX512)
    products_avx512(a, as, b, n, K, N, c, cs);
#else
    abort();  // callers ask tk_own_kernels_available() first
#endif
}

void tk_wino_kernel_products(const float *a, long as, const float *g, long gs, long n, long K, long N, float *d) {
#if defined(TN_HAVE_AVX512)
    kernel_products_avx512(a, as, g, gs, n, K, N, d);
#else
    abort();  // callers ask tk_own_kernels_available() first
#endif
}

void tk_conv_rows(const float *a, long lda, long K, const float *b, long N, long n, float *c, const float *bias,
                  int relu) {
#if defined(TN_HAVE_AVX512)
    rows_avx512(a, lda, K, b, N, n, c, bias, relu);
#else
    abort();  // callers ask tk_own_kernels_available() first
#endif
}

void tk_conv_kernel_rows(const float *a, long lda, const float *g, long n, long K, long N, float *d) {
#if defined(TN_HAVE_AVX512)
    kernel_rows_avx512(a, lda, g, n, K, N, d);
#else
    abort();  // callers ask tk_own_kernels_available() first
#endif
}
