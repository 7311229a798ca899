internal import TallyNetKernels
internal import TallyThreads

/// Output size and leading padding of one spatial axis, as TensorFlow computes them.
func windowGeometry(input: Int, kernel: Int, stride: Int, padding: Padding) -> (output: Int, padBefore: Int) {
    switch padding {
    case .valid:
        return (input >= kernel ? (input - kernel) / stride + 1 : 0, 0)
    case .same:
        let out = (input + stride - 1) / stride
        let total = max((out - 1) * stride + kernel - input, 0)
        return (out, total / 2)
    }
}

/// Copies `rows` rows of `length` floats that start `sourceStride` floats apart into rows
/// `targetStride` apart: an image into, or back out of, the interior of a zero-bordered buffer.
@inline(__always)
func copyRows(_ rows: Int, length: Int, from source: UnsafePointer<Float>, stride sourceStride: Int,
              to target: UnsafeMutablePointer<Float>, stride targetStride: Int) {
    for r in 0..<rows {
        (target + r &* targetStride).update(from: source + r &* sourceStride, count: length)
    }
}

/// Keras `Conv2D` (NHWC, kernel (kh, kw, cin, cout)) as blocked im2col + GEMM.
///
/// Each thread takes whole samples and runs single-threaded GEMMs over blocks of
/// `blockRows` output pixels, so that the im2col block stays in L2. Backward keeps a
/// transposed copy of the kernel (BLIS is slow on the B-transposed K=cout GEMM) and
/// per-thread partial gradients, summed in thread order.
final class Conv2D: ActivatedLayer {
    let name: String
    let inputShape: [Int]
    let outputShape: [Int]
    var activation: Activation
    let kernel: Parameter
    let bias: Parameter?
    let kh: Int, kw: Int, sh: Int, sw: Int
    let inH: Int, inW: Int, cin: Int, cout: Int
    let outH: Int, outW: Int, padTop: Int, padLeft: Int
    /// Columns of the im2col matrix: kh·kw·cin.
    let patch: Int
    /// Output pixels per im2col block (a var so tests can force several blocks).
    var blockRows: Int
    /// Stride 1 with `same` padding and enough filters: kh GEMMs over overlapping rows of
    /// a padded copy of the sample (no im2col or col2im), see `forwardShifted`. A var so
    /// tests can force either path.
    var usesShiftedRows: Bool
    /// With few input channels (an RGB image), the shifted path first stacks the kh input
    /// rows of each pixel (kh·cin values), so that forward and dW are one GEMM with
    /// k = kh·kw·cin instead of kh GEMMs with a tiny k.
    var stacksRows: Bool
    /// Output rows per GEMM block of the shifted path (a var so tests can force several blocks).
    var shiftedBlockRows: Int
    /// Padded height and width of the shifted path (stride 1: out + kernel - 1).
    let paddedH: Int, paddedW: Int
    /// 3×3 kernels on the shifted path with channel counts that are multiples of 8 run as Winograd F(4×4, 3×3)
    /// (`WinogradConvolution`) when the activation is relu or linear and a fused pooling, if
    /// any, is 2×2. A var so tests can force either path.
    var usesWinograd: Bool
    /// 3×3, stride 1, `same`, channel counts multiples of 8 (the activation and pooling are
    /// checked per pass, see `winogradActive`).
    let winogradEligible: Bool
    /// Tiles per Winograd GEMM block (nil: `WinogradConvolution`'s choice); tests force small blocks.
    var winogradBlockTiles: Int?
    /// Whether the Winograd products run on TallyNet's own tiles (nil: the backend's choice); tests force both.
    var winogradOwnProducts: Bool?
    /// Whether the stacked-row GEMMs (forward, dW) run on TallyNet's own tiles (products.c)
    /// rather than BLIS (nil: the backend's choice); tests force both.
    var stackedOwnProducts: Bool?
    /// Set by `Sequential` when the Dense layer above writes its dX over this layer's output with
    /// this layer's activation derivative already applied (`Dense.inputActivation`): the
    /// shifted-row backward then reads `dy` only.
    var gradientIncludesActivation = false
    /// Set by `Sequential` to an in-place dropout right above this shifted-row relu convolution
    /// that reads its mask back from the output (`Dropout.backwardFromOutput`). That dropout is
    /// then left to this layer: the forward applies the mask to each output row as it is stored
    /// (in L1, not in a pass of its own over the 5 MB sample), the backward in the same pass as
    /// relu's derivative (`tk_relu_grad_rows`): one pass over the sample's gradient instead of four.
    var foldedDropout: Dropout?
    /// The stacked-row GEMMs on the own tiles: BLIS runs k = 27 (an RGB 3×3 patch) at a fraction of
    /// its peak, and the own forward applies bias and activation as it stores each tile.
    var stackedRowsOnOwnTiles: Bool { stacksRows && (stackedOwnProducts ?? Backend.current.usesOwnKernels) }
    private var winograd: WinogradConvolution?

