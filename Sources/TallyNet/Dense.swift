import Tally
internal import TallyNetKernels
internal import TallyThreads

/// Keras `Dense` over flat inputs: `y = act(x W + b)`, W of shape (in, units).
///
/// The kernel is walked in blocks of input rows, each thread taking a contiguous run of
/// blocks with a single-threaded GEMM (faster than one two-thread GEMM on these skinny
/// shapes). Forward sums per-thread partial products in thread order. Backward does, per
/// block and while it is in cache: dX's columns from the block, the block's gradient into
/// the optimizer's target, the optimizer's update of the block and its max-norm column
/// sums; a max-norm rescale is kept pending as per-column factors of the kernel
/// (`y = (x·W)·diag(s)`) and applied to each block at the start of the next backward.
///
/// The forward and dX products, and with SGD + momentum the weight gradient fused with the
/// update, run on TallyNet's own AVX-512 loops where the CPU has them (`Backend.ownKernels`;
/// dense.c says why), else on BLIS.
final class Dense: ActivatedLayer {
    let name: String
    let inputShape: [Int]
    let outputShape: [Int]
    let units: Int
    var activation: Activation
    let kernel: Parameter
    let bias: Parameter?
    /// Kernel rows per block (a var so tests can force several blocks).
    var blockRows: Int
    /// Kernels with fewer values stay on the calling thread (a var so tests can force threads).
    var parallelThreshold = 1 << 16
    /// Whether the forward, dX and (SGD + momentum) weight-gradient products run on TallyNet's
    /// own loops (dense.c) rather than BLIS: the backend's choice, a var so tests can run both.
    var usesOwnKernels = Backend.current.usesOwnKernels

    private var partials: [FloatBuffer] = []
    private var scaledGradient = FloatBuffer(count: 0)
    /// dyᵀ packed for the own dX loops (units × batch rounded up to 16).
    private var packedGradient = FloatBuffer(count: 0)
    /// Per-thread block gradients (blockRows × units).
    private var blockGradients: [FloatBuffer] = []
    /// Set by `Sequential` when dX is written over this layer's input (the pooled output of the
    /// convolution below, whose backward then skips its activation): dX comes out multiplied by
    /// this activation's derivative at the input, and each block's input is first copied aside
    /// (per thread, batch × blockRows) for the weight gradient. Saves a gradient buffer as large as
    /// the input (43 MB for the seed model at 204×204, batch 32). `Activation.isElementWise` only.
    var inputActivation: Activation?
    private var inputBlocks: [FloatBuffer] = []

    init(name: String, inputShape: [Int], units: Int, activation: Activation, useBias: Bool,
         constraint: KernelConstraint?) {
        self.name = name
        self.inputShape = inputShape
        self.units = units
        outputShape = [units]
        self.activation = activation
        kernel = Parameter(name: "\(name)/kernel", shape: [inputShape.reduce(1, *), units], constraint: constraint)
        kernel.allowsRowUpdates = true
        kernel.allowsDeferredScale = true
        bias = useBias ? Parameter(name: "\(name)/bias", shape: [units]) : nil
        blockRows = max(16, (1 << 19) / max(units, 1))
    }

    var kind: String { "Dense" }
    var parameters: [Parameter] { bias.map { [kernel, $0] } ?? [kernel] }

