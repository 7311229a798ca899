// Winograd F(4×4, 3×3) transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016): a 3 × 3 correlation over a 6 × 6 input tile gives a 4 × 4 output tile as
//   Y = Aᵀ·[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A,
// summed over input channels — which for all channels at once is 36 GEMMs
// (tiles × cin)·(cin × cout), one per element ξ of the 6 × 6 transformed tile: 36 multiplies
// per 16 outputs instead of 144. Backward is the transpose of each linear map:
//   dM = A·dY·Aᵀ,  dU = Σ_tiles Vᵀ·dM,  dW = Gᵀ·dU·G,  dV = dM·Uᵀ,  dX += B·dV·Bᵀ.
//
// Every loop over channels is the innermost one and unit-stride, so that the compiler
// vectorises it; each function is built three times (AVX-512, AVX2+FMA, baseline) and the
// dynamic loader picks one for the CPU (glibc ifunc).
#include "TallyNetKernels.h"

#include "dispatch.h"

// MARK: 1-D transforms, written for any arithmetic type T (float, or a vector of channels)
// as macros; o and d may not alias, strides in elements.

/// o = Bᵀ·d (6 → 6).
#define BT6(T, d, ds, o, os) do { \
    T d0 = (d)[0], d1 = (d)[(ds)], d2 = (d)[2 * (ds)], d3 = (d)[3 * (ds)], d4 = (d)[4 * (ds)], d5 = (d)[5 * (ds)]; \
    (o)[0] = 4 * d0 - 5 * d2 + d4; \
    (o)[(os)] = -4 * d1 - 4 * d2 + d3 + d4; \
    (o)[2 * (os)] = 4 * d1 - 4 * d2 - d3 + d4; \
    (o)[3 * (os)] = -2 * d1 - d2 + 2 * d3 + d4; \
    (o)[4 * (os)] = 2 * d1 - d2 - 2 * d3 + d4; \
    (o)[5 * (os)] = 4 * d1 - 5 * d3 + d5; \
} while (0)

/// o = B·v (6 → 6): the transpose of BT6.
#define B6(T, v, vs, o, os) do { \
    T v0 = (v)[0], v1 = (v)[(vs)], v2 = (v)[2 * (vs)], v3 = (v)[3 * (vs)], v4 = (v)[4 * (vs)], v5 = (v)[5 * (vs)]; \
    (o)[0] = 4 * v0; \
    (o)[(os)] = -4 * v1 + 4 * v2 - 2 * v3 + 2 * v4 + 4 * v5; \
    (o)[2 * (os)] = -5 * v0 - 4 * v1 - 4 * v2 - v3 - v4; \
    (o)[3 * (os)] = v1 - v2 + 2 * v3 - 2 * v4 - 5 * v5; \
    (o)[4 * (os)] = v0 + v1 + v2 + v3 + v4; \
    (o)[5 * (os)] = v5; \
} while (0)

/// o = Aᵀ·m (6 → 4).
#define AT4(T, m, ms, o, os) do { \
    T m0 = (m)[0], m1 = (m)[(ms)], m2 = (m)[2 * (ms)], m3 = (m)[3 * (ms)], m4 = (m)[4 * (ms)], m5 = (m)[5 * (ms)]; \
    T s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4; \
    (o)[0] = m0 + s12 + s34; \
    (o)[(os)] = d12 + 2 * d34; \
    (o)[2 * (os)] = s12 + 4 * s34; \
    (o)[3 * (os)] = d12 + 8 * d34 + m5; \
} while (0)

/// o = A·y (4 → 6): the transpose of AT4.
#define A6(T, y, ys, o, os) do { \
    T y0 = (y)[0], y1 = (y)[(ys)], y2 = (y)[2 * (ys)], y3 = (y)[3 * (ys)]; \
    (o)[0] = y0; \
    (o)[(os)] = y0 + y1 + y2 + y3; \
    (o)[2 * (os)] = y0 - y1 + y2 - y3; \
    (o)[3 * (os)] = y0 + 2 * y1 + 4 * y2 + 8 * y3; \
    (o)[4 * (os)] = y0 - 2 * y1 + 4 * y2 - 8 * y3; \
    (o)[5 * (os)] = y3; \
} while (0)

