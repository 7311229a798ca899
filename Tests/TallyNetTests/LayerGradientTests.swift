import XCTest
@testable import TallyNet

/// Finite-difference checks of every layer's input and parameter gradients.
final class LayerGradientTests: XCTestCase {
    func testDenseLinearAndSigmoid() throws {
        try checkGradients(.dense(units: 4), inputShape: [5])
        try checkGradients(.dense(units: 3, activation: .sigmoid), inputShape: [6])
        try checkGradients(.dense(units: 3, activation: .linear, useBias: false), inputShape: [4])
    }

    func testDenseSoftmax() throws {
        try checkGradients(.dense(units: 4, activation: .softmax), inputShape: [5])
    }

    func testDenseAndConvolutionRelu() throws {
        // Biases of ±2 keep every pre-activation at least 1 from relu's kink.
        func biasAwayFromKink(_ layer: Layer) {
            let b = layer.parameters[1]
            for i in 0..<b.count { b.value.base[i] = i % 2 == 0 ? 2 : -2 }
        }
        try checkGradients(.dense(units: 4, activation: .relu), inputShape: [2],
                           input: randomFloats(6, seed: 3), configure: biasAwayFromKink)
        try checkGradients(.conv2D(filters: 4, kernelSize: (1, 1), activation: .relu), inputShape: [3, 3, 2],
                           input: randomFloats(54, seed: 3), configure: biasAwayFromKink)
        try checkGradients(.activation(.relu), inputShape: [7],
                           input: randomFloats(21, seed: 3).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 })
    }

    func testConvolutionSameValidStride() throws {
        try checkGradients(.conv2D(filters: 3, kernelSize: (3, 3), padding: .same), inputShape: [5, 4, 2])
        try checkGradients(.conv2D(filters: 2, kernelSize: (3, 3), padding: .valid), inputShape: [5, 5, 3], batch: 2)
        try checkGradients(.conv2D(filters: 2, kernelSize: (3, 3), strides: (2, 2), padding: .same), inputShape: [6, 5, 2], batch: 2)
        try checkGradients(.conv2D(filters: 2, kernelSize: (5, 1), strides: (1, 2), padding: .same, activation: .sigmoid),
                           inputShape: [6, 5, 2], batch: 2)
        try checkGradients(.conv2D(filters: 2, kernelSize: (1, 3), padding: .valid, useBias: false), inputShape: [3, 5, 1], batch: 2)
    }

    func testConvolutionOverSeveralPixelBlocks() throws {
        // 7 pixels per block: blocks end mid-row and the last one is short.
        let force: (Layer) -> Void = { ($0 as! Conv2D).blockRows = 7 }
        try checkGradients(.conv2D(filters: 3, kernelSize: (3, 3), padding: .same), inputShape: [5, 4, 2], configure: force)
        try checkGradients(.conv2D(filters: 2, kernelSize: (3, 3), strides: (2, 1), padding: .valid), inputShape: [7, 6, 2],
                           batch: 2, configure: force)
    }

    func testShiftedRowConvolution() throws {
        // Stride 1, `same`, >= 8 channels: kh GEMMs over overlapping rows of the padded sample.
        let check: (Layer) -> Void = { XCTAssertTrue(($0 as! Conv2D).usesShiftedRows) }
        try checkGradients(.conv2D(filters: 8, kernelSize: (3, 3), padding: .same), inputShape: [5, 4, 8], batch: 2, configure: check)
        try checkGradients(.conv2D(filters: 9, kernelSize: (2, 2), padding: .same, activation: .sigmoid), inputShape: [4, 5, 8],
                           batch: 2, configure: check)
        try checkGradients(.conv2D(filters: 8, kernelSize: (1, 3), padding: .same, useBias: false), inputShape: [3, 4, 10],
                           batch: 2, configure: check)
        // Several row blocks, the last one short.
        try checkGradients(.conv2D(filters: 8, kernelSize: (3, 3), padding: .same), inputShape: [5, 3, 8], batch: 3,
                           configure: { check($0); ($0 as! Conv2D).shiftedBlockRows = 2 })
        // Few input channels: the kh input rows of each pixel stacked, one GEMM.
        let stacked: (Layer) -> Void = { check($0); XCTAssertTrue(($0 as! Conv2D).stacksRows) }
        try checkGradients(.conv2D(filters: 8, kernelSize: (3, 3), padding: .same), inputShape: [5, 4, 3], batch: 2, configure: stacked)
        try checkGradients(.conv2D(filters: 8, kernelSize: (2, 3), padding: .same, activation: .sigmoid), inputShape: [4, 5, 2],
                           batch: 2, configure: { stacked($0); ($0 as! Conv2D).shiftedBlockRows = 3 })
    }

    func testShiftedRowConvolutionMatchesIm2col() throws {
        // Both paths on the same weights and input: outputs, dx and dW agree.
        for (kernel, shape) in [((3, 3), [7, 6, 8]), ((2, 4), [5, 7, 9]), ((5, 5), [6, 6, 8]), ((3, 3), [7, 6, 3]), ((3, 2), [5, 6, 1])] {
            let spec = LayerSpec.conv2D(filters: 8, kernelSize: kernel, padding: .same, activation: .relu)
            let batch = 3
            var results: [[[Float]]] = []
            for shifted in [true, false] {
                let layer = try makeLayer(spec, inputShape: shape)
                (layer as! Conv2D).usesShiftedRows = shifted
                (layer as! Conv2D).shiftedBlockRows = 3
                layer.reserve(threads: 2)
                results.append(forwardBackward(layer, x: randomFloats(batch * layer.inputCount, seed: 5), batch: batch, threads: 2))
            }
            for (a, b) in zip(results[0], results[1]) {
                XCTAssertEqual(a.count, b.count)
                for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-4 * max(1, abs(v))) }
            }
        }
    }

    func testDenseOverSeveralRowBlocks() throws {
        let force: (Layer) -> Void = { ($0 as! Dense).blockRows = 3 }
        try checkGradients(.dense(units: 4), inputShape: [10], configure: force)
        try checkGradients(.dense(units: 3, activation: .sigmoid, useBias: false), inputShape: [7], configure: force)
    }

    func testConvolutionMatchesDirectSumInKerasLayout() throws {
        // y[n, oh, ow, f] = b[f] + Σ x[n, oh·s - pad + i, ow·s - pad + j, c] · W[i, j, c, f]
        let (h, w, c, f, kh, kw, s) = (5, 6, 2, 3, 3, 5, 2)
        let layer = try makeLayer(.conv2D(filters: f, kernelSize: (kh, kw), strides: (s, s), padding: .same), inputShape: [h, w, c])
        let x = randomFloats(h * w * c, seed: 11)
        var y = [Float](repeating: 0, count: layer.outputCount)
        layer.reserve(threads: 1)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            layer.forward(xp.baseAddress!, yp.baseAddress!, batch: 1, context: RunContext(training: false, threads: 1))
        } }
        XCTAssertEqual(layer.outputShape, [3, 3, 3])
        // TensorFlow 'same': total pad = max((out-1)·s + k - in, 0), the smaller half first.
        let padTop = ((3 - 1) * s + kh - h) / 2, padLeft = ((3 - 1) * s + kw - w) / 2
        let W = layer.parameters[0].value.base, B = layer.parameters[1].value.base
        for oh in 0..<3 { for ow in 0..<3 { for k in 0..<f {
            var sum = Double(B[k])
            for i in 0..<kh { for j in 0..<kw { for ch in 0..<c {
                let ih = oh * s - padTop + i, iw = ow * s - padLeft + j
                guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                sum += Double(x[(ih * w + iw) * c + ch]) * Double(W[((i * kw + j) * c + ch) * f + k])
            } } }
            XCTAssertEqual(Double(y[(oh * 3 + ow) * f + k]), sum, accuracy: 1e-5)
        } } }
    }

    func testMaxPooling() throws {
        try checkGradients(.maxPooling2D(), inputShape: [4, 6, 2], input: distinctInputs(3 * 48, seed: 4))
        try checkGradients(.maxPooling2D(poolSize: (3, 3), strides: (2, 2), padding: .same), inputShape: [5, 5, 2],
                           input: distinctInputs(3 * 50, seed: 5))
        try checkGradients(.maxPooling2D(poolSize: (2, 2), padding: .valid), inputShape: [5, 5, 1],
                           input: distinctInputs(3 * 25, seed: 6))
    }

    func testDropoutAndActivations() throws {
        try checkGradients(.dropout(rate: 0.5), inputShape: [4, 4, 2], training: true)
        try checkGradients(.dropout(rate: 0.5), inputShape: [10], training: false)
        try checkGradients(.activation(.sigmoid), inputShape: [6])
        try checkGradients(.activation(.softmax), inputShape: [2, 5])
    }

    func testDropoutKeepsExpectedFractionAndScales() throws {
        let layer = try makeLayer(.dropout(rate: 0.2), inputShape: [1000])
        let x = [Float](repeating: 1, count: 4000)
        var y = [Float](repeating: 0, count: 4000)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            layer.forward(xp.baseAddress!, yp.baseAddress!, batch: 4, context: RunContext(training: true, threads: 2, stepSeed: 9))
        } }
        let kept = y.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 4000, 0.8, accuracy: 0.03)
        XCTAssertTrue(kept.allSatisfy { $0 == 1.25 })
    }

    func testDropoutKernelIsTheSwiftReferenceBitForBit() throws {
        // The vectorised C mask (elementwise.c) against the Swift reference, copying and in place, on
        // lengths that leave vector tails, at several rates (threshold 0 < t <= 2^24).
        for (rate, count) in [(Float(0.2), 1001), (0.5, 37), (0.9, 4096), (1e-7, 65)] {
            let layer = try makeLayer(.dropout(rate: rate), inputShape: [count]) as! Dropout
            let x = randomFloats(3 * count, seed: 12)
            var y = [Float](repeating: 0, count: x.count), inPlace = x
            let context = RunContext(training: true, threads: 2, stepSeed: 77)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                layer.forward(xp.baseAddress!, yp.baseAddress!, batch: 3, context: context)
            } }
            inPlace.withUnsafeMutableBufferPointer { p in
                layer.forward(UnsafePointer(p.baseAddress!), p.baseAddress!, batch: 3, context: context)
            }
            let seed = SplitMix64.mix(context.stepSeed, layer.layerSeed)
            for s in 0..<3 {
                let m = layer.maskParameters(sample: s, seed: seed)
                for i in 0..<count {
                    let expected = x[s * count + i] * referenceDropoutFactor(i, m.key, m.threshold, m.scale)
                    XCTAssertEqual(y[s * count + i].bitPattern, expected.bitPattern, "rate \(rate) sample \(s) element \(i)")
                    XCTAssertEqual(inPlace[s * count + i].bitPattern, expected.bitPattern)
                }
            }
        }
    }
}

