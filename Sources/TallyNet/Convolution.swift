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

    private var kernelTransposed: FloatBuffer
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
    }

    var kind: String { "Conv2D" }
    var parameters: [Parameter] { bias.map { [kernel, $0] } ?? [kernel] }

    func reserve(threads: Int) {
        guard columns.count < threads else { return }
        for _ in columns.count..<threads {
            columns.append(FloatBuffer(count: blockRows * patch))
            columnGradients.append(FloatBuffer(count: blockRows * patch))
            kernelPartials.append(FloatBuffer(count: patch * cout))
            biasPartials.append(FloatBuffer(count: cout))
        }
        columnPointers = columns.map(\.base)
        columnGradientPointers = columnGradients.map(\.base)
        kernelPartialPointers = kernelPartials.map(\.base)
        biasPartialPointers = biasPartials.map(\.base)
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
