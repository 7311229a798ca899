// Internal to TallyNet: the element-wise parts of Winograd F(4×4, 3×3) convolutions, in C
// so that each function is compiled for AVX-512, AVX2 and baseline x86-64 and picked at
// load time (the Swift code is built for baseline x86-64). The GEMMs between these
// transforms run on BLIS from the Swift side. No stable API.
//
// Layouts (all float32, channels innermost):
//   padded image: rows of `pwidth` pixels × `c` channels; output tile (ty, tx) reads the
//     6 × 6 pixels at padded (4·ty, 4·tx), i.e. input rows 4·ty - 1 ... with a 1-pixel border.
//   transformed block: element ξ = 6·i + j of tile t (t0 ≤ t < t1) and channel ch at
//     v[ξ·stride + (t - t0)·c + ch]  — 36 row-major (tiles × channels) GEMM operands.
//   kernel: Keras (3, 3, cin, cout); transformed U[ξ][cin][cout], Uᵀ[ξ][cout][cin].
#ifndef TALLYNET_KERNELS_H
#define TALLYNET_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// U = G·g·Gᵀ for every (cin, cout), both multiples of 8: u[ξ][ci][co], or with `transposed` u[ξ][co][ci]
/// (dV = dM·Uᵀ is then a plain GEMM).
void tk_wino_kernel(const float *w, long cin, long cout, int transposed, float *u);
/// dW = Gᵀ·dU·G: du[ξ][ci][co] → dw (3, 3, cin, cout), overwritten.
void tk_wino_kernel_grad(const float *du, long cin, long cout, float *dw);

/// V = Bᵀ·d·B of tiles t0 ..< t1 (tilesW tiles per row) of an h × w × c image (zero outside:
/// tile (ty, tx) reads pixels from (4ty − 1, 4tx − 1)); `patch` is 36·c floats of scratch.
void tk_wino_input(const float *x, long h, long w, long c, long tilesW, long t0, long t1,
                   float *v, long stride, float *patch);
/// Adds B·dV·Bᵀ of tiles t0 ..< t1 into the h × w × c input gradient (tiles overlap by 2;
/// what falls outside the image is dropped); `patch` is 36·c floats of scratch. Called over a
/// sample's tiles in order from tile 0, it needs no zeroed dX: the first tile at each pixel stores.
void tk_wino_input_grad(const float *dv, long stride, long c, long tilesW, long t0, long t1,
                        float *dx, long h, long w, float *patch);

/// y = Aᵀ·M·A + bias (may be NULL), then relu if `relu`, into the valid pixels of an
/// outH × outW × cout image.
void tk_wino_output(const float *m, long stride, long cout, long tilesW, long t0, long t1,
                    const float *bias, int relu, float *y, long outH, long outW);
/// The same, then 2 × 2 max pooling with stride 2: pooled (outH/2) × (outW/2) × cout values and,
/// per value, the window position a·2 + b of its first maximum (row-major scan, strict >).
void tk_wino_output_pool2(const float *m, long stride, long cout, long tilesW, long t0, long t1,
                          const float *bias, int relu, float *pooled, unsigned char *codes,
                          long outH, long outW);
/// dM = A·dY·Aᵀ from an outH × outW × cout gradient (zero outside the image).
void tk_wino_output_grad(const float *dy, long outH, long outW, long cout, long tilesW,
                         long t0, long t1, float *dm, long stride);
/// The same for a dY that is zero but at each 2 × 2 window's maximum (`codes`), where it
/// is the pooled gradient g ((outH/2) × (outW/2) × cout).
void tk_wino_output_grad_pool2(const float *g, const unsigned char *codes, long outH, long outW,
                               long cout, long tilesW, long t0, long t1, float *dm, long stride);

/// The 36 GEMMs of a Winograd block on TallyNet's own AVX-512 tiles (products.c), where
/// tk_own_kernels_available(); otherwise the callers use BLIS.
/// For each element e < 36: c_e (n × N) = a_e (n × K) · b_e (K × N), row-major with rows of K
/// and N values; a_e = a + e·as, b_e = b + e·K·N, c_e = c + e·cs.
void tk_wino_products(const float *a, long as, const float *b, long n, long K, long N, float *c, long cs);
/// For each element e < 36: d_e (K × N) += a_eᵀ · g_e, a_e = a + e·as (n × K), g_e = g + e·gs
/// (n × N), d_e = d + e·K·N.
void tk_wino_kernel_products(const float *a, long as, const float *g, long gs, long n, long K, long N, float *d);
/// One such product with strided rows, for a convolution's stacked rows (products.c):
/// c (n × N, rows of N) = act(a·b + bias), a: n × K with row stride lda (rows may overlap),
/// b: K × N; `bias` (N values) or NULL, then max(·, 0) if `relu`.
void tk_conv_rows(const float *a, long lda, long K, const float *b, long N, long n, float *c, const float *bias,
                  int relu);
