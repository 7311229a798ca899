#if canImport(Glibc)
import Glibc
#endif

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
    /// Keras's `optimizer.iterations`: updates done so far.
    private(set) var iterations: Int = 0
    var threads: Int = 1
    private var learningRate: Float = 0

    init(spec: OptimizerSpec, parameters: [Parameter]) {
        self.spec = spec
        self.parameters = parameters
        for p in parameters {
            p.slots = []
            p.releaseGradientBuffer()
            switch spec {
            case .sgd(_, let momentum, let nesterov, _):
                if momentum != 0 { p.slots = [FloatBuffer(count: p.count)] }
                if nesterov && momentum != 0 { p.targetGradientBuffer() }
            case .adam:
                p.slots = [FloatBuffer(count: p.count), FloatBuffer(count: p.count)]
                p.targetGradientBuffer()
            }
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
        }
    }

    func finishStep() {
        let lr = learningRate
        let step = Float(iterations + 1)
        for p in parameters {
            let w = p.value.base
            let count = p.count
            let update: (Int, Int) -> Void
            switch spec {
            case .sgd(_, let momentum, let nesterov, _):
                if momentum == 0 {
                    update = { _, _ in }
                } else if !nesterov {
                    let v = p.slots[0].base
                    update = { lo, hi in for i in lo..<hi { w[i] += v[i] } }
                } else {
                    let v = p.slots[0].base, g = p.gradient!.base
                    update = { lo, hi in
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
                update = { lo, hi in
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
            applyUpdate(p, count: count, update)
        }
        iterations += 1
    }

    /// Runs `update` over the parameter in row blocks on `threads` threads and, for a
    /// max-norm kernel over all but the last axis, accumulates the new column norms
    /// while each block is still in cache; then rescales if any norm is too large.
    private func applyUpdate(_ p: Parameter, count: Int, _ update: (Int, Int) -> Void) {
        guard case .maxNorm(let maxValue, let axes)? = p.constraint else {
            forEachChunk((count + 4095) / 4096, threads: count > 1 << 16 ? threads : 1) { _, blocks in
                update(blocks.lowerBound * 4096, min(blocks.upperBound * 4096, count))
            }
            return
        }
        let width = p.shape.last ?? 1
        if let axes, axes != Array(0..<(p.shape.count - 1)) {
            forEachChunk(1, threads: 1) { _, _ in update(0, count) }
            applyMaxNorm(p, maxValue: maxValue, axes: axes)
            return
        }
        let rows = count / max(width, 1)
        let w = p.value.base
        let t = min(max(threads, 1), max(rows, 1))
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: t * width)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: t * width)
        let blockRows = max(1, 16_384 / max(width, 1))
        forEachChunk(rows, threads: t) { k, range in
            let s = sums + k &* width
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 &+ blockRows, range.upperBound)
                update(r0 &* width, r1 &* width)
                for r in r0..<r1 {
                    let row = w + r &* width
                    for j in 0..<width { s[j] += Double(row[j] * row[j]) }
                }
                r0 = r1
            }
        }
        let scale = FloatBuffer(count: width)
        var needed = false
        for j in 0..<width {
            var n2 = 0.0
            for k in 0..<t { n2 += sums[k &* width &+ j] }
            let norm = Float(n2.squareRoot())
            let desired = min(max(norm, 0), maxValue)
            let f = desired / (1e-7 + norm)
            scale.base[j] = f
            if f != 1 { needed = true }
        }
        guard needed else { return }
        let f = scale.base
        forEachChunk(rows, threads: t) { _, range in
            for r in range {
                let row = w + r &* width
                for j in 0..<width { row[j] *= f[j] }
            }
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