    private var kernelTransposed: FloatBuffer
    /// The kernel flipped in both spatial axes with cin and cout swapped, (kh, kw, cout, cin):
    /// dX is the `same` convolution of dY with it.
    private var kernelFlipped: FloatBuffer
    private var paddedInputs: [FloatBuffer] = []
    private var paddedGradients: [FloatBuffer] = []
    private var wideBlocks: [FloatBuffer] = []
    private var kernelScratch: [FloatBuffer] = []
    /// The kernel with its two spatial axes swapped, (kw, kh, cin, cout), for stacked rows.
    private var kernelStacked: FloatBuffer
    /// Per thread: the sample whose stacked input its `x` buffer holds in this pass (-1: none).
    /// The backward's dW reads what the recomputed forward of the same sample stacked just
    /// before, instead of stacking it again; every pass starts with none. A raw buffer: the
    /// threads write their own entries at once.
    private var stackedSamples = UnsafeMutableBufferPointer<Int>.allocate(capacity: 0)
    private var shiftedPointers: [(x: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
                                   wide: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>)] = []
    private var reservedStacked = false
    /// A max-pooling that this convolution applies to its own output, block by block while
    /// it is in cache (set by `Sequential`, see `fusablePool(after:)`). The layer's output
    /// buffer then holds the pooled values, and `poolCodes` the position of each window's
    /// first maximum, which is all that backward needs.
    var fusedPool: MaxPooling2D?
    private var poolCodes: UnsafeMutablePointer<UInt8>?
    private var poolCodeCapacity = 0
    private var columns: [FloatBuffer] = []
    private var columnGradients: [FloatBuffer] = []
    private var kernelPartials: [FloatBuffer] = []
    private var biasPartials: [FloatBuffer] = []
    // Pointers into the workspaces above, copied into closures without allocating.
    private var columnPointers: [UnsafeMutablePointer<Float>] = []
    private var columnGradientPointers: [UnsafeMutablePointer<Float>] = []
    private var kernelPartialPointers: [UnsafeMutablePointer<Float>] = []
    private var biasPartialPointers: [UnsafeMutablePointer<Float>] = []

    init(name: String, inputShape: [Int], filters: Int, kernelSize: (Int, Int), strides: (Int, Int),
         padding: Padding, activation: Activation, useBias: Bool, constraint: KernelConstraint?) {
        self.name = name
        self.inputShape = inputShape
        (inH, inW, cin) = (inputShape[0], inputShape[1], inputShape[2])
        (kh, kw) = kernelSize
        (sh, sw) = strides
        cout = filters
        (outH, padTop) = windowGeometry(input: inH, kernel: kh, stride: sh, padding: padding)
        (outW, padLeft) = windowGeometry(input: inW, kernel: kw, stride: sw, padding: padding)
        outputShape = [outH, outW, filters]
        self.activation = activation
        patch = kh * kw * cin
        blockRows = max(16, min(outH * outW, 131_072 / max(patch, 1)))
        kernel = Parameter(name: "\(name)/kernel", shape: [kh, kw, cin, filters], constraint: constraint)
        bias = useBias ? Parameter(name: "\(name)/bias", shape: [filters]) : nil
        kernelTransposed = FloatBuffer(count: patch * filters)
        kernelFlipped = FloatBuffer(count: patch * filters)
        kernelStacked = FloatBuffer(count: patch * filters)
        (paddedH, paddedW) = (outH + kh - 1, outW + kw - 1)
        usesShiftedRows = sh == 1 && sw == 1 && outH == inH && outW == inW && filters >= 8
        stacksRows = cin < 8
        winogradEligible = usesShiftedRows && kh == 3 && kw == 3 && cin % 8 == 0 && filters % 8 == 0
        usesWinograd = winogradEligible
        shiftedBlockRows = max(1, 65_536 / max(paddedW * max(cin, filters), 1))
    }

    deinit {
        poolCodes?.deallocate()
        stackedSamples.deallocate()
    }

    /// Every thread's stacked buffer holds no sample (the start of a pass).
    private func forgetStackedSamples(threads: Int) {
        if stackedSamples.count < threads {
            stackedSamples.deallocate()
            stackedSamples = .allocate(capacity: threads)
        }
        stackedSamples.update(repeating: -1)
    }

    var kind: String { "Conv2D" }
    /// The shifted-row backward reads a sample's output (activation gradient) before it
    /// writes that sample's input gradient.
    var inputGradientMayOverwriteOutput: Bool { usesShiftedRows && fusedPool == nil }

    /// Room for the window codes of `batch` samples of the fused pooling.
    func reserveFusedPool(batch: Int) {
        guard let pool = fusedPool, batch * pool.outputCount > poolCodeCapacity else { return }
        poolCodes?.deallocate()
        poolCodeCapacity = batch * pool.outputCount
        poolCodes = .allocate(capacity: poolCodeCapacity)
        poolCodes!.initialize(repeating: 0, count: poolCodeCapacity)
    }
    var parameters: [Parameter] { bias.map { [kernel, $0] } ?? [kernel] }

    func reserve(threads: Int) {
        if usesShiftedRows {
            reserveShifted(threads: threads)
            return
        }
        guard columns.count < threads else { return }
        for _ in columns.count..<threads {
            columns.append(FloatBuffer(count: blockRows * patch))
            columnGradients.append(FloatBuffer(count: blockRows * patch))
        }
        columnPointers = columns.map(\.base)
        columnGradientPointers = columnGradients.map(\.base)
        reservePartials(threads: threads)
    }