    /// Threads worth using on this kernel (a small one stays on the calling thread).
    private func threads(_ context: RunContext, blocks: Int) -> Int {
        min(kernel.count >= parallelThreshold ? max(context.threads, 1) : 1, blocks)
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        let n = inputCount, u = units, blockRows = self.blockRows
        let blocks = (n + blockRows - 1) / blockRows
        let threads = threads(context, blocks: blocks)
        if partials.count < threads || (partials.first?.count ?? 0) < batch * u {
            partials = (0..<threads).map { _ in FloatBuffer(count: batch * u) }
        }
        let parts = partials.map(\.base)
        let w = UnsafePointer(kernel.value.base)
        BLAS.setThreads(1)
        let own = usesOwnKernels
        forEachChunk(blocks, threads: threads) { t, range in
            let out = t == 0 ? y : parts[t]
            if own {
                // One call over the thread's rows: its loops prefetch the kernel ahead across blocks.
                let r0 = range.lowerBound &* blockRows, r1 = min(range.upperBound &* blockRows, n)
                tk_dense_forward(x + r0, n, w + r0 &* u, r1 &- r0, u, batch, out, 0)
                return
            }
            for k in range {
                let r0 = k &* blockRows, r1 = min(r0 &+ blockRows, n)
                BLAS.gemm(m: batch, n: u, k: r1 &- r0, a: x + r0, lda: n, b: w + r0 &* u, ldb: u,
                          beta: k == range.lowerBound ? 0 : 1, c: out, ldc: u, mode: .packB)
            }
        }
        let count = batch &* u
        for t in 1..<max(threads, 1) {
            let p = parts[t]
            for i in 0..<count { y[i] += p[i] }
        }
        if let s = kernel.pendingScale {
            for r in 0..<batch {
                let row = y + r &* u
                for j in 0..<u { row[j] *= s[j] }
            }
        }
        if let bias {
            let b = bias.value.base
            for r in 0..<batch {
                let row = y + r &* u
                for j in 0..<u { row[j] += b[j] }
            }
        }
        activation.apply(y, rows: batch, width: u)
    }

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        let n = inputCount, u = units, blockRows = self.blockRows
        activation.backward(y: y, dy: dy, rows: batch, width: u)
        if let bias {
            let bt = bias.target
            let p = bt.pointer
            for j in 0..<u {
                var s: Float = 0
                for r in 0..<batch { s += dy[r &* u &+ j] }
                p[j] = bt.beta == 0 ? bt.alpha * s : bt.alpha * s + bt.beta * p[j]
            }
        }
        let blocks = (n + blockRows - 1) / blockRows
        let threads = threads(context, blocks: blocks)
        let w = kernel.value.base, t = kernel.target
        // The true kernel is W·diag(s) while factors s are pending: dX = (dy·diag(s))·Wᵀ, and
        // each block is rescaled (then updated) right after its dX GEMM has read it.
        let scale = kernel.pendingScale.map { UnsafePointer($0) }
        kernel.hasPendingScale = false
        var dyForInput = UnsafePointer(dy)
        if let scale, dx != nil {
            if scaledGradient.count < batch * u { scaledGradient = FloatBuffer(count: batch * u) }
            let g = scaledGradient.base
            for r in 0..<batch {
                for j in 0..<u { g[r &* u &+ j] = dy[r &* u &+ j] * scale[j] }
            }
            dyForInput = UnsafePointer(g)
        }
        let own = usesOwnKernels
        if own, dx != nil {
            let width = (batch + 15) / 16 * 16
            if packedGradient.count < u * width { packedGradient = FloatBuffer(count: u * width) }
            tk_dense_pack_gradient(dyForInput, batch, u, packedGradient.base)
        }
        let packed = UnsafePointer(packedGradient.base)
        let rowUpdate = kernel.rowUpdate.flatMap { $0.slots >= threads ? $0 : nil }
        // A target that keeps part of its value (the velocity: beta = momentum) gets the block's
        // gradient through a small per-thread buffer and one pass of ours: faster than letting
        // BLIS read and write the 680 MB target with beta != 0.
        let combine = t.beta != 0
        // The own loops' momentum step keeps each row's gradient in registers: no block buffers.
        let fusedGradient = own && rowUpdate?.addsTarget == true && t.pointer != w
        if combine && !fusedGradient && (blockGradients.count < threads || blockGradients[0].count < blockRows * u) {
            blockGradients = (0..<threads).map { _ in FloatBuffer(count: blockRows * u) }
        }
        let temporaries = combine ? blockGradients.map(\.base) : []
        let inputActivation = dx == nil ? nil : self.inputActivation
        if inputActivation != nil, inputBlocks.count < threads || inputBlocks[0].count < batch * blockRows {
            inputBlocks = (0..<threads).map { _ in FloatBuffer(count: batch * blockRows) }
        }
        let saved = inputActivation == nil ? [] : inputBlocks.map(\.base)
        BLAS.setThreads(1)
        forEachChunk(blocks, threads: threads) { slot, range in
            for k in range {
                let r0 = k &* blockRows, r1 = min(r0 &+ blockRows, n)
                // The block's inputs, read below by the weight gradient: in place, or copied aside
                // when dX is about to overwrite them.
                var xb = x + r0, ldx = n
                if inputActivation != nil {
                    let copy = saved[slot]
                    let width = r1 &- r0
                    for b in 0..<batch {
                        let from: UnsafePointer<Float> = x + (b &* n &+ r0)
                        (copy + b &* blockRows).update(from: from, count: width)
                    }
                    (xb, ldx) = (UnsafePointer(copy), blockRows)
                }
                // dX[:, r0..<r1] = dy · W[r0..<r1, :]ᵀ, before the block changes.
                if own, let dx {
                    tk_dense_input_grad(packed, batch, u, w + r0 &* u, r1 &- r0, dx + r0, n)
                } else if let dx {
                    BLAS.gemm(transB: true, m: batch, n: r1 &- r0, k: u, a: dyForInput, lda: u, b: w + r0 &* u, ldb: u,
                              c: dx + r0, ldc: n)
                }
                if let inputActivation, let dx {
                    for b in 0..<batch {
                        let row: UnsafeMutablePointer<Float> = dx + (b &* n &+ r0)
                        inputActivation.backward(y: xb + b &* ldx, dy: row, rows: 1, width: r1 &- r0)
                    }
                }
                if let scale, rowUpdate == nil || t.pointer == w {
                    // Without a row update (or when the GEMM below adds into W itself), rescale first.
                    for r in r0..<r1 {
                        let row = w + r &* u
                        for j in 0..<u { row[j] *= scale[j] }
                    }
                }
                // target block = alpha · x[:, r0..<r1]ᵀ · dy + beta · target block.
                let target = t.pointer + r0 &* u
                if combine, fusedGradient, let rowUpdate {
                    // The gradient row by row in registers, straight into the velocity and weights.
                    rowUpdate.runFusedGradient(rows: r0..<r1, slot: slot, scale: scale, x: xb, lda: ldx, dy: dy,
                                               batch: batch, alpha: t.alpha, target: t.pointer, beta: t.beta)
                    continue
                }
                if combine {
                    let g = temporaries[slot], count = (r1 &- r0) &* u, beta = t.beta
                    BLAS.gemm(transA: true, m: r1 &- r0, n: u, k: batch, alpha: t.alpha, a: xb, lda: ldx, b: dy, ldb: u,
                              c: g, ldc: u, mode: .packAB)
                    if let rowUpdate, rowUpdate.addsTarget, t.pointer != w {
                        rowUpdate.runFused(rows: r0..<r1, slot: slot, scale: scale, gradient: g,
                                           target: t.pointer, beta: beta)
                        continue
                    }
                    for i in 0..<count { target[i] = g[i] + beta * target[i] }
                } else {
                    BLAS.gemm(transA: true, m: r1 &- r0, n: u, k: batch, alpha: t.alpha, a: xb, lda: ldx, b: dy, ldb: u,
                              c: target, ldc: u)
                }
                rowUpdate?.run(rows: r0..<r1, slot: slot, scale: t.pointer == w ? nil : scale)
            }
        }
        rowUpdate?.applied = true
    }
}

/// Keras `Flatten`: the output is the input's memory.
final class Flatten: Layer {
    let name: String
    let inputShape: [Int]
    var outputShape: [Int] { [inputShape.reduce(1, *)] }
    init(name: String, inputShape: [Int]) {
        self.name = name
        self.inputShape = inputShape
    }
    var kind: String { "Flatten" }
    var parameters: [Parameter] { [] }
    var aliasesInput: Bool { true }
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {}
    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {}
}