/// o = G·g (3 → 6).
#define G6(T, g, gs, o, os) do { \
    T g0 = (g)[0], g1 = (g)[(gs)], g2 = (g)[2 * (gs)]; \
    (o)[0] = g0 / 4; \
    (o)[(os)] = -(g0 + g1 + g2) / 6; \
    (o)[2 * (os)] = -(g0 - g1 + g2) / 6; \
    (o)[3 * (os)] = g0 / 24 + g1 / 12 + g2 / 6; \
    (o)[4 * (os)] = g0 / 24 - g1 / 12 + g2 / 6; \
    (o)[5 * (os)] = g2; \
} while (0)

/// o = Gᵀ·u (6 → 3): the transpose of G6.
#define GT3(u, us, o, os) do { \
    float u0 = (u)[0], u1 = (u)[(us)], u2 = (u)[2 * (us)], u3 = (u)[3 * (us)], u4 = (u)[4 * (us)], u5 = (u)[5 * (us)]; \
    (o)[0] = u0 / 4 - u1 / 6 - u2 / 6 + u3 / 24 + u4 / 24; \
    (o)[(os)] = -u1 / 6 + u2 / 6 + u3 / 12 - u4 / 12; \
    (o)[2 * (os)] = -u1 / 6 - u2 / 6 + u3 / 6 + u4 / 6 + u5; \
} while (0)

/// 8 channels: the unit every per-pixel loop works in (the Winograd path needs channel counts
/// that are multiples of 8). Unaligned: channel rows start anywhere.
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int i8 __attribute__((vector_size(32), aligned(4)));
#define LD(p) (*(const v8 *)(p))
#define ST(p, v) (*(v8 *)(p) = (v))

// MARK: 2-D tile transforms on local arrays (row-major).

/// u[36] = G·g[9]·Gᵀ, for 8 output channels at once (lane by lane the scalar arithmetic:
/// the divisions are correctly rounded either way, so the bits do not depend on the width).
static inline __attribute__((always_inline)) void kernel_tile(const v8 *g, v8 *u) {
    v8 t[18];
    for (int c = 0; c < 3; c++) G6(v8, g + c, 3, t + c, 3);      // columns: t = G·g (6 × 3)
    for (int i = 0; i < 6; i++) G6(v8, t + 3 * i, 1, u + 6 * i, 1); // rows: u = t·Gᵀ
}

/// y[16] = Aᵀ·m[36]·A.
static inline __attribute__((always_inline)) void output_tile(const v8 *m, v8 *y) {
    v8 t[24];
    for (int j = 0; j < 6; j++) AT4(v8, m + j, 6, t + j, 6);      // t = Aᵀ·m (4 × 6)
    for (int a = 0; a < 4; a++) AT4(v8, t + 6 * a, 1, y + 4 * a, 1);
}

/// dm[36] = A·dy[16]·Aᵀ.
static inline __attribute__((always_inline)) void output_grad_tile(const v8 *dy, v8 *dm) {
    v8 t[24];
    for (int b = 0; b < 4; b++) A6(v8, dy + b, 4, t + b, 4);      // t = A·dy (6 × 4)
    for (int i = 0; i < 6; i++) A6(v8, t + 4 * i, 1, dm + 6 * i, 1);
}

// MARK: Kernel (small: cin × cout tiles per batch, scalar)