    /// Copies the patches of output pixels `p0..<p1` of one sample into `col` (rows × patch).
    @inline(__always)
    private func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ p0: Int, _ p1: Int) {
        let (inH, inW, cin, kh, kw, sh, sw, outW, patch) = (self.inH, self.inW, self.cin, self.kh, self.kw,
                                                            self.sh, self.sw, self.outW, self.patch)
        let (padTop, padLeft) = (self.padTop, self.padLeft)
        var p = p0
        while p < p1 {
            let oh = p / outW, ow = p &- oh &* outW
            let row = col + (p &- p0) &* patch
            let ih0 = oh &* sh &- padTop, iw0 = ow &* sw &- padLeft
            for i in 0..<kh {
                let ih = ih0 &+ i
                let dst = row + i &* kw &* cin
                if ih < 0 || ih >= inH {
                    dst.update(repeating: 0, count: kw &* cin)
                    continue
                }
                let src = x + ih &* inW &* cin
                if iw0 >= 0 && iw0 &+ kw <= inW {
                    // The kw·cin values of this kernel row are contiguous in x.
                    (dst).update(from: src + iw0 &* cin, count: kw &* cin)
                } else {
                    for j in 0..<kw {
                        let iw = iw0 &+ j
                        let d = dst + j &* cin
                        if iw < 0 || iw >= inW { d.update(repeating: 0, count: cin) } else { d.update(from: src + iw &* cin, count: cin) }
                    }
                }
            }
            p &+= 1
        }
    }

    /// Adds the column gradients of output pixels `p0..<p1` back into `dx`.
    @inline(__always)
    private func col2im(_ dcol: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ p0: Int, _ p1: Int) {
        let (inH, inW, cin, kh, kw, sh, sw, outW, patch) = (self.inH, self.inW, self.cin, self.kh, self.kw,
                                                            self.sh, self.sw, self.outW, self.patch)
        let (padTop, padLeft) = (self.padTop, self.padLeft)
        var p = p0
        while p < p1 {
            let oh = p / outW, ow = p &- oh &* outW
            let row = dcol + (p &- p0) &* patch
            let ih0 = oh &* sh &- padTop, iw0 = ow &* sw &- padLeft
            for i in 0..<kh {
                let ih = ih0 &+ i
                if ih < 0 || ih >= inH { continue }
                let src = row + i &* kw &* cin
                let dst = dx + ih &* inW &* cin
                for j in 0..<kw {
                    let iw = iw0 &+ j
                    if iw < 0 || iw >= inW { continue }
                    let d = dst + iw &* cin, s = src + j &* cin
                    for c in 0..<cin { d[c] += s[c] }
                }
            }
            p &+= 1
        }
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        if usesShiftedRows {
            forwardShifted(x, y, batch: batch, context: context)
            return
        }
        reserve(threads: context.threads)
        BLAS.setThreads(1)
        let inCount = inputCount, outCount = outputCount, pixels = outH * outW
        let (patch, cout, blockRows) = (self.patch, self.cout, self.blockRows)
        let w = UnsafePointer(kernel.value.base)
        let b = bias.map { UnsafePointer($0.value.base) }
        let activation = self.activation
        let cols = columnPointers
        forEachChunk(batch, threads: context.threads) { t, samples in
            let col = cols[t]
            for s in samples {
                let xs = x + s &* inCount, ys = y + s &* outCount
                var p0 = 0
                while p0 < pixels {
                    let p1 = min(p0 &+ blockRows, pixels)
                    im2col(xs, col, p0, p1)
                    let yb = ys + p0 &* cout
                    BLAS.gemm(m: p1 &- p0, n: cout, k: patch, a: col, lda: patch, b: w, ldb: cout, c: yb, ldc: cout)
                    if let b {
                        for r in 0..<(p1 &- p0) {
                            let row = yb + r &* cout
                            for c in 0..<cout { row[c] += b[c] }
                        }
                    }
                    activation.apply(yb, rows: p1 &- p0, width: cout)
                    p0 = p1
                }
            }
        }
    }

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        if usesShiftedRows {
            backwardShifted(x: x, y: y, dy: dy, dx: dx, batch: batch, context: context)
            return
        }
        reserve(threads: context.threads)
        BLAS.setThreads(1)
        let inCount = inputCount, outCount = outputCount, pixels = outH * outW
        let (patch, cout, blockRows) = (self.patch, self.cout, self.blockRows)
        // Wᵀ (cout × patch), so that dcol = dy · Wᵀ is a plain no-transpose GEMM.
        let w = kernel.value.base, wt = kernelTransposed.base
        for k in 0..<patch { for c in 0..<cout { wt[c &* patch &+ k] = w[k &* cout &+ c] } }
        let activation = self.activation
        let threads = min(max(context.threads, 1), max(batch, 1))
        let cols = columnPointers, dcols = columnGradientPointers
        let kparts = kernelPartialPointers, bparts = biasPartialPointers
        let hasBias = bias != nil
        forEachChunk(batch, threads: threads) { t, samples in
            let col = cols[t], dcol = dcols[t], kp = kparts[t], bp = bparts[t]
            kp.update(repeating: 0, count: patch &* cout)
            bp.update(repeating: 0, count: cout)
            for s in samples {
                let xs = x + s &* inCount, ys = y + s &* outCount, dys = dy + s &* outCount
                let dxs = dx.map { $0 + s &* inCount }
                dxs?.update(repeating: 0, count: inCount)
                var p0 = 0
                while p0 < pixels {
                    let p1 = min(p0 &+ blockRows, pixels), rows = p1 &- p0
                    let dyb = dys + p0 &* cout
                    activation.backward(y: ys + p0 &* cout, dy: dyb, rows: rows, width: cout)
                    if hasBias {
                        for r in 0..<rows {
                            let row = dyb + r &* cout
                            for c in 0..<cout { bp[c] += row[c] }
                        }
                    }
                    im2col(xs, col, p0, p1)
                    BLAS.gemm(transA: true, m: patch, n: cout, k: rows, a: col, lda: patch, b: dyb, ldb: cout,
                              beta: 1, c: kp, ldc: cout)
                    if let dxs {
                        BLAS.gemm(m: rows, n: patch, k: cout, a: dyb, lda: cout, b: wt, ldb: patch, c: dcol, ldc: patch)
                        col2im(dcol, dxs, p0, p1)
                    }
                    p0 = p1
                }
            }
        }
        reducePartials(kparts, first: threads, count: patch * cout, into: kernel.target)
        if let bias { reducePartials(bparts, first: threads, count: cout, into: bias.target) }
    }
}