/// Dropout's mask factor in Swift, the reference for `tk_dropout`: `scale` or 0 for element `i`
/// of the sample with stream `key`, kept iff the top 24 bits of Wellons's lowbias32 hash of
/// (i, key) are >= `threshold`.
func referenceDropoutFactor(_ i: Int, _ key: UInt32, _ threshold: Int32, _ scale: Float) -> Float {
    var h = UInt32(truncatingIfNeeded: i) &* 0x9E37_79B9 ^ key
    h ^= h >> 16
    h &*= 0x7FEB_352D
    h ^= h >> 15
    h &*= 0x846C_A68B
    h ^= h >> 16
    let u = Int32(bitPattern: h >> 8)
    return Float(1 &- ((u &- threshold) >> 31 & 1)) * scale
}

/// Finite-difference and closed-form checks of the fused losses.
final class LossTests: XCTestCase {
    func testBinaryCrossentropyFromLogits() {
        let z: [Float] = [-3, -0.5, 0, 0.7, 2.5, 4]
        let y: [Float] = [0, 1, 1, 0, 1, 0]
        func loss(_ z: [Float]) -> Double {
            binaryCrossentropyFromLogits(logits: z, targets: y, count: z.count, probabilities: nil, gradient: nil, gradientScale: 1)
        }
        // Closed form: -y log σ(z) - (1-y) log(1-σ(z)).
        var expected = 0.0
        for i in 0..<z.count {
            let p = 1 / (1 + exp(-Double(z[i])))
            expected += -Double(y[i]) * log(p) - (1 - Double(y[i])) * log(1 - p)
        }
        XCTAssertEqual(loss(z), expected, accuracy: 1e-5)
        var g = [Float](repeating: 0, count: z.count), p = g
        _ = binaryCrossentropyFromLogits(logits: z, targets: y, count: z.count, probabilities: &p, gradient: &g, gradientScale: 1)
        for (a, n) in zip(g, numericGradient(loss, at: z)) { XCTAssertEqual(Double(a), n, accuracy: 2e-3) }
        XCTAssertEqual(Double(p[2]), 0.5, accuracy: 1e-7)
    }

