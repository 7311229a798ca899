import CBLAS
internal import TallyNetKernels

/// Winograd F(4×4, 3×3) for a 3×3, stride-1, `same` convolution with enough channels (the
/// seed model's second Conv2D, 32 → 32): each 4 × 4 block of output pixels is computed from the
/// 6 × 6 input pixels under it with 36 multiplies per input/output channel pair instead of 144.
/// The transforms are C (`TallyNetKernels`, vectorised over channels); the products are 36
/// GEMMs (tiles × cin)·(cin × cout) per block of tiles, one thread per sample as on the
/// shifted-row path: one call into TallyNet's own AVX-512 tiles (products.c) where the CPU has
/// them (`Backend.ownKernels`), else 36 BLIS calls. The GEMMs do 4× fewer flops than a direct convolution — this is why the
/// trainer can run below the "compute floor" of the direct method's flops.
///
/// Backward is the exact transpose of each linear map (see winograd.c): dW and dX come from
/// the same transformed output gradient dM, and the input transform V is recomputed (cheaper
/// than keeping 2.25 values per input value for a whole batch).
///
/// Rounding differs from a direct convolution (the transforms scale by up to 8 and 1/24):
/// differences up to ≈ 5e-6 of a tensor's largest value (outputs, dX, dW; 8 to 32 channels),
/// against ≈ 1e-7 between two direct methods; `WinogradTests` bounds them at 1e-5.
final class WinogradConvolution {
    let inH: Int, inW: Int, cin: Int, cout: Int
    let tilesH: Int, tilesW: Int, tiles: Int
    /// Tiles per block of GEMMs (see `defaultBlockTiles`).
    let blockTiles: Int

    /// Tiles per block for `cin` × `cout` channels. On the own tiles (products.c): 48 for 32 × 32,
    /// so that a block's V and M (36 × 48 × 32 floats, 221 KB each) and U (147 KB) stay in a 1 MB
    /// L2 between the input transform, the products and the output transform, and a multiple
    /// of the products' 12-row tiles. Measured on the seed model at 204×204 (bench/trainer, 10
    /// batches, 3 rounds, Zen 4): 12.7–13.2 ms per sample against 13.8–14.2 with 128; 24 to 72
    /// were within noise of 48. Alone, one sample's forward (tk_wino_input, products, pooled
    /// output) took 2.5–2.7 ms against 2.9–3.3 with 128, the products at the same 108 GFLOP/s.
    /// On BLIS: 128 (590 KB per operand): 36 BLIS calls a block pay per call and per packing,
    /// measured 23.4 s per epoch against 24.4 with 256 (the operands leave L2) and 26.7 with 64
    /// (BLIS at 78 instead of 89 GFLOP/s on k = 32).
    static func defaultBlockTiles(cin: Int, cout: Int, ownKernels: Bool) -> Int {
        let channels = max(cin, cout, 1)
        if ownKernels { return max(12, 48 * 32 / channels / 12 * 12) }
        return max(16, 128 * 32 / channels)
    }
    /// Whether a block's 36 products run in one call on TallyNet's own tiles (products.c)
    /// rather than as 36 BLIS calls: the backend's choice, a var so tests can run both.
    var usesOwnKernels = Backend.current.usesOwnKernels

    /// Floats from one element ξ's (tiles × channels) matrix to the next. One cache line more
    /// than the matrix: with 256 tiles × 32 channels the 36 matrices would otherwise start
    /// 32 KiB apart, and the transforms' 36 streams would all map to the same L1 sets.
    var transformedStride: Int { blockTiles * cin + 16 }
    var productStride: Int { blockTiles * cout + 16 }

    /// U = G·g·Gᵀ ([36][cin][cout]) and its per-element transpose ([36][cout][cin]).
    private let u: FloatBuffer, ut: FloatBuffer
    /// Per thread: 36·cin floats for a border tile's pixels (the transforms read the image
    /// where it lies, see winograd.c).
    private var patches: [FloatBuffer] = []
    private var transformed: [FloatBuffer] = [], products: [FloatBuffer] = []
    private var kernelGradients: [FloatBuffer] = []

    init(inH: Int, inW: Int, cin: Int, cout: Int, blockTiles: Int? = nil) {
        (self.inH, self.inW, self.cin, self.cout) = (inH, inW, cin, cout)
        (tilesH, tilesW) = ((inH + 3) / 4, (inW + 3) / 4)
        tiles = tilesH * tilesW
        self.blockTiles = min(tiles, max(1, blockTiles ?? Self.defaultBlockTiles(cin: cin, cout: cout,
                                                                              ownKernels: Backend.current.usesOwnKernels)))
        u = FloatBuffer(count: 36 * cin * cout)
        ut = FloatBuffer(count: 36 * cin * cout)
    }

    /// Per-thread workspaces (allocated once, zero borders kept zero).
    func reserve(threads: Int) {
        while patches.count < threads {
            patches.append(FloatBuffer(count: 36 * cin))
            transformed.append(FloatBuffer(count: 36 * transformedStride))
            products.append(FloatBuffer(count: 36 * productStride))
            kernelGradients.append(FloatBuffer(count: 36 * cin * cout))
        }
    }

    /// Before a forward pass: U from the current kernel (Keras layout (3, 3, cin, cout)).
    func prepareForward(kernel: UnsafePointer<Float>) {
        tk_wino_kernel(kernel, cin, cout, 0, u.base)
    }