TK_DISPATCH
void tk_wino_kernel(const float *restrict w, long cin, long cout, int transposed, float *restrict u) {
    const long plane = cin * cout;
    // Element ξ of pair (ci, co) goes to u[ξ][ci][co], or u[ξ][co][ci] when transposed. Eight
    // output channels at a time (cout is a multiple of 8 on the Winograd path): one pair at a
    // time, a tile's 81 divisions by constants ran one by one, 0.1-0.2 ms a call on one
    // thread while the other waited (twice a batch).
    // Transposed, eight input channels at a time (cin is a multiple of 8 too): 9 gathered
    // loads a tile instead of 36 scattered stores.
    v8 g[9], v[36];
    if (!transposed) {
        for (long ci = 0; ci < cin; ci++)
            for (long co = 0; co < cout; co += 8) {
                for (int k = 0; k < 9; k++) g[k] = LD(w + k * plane + ci * cout + co);
                kernel_tile(g, v);
                for (int x = 0; x < 36; x++) ST(u + x * plane + ci * cout + co, v[x]);
            }
    } else {
        for (long co = 0; co < cout; co++)
            for (long ci = 0; ci < cin; ci += 8) {
                for (int k = 0; k < 9; k++)
                    for (int l = 0; l < 8; l++) g[k][l] = w[k * plane + (ci + l) * cout + co];
                kernel_tile(g, v);
                for (int x = 0; x < 36; x++) ST(u + x * plane + co * cin + ci, v[x]);
            }
    }
}

TK_DISPATCH
void tk_wino_kernel_grad(const float *restrict du, long cin, long cout, float *restrict dw) {
    const long plane = cin * cout;
    for (long ci = 0; ci < cin; ci++) {
        for (long co = 0; co < cout; co++) {
            float d[36], t[18], g[9];
            for (int x = 0; x < 36; x++) d[x] = du[x * plane + ci * cout + co];
            for (int j = 0; j < 6; j++) GT3(d + j, 6, t + j, 6);       // t = Gᵀ·dU (3 × 6)
            for (int a = 0; a < 3; a++) GT3(t + 6 * a, 1, g + 3 * a, 1); // g = t·G (3 × 3)
            for (int k = 0; k < 9; k++) dw[k * plane + ci * cout + co] = g[k];
        }
    }
}

// MARK: Input (c a multiple of 8)
//
// The transforms read the image where it lies (h × w × c, rows of w·c floats) rather than a
// zero-bordered copy: the copy in, and the input gradient's copy out, cost a pass over 5 MB
// each per sample at 204 × 204 × 32, twice as much memory per thread, and they pushed the
// next tiles' pixels out of the cache. A tile's 6 × 6 pixels start one pixel up and left of
// its 4 × 4 output block; the tiles on the border (and past a partial last row or column)
// go through a 6 × 6 × c patch with zeros outside the image, so every value is the bits the
// padded copy gave.

/// Whether tile (ty, tx)'s 6 × 6 pixels all lie inside an h × w image.
static inline int tile_inside(long ty, long tx, long h, long w) {
    return ty > 0 && tx > 0 && 4 * ty + 5 <= h && 4 * tx + 5 <= w;
}

/// Copies tile (ty, tx)'s 6 × 6 × c pixels into `patch` (rows of 6·c), zero outside the image.
static inline void gather_patch(const float *restrict x, long h, long w, long c, long ty, long tx,
                                float *restrict patch) {
    for (long r = 0; r < 6; r++) {
        const long y = 4 * ty - 1 + r;
        for (long q = 0; q < 6; q++) {
            const long xx = 4 * tx - 1 + q;
            float *p = patch + (r * 6 + q) * c;
            if (y < 0 || y >= h || xx < 0 || xx >= w) {
                for (long ch = 0; ch < c; ch++) p[ch] = 0;
            } else {
                const float *s = x + (y * w + xx) * c;
                for (long ch = 0; ch < c; ch++) p[ch] = s[ch];
            }
        }
    }
}

/// Asks for the pixels tile t brings in beyond the tiles before it (its last 4 rows of its
/// last 4 columns: the rest was read by the tile to its left or the tile row above). The
/// image (or its gradient) is 5 MB a sample at 204 × 204 × 32, out of L2, and its rows 26 KB
/// apart: each row of a tile is a new 4 KiB page every 8 tiles, where the hardware's stream
/// prefetchers stop. Measured alone, the input transform took 13 % less time with it.
static inline void prefetch_tile(const float *x, long h, long w, long c, long tilesW, long t) {
    const long ty = t / tilesW, tx = t - ty * tilesW;
    if (!tile_inside(ty, tx, h, w)) return;
    const float *p = x + ((4 * ty + 1) * w + 4 * tx + 1) * c;
    for (int r = 0; r < 4; r++, p += w * c) {
        for (long k = 0; k < 4 * c; k += 16) __builtin_prefetch(p + k);
    }
}

