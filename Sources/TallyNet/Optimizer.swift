#if canImport(Glibc)
import Glibc
#endif
internal import TallyNetKernels
internal import TallyThreads

/// The state and update rule of one `OptimizerSpec` over a model's parameters.
///
/// Before each backward pass `beginStep` points every parameter's gradient target
/// where its gradient is most useful: the velocity for SGD with momentum (one fused
/// GEMM `v = momentum·v - lr·g`), the weights themselves for plain SGD, or a gradient
/// buffer for Nesterov and Adam. `finishStep` then completes the update and applies
/// the kernel constraints, in parallel over rows.
final class Optimizer {
    let spec: OptimizerSpec
    let parameters: [Parameter]
    /// Keras's `optimizer.iterations`: updates done so far (set only by a restore).
    var iterations: Int = 0
    var threads: Int = 1
    private var learningRate: Float = 0

    init(spec: OptimizerSpec, parameters: [Parameter]) {
        self.spec = spec
        self.parameters = parameters
        for p in parameters {
            p.slots = []
            p.rowUpdate = nil
            p.releaseGradientBuffer()
            switch spec {
            case .sgd(_, let momentum, let nesterov, _):
                if momentum != 0 { p.slots = [FloatBuffer(count: p.count, resident: true)] }
                if nesterov && momentum != 0 { p.targetGradientBuffer() }
            case .adam:
                p.slots = [FloatBuffer(count: p.count, resident: true), FloatBuffer(count: p.count, resident: true)]
                p.targetGradientBuffer()
            }
        }
    }

    /// Keras's names of the slot variables of each parameter, in `slots` order:
    /// `momentum` for SGD with momentum, `momentum` (m) and `velocity` (v) for Adam.
    var slotNames: [String] {
        switch spec {
        case .sgd(_, let momentum, _, _): return momentum != 0 ? ["momentum"] : []
        case .adam: return ["momentum", "velocity"]
        }
    }

    /// The learning rate of the next update: `lr / (1 + decay · iterations)`.
    var currentLearningRate: Float {
        switch spec {
        case .sgd(let lr, _, _, let decay), .adam(let lr, _, _, _, let decay):
            return decay == 0 ? lr : lr / (1 + decay * Float(iterations))
        }
    }

    func beginStep() {
        learningRate = currentLearningRate
        let step = Float(iterations + 1)
        for p in parameters {
            switch spec {
            case .sgd(_, let momentum, let nesterov, _):
                if momentum == 0 {
                    p.target = GradientTarget(pointer: p.value.base, alpha: -learningRate, beta: 1)
                } else if !nesterov {
                    p.target = GradientTarget(pointer: p.slots[0].base, alpha: -learningRate, beta: momentum)
                }
            case .adam:
                break
            }
            if p.allowsRowUpdates {
                let rows = p.rowUpdate ?? RowUpdate(width: p.shape.last ?? 1, values: p.value.base)
                rows.prepare(update: elementUpdate(p, learningRate: learningRate, step: step),
                             accumulatesNorms: defaultAxesMaxNorm(p) != nil, slots: max(threads, 1))
                if case .sgd(_, let momentum, let nesterov, _) = spec, momentum != 0, !nesterov {
                    rows.addsTarget = true
                }
                p.rowUpdate = rows
            }
        }
    }

    func finishStep() {
        let lr = learningRate
        let step = Float(iterations + 1)
        for p in parameters {
            if let rows = p.rowUpdate, rows.applied {
                // The layer already ran the update row block by row block (and summed the norms).
                finishConstraint(p, sums: rows.normSums, slots: rows.slots)
                rows.reset()
                continue
            }
            applyUpdate(p, count: p.count, elementUpdate(p, learningRate: lr, step: step))
        }
        iterations += 1
    }

    /// The element-wise update of `p` over flat ranges `lo..<hi`, once its gradient target is written.
    private func elementUpdate(_ p: Parameter, learningRate lr: Float, step: Float) -> (Int, Int) -> Void {
        let w = p.value.base
        switch spec {
        case .sgd(_, let momentum, let nesterov, _):
            if momentum == 0 {
                return { _, _ in }
            } else if !nesterov {
                let v = p.slots[0].base
                return { lo, hi in for i in lo..<hi { w[i] += v[i] } }
            } else {
                let v = p.slots[0].base, g = p.gradient!.base
                return { lo, hi in
                    for i in lo..<hi {
                        let vi = momentum * v[i] - lr * g[i]
                        v[i] = vi
                        w[i] += momentum * vi - lr * g[i]
                    }
                }
            }
        case .adam(_, let beta1, let beta2, let epsilon, _):
            let m = p.slots[0].base, v = p.slots[1].base, g = p.gradient!.base
            let alpha = lr * (1 - powf(beta2, step)).squareRoot() / (1 - powf(beta1, step))
            return { lo, hi in
                for i in lo..<hi {
                    let gi = g[i]
                    let mi = m[i] + (gi - m[i]) * (1 - beta1)
                    let vi = v[i] + (gi * gi - v[i]) * (1 - beta2)
                    m[i] = mi
                    v[i] = vi
                    w[i] -= (mi * alpha) / (vi.squareRoot() + epsilon)
                }
            }
        }
    }

