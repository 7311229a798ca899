internal import TallyNetKernels
internal import TallyThreads

/// Keras `MaxPooling2D` (NHWC). Padded cells of `same` padding never win.
/// Backward sends each output's gradient to the first maximum of its window
/// (row-major order), found again from `x` and `y` instead of stored indices.
final class MaxPooling2D: Layer {
    let name: String
    let inputShape: [Int]
    let outputShape: [Int]
    let ph: Int, pw: Int, sh: Int, sw: Int
    let padTop: Int, padLeft: Int

    init(name: String, inputShape: [Int], poolSize: (Int, Int), strides: (Int, Int), padding: Padding) {
        self.name = name
        self.inputShape = inputShape
        (ph, pw) = poolSize
        (sh, sw) = strides
        let (outH, top) = windowGeometry(input: inputShape[0], kernel: ph, stride: sh, padding: padding)
        let (outW, left) = windowGeometry(input: inputShape[1], kernel: pw, stride: sw, padding: padding)
        (padTop, padLeft) = (top, left)
        outputShape = [outH, outW, inputShape[2]]
    }

    var kind: String { "MaxPooling2D" }
    var parameters: [Parameter] { [] }
    /// Set by `Sequential` when the convolution below pools its own output (see
    /// `Conv2D.fusedPool`): then this layer's passes do nothing.
    var fusedIntoConvolution = false
    var backwardWorksInPlace: Bool { fusedIntoConvolution }
    /// Fused, backward is nothing: the convolution reads the pooled gradient itself.
    var backwardsBySample: Bool { fusedIntoConvolution }
    /// Fused, forward is nothing: the convolution pools its own output.
    var forwardsBySample: Bool { fusedIntoConvolution }

    /// Whether a convolution can pool into this layer's output itself: non-overlapping
    /// windows without padding that tile the input exactly.
    var tilesInput: Bool {
        ph == sh && pw == sw && padTop == 0 && padLeft == 0 && inputShape[0] % ph == 0 && inputShape[1] % pw == 0
            && ph * pw <= 256
    }