// MARK: - Shifted rows (stride 1, `same` padding)
//
// With x zero-padded to paddedH × paddedW (pw = paddedW), output pixel (oh, ow) is
//   y[oh, ow] = Σ_i Σ_j xpad[oh + i, ow + j] · W[i, j]
// and for a fixed kernel row i, the kw·cin values xpad[oh + i, ow ..< ow + kw] are
// contiguous: row p = oh·pw + ow of a matrix whose rows start cin floats apart. So
// y = Σ_i A_i · W_i with A_i = (rows of kw·cin values at xpad + (p + i·pw)·cin) — kh GEMMs
// over "wide" output rows p (pw per image row; the last kw - 1 of each are junk and
// dropped). Backward: dW_i = A_iᵀ · dYwide, where dY sits zero-padded in a buffer of the
// same width, so dYwide is a view of it (its junk rows read padding zeros); and dX is the
// same kind of convolution of that padded dY with the flipped kernel.
extension Conv2D {
    /// Whether this pass runs on the Winograd path (see `usesWinograd`).
    var winogradActive: Bool {
        usesWinograd && (activation == .relu || activation == .linear) && (fusedPool.map { $0.ph == 2 && $0.pw == 2 } ?? true)
    }

    /// The algorithm this layer's passes run (for `summary()` and `tally.net.backend`).
    var algorithm: String {
        let pooled = fusedPool == nil ? "" : " + fused max-pool"
        if winogradActive { return "winograd F(4x4,3x3)" + pooled }
        if usesShiftedRows { return (stacksRows ? "direct, stacked rows" : "direct, shifted GEMMs") + pooled }
        return "direct, im2col"
    }

    private func winogradPlan(threads: Int) -> WinogradConvolution {
        let plan = winograd ?? WinogradConvolution(inH: inH, inW: inW, cin: cin, cout: cout, blockTiles: winogradBlockTiles)
        winograd = plan
        if let own = winogradOwnProducts { plan.usesOwnKernels = own }
        plan.reserve(threads: threads)
        return plan
    }

    /// Per-thread partial gradients of the kernel and bias.
    private func reservePartials(threads: Int) {
        guard kernelPartials.count < threads else { return }
        while kernelPartials.count < threads {
            kernelPartials.append(FloatBuffer(count: patch * cout))
            biasPartials.append(FloatBuffer(count: cout))
        }
        kernelPartialPointers = kernelPartials.map(\.base)
        biasPartialPointers = biasPartials.map(\.base)
    }

    private func reserveShifted(threads: Int) {
        if reservedStacked != stacksRows {
            shiftedPointers = []
            paddedInputs = []
            paddedGradients = []
            wideBlocks = []
            kernelScratch = []
            reservedStacked = stacksRows
        }
        guard shiftedPointers.count < threads else { return }
        let slack = (kw + 1) * kh * max(cin, cout)
        let inputSize = stacksRows ? outH * paddedW * kh * cin : paddedH * paddedW * cin
        for _ in shiftedPointers.count..<threads {
            paddedInputs.append(FloatBuffer(count: inputSize + slack))
            kernelScratch.append(FloatBuffer(count: patch * cout))
            paddedGradients.append(FloatBuffer(count: paddedH * paddedW * cout + slack))
            wideBlocks.append(FloatBuffer(count: shiftedBlockRows * paddedW * max(cin, cout)))
        }
        shiftedPointers = (0..<threads).map {
            (paddedInputs[$0].base, paddedGradients[$0].base, wideBlocks[$0].base, kernelScratch[$0].base)
        }
        reservePartials(threads: threads)
    }

    /// Copies an image of `height` rows of `width · channels` values into the interior of a
    /// zero-bordered buffer of row width `paddedW`, at row `top`, column `left`.
    @inline(__always)
    private func pad(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, height: Int, width: Int,
                     channels: Int, top: Int, left: Int) {
        copyRows(height, length: width &* channels, from: src, stride: width &* channels,
                 to: dst + (top &* paddedW &+ left) &* channels, stride: paddedW &* channels)
    }

