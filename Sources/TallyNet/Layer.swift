/// What a forward or backward pass needs to know besides its tensors.
struct RunContext {
    /// Training mode (dropout active).
    var training: Bool
    /// Threads for per-sample work and dense GEMMs.
    var threads: Int
    /// Seed of this training step (dropout masks), from the fit seed and the step number.
    var stepSeed: UInt64 = 0
}

/// One layer of a `Sequential` model. Tensors are NHWC (or N×features)
/// float32, `batch` samples of `inputShape` / `outputShape` each.
///
/// `backward` receives the layer's own input `x` and output `y`, turns `dy` into
/// the gradient w.r.t. its input in `dx` (nil for the first layer), and writes each
/// parameter's gradient to that parameter's `target` — after computing `dx`, because
/// the target may be the parameter itself (plain SGD updates in place).
protocol Layer: AnyObject {
    var name: String { get }
    var kind: String { get }
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    var parameters: [Parameter] { get }
    /// True when the output is the input itself (Flatten): no buffer, no work.
    var aliasesInput: Bool { get }
    /// True when `backward` may be given `dx == dy` (element-wise layers).
    var backwardWorksInPlace: Bool { get }
    /// True when `backward` reads each sample's output before writing that sample's input
    /// gradient, so that `dx` may be the layer's own output buffer (same sizes).
    var inputGradientMayOverwriteOutput: Bool { get }
    /// Allocates per-thread workspaces.
    func reserve(threads: Int)
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext)
    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext)

    /// True when backward can also run one sample at a time: `beginSampleBackward`, then
    /// `backwardSample` for each sample on a thread (`thread` < `threads`; each thread takes
    /// a contiguous run of samples, in order), then `finishSampleBackward`. A run of such
    /// layers at the bottom of a model backpropagates sample by sample through all of them,
    /// with per-thread gradient buffers instead of batch-wide ones.
    var backwardsBySample: Bool { get }
    func beginSampleBackward(threads: Int)
    /// `x`, `y`, `dy`, `dx` point at sample `sample`'s own values.
    func backwardSample(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, sample: Int, thread: Int, context: RunContext)
    func finishSampleBackward(threads: Int)

    /// True when forward can also run one sample at a time: `beginSampleForward`, then
    /// `forwardSample` for each sample on a thread (`thread` < `threads`), giving the same
    /// values as `forward`. With `backwardsBySample`, this lets `Sequential` keep no batch-wide
    /// output for the layers under the top of the sample-by-sample run: it computes each
    /// sample's values again, on the thread that backpropagates that sample.
    var forwardsBySample: Bool { get }
    func beginSampleForward(threads: Int)
    /// `x`, `y` point at sample `sample`'s own values; `y` may be `x` for an element-wise layer.
    func forwardSample(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, sample: Int, thread: Int,
                       context: RunContext)
}

extension Layer {
    var aliasesInput: Bool { false }
    var backwardWorksInPlace: Bool { false }
    var inputGradientMayOverwriteOutput: Bool { false }
    var backwardsBySample: Bool { false }
    func beginSampleBackward(threads: Int) {}
    func backwardSample(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, sample: Int, thread: Int, context: RunContext) {}
    func finishSampleBackward(threads: Int) {}
    var forwardsBySample: Bool { false }
    func beginSampleForward(threads: Int) {}
    func forwardSample(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, sample: Int, thread: Int,
                       context: RunContext) {}
    func reserve(threads: Int) {}
    var inputCount: Int { inputShape.reduce(1, *) }
    var outputCount: Int { outputShape.reduce(1, *) }
}

/// A layer with an `activation` argument (Dense, Conv2D, Activation).
protocol ActivatedLayer: Layer {
    var activation: Activation { get set }
}

/// Writes `target = alpha * sum(partials[0..<first]) + beta * target` over `count`
/// floats, summing the partials in their fixed order (deterministic).
func reducePartials(_ partials: [UnsafeMutablePointer<Float>], first: Int, count: Int, into target: GradientTarget) {
    let t = target.pointer
    let alpha = target.alpha, beta = target.beta
    for i in 0..<count {
        var s: Float = 0
        for k in 0..<first { s += partials[k][i] }
        t[i] = beta == 0 ? alpha * s : alpha * s + beta * t[i]
    }
}
