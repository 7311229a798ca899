// The 36 small GEMMs of each Winograd block (conv2 of the seed's model: 128 tiles × 32
// channels × 32 channels each) in one call and on TallyNet's own AVX-512 register tiles:
// through BLIS they are 108 calls per block, each too small to amortise its call and
// packing. Used where tk_own_kernels_available(); elsewhere Winograd.swift calls BLIS. No stable API.
#include <stdlib.h>
#include "TallyNetKernels.h"
#include "avx512.h"

#if defined(TN_HAVE_AVX512)

/// Masks of a 32-column panel's two vectors for `cols` (1...32) columns.
static inline void panel_masks(long cols, __mmask16 *m0, __mmask16 *m1) {
    *m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    *m1 = cols >= 32 ? (__mmask16)0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
}

/// R rows × one 32-column panel of c = a·b (a: R × K, row stride K; b: K × N; c row stride N).
#define TN_PROD_TILE(R)                                                                                        \
    TN_AVX512 static void prod_##R(const float *a, long K, const float *b, long N, float *c,                   \
                                   __mmask16 m0, __mmask16 m1) {                                               \
        __m512 acc[R][2];                                                                                      \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();                               \
        for (long k = 0; k < K; k++) {                                                                         \
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b + k * N), b1 = _mm512_maskz_loadu_ps(m1, b + k * N + 16);  \
            TN_UNROLL                                                                                          \
            for (int r = 0; r < R; r++) {                                                                      \
                __m512 s = _mm512_set1_ps(a[r * K + k]);                                                       \
                acc[r][0] = _mm512_fmadd_ps(s, b0, acc[r][0]);                                                 \
                acc[r][1] = _mm512_fmadd_ps(s, b1, acc[r][1]);                                                 \
            }                                                                                                  \
        }                                                                                                      \
        TN_UNROLL                                                                                              \
        for (int r = 0; r < R; r++) {                                                                          \
            _mm512_mask_storeu_ps(c + r * N, m0, acc[r][0]);                                                   \
            _mm512_mask_storeu_ps(c + r * N + 16, m1, acc[r][1]);                                              \
        }                                                                                                      \
    }

/// R rows (kernel inputs k0 ..< k0+R) × one 32-column panel of d += aᵀ·g over n tiles
/// (a: n × K, g: n × N, d: K × N, all row-major).
#define TN_KPROD_TILE(R)                                                                                       \
    TN_AVX512 static void kprod_##R(const float *a, long K, const float *g, long N, long n, float *d,          \
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
                __m512 s = _mm512_set1_ps(a[t * K + r]);                                                       \
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
TN_KPROD_TILE(12) TN_KPROD_TILE(4) TN_KPROD_TILE(1)

TN_AVX512 static void products_avx512(const float *a, long as, const float *b, long n, long K, long N, float *c,
                                      long cs) {
    for (int e = 0; e < 36; e++) {
        const float *ae = a + e * as, *be = b + e * K * N;
        float *ce = c + e * cs;
        for (long j0 = 0; j0 < N; j0 += 32) {
            __mmask16 m0, m1;
            panel_masks(N - j0, &m0, &m1);
            for (long r0 = 0; r0 < n;) {
                long left = n - r0;
                if (left >= 12) { prod_12(ae + r0 * K, K, be + j0, N, ce + r0 * N + j0, m0, m1); r0 += 12; }
                else if (left >= 4) { prod_4(ae + r0 * K, K, be + j0, N, ce + r0 * N + j0, m0, m1); r0 += 4; }
                else { prod_1(ae + r0 * K, K, be + j0, N, ce + r0 * N + j0, m0, m1); r0 += 1; }
            }
        }
    }
}

TN_AVX512 static void kernel_products_avx512(const float *a, long as, const float *g, long gs, long n, long K,
                                             long N, float *d) {
    for (int e = 0; e < 36; e++) {
        const float *ae = a + e * as, *ge = g + e * gs;
        float *de = d + e * K * N;
        for (long j0 = 0; j0 < N; j0 += 32) {
            __mmask16 m0, m1;
            panel_masks(N - j0, &m0, &m1);
            for (long k0 = 0; k0 < K;) {
                long left = K - k0;
                if (left >= 12) { kprod_12(ae + k0, K, ge + j0, N, n, de + k0 * N + j0, m0, m1); k0 += 12; }
                else if (left >= 4) { kprod_4(ae + k0, K, ge + j0, N, n, de + k0 * N + j0, m0, m1); k0 += 4; }
                else { kprod_1(ae + k0, K, ge + j0, N, n, de + k0 * N + j0, m0, m1); k0 += 1; }
            }
        }
    }
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