    /// Writes Z[r][w][i][c] = xpad[r + i][w][c] for r < outH, w < paddedW (the kh input rows
    /// of each padded pixel side by side), so that row p = r·pw + w of the GEMM's A, read
    /// kh·cin floats apart, is the whole kw·kh·cin patch of output pixel p in (j, i, c) order.
    @inline(__always)
    private func stack(_ x: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) {
        let (inH, inW, cin, kh, pw, top, left) = (self.inH, self.inW, self.cin, self.kh, self.paddedW, self.padTop, self.padLeft)
        let pixel = kh &* cin
        for r in 0..<outH {
            for i in 0..<kh {
                let row = z + (r &* pw &* kh &+ i) &* cin
                let xr = r &+ i &- top
                if xr < 0 || xr >= inH {
                    for w in 0..<pw { for c in 0..<cin { row[w &* pixel &+ c] = 0 } }
                    continue
                }
                let src = x + xr &* inW &* cin
                for w in 0..<left { for c in 0..<cin { row[w &* pixel &+ c] = 0 } }
                if cin == 3 {
                    // RGB: a fixed-length copy the compiler unrolls (no memcpy call per pixel).
                    for w in 0..<inW {
                        let d = row + (w &+ left) &* pixel, s = src + w &* 3
                        d[0] = s[0]
                        d[1] = s[1]
                        d[2] = s[2]
                    }
                } else {
                    for w in 0..<inW {
                        let d = row + (w &+ left) &* pixel, s = src + w &* cin
                        for c in 0..<cin { d[c] = s[c] }
                    }
                }
                for w in (inW &+ left)..<pw { for c in 0..<cin { row[w &* pixel &+ c] = 0 } }
            }
        }
    }