/// One tile's Bᵀ·d·B: d from `src` (rows `row` floats apart, pixels c apart), into the 36
/// matrices at `dst` (`stride` floats apart).
static inline __attribute__((always_inline)) void input_tile(const float *restrict src, long row, long c,
                                                             float *restrict dst, long stride) {
    for (long ch = 0; ch < c; ch += 8) {
        v8 tmp[36];
        for (int q = 0; q < 6; q++) {
            v8 d[6];
            for (int r = 0; r < 6; r++) d[r] = LD(src + r * row + q * c + ch);
            BT6(v8, d, 1, tmp + q, 6);                     // column q: tmp = Bᵀ·d
        }
        for (int i = 0; i < 6; i++) {
            v8 o[6];
            BT6(v8, tmp + 6 * i, 1, o, 1);                 // row i: ·B
            for (int j = 0; j < 6; j++) ST(dst + (6 * i + j) * stride + ch, o[j]);
        }
    }
}

TK_DISPATCH
void tk_wino_input(const float *restrict x, long h, long w, long c, long tilesW, long t0, long t1,
                   float *restrict v, long stride, float *restrict patch) {
    for (long t = t0; t < t1; t++) {
        const long ty = t / tilesW, tx = t - ty * tilesW;
        float *dst = v + (t - t0) * c;
        prefetch_tile(x, h, w, c, tilesW, t + 2);
        if (tile_inside(ty, tx, h, w)) {
            input_tile(x + ((4 * ty - 1) * w + 4 * tx - 1) * c, w * c, c, dst, stride);
        } else {
            gather_patch(x, h, w, c, ty, tx, patch);
            input_tile(patch, 6 * c, c, dst, stride);
        }
    }
}

/// Whether tile (ty, tx) is the first, in tile order, to reach its pixel (r, q): the tile row
/// above reaches the tile's first two rows, the tile to the left its first two columns. dX is
/// not zeroed first: the first tile at a pixel stores 0 + its value (+0 for −0, as the sum onto
/// a zeroed dX gave), the others add theirs, in the same order as before.
static inline int first_at(long ty, long tx, long r, long q) { return (ty == 0 || r >= 2) && (tx == 0 || q >= 2); }

/// One tile's B·dV·Bᵀ (dV from the 36 matrices at `src`, `stride` floats apart): with `raw`,
/// stored into a patch at `dst`; else into an inside tile's pixels at `dst` (rows `row` floats
/// apart), stored where it is the first tile there (`first_at`, ty and tx > 0), added elsewhere.
static inline __attribute__((always_inline)) void input_grad_tile(const float *restrict src, long stride, long c,
                                                                  float *restrict dst, long row, int raw) {
    const v8 zero = {0};
    for (long ch = 0; ch < c; ch += 8) {
        v8 tmp[36];
        for (int i = 0; i < 6; i++) {
            v8 d[6];
            for (int j = 0; j < 6; j++) d[j] = LD(src + (6 * i + j) * stride + ch);
            B6(v8, d, 1, tmp + 6 * i, 1);                  // row i: dV·Bᵀ
        }
        for (int q = 0; q < 6; q++) {
            v8 o[6];
            B6(v8, tmp + q, 6, o, 1);                      // column q: B·
            for (int r = 0; r < 6; r++) {
                float *p = dst + r * row + q * c + ch;
                ST(p, raw ? o[r] : first_at(1, 1, r, q) ? zero + o[r] : LD(p) + o[r]);
            }
        }
    }
}