    func testBinaryCrossentropyIsStableForLargeLogits() {
        let z: [Float] = [100, -100, 100]
        let y: [Float] = [0, 1, 1]
        var g = [Float](repeating: 0, count: 3)
        let l = binaryCrossentropyFromLogits(logits: z, targets: y, count: 3, probabilities: nil, gradient: &g, gradientScale: 1)
        XCTAssertEqual(l, 200, accuracy: 1e-3)
        XCTAssertEqual(g, [1, -1, 0])
    }

    func testCategoricalCrossentropyFromLogits() {
        let z: [Float] = [1, 2, 0.5, -1, 0.3, 0.3, 2, -2]
        let y: [Float] = [0, 1, 0, 0, 0, 0, 0, 1]
        func loss(_ z: [Float]) -> Double {
            categoricalCrossentropyFromLogits(logits: z, targets: y, rows: 2, width: 4, probabilities: nil, gradient: nil, gradientScale: 1)
        }
        var expected = 0.0
        for r in 0..<2 {
            let row = z[(r * 4)..<(r * 4 + 4)].map(Double.init)
            let lse = log(row.map(exp).reduce(0, +))
            for j in 0..<4 { expected += Double(y[r * 4 + j]) * (lse - row[j]) }
        }
        XCTAssertEqual(loss(z), expected, accuracy: 1e-5)
        var g = [Float](repeating: 0, count: 8), p = g
        _ = categoricalCrossentropyFromLogits(logits: z, targets: y, rows: 2, width: 4, probabilities: &p, gradient: &g, gradientScale: 1)
        for (a, n) in zip(g, numericGradient(loss, at: z)) { XCTAssertEqual(Double(a), n, accuracy: 2e-3) }
        XCTAssertEqual(Double(p[0..<4].reduce(0, +)), 1, accuracy: 1e-6)
        // Stable at extreme logits.
        let big: [Float] = [1000, -1000]
        let l = categoricalCrossentropyFromLogits(logits: big, targets: [0, 1], rows: 1, width: 2, probabilities: nil, gradient: nil, gradientScale: 1)
        XCTAssertEqual(l, 2000, accuracy: 1e-3)
    }
}