    /// The bound of a max-norm over all axes but the last (one norm per column), if `p` has one.
    private func defaultAxesMaxNorm(_ p: Parameter) -> Float? {
        guard case .maxNorm(let maxValue, let axes)? = p.constraint else { return nil }
        if let axes, axes != Array(0..<(p.shape.count - 1)) { return nil }
        return maxValue
    }

    /// Runs `update` over the parameter in row blocks on `threads` threads and, for a
    /// max-norm kernel over all but the last axis, accumulates the new column norms
    /// while each block is still in cache; then rescales if any norm is too large.
    private func applyUpdate(_ p: Parameter, count: Int, _ update: @escaping (Int, Int) -> Void) {
        guard p.constraint != nil else {
            forEachChunk((count + 4095) / 4096, threads: count > 1 << 16 ? threads : 1) { _, blocks in
                update(blocks.lowerBound * 4096, min(blocks.upperBound * 4096, count))
            }
            return
        }
        guard defaultAxesMaxNorm(p) != nil else {
            update(0, count)
            finishConstraint(p, sums: nil, slots: 0)
            return
        }
        let width = p.shape.last ?? 1
        let rows = count / max(width, 1)
        let t = min(max(threads, 1), max(rows, 1))
        let rowUpdate = RowUpdate(width: width, values: p.value.base)
        rowUpdate.prepare(update: update, accumulatesNorms: true, slots: t)
        let blockRows = max(1, 16_384 / max(width, 1))
        forEachChunk(rows, threads: t) { k, range in
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 &+ blockRows, range.upperBound)
                rowUpdate.run(rows: r0..<r1, slot: k)
                r0 = r1
            }
        }
        finishConstraint(p, sums: rowUpdate.normSums, slots: t)
    }

    /// Applies `p`'s kernel constraint after its update. With column sums of squares
    /// (`slots` per-thread partials, summed in slot order) it computes the max-norm
    /// factors and rescales — or, for a parameter whose layer accepts it, leaves them
    /// pending in `columnScale` (applied by the layer's next passes, no extra pass over memory).
    private func finishConstraint(_ p: Parameter, sums: UnsafeMutablePointer<Double>?, slots: Int) {
        guard case .maxNorm(let maxValue, let axes)? = p.constraint else { return }
        guard let sums, defaultAxesMaxNorm(p) != nil else {
            applyMaxNorm(p, maxValue: maxValue, axes: axes ?? Array(0..<(p.shape.count - 1)))
            return
        }
        let width = p.shape.last ?? 1
        let scale = p.pendingScaleBuffer()
        var needed = false
        for j in 0..<width {
            var n2 = 0.0
            for k in 0..<slots { n2 += sums[k &* width &+ j] }
            let norm = Float(n2.squareRoot())
            let desired = min(max(norm, 0), maxValue)
            let f = desired / (1e-7 + norm)
            scale.base[j] = f
            if f != 1 { needed = true }
        }
        guard needed else { return }
        if p.allowsDeferredScale {
            p.hasPendingScale = true
            return
        }
        p.applyPendingScale(threads: threads, force: true)
    }
}

/// The optimizer's update of one parameter as a function of its rows (the last axis is a
/// row), prepared each step so that a layer can run it on each block of rows right after
/// writing that block's gradient, while the block is in cache.
final class RowUpdate {
    let width: Int
    private(set) var update: (Int, Int) -> Void = { _, _ in }
    /// Per-slot column sums of squares of the updated rows (`slots × width`), or nil.
    private(set) var normSums: UnsafeMutablePointer<Double>?
    /// Per-slot float sums of one block's rows, added to `normSums` after each block.
    private var blockSums: UnsafeMutablePointer<Float>?
    private var normCapacity = 0
    private(set) var slots = 0
    /// Set by the layer once every row has been updated this step.
    var applied = false
    /// The update is `w += target` (SGD with momentum: the target is the velocity), so a
    /// layer may write the target and update the rows in one pass (`runFused`).
    var addsTarget = false

    let values: UnsafeMutablePointer<Float>

    init(width: Int, values: UnsafeMutablePointer<Float>) {
        self.width = width
        self.values = values
    }

    deinit {
        normSums?.deallocate()
        blockSums?.deallocate()
    }

    func prepare(update: @escaping (Int, Int) -> Void, accumulatesNorms: Bool, slots: Int) {
        self.update = update
        self.slots = slots
        applied = false
        addsTarget = false
        guard accumulatesNorms else {
            normSums?.deallocate()
            blockSums?.deallocate()
            normSums = nil
            blockSums = nil
            normCapacity = 0
            return
        }
        if normCapacity < slots &* width {
            normSums?.deallocate()
            blockSums?.deallocate()
            normSums = .allocate(capacity: slots &* width)
            blockSums = .allocate(capacity: slots &* width)
            normCapacity = slots &* width
        }
        normSums!.initialize(repeating: 0, count: slots &* width)
    }