    /// Where a forward pass writes: the activation map, or a fused 2 × 2 max pooling's values
    /// and window codes (see `tk_wino_output_pool2`).
    enum Output {
        case image(UnsafeMutablePointer<Float>)
        case pooled(UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<UInt8>)
    }

    /// One sample on thread `t`: y = relu?(conv(x) + bias).
    func forwardSample(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool, into output: Output, thread t: Int) {
        let v = transformed[t].base, m = products[t].base, u = UnsafePointer(self.u.base), patch = patches[t].base
        let (cin, cout) = (self.cin, self.cout)
        let vs = transformedStride, ms = productStride
        var t0 = 0
        while t0 < tiles {
            let t1 = min(t0 + blockTiles, tiles), n = t1 - t0
            tk_wino_input(x, inH, inW, cin, tilesW, t0, t1, v, vs, patch)
            products(v, vs, u, tiles: n, k: cin, columns: cout, into: m, ms)
            switch output {
            case .image(let y):
                tk_wino_output(m, ms, cout, tilesW, t0, t1, bias, relu ? 1 : 0, y, inH, inW)
            case .pooled(let y, let codes):
                tk_wino_output_pool2(m, ms, cout, tilesW, t0, t1, bias, relu ? 1 : 0, y, codes, inH, inW)
            }
            t0 = t1
        }
    }

    /// For each element e < 36: c_e (tiles × columns) = a_e (tiles × k) · b_e (k × columns), with
    /// a_e, c_e `aStride`, `cStride` floats apart and b_e packed: one call into the own tiles
    /// (products.c) or 36 BLIS calls. The forward's M = V·U and the backward's dV = dM·Uᵀ.
    private func products(_ a: UnsafePointer<Float>, _ aStride: Int, _ b: UnsafePointer<Float>, tiles n: Int, k: Int,
                          columns: Int, into c: UnsafeMutablePointer<Float>, _ cStride: Int) {
        if usesOwnKernels {
            tk_wino_products(a, aStride, b, n, k, columns, c, cStride)
            return
        }
        for e in 0..<36 {
            BLAS.gemm(m: n, n: columns, k: k, a: a + e * aStride, lda: k, b: b + e * k * columns, ldb: columns,
                      c: c + e * cStride, ldc: columns, mode: .singleThread)
        }
    }

    /// Before a backward pass: Uᵀ from the kernel, zeroed per-thread dU partials.
    func beginBackward(kernel: UnsafePointer<Float>, threads: Int) {
        reserve(threads: threads)
        tk_wino_kernel(kernel, cin, cout, 1, ut.base)
        for t in 0..<threads { kernelGradients[t].zero() }
    }

    /// The gradient a backward pass starts from: dL/d(pre-activation) of the whole output, or
    /// of the pooled maxima only (with the window codes the forward pass wrote).
    enum Gradient {
        case image(UnsafePointer<Float>)
        case pooled(UnsafePointer<Float>, codes: UnsafePointer<UInt8>)
    }

    /// One sample on thread `t`: adds its dU to the thread's partial and writes dX (if asked).
    func backwardSample(x: UnsafePointer<Float>, gradient: Gradient, dx: UnsafeMutablePointer<Float>?, thread t: Int) {
        let v = transformed[t].base, dm = products[t].base, du = kernelGradients[t].base
        let ut = UnsafePointer(self.ut.base), patch = patches[t].base
        let (cin, cout) = (self.cin, self.cout)
        let vs = transformedStride, ms = productStride
        // dx is written (the first tile at each pixel stores, tk_wino_input_grad) while x and the
        // gradient are still read.
        precondition(dx.map { UnsafePointer($0) != x } ?? true, "the input gradient may not overwrite the input")
        var t0 = 0
        while t0 < tiles {
            let t1 = min(t0 + blockTiles, tiles), n = t1 - t0
            switch gradient {
            case .image(let g):
                tk_wino_output_grad(g, inH, inW, cout, tilesW, t0, t1, dm, ms)
            case .pooled(let g, let codes):
                tk_wino_output_grad_pool2(g, codes, inH, inW, cout, tilesW, t0, t1, dm, ms)
            }
            tk_wino_input(x, inH, inW, cin, tilesW, t0, t1, v, vs, patch)
            // dU_e += V_eᵀ · dM_e
            if usesOwnKernels {
                tk_wino_kernel_products(v, vs, dm, ms, n, cin, cout, du)
            } else {
                let us = cin * cout
                for e in 0..<36 {
                    BLAS.gemm(transA: true, m: cin, n: cout, k: n, a: v + e * vs, lda: cin,
                              b: dm + e * ms, ldb: cout, beta: 1, c: du + e * us, ldc: cout, mode: .singleThread)
                }
            }
            if let dx {
                // dV_e = dM_e · U_eᵀ, over V (no longer needed)
                products(dm, ms, ut, tiles: n, k: cout, columns: cin, into: v, vs)
                tk_wino_input_grad(v, vs, cin, tilesW, t0, t1, dx, inH, inW, patch)
            }
            t0 = t1
        }
    }

    /// After the samples: dW = Gᵀ·(Σ_threads dU)·G in Keras's layout into `dw`, the partials
    /// summed in thread order (deterministic for a thread count).
    func finishBackward(threads: Int, into dw: UnsafeMutablePointer<Float>) {
        let total = kernelGradients[0].base, count = 36 * cin * cout
        for t in 1..<max(threads, 1) {
            let p = kernelGradients[t].base
            for i in 0..<count { total[i] += p[i] }
        }
        tk_wino_kernel_grad(total, cin, cout, dw)
    }
}