TK_DISPATCH
void tk_wino_input_grad(const float *restrict dv, long stride, long c, long tilesW, long t0, long t1,
                        float *restrict dx, long h, long w, float *restrict patch) {
    for (long t = t0; t < t1; t++) {
        const long ty = t / tilesW, tx = t - ty * tilesW;
        const float *src = dv + (t - t0) * c;
        prefetch_tile(dx, h, w, c, tilesW, t + 2);
        if (tile_inside(ty, tx, h, w)) {
            input_grad_tile(src, stride, c, dx + ((4 * ty - 1) * w + 4 * tx - 1) * c, w * c, 0);
            continue;
        }
        // The border: the tile's whole gradient into the patch, then its pixels inside the
        // image stored or added as above (the padded copy's sums, bit for bit).
        input_grad_tile(src, stride, c, patch, 6 * c, 1);
        for (long r = 0; r < 6; r++) {
            const long y = 4 * ty - 1 + r;
            if (y < 0 || y >= h) continue;
            for (long q = 0; q < 6; q++) {
                const long xx = 4 * tx - 1 + q;
                if (xx < 0 || xx >= w) continue;
                float *d = dx + (y * w + xx) * c;
                const float *p = patch + (r * 6 + q) * c;
                if (first_at(ty, tx, r, q)) {
                    for (long ch = 0; ch < c; ch++) d[ch] = 0.0f + p[ch];
                } else {
                    for (long ch = 0; ch < c; ch++) d[ch] += p[ch];
                }
            }
        }
    }
}

// MARK: Output (cout a multiple of 8)

/// How many of a tile's `most` rows (or columns) lie inside an image that has `left` of them
/// from the tile's first one on: `most` inside, fewer on a partial tile, 0 past the end.
static inline long extent(long left, long most) {
    return left < 0 ? 0 : left < most ? left : most;
}

/// y[16] = bias + Aᵀ·M·A of one tile and 8 channels, relu'd if asked.
static inline __attribute__((always_inline)) void output_values(const float *m, long stride, const float *bias,
                                                                int relu, v8 *y) {
    v8 mm[36];
    for (int x = 0; x < 36; x++) mm[x] = LD(m + x * stride);
    output_tile(mm, y);
    const v8 b = bias ? LD(bias) : (v8){0};
    const v8 zero = {0};
    for (int k = 0; k < 16; k++) {
        v8 val = y[k] + b;
        // Relu as the direct path's Swift max(x, 0) (`0 >= x ? 0 : x`): NaN stays NaN, as in
        // Keras. __builtin_elementwise_max is IEEE maxNum, which turned a NaN into 0: a diverged
        // kernel then gave a dead channel with zero gradient and a finite loss instead of NaN.
        const i8 nonpositive = val <= zero;
        y[k] = relu ? (v8)((i8)val & ~nonpositive) : val;
    }
}

TK_DISPATCH
void tk_wino_output(const float *restrict m, long stride, long cout, long tilesW, long t0, long t1,
                    const float *restrict bias, int relu, float *restrict y, long outH, long outW) {
    const long row = outW * cout;
    for (long t = t0; t < t1; t++) {
        const long ty = t / tilesW, tx = t - ty * tilesW;
        const long rows = extent(outH - 4 * ty, 4), cols = extent(outW - 4 * tx, 4);
        const float *src = m + (t - t0) * cout;
        float *dst = y + ((4 * ty) * outW + 4 * tx) * cout;
        for (long ch = 0; ch < cout; ch += 8) {
            v8 o[16];
            output_values(src + ch, stride, bias ? bias + ch : 0, relu, o);
            for (long a = 0; a < rows; a++)
                for (long q = 0; q < cols; q++) ST(dst + a * row + q * cout + ch, o[4 * a + q]);
        }
    }
}