    func reset() { applied = false }

    /// Updates rows `rows` (after multiplying their columns by `scale`, the parameter's
    /// pending max-norm factors, if given) and adds their squares to slot `slot` (< `slots`)
    /// of the norm sums: in float over the block, then in double across blocks.
    @inline(__always)
    func run(rows: Range<Int>, slot: Int, scale: UnsafePointer<Float>? = nil) {
        let width = self.width, w = values
        if let scale {
            for r in rows {
                let row = w + r &* width
                for j in 0..<width { row[j] *= scale[j] }
            }
        }
        update(rows.lowerBound &* width, rows.upperBound &* width)
        guard normSums != nil else { return }
        accumulatingBlockNorms(slot: slot) { f in
            guard let f else { return }
            for r in rows {
                let row = w + r &* width
                for j in 0..<width { f[j] += row[j] * row[j] }
            }
        }
    }
}

extension RowUpdate {
    /// Runs `body` with the block's float column sums of slot `slot`, zeroed (nil without a
    /// max-norm), then adds them to the slot's double norm sums: float over a block, double
    /// across blocks, whichever pass filled them.
    @inline(__always)
    func accumulatingBlockNorms(slot: Int, _ body: (UnsafeMutablePointer<Float>?) -> Void) {
        let width = self.width
        let f = blockSums.map { $0 + slot &* width }
        f?.update(repeating: 0, count: width)
        body(f)
        if let f, let sums = normSums {
            let s = sums + slot &* width
            for j in 0..<width { s[j] += Double(f[j]) }
        }
    }

    /// For an update that adds its target (`addsTarget`): row by row, while the row is in L1,
    /// `v = g + beta·v` (the block's gradient `g` already scaled by alpha), the pending
    /// factors `w *= scale`, `w += v`, and the row's squares into the norm sums. The same
    /// operations in the same order per element as `v` followed by `run`, in one pass over the block.
    @inline(__always)
    func runFused(rows: Range<Int>, slot: Int, scale: UnsafePointer<Float>?, gradient g: UnsafePointer<Float>,
                  target v: UnsafeMutablePointer<Float>, beta: Float) {
        let width = self.width, w = values
        accumulatingBlockNorms(slot: slot) { f in
            for r in rows {
                let row = w + r &* width, vr = v + r &* width, gr = g + (r &- rows.lowerBound) &* width
                for j in 0..<width { vr[j] = gr[j] + beta * vr[j] }
                if let scale {
                    for j in 0..<width { row[j] = row[j] * scale[j] + vr[j] }
                } else {
                    for j in 0..<width { row[j] += vr[j] }
                }
                if let f {
                    for j in 0..<width { f[j] += row[j] * row[j] }
                }
            }
        }
    }
}

extension RowUpdate {
    /// `runFused` with the block's gradient never stored: TallyNet's own loops (dense.c) form
    /// each row's gradient `alpha·(xᵀ·dy)` in registers and update that row's velocity and
    /// weights at once (the Dense layer's SGD-with-momentum step where `tk_own_kernels_available()`).
    /// `x` points at the block's first input column (row stride `lda`), `dy` is batch × width.
    @inline(__always)
    func runFusedGradient(rows: Range<Int>, slot: Int, scale: UnsafePointer<Float>?, x: UnsafePointer<Float>, lda: Int,
                          dy: UnsafePointer<Float>, batch: Int, alpha: Float, target v: UnsafeMutablePointer<Float>,
                          beta: Float) {
        let first = rows.lowerBound &* width
        accumulatingBlockNorms(slot: slot) { f in
            tk_dense_momentum_rows(x, lda, dy, batch, width, rows.count, alpha, beta, values + first, v + first, scale, f)
        }
    }
}

/// Keras `MaxNorm` over arbitrary `axes` of the kernel (slow path, small kernels).
func applyMaxNorm(_ p: Parameter, maxValue: Float, axes: [Int]) {
    let shape = p.shape
    // Strides of the kept axes in the (reduced) norm array.
    var reducedStrides = [Int](repeating: 0, count: shape.count)
    var groups = 1
    for a in stride(from: shape.count - 1, through: 0, by: -1) where !axes.contains(a) {
        reducedStrides[a] = groups
        groups *= shape[a]
    }
    func group(_ flat: Int) -> Int {
        var rest = flat, g = 0
        for a in stride(from: shape.count - 1, through: 0, by: -1) {
            g += (rest % shape[a]) * reducedStrides[a]
            rest /= shape[a]
        }
        return g
    }
    let w = p.value.base
    var norms = [Double](repeating: 0, count: groups)
    for i in 0..<p.count { norms[group(i)] += Double(w[i] * w[i]) }
    let factors = norms.map { n2 -> Float in
        let norm = Float(n2.squareRoot())
        return min(max(norm, 0), maxValue) / (1e-7 + norm)
    }
    for i in 0..<p.count { w[i] *= factors[group(i)] }
}