    /// Visits each output cell with the clipped input window.
    @inline(__always)
    private func windows(_ body: (_ o: Int, _ h0: Int, _ h1: Int, _ w0: Int, _ w1: Int) -> Void) {
        let (inH, inW) = (inputShape[0], inputShape[1])
        let (outH, outW) = (outputShape[0], outputShape[1])
        for oh in 0..<outH {
            let h0 = max(oh &* sh &- padTop, 0), h1 = min(oh &* sh &- padTop &+ ph, inH)
            for ow in 0..<outW {
                let w0 = max(ow &* sw &- padLeft, 0), w1 = min(ow &* sw &- padLeft &+ pw, inW)
                body(oh &* outW &+ ow, h0, h1, w0, w1)
            }
        }
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        if fusedIntoConvolution { return }
        let inCount = inputCount, outCount = outputCount
        let inW = inputShape[1], c = inputShape[2]
        forEachChunk(batch, threads: context.threads) { _, samples in
            for s in samples {
                let xs = x + s &* inCount, ys = y + s &* outCount
                windows { o, h0, h1, w0, w1 in
                    let out = ys + o &* c
                    out.update(repeating: -.infinity, count: c)
                    for h in h0..<h1 {
                        for w in w0..<w1 {
                            let src = xs + (h &* inW &+ w) &* c
                            for k in 0..<c { out[k] = max(out[k], src[k]) }
                        }
                    }
                }
            }
        }
    }

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        guard let dx, !fusedIntoConvolution else { return }
        let inCount = inputCount, outCount = outputCount
        let inW = inputShape[1], c = inputShape[2]
        forEachChunk(batch, threads: context.threads) { _, samples in
            // Per channel: 1 until the window's first maximum has taken the gradient.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { open in
                let open = open.baseAddress!
                for s in samples {
                    let xs = x + s &* inCount, ys = y + s &* outCount
                    let dxs = dx + s &* inCount, dys = dy + s &* outCount
                    dxs.update(repeating: 0, count: inCount)
                    windows { o, h0, h1, w0, w1 in
                        let target = ys + o &* c, g = dys + o &* c
                        open.update(repeating: 1, count: c)
                        for h in h0..<h1 {
                            for w in w0..<w1 {
                                let src = xs + (h &* inW &+ w) &* c, d = dxs + (h &* inW &+ w) &* c
                                // Branch-free over channels, so that the loop vectorises.
                                for k in 0..<c {
                                    let hit: Float = src[k] == target[k] ? 1 : 0
                                    let take = hit * open[k]
                                    open[k] -= take
                                    d[k] += take * g[k]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Keras `Dropout`: in training, keeps each value with probability `1 - rate` and
/// scales it by `1 / (1 - rate)`. The mask of each sample comes from a generator
/// seeded by (step seed, layer, sample), so it is regenerated exactly in backward
/// (no stored mask) and does not depend on the thread count.
final class Dropout: Layer {
    let name: String
    let inputShape: [Int]
    var outputShape: [Int] { inputShape }
    let rate: Float
    let layerSeed: UInt64
    /// Set by `Sequential` when this layer runs in place after a relu: backward then
    /// scales `dy` where the output is non-zero instead of regenerating the mask. Exact
    /// for the gradient that reaches the relu's input: where a kept value is 0 the relu
    /// sends no gradient anyway.
    var backwardFromOutput = false
    /// Set by `Sequential` when the relu convolution below applies this layer in its own passes
    /// (`Conv2D.foldedDropout`): the mask as it stores each output row, the backward with relu's
    /// derivative. This layer then leaves its values and gradients as they are.
    var foldedIntoConvolution = false

    init(name: String, inputShape: [Int], rate: Float, layerSeed: UInt64) {
        self.name = name
        self.inputShape = inputShape
        self.rate = rate
        self.layerSeed = layerSeed
    }

    var kind: String { "Dropout" }
    var backwardWorksInPlace: Bool { true }
    var backwardsBySample: Bool { true }
    var forwardsBySample: Bool { true }

    func forwardSample(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, sample: Int, thread: Int,
                       context: RunContext) {
        guard !isIdentity(context) else {
            if UnsafePointer(y) != x { y.update(from: x, count: inputCount) }
            return
        }
        maskSample(x, y, sample: sample, seed: SplitMix64.mix(context.stepSeed, layerSeed))
    }

    func backwardSample(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, sample: Int, thread: Int, context: RunContext) {
        guard let dx else { return }
        guard !isIdentity(context), backwardFromOutput else {
            // The mask is its own transpose: the forward's operation on dy (the identity when folded).
            forwardSample(dy, dx, sample: sample, thread: thread, context: context)
            return
        }
        Self.keptGradient(dy: dy, y: y, dx: dx, count: inputCount, scale: 1 / (1 - rate))
    }

    /// The backward of a dropout whose mask is read from its output `y` (after a relu): dx = dy
    /// times `scale` where y is non-zero, else 0. `dx` may be `dy`. The one home of this rule, for
    /// this layer and for the convolution it is folded into (`Conv2D.foldedDropout`).
    @inline(__always)
    static func keptGradient(dy: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                             count: Int, scale: Float) {
        for i in 0..<count {
            let kept: Float = y[i] != 0 ? scale : 0
            dx[i] = dy[i] * kept
        }
    }

    /// Whether this layer passes values through unchanged: outside training, at rate 0, and when
    /// the convolution below applies the mask (`foldedIntoConvolution`).
    private func isIdentity(_ context: RunContext) -> Bool {
        foldedIntoConvolution || !context.training || rate == 0
    }

    var parameters: [Parameter] { [] }

    /// out = in · mask / (1 - rate), the same operation forward and backward; `dst`
    /// may be `src` (in place). The mask of a sample depends on (step seed, layer, sample).
    private func mask(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        if isIdentity(context) && UnsafePointer(dst) == src { return }  // nothing to do: start no threads
        let n = inputCount
        forEachChunk(batch, threads: context.threads) { t, samples in
            for s in samples { forwardSample(src + s &* n, dst + s &* n, sample: s, thread: t, context: context) }
        }
    }

    /// The mask of sample `sample` (stream from `seed` = mix(step seed, layer seed)) applied to
    /// one sample's values, `dst` may be `src`. Training with 0 < rate < 1 (rates are checked
    /// to be in [0, 1) when the layer is built).
    @inline(__always)
    private func maskSample(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, sample: Int, seed: UInt64) {
        let m = maskParameters(sample: sample, seed: seed)
        tk_dropout(x, y, inputCount, 0, m.key, m.threshold, m.scale)
    }

    /// For a convolution this layer is folded into: the mask of sample `sample` over its values
    /// first ..< first + count, in place at `y` (nothing outside training or at rate 0).
    func maskValues(_ y: UnsafeMutablePointer<Float>, count: Int, first: Int, sample: Int, context: RunContext) {
        guard context.training, rate > 0 else { return }
        let m = maskParameters(sample: sample, seed: SplitMix64.mix(context.stepSeed, layerSeed))
        tk_dropout(y, y, count, first, m.key, m.threshold, m.scale)
    }

    /// What `tk_dropout` (elementwise.c) needs for one sample: element i is kept, times `scale`, iff
    /// the top 24 bits of lowbias32((i · 0x9E3779B9) ^ `key`) are >= `threshold` — a 24-bit
    /// uniform integer u with u / 2^24 >= rate. 32-bit arithmetic only, so that it vectorises.
    func maskParameters(sample: Int, seed: UInt64) -> (key: UInt32, threshold: Int32, scale: Float) {
        (UInt32(truncatingIfNeeded: SplitMix64.mix(seed, UInt64(sample))),
         Int32(min(Double(rate) * 16_777_216.0, 16_777_216.0).rounded(.up)),
         1 / (1 - rate))
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        mask(x, y, batch: batch, context: context)
    }

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        guard let dx else { return }
        guard !isIdentity(context), backwardFromOutput else {
            mask(dy, dx, batch: batch, context: context)
            return
        }
        let n = inputCount, scale = 1 / (1 - rate)
        forEachChunk(batch, threads: context.threads) { _, samples in
            let o = samples.lowerBound &* n
            Self.keptGradient(dy: dy + o, y: y + o, dx: dx + o, count: samples.count &* n, scale: scale)
        }
    }
}