TK_DISPATCH
void tk_wino_output_pool2(const float *restrict m, long stride, long cout, long tilesW, long t0, long t1,
                          const float *restrict bias, int relu, float *restrict pooled,
                          unsigned char *restrict codes, long outH, long outW) {
    const long pooledH = outH / 2, pooledW = outW / 2, row = pooledW * cout;
    for (long t = t0; t < t1; t++) {
        const long ty = t / tilesW, tx = t - ty * tilesW;
        // Pooling windows of this tile inside the pooled image (2 × 2 for a whole tile).
        const long wr = extent(pooledH - 2 * ty, 2), wc = extent(pooledW - 2 * tx, 2);
        if (wr == 0 || wc == 0) continue;
        const float *src = m + (t - t0) * cout;
        const long base = ((2 * ty) * pooledW + 2 * tx) * cout;
        for (long ch = 0; ch < cout; ch += 8) {
            v8 o[16];
            output_values(src + ch, stride, bias ? bias + ch : 0, relu, o);
            for (long pa = 0; pa < wr; pa++)
                for (long pb = 0; pb < wc; pb++) {
                    const v8 *w = o + 8 * pa + 2 * pb;
                    // First maximum in row-major order: a later value wins only if strictly larger.
                    v8 best = w[0];
                    i8 code = {0};
                    static const int offsets[3] = {1, 4, 5};
                    for (int k = 1; k <= 3; k++) {
                        const v8 cand = w[offsets[k - 1]];
                        const i8 larger = cand > best;
                        best = (v8)(((i8)cand & larger) | ((i8)best & ~larger));
                        code = (larger & k) | (code & ~larger);
                    }
                    const long at = base + pa * row + pb * cout + ch;
                    ST(pooled + at, best);
                    for (int l = 0; l < 8; l++) codes[at + l] = (unsigned char)code[l];
                }
        }
    }
}

TK_DISPATCH
void tk_wino_output_grad(const float *restrict dy, long outH, long outW, long cout, long tilesW,
                         long t0, long t1, float *restrict dm, long stride) {
    const long row = outW * cout;
    for (long t = t0; t < t1; t++) {
        const long ty = t / tilesW, tx = t - ty * tilesW;
        const long rows = extent(outH - 4 * ty, 4), cols = extent(outW - 4 * tx, 4);
        const float *src = dy + ((4 * ty) * outW + 4 * tx) * cout;
        float *dst = dm + (t - t0) * cout;
        for (long ch = 0; ch < cout; ch += 8) {
            v8 g[16] = {0}, o[36];
            for (long a = 0; a < rows; a++)
                for (long q = 0; q < cols; q++) g[4 * a + q] = LD(src + a * row + q * cout + ch);
            output_grad_tile(g, o);
            for (int x = 0; x < 36; x++) ST(dst + x * stride + ch, o[x]);
        }
    }
}

TK_DISPATCH
void tk_wino_output_grad_pool2(const float *restrict g, const unsigned char *restrict codes, long outH,
                               long outW, long cout, long tilesW, long t0, long t1, float *restrict dm,
                               long stride) {
    const long pooledH = outH / 2, pooledW = outW / 2, row = pooledW * cout;
    for (long t = t0; t < t1; t++) {
        const long ty = t / tilesW, tx = t - ty * tilesW;
        const long wr = extent(pooledH - 2 * ty, 2), wc = extent(pooledW - 2 * tx, 2);
        const long base = ((2 * ty) * pooledW + 2 * tx) * cout;
        float *dst = dm + (t - t0) * cout;
        for (long ch = 0; ch < cout; ch += 8) {
            v8 d[16] = {0}, o[36];
            for (long pa = 0; pa < wr; pa++)
                for (long pb = 0; pb < wc; pb++) {
                    const long at = base + pa * row + pb * cout + ch;
                    const v8 v = LD(g + at);
                    i8 k;
                    for (int l = 0; l < 8; l++) k[l] = codes[at + l];
                    v8 *w = d + 8 * pa + 2 * pb;
                    w[0] = (v8)((i8)v & (k == 0));
                    w[1] = (v8)((i8)v & (k == 1));
                    w[4] = (v8)((i8)v & (k == 2));
                    w[5] = (v8)((i8)v & (k == 3));
                }
            output_grad_tile(d, o);
            for (int x = 0; x < 36; x++) ST(dst + x * stride + ch, o[x]);
        }
    }
}
