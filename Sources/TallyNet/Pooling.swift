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
        guard let dx else { return }
        let inCount = inputCount, outCount = outputCount
        let inW = inputShape[1], c = inputShape[2]
        forEachChunk(batch, threads: context.threads) { _, samples in
            for s in samples {
                let xs = x + s &* inCount, ys = y + s &* outCount
                let dxs = dx + s &* inCount, dys = dy + s &* outCount
                dxs.update(repeating: 0, count: inCount)
                windows { o, h0, h1, w0, w1 in
                    for k in 0..<c {
                        let target = ys[o &* c &+ k]
                        var found = -1
                        for h in h0..<h1 where found < 0 {
                            for w in w0..<w1 {
                                let i = (h &* inW &+ w) &* c &+ k
                                if xs[i] == target { found = i; break }
                            }
                        }
                        if found >= 0 { dxs[found] += dys[o &* c &+ k] }
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

    init(name: String, inputShape: [Int], rate: Float, layerSeed: UInt64) {
        self.name = name
        self.inputShape = inputShape
        self.rate = rate
        self.layerSeed = layerSeed
    }

    var kind: String { "Dropout" }
    var parameters: [Parameter] { [] }

    /// out = in · mask / (1 - rate), the same operation forward and backward.
    private func mask(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        let n = inputCount
        guard context.training, rate > 0 else {
            if UnsafePointer(dst) != src { dst.update(from: src, count: batch &* n) }
            return
        }
        let scale: Float = rate >= 1 ? 0 : 1 / (1 - rate)
        // keep iff a 24-bit uniform integer u satisfies u / 2^24 >= rate
        let threshold = UInt32(min(Double(rate) * 16_777_216.0, 16_777_216.0).rounded(.up))
        let seed = SplitMix64.mix(context.stepSeed, layerSeed)
        forEachChunk(batch, threads: context.threads) { _, samples in
            for s in samples {
                var g = SplitMix64(seed: SplitMix64.mix(seed, UInt64(s)))
                let i0 = s &* n
                var i = 0
                while i < n {
                    let bits = g.next()
                    let u0 = UInt32(truncatingIfNeeded: bits >> 40), u1 = UInt32(truncatingIfNeeded: (bits >> 8) & 0xFF_FFFF)
                    let k0: Float = u0 >= threshold ? scale : 0
                    dst[i0 &+ i] = src[i0 &+ i] * k0
                    if i &+ 1 < n {
                        let k1: Float = u1 >= threshold ? scale : 0
                        dst[i0 &+ i &+ 1] = src[i0 &+ i &+ 1] * k1
                    }
                    i &+= 2
                }
            }
        }
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        mask(x, y, batch: batch, context: context)
    }

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        guard let dx else { return }
        mask(dy, dx, batch: batch, context: context)
    }
}