/// d (K × N) += aᵀ·g over n rows: a: n × K with row stride lda, g: n × N.
void tk_conv_kernel_rows(const float *a, long lda, const float *g, long n, long K, long N, float *d);

/// Dropout's mask over elements first ..< first + n of one sample: y[i] = x[i] · (scale or 0) for
/// element j = first + i, kept iff the top 24 bits of lowbias32((j · 0x9E3779B9) ^ key) are >= threshold
/// (`Dropout.maskParameters`; the tests hold a Swift reference). `y` may be `x`.
void tk_dropout(const float *x, float *y, long n, long first, unsigned key, int threshold, float scale);
/// dst (rows `dstStride` floats apart) = dy · (y ≠ 0 ? keptScale : 0) · (y > 0 ? 1 : 0) over `rows`
/// rows of width·c values (dy, y contiguous): relu's derivative, with a dropout above it folded
/// in (keptScale 1/(1 − rate); 1 without one); each row's values then added to bias[c] (or NULL)
/// in pixel order.
void tk_relu_grad_rows(const float *dy, const float *y, long rows, long width, long c, float keptScale,
                       float *dst, long dstStride, float *bias);

/// The index of the first value of x[0 ..< n] that is not finite (nan or ±inf), or -1
/// (`firstNonFinite`, the check of the samples and of weight and optimizer arrays).
long tk_first_nonfinite(const float *x, long n);

/// 1 when this CPU has AVX-512F and FMA, the only requirement of TallyNet's own GEMM loops
/// (dense.c, products.c); otherwise the callers use BLIS.
int tk_own_kernels_available(void);
/// Dense layers (dense.c): TallyNet's own AVX-512 loops for the batch-short GEMMs.
/// c (m × n, row-major) = x · w, or c += x · w with `accumulate`: x is m × k with row stride
/// `lda`, w is k × n row-major.
void tk_dense_forward(const float *x, long lda, const float *w, long k, long n, long m, float *c, int accumulate);
/// dyt = dyᵀ, padded: row j (of u) holds dy[0..<m][j] then zeros up to a multiple of 16.
void tk_dense_pack_gradient(const float *dy, long m, long u, float *dyt);
/// SGD with momentum over kernel rows 0..<rows, each row while its gradient is in registers:
/// g = alpha · (xᵀ·dy)[r] (x: m × rows with row stride lda; dy: m × u), v = g + beta·v,
/// w = w·scale + v (`scale`: pending max-norm factors per column, or NULL), and, with `sums`,
/// sums[j] += w[r][j]² (float, added to what is there). w and v: rows × u, row-major.
void tk_dense_momentum_rows(const float *x, long lda, const float *dy, long m, long u, long rows, float alpha,
                            float beta, float *w, float *v, const float *scale, float *sums);
/// dx (m × k, row stride ldc) = dy · wᵀ, from dyt packed as above; w is k × u row-major.
void tk_dense_input_grad(const float *dyt, long m, long u, const float *w, long k, float *dx, long ldc);

/// The CPU, as its instruction set describes it (no table of models).
typedef struct {
    char architecture[16];   // "x86_64", "aarch64", "other"
    char vendor[16];         // cpuid leaf 0, e.g. "AuthenticAMD"; empty off x86
    char brand[64];          // cpuid 0x80000002-4, e.g. "AMD EPYC 9B14"; may be empty
    int family, model, stepping;
    int sse4_2, avx, avx2, fma, avx512f, avx512bw, avx512dq, avx512vl, avx512bf16, neon;
} tk_cpu;

void tk_cpu_query(tk_cpu *cpu);
/// Which build of the TK_DISPATCH functions the loader picked: 4 = x86-64-v4 (AVX-512),
/// 3 = x86-64-v3 (AVX2+FMA), 0 = baseline; -1 = a build without the clones (ThreadSanitizer).
int tk_elementwise_level(void);

#ifdef __cplusplus
}
#endif
#endif