    /// Adds the bias to wide rows `rows` (pre-activation, as the GEMMs left them), applies the
    /// activation, and max-pools them window by window into `out` (pooled rows
    /// rows/ph), with the index a·pw + b of each window's first maximum in `codes`.
    @inline(__always)
    private func poolBlock(_ wide: UnsafeMutablePointer<Float>, rows: Range<Int>, bias: UnsafePointer<Float>?,
                           pool: (ph: Int, pw: Int), into out: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<UInt8>) {
        let (cout, outW, pw) = (self.cout, self.outW, self.paddedW)
        let r0 = rows.lowerBound, lines = rows.count
        for r in 0..<lines {
            let row = wide + r &* pw &* cout
            if let bias {
                for p in 0..<outW {
                    let o = p &* cout
                    for c in 0..<cout { row[o &+ c] += bias[c] }
                }
            }
            activation.apply(row, rows: outW, width: cout)
        }
        let pooledW = outW / pool.pw
        // Codes are kept as floats while scanning a window: float-only loops vectorise.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cout) { kf in
            let kf = kf.baseAddress!
            for pr in 0..<(lines / pool.ph) {
                let outRow = (r0 / pool.ph &+ pr) &* pooledW
                for pc in 0..<pooledW {
                    let o = out + (outRow &+ pc) &* cout, k = codes + (outRow &+ pc) &* cout
                    let first = wide + ((pr &* pool.ph) &* pw &+ pc &* pool.pw) &* cout
                    for c in 0..<cout {
                        o[c] = first[c]
                        kf[c] = 0
                    }
                    for a in 0..<pool.ph {
                        for b in 0..<pool.pw where a != 0 || b != 0 {
                            let src = wide + ((pr &* pool.ph &+ a) &* pw &+ pc &* pool.pw &+ b) &* cout
                            let code = Float(a &* pool.pw &+ b)
                            for c in 0..<cout {
                                let v = src[c], m = o[c]
                                let larger: Float = v > m ? 1 : 0
                                o[c] = max(v, m)
                                kf[c] += larger * (code - kf[c])
                            }
                        }
                    }
                    for c in 0..<cout { k[c] = UInt8(kf[c]) }
                }
            }
        }
    }

    /// Writes the pooled gradient `g` of one sample to each window's maximum (from `codes`)
    /// and zeros to the window's other cells, into the interior of the padded dY buffer.
    @inline(__always)
    private func unpool(_ g: UnsafePointer<Float>, codes: UnsafePointer<UInt8>, pool: (ph: Int, pw: Int),
                        into dpad: UnsafeMutablePointer<Float>, top: Int, left: Int) {
        let (cout, outH, outW, pw) = (self.cout, self.outH, self.outW, self.paddedW)
        let pooledW = outW / pool.pw
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cout) { kf in
            let kf = kf.baseAddress!
            for pr in 0..<(outH / pool.ph) {
                for pc in 0..<pooledW {
                    let cell = (pr &* pooledW &+ pc) &* cout
                    let gc = g + cell, kc = codes + cell
                    for c in 0..<cout { kf[c] = Float(kc[c]) }
                    for a in 0..<pool.ph {
                        for b in 0..<pool.pw {
                            let d = dpad + ((pr &* pool.ph &+ a &+ top) &* pw &+ pc &* pool.pw &+ b &+ left) &* cout
                            let code = Float(a &* pool.pw &+ b)
                            for c in 0..<cout {
                                let hit: Float = kf[c] == code ? 1 : 0
                                d[c] = gc[c] * hit
                            }
                        }
                    }
                }
            }
        }
    }

    /// Index of kernel element (i, j, c, co) in the stacked order (j, i, c, co).
    @inline(__always)
    private func stackedIndex(_ i: Int, _ j: Int, _ c: Int, _ co: Int) -> Int {
        ((j &* kh &+ i) &* cin &+ c) &* cout &+ co
    }

    /// out[rows ..] = Σ_i rows of `source` (channels `k` per pixel, `kw` pixels per row of A)
    /// · kernel row i, for output rows r0..<r1, into the wide block `wide`.
    @inline(__always)
    private func shiftedRows(_ source: UnsafePointer<Float>, channels: Int, kernel: UnsafePointer<Float>, outChannels: Int,
                             r0: Int, r1: Int, wide: UnsafeMutablePointer<Float>) {
        let pw = paddedW, kRow = kw &* channels
        for i in 0..<kh {
            BLAS.gemm(m: (r1 &- r0) &* pw, n: outChannels, k: kRow,
                      a: source + (r0 &+ i) &* pw &* channels, rowStrideA: channels,
                      b: kernel + i &* kRow &* outChannels, rowStrideB: outChannels,
                      beta: i == 0 ? 0 : 1, c: wide, rowStrideC: outChannels)
        }
    }

    fileprivate func forwardShifted(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        beginShiftedForward(threads: context.threads)
        let inCount = inputCount, outCount = fusedPool?.outputCount ?? outputCount
        forEachChunk(batch, threads: context.threads) { t, samples in
            for s in samples { shiftedForwardSample(x + s &* inCount, y + s &* outCount, sample: s, thread: t, context: context) }
        }
    }

    /// Before forward passes of the shifted path on `threads` threads: workspaces, and the
    /// kernel as the passes read it (Winograd's U, or the stacked-row order).
    private func beginShiftedForward(threads: Int) {
        BLAS.setThreads(1)
        forgetStackedSamples(threads: threads)
        if winogradActive {
            winogradPlan(threads: threads).prepareForward(kernel: kernel.value.base)
            return
        }
        reserve(threads: threads)
        guard stacksRows else { return }
        let w = UnsafePointer(kernel.value.base), ws = kernelStacked.base
        for i in 0..<kh { for j in 0..<kw { for c in 0..<cin { for co in 0..<cout {
            ws[stackedIndex(i, j, c, co)] = w[((i &* kw &+ j) &* cin &+ c) &* cout &+ co]
        } } } }
    }

    /// One sample of the shifted-path forward on thread `t`: `xs` and `ys` point at the
    /// sample's own values (`ys` pooled when a pooling is fused; its window codes go to the
    /// sample's codes).
    private func shiftedForwardSample(_ xs: UnsafePointer<Float>, _ ys: UnsafeMutablePointer<Float>, sample s: Int, thread t: Int,
                                      context: RunContext) {
        let pool = fusedPool.map { (ph: $0.ph, pw: $0.pw, count: $0.outputCount) }
        let b = bias.map { UnsafePointer($0.value.base) }
        if winogradActive, let plan = winograd {
            let output: WinogradConvolution.Output
            if let pool, let codes = poolCodes {
                output = .pooled(ys, codes: codes + s &* pool.count)
            } else {
                output = .image(ys)
            }
            plan.forwardSample(xs, bias: b, relu: activation == .relu, into: output, thread: t)
            if pool == nil { foldedDropout?.maskValues(ys, count: outputCount, first: 0, sample: s, context: context) }
            return
        }
        let (cout, outH, outW, pw) = (self.cout, self.outH, self.outW, self.paddedW)
        // With a fused pooling, blocks hold whole pooling windows.
        let blockRows = pool.map { max($0.ph, shiftedBlockRows / $0.ph * $0.ph) } ?? shiftedBlockRows
        let w = UnsafePointer(kernel.value.base)
        let buffers = shiftedPointers[t]
        let xpad = buffers.x, wide = buffers.wide
        let stacked = stacksRows, pixel = kh &* cin, own = stackedRowsOnOwnTiles
        if stacked {
            stack(xs, into: xpad)
            if t < stackedSamples.count { stackedSamples[t] = s }
        } else {
            pad(xs, into: xpad, height: inH, width: inW, channels: cin, top: padTop, left: padLeft)
        }
        if own, pool == nil, activation == .relu || activation == .linear {
            // Each output row straight from its stacked pixels, bias and relu applied in registers:
            // no wide buffer, no separate passes.
            let relu: Int32 = activation == .relu ? 1 : 0
            let row = outW &* cout
            for r in 0..<outH {
                tk_conv_rows(xpad + r &* pw &* pixel, pixel, patch, kernelStacked.base, cout, outW, ys + r &* row, b, relu)
                foldedDropout?.maskValues(ys + r &* row, count: row, first: r &* row, sample: s, context: context)
            }
            return
        }
        var r0 = 0
        while r0 < outH {
            let r1 = min(r0 &+ blockRows, outH)
            if stacked, own {
                tk_conv_rows(xpad + r0 &* pw &* pixel, pixel, patch, kernelStacked.base, cout, (r1 &- r0) &* pw, wide, nil, 0)
            } else if stacked {
                BLAS.gemm(m: (r1 &- r0) &* pw, n: cout, k: patch, a: xpad + r0 &* pw &* pixel, rowStrideA: pixel,
                          b: kernelStacked.base, rowStrideB: cout, c: wide, rowStrideC: cout)
            } else {
                shiftedRows(xpad, channels: cin, kernel: w, outChannels: cout, r0: r0, r1: r1, wide: wide)
            }
            if let pool, let codes = poolCodes {
                poolBlock(wide, rows: r0..<r1, bias: b, pool: (pool.ph, pool.pw), into: ys, codes: codes + s &* pool.count)
                r0 = r1
                continue
            }
            for r in r0..<r1 {
                let src = wide + (r &- r0) &* pw &* cout, dst = ys + r &* outW &* cout
                if let b {
                    for p in 0..<outW {
                        let o = p &* cout
                        for c in 0..<cout { dst[o &+ c] = src[o &+ c] + b[c] }
                    }
                } else {
                    dst.update(from: src, count: outW &* cout)
                }
            }
            activation.apply(ys + r0 &* outW &* cout, rows: (r1 &- r0) &* outW, width: cout)
            foldedDropout?.maskValues(ys + r0 &* outW &* cout, count: (r1 &- r0) &* outW &* cout, first: r0 &* outW &* cout,
                                      sample: s, context: context)
            r0 = r1
        }
    }

    fileprivate func backwardShifted(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                                     dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        let threads = min(max(context.threads, 1), max(batch, 1))
        beginSampleBackward(threads: threads)
        let inCount = inputCount, outCount = fusedPool?.outputCount ?? outputCount
        forEachChunk(batch, threads: threads) { t, samples in
            for s in samples {
                backwardSample(x: x + s &* inCount, y: y + s &* outCount, dy: dy + s &* outCount,
                               dx: dx.map { $0 + s &* inCount }, sample: s, thread: t, context: context)
            }
        }
        finishSampleBackward(threads: threads)
    }

    /// Before a backward pass of the shifted path on `threads` threads: the flipped kernel,
    /// zeroed per-thread partial gradients.
    private func beginShiftedBackward(threads: Int) {
        forgetStackedSamples(threads: threads)
        if winogradActive {
            winogradPlan(threads: threads).beginBackward(kernel: kernel.value.base, threads: threads)
            reservePartials(threads: threads)
            BLAS.setThreads(1)
            for t in 0..<threads { biasPartialPointers[t].update(repeating: 0, count: cout) }
            return
        }
        reserve(threads: threads)
        BLAS.setThreads(1)
        let (cin, cout, kh, kw) = (self.cin, self.cout, self.kh, self.kw)
        // Flipped kernel: Wf[i'][j'][co][ci] = W[kh-1-i'][kw-1-j'][ci][co].
        let w = kernel.value.base, wf = kernelFlipped.base
        for i in 0..<kh { for j in 0..<kw { for ci in 0..<cin { for co in 0..<cout {
            wf[((((kh &- 1 &- i) &* kw &+ (kw &- 1 &- j)) &* cout) &+ co) &* cin &+ ci] = w[((i &* kw &+ j) &* cin &+ ci) &* cout &+ co]
        } } } }
        for t in 0..<threads {
            (stacksRows ? shiftedPointers[t].scratch : kernelPartialPointers[t]).update(repeating: 0, count: patch &* cout)
            biasPartialPointers[t].update(repeating: 0, count: cout)
        }
    }

    /// One sample of the shifted-path backward on thread `t`: `x`, `y`, `dy`, `dx` point at
    /// the sample's own values (`y`, `dy` pooled when a pooling is fused); dW and the bias
    /// gradient go to the thread's partials.
    private func shiftedBackwardSample(x xs: UnsafePointer<Float>, y ys: UnsafePointer<Float>, dy dys: UnsafeMutablePointer<Float>,
                                       dx dxs: UnsafeMutablePointer<Float>?, sample s: Int, thread t: Int, context: RunContext) {
        let (cin, cout, kh, kw, outH, outW, pw, blockRows) = (self.cin, self.cout, self.kh, self.kw, self.outH, self.outW,
                                                              self.paddedW, self.shiftedBlockRows)
        let patch = self.patch
        // dY sits at (gradTop, gradLeft) of its padded buffer; dYwide is the view at `viewOffset`.
        let gradTop = kh &- 1 &- padTop, gradLeft = kw &- 1 &- padLeft
        let viewOffset = (gradTop &* pw &+ gradLeft) &* cout
        let stacked = stacksRows, pixel = kh &* cin
        let bp = biasPartialPointers[t]
        let hasBias = bias != nil
        if let pool = fusedPool, let codes = poolCodes {
            // y and dy are pooled: the activation's derivative at each window's maximum is the
            // derivative at the pooled value; scatter to the maxima, zeros elsewhere.
            let count = pool.outputCount
            if !gradientIncludesActivation { activation.backward(y: ys, dy: dys, rows: count / cout, width: cout) }
            if hasBias {
                for p in 0..<(count / cout) {
                    let row = dys + p &* cout
                    for c in 0..<cout { bp[c] += row[c] }
                }
            }
            if winogradActive, let plan = winograd {
                plan.backwardSample(x: xs, gradient: .pooled(dys, codes: codes + s &* count), dx: dxs, thread: t)
                return
            }
            unpool(dys, codes: codes + s &* count, pool: (pool.ph, pool.pw), into: shiftedPointers[t].dy, top: gradTop, left: gradLeft)
        } else if !gradientIncludesActivation, activation == .relu, !winogradActive {
            // relu's derivative (times the folded dropout's mask), the bias sums and the copy into
            // the padded buffer in one pass, as the separate passes below compute them.
            tk_relu_grad_rows(dys, ys, outH, outW, cout, foldedDropoutScale(context), shiftedPointers[t].dy + viewOffset,
                              pw &* cout, hasBias ? bp : nil)
        } else {
            if foldedDropout != nil {
                // The folded dropout's backward (Winograd, or a Dense layer above that already
                // applied relu's derivative in dY: `gradientIncludesActivation`).
                Dropout.keptGradient(dy: dys, y: ys, dx: dys, count: outH &* outW &* cout,
                                      scale: foldedDropoutScale(context))
            }
            if !gradientIncludesActivation { activation.backward(y: ys, dy: dys, rows: outH &* outW, width: cout) }
            if hasBias {
                for p in 0..<(outH &* outW) {
                    let row = dys + p &* cout
                    for c in 0..<cout { bp[c] += row[c] }
                }
            }
            if winogradActive, let plan = winograd {
                plan.backwardSample(x: xs, gradient: .image(dys), dx: dxs, thread: t)
                return
            }
            pad(dys, into: shiftedPointers[t].dy, height: outH, width: outW, channels: cout, top: gradTop, left: gradLeft)
        }
        let buffers = shiftedPointers[t]
        let xpad = buffers.x, dpad = buffers.dy, wide = buffers.wide
        let kp = stacked ? buffers.scratch : kernelPartialPointers[t]
        if stacked {
            // dW (in stacked order) += Aᵀ · dYwide, one GEMM.
            if t >= stackedSamples.count || stackedSamples[t] != s {
                stack(xs, into: xpad)
                if t < stackedSamples.count { stackedSamples[t] = s }
            }
            if stackedRowsOnOwnTiles {
                tk_conv_kernel_rows(xpad, pixel, dpad + viewOffset, outH &* pw, patch, cout, kp)
            } else {
                BLAS.gemm(transA: true, m: patch, n: cout, k: outH &* pw, a: xpad, rowStrideA: pixel,
                          b: dpad + viewOffset, rowStrideB: cout, beta: 1, c: kp, rowStrideC: cout)
            }
        } else {
            pad(xs, into: xpad, height: inH, width: inW, channels: cin, top: padTop, left: padLeft)
            // dW_i += A_iᵀ · dYwide over all outH·pw wide rows (junk rows of dYwide are zero).
            for i in 0..<kh {
                BLAS.gemm(transA: true, m: kw &* cin, n: cout, k: outH &* pw,
                          a: xpad + i &* pw &* cin, rowStrideA: cin,
                          b: dpad + viewOffset, rowStrideB: cout,
                          beta: 1, c: kp + i &* kw &* cin &* cout, rowStrideC: cout)
            }
        }
        guard let dxs else { return }
        let flipped = UnsafePointer(kernelFlipped.base)
        var r0 = 0
        while r0 < inH {
            let r1 = min(r0 &+ blockRows, inH)
            shiftedRows(dpad, channels: cout, kernel: flipped, outChannels: cin, r0: r0, r1: r1, wide: wide)
            copyRows(r1 &- r0, length: inW &* cin, from: wide, stride: pw &* cin, to: dxs + r0 &* inW &* cin, stride: inW &* cin)
            r0 = r1
        }
    }

    /// After the samples: per-thread partials (back in Keras's order) summed in thread order
    /// into the gradient targets.
    private func finishShiftedBackward(threads: Int) {
        if winogradActive, let plan = winograd {
            // dW into the first partial's buffer, then into the target as the other paths do.
            plan.finishBackward(threads: threads, into: kernelPartialPointers[0])
            reducePartials(kernelPartialPointers, first: 1, count: patch * cout, into: kernel.target)
            if let bias { reducePartials(biasPartialPointers, first: threads, count: cout, into: bias.target) }
            return
        }
        let (cin, cout, kh, kw) = (self.cin, self.cout, self.kh, self.kw)
        if stacksRows {
            for t in 0..<threads {
                let kp = shiftedPointers[t].scratch, out = kernelPartialPointers[t]
                for i in 0..<kh { for j in 0..<kw { for c in 0..<cin { for co in 0..<cout {
                    out[((i &* kw &+ j) &* cin &+ c) &* cout &+ co] = kp[stackedIndex(i, j, c, co)]
                } } } }
            }
        }
        reducePartials(kernelPartialPointers, first: threads, count: patch * cout, into: kernel.target)
        if let bias { reducePartials(biasPartialPointers, first: threads, count: cout, into: bias.target) }
    }

    // MARK: Sample-by-sample forward and backward (see `Layer.forwardsBySample`, `backwardsBySample`)

    var forwardsBySample: Bool { usesShiftedRows }

    func beginSampleForward(threads: Int) { beginShiftedForward(threads: threads) }

    func forwardSample(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, sample: Int, thread: Int,
                       context: RunContext) {
        shiftedForwardSample(x, y, sample: sample, thread: thread, context: context)
    }

    var backwardsBySample: Bool { usesShiftedRows }

    func beginSampleBackward(threads: Int) { beginShiftedBackward(threads: threads) }

    func backwardSample(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, sample: Int, thread: Int, context: RunContext) {
        shiftedBackwardSample(x: x, y: y, dy: dy, dx: dx, sample: sample, thread: thread, context: context)
    }

    /// The factor a kept value of the folded dropout gets in backward: 1/(1 − rate) in training
    /// (`Dropout.backwardSample`), 1 otherwise or without one (its backward is then the identity).
    private func foldedDropoutScale(_ context: RunContext) -> Float {
        guard let rate = foldedDropout?.rate, context.training, rate > 0 else { return 1 }
        return 1 / (1 - rate)
    }

    func finishSampleBackward(threads: Int) { finishShiftedBackward(threads: threads) }
}
