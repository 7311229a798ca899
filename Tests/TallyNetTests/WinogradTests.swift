import XCTest
@testable import TallyNet

/// The Winograd F(4×4, 3×3) path against the shifted-row path (a direct convolution) and
/// against finite differences: whole and partial tiles, several GEMM blocks, relu and linear,
/// with and without bias, with and without a fused 2×2 pooling.
final class WinogradTests: XCTestCase {
    /// Forward, dx, dW and db of one layer on both paths (same weights, input and dy).
    /// With `pool`, a 2×2 max pooling is fused into the convolution (y and dy are pooled);
    /// `input` replaces the random x; `threads` is the forward's thread count (backward uses
    /// min(threads, batch)).
    private func bothPaths(_ spec: LayerSpec, shape: [Int], batch: Int = 3, blockTiles: Int? = nil, pool: Bool = false,
                           input: [Float]? = nil, threads: Int = 2, ownProducts: Bool? = nil) throws -> [[[Float]]] {
        var results: [[[Float]]] = []
        for winograd in [true, false] {
            let layer = try makeLayer(spec, inputShape: shape)
            let conv = layer as! Conv2D
            XCTAssertTrue(conv.usesWinograd)
            conv.usesWinograd = winograd
            conv.winogradBlockTiles = blockTiles
            conv.winogradOwnProducts = ownProducts
            if pool {
                conv.fusedPool = MaxPooling2D(name: "pool", inputShape: layer.outputShape, poolSize: (2, 2), strides: (2, 2), padding: .valid)
                XCTAssertTrue(conv.fusedPool!.tilesInput)
                conv.reserveFusedPool(batch: batch)
            }
            XCTAssertEqual(conv.winogradActive, winograd)
            layer.reserve(threads: threads)
            results.append(forwardBackward(layer, x: input ?? randomFloats(batch * layer.inputCount, seed: 5), batch: batch,
                                           threads: threads, outputCount: conv.fusedPool?.outputCount))
        }
        return results
    }

    /// Both ways of running a block's 36 products: TallyNet's own tiles (where the CPU has them) and BLIS.
    private var productPaths: [Bool] { Backend.current.usesOwnKernels ? [true, false] : [false] }

    func testMatchesDirectConvolutionOnWholeAndPartialTiles() throws {
        for own in productPaths {
            for (shape, filters, activation, useBias) in [([8, 8, 8], 8, Activation.relu, true), ([7, 9, 8], 16, .linear, true),
                                                          ([13, 6, 16], 8, .relu, false), ([3, 2, 8], 8, .linear, true),
                                                          ([12, 12, 32], 32, .relu, true), ([9, 5, 40], 24, .relu, true)] {
                let spec = LayerSpec.conv2D(filters: filters, kernelSize: (3, 3), padding: .same, activation: activation, useBias: useBias)
                assertTensorsClose(try bothPaths(spec, shape: shape, ownProducts: own), tolerance: 1e-5)
            }
        }
    }

    func testSeveralGemmBlocksPerSample() throws {
        // 3 tiles per block on a 5 × 3 tile grid: blocks end mid-row and the last one is short.
        let spec = LayerSpec.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu)
        for own in productPaths {
            assertTensorsClose(try bothPaths(spec, shape: [18, 10, 8], blockTiles: 3, ownProducts: own), tolerance: 1e-5)
        }
    }

    func testFiniteDifferences() throws {
        let active: (Layer) -> Void = { XCTAssertTrue(($0 as! Conv2D).winogradActive) }
        try checkGradients(.conv2D(filters: 8, kernelSize: (3, 3), padding: .same), inputShape: [6, 7, 8], batch: 2, configure: active)
        try checkGradients(.conv2D(filters: 16, kernelSize: (3, 3), padding: .same, useBias: false), inputShape: [5, 4, 8],
                           batch: 2, configure: { active($0); ($0 as! Conv2D).winogradBlockTiles = 1 })
    }

    func testOtherActivationsAndKernelsStayOnTheShiftedPath() throws {
        for (spec, shape) in [(LayerSpec.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .sigmoid), [6, 6, 8]),
                              (.conv2D(filters: 8, kernelSize: (5, 5), padding: .same), [6, 6, 8]),
                              (.conv2D(filters: 8, kernelSize: (3, 3), padding: .same), [6, 6, 12]),
                              (.conv2D(filters: 12, kernelSize: (3, 3), padding: .same), [6, 6, 8])] {
            let conv = try makeLayer(spec, inputShape: shape) as! Conv2D
            XCTAssertTrue(conv.usesShiftedRows)
            XCTAssertFalse(conv.winogradActive, "\(spec)")
        }
    }

    func testFusedPoolingTrainsLikeTheDirectPath() throws {
        // conv (Winograd) + fused 2×2 pooling, sample by sample, then dense: two SGD steps on
        // both paths give the same weights; 10 × 14 leaves partial tiles at the bottom and right.
        for shape in [[8, 8, 8], [10, 14, 16]] {
            let x = randomFloats(6 * shape.reduce(1, *), seed: 31)
            let y = (0..<(6 * 3)).map { Float($0 % 2) }
            var results: [[[Float]]] = []
            for winograd in [true, false] {
                let model = try Sequential(inputShape: shape, layers: [
                    .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
                    .maxPooling2D(),
                    .flatten,
                    .dense(units: 3, activation: .sigmoid),
                ], seed: 6)
                let conv = model.layers[0] as! Conv2D
                conv.usesWinograd = winograd
                model.threadCount = 2
                try model.compile(optimizer: .sgd(learningRate: 0.5, momentum: 0.9), loss: .binaryCrossentropy())
                _ = try model.fit(x: x, y: y, count: 6, epochs: 2, batchSize: 3, seed: 1)
                XCTAssertNotNil(conv.fusedPool)
                XCTAssertEqual(conv.winogradActive, winograd)
                results.append(model.weights())
            }
            for (a, b) in zip(results[0], results[1]) {
                for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(v))) }
            }
        }
    }

    func testChannelCountsBeyondOneVectorAndSmallImages() throws {
        // 24 and 40 channels (3 and 5 vectors of 8), H, W in 5...7: every tile row and column partial.
        for (k, (cin, cout)) in [(24, 40), (40, 24), (8, 24), (40, 40)].enumerated() {
            for (j, (h, w)) in [(5, 6), (6, 7), (7, 5), (5, 5), (6, 6), (7, 7)].enumerated() {
                let activation: Activation = (j + k) % 2 == 0 ? .relu : .linear
                let spec = LayerSpec.conv2D(filters: cout, kernelSize: (3, 3), padding: .same, activation: activation, useBias: j % 3 != 0)
                assertTensorsClose(try bothPaths(spec, shape: [h, w, cin], batch: 2), tolerance: 1e-5)
            }
        }
    }

    func testFusedPoolingOnTheLayerMatchesTheDirectPath() throws {
        // Pooled values, dx, dW and db with a fused 2×2 pooling; 6 × 10 leaves a tile with one
        // pooled row and column, 2 × 2 a single partial tile.
        for (shape, filters, activation, useBias) in [([6, 10, 8], 8, Activation.relu, true), ([4, 4, 8], 16, .linear, true),
                                                      ([2, 2, 8], 8, .relu, false), ([6, 6, 24], 40, .linear, false),
                                                      ([10, 14, 40], 24, .relu, true), ([6, 2, 8], 8, .linear, true)] {
            let spec = LayerSpec.conv2D(filters: filters, kernelSize: (3, 3), padding: .same, activation: activation, useBias: useBias)
            assertTensorsClose(try bothPaths(spec, shape: shape, pool: true), tolerance: 1e-5)
        }
        // Several GEMM blocks, ending mid-row, with the pooling.
        let spec = LayerSpec.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu)
        assertTensorsClose(try bothPaths(spec, shape: [6, 10, 8], blockTiles: 2, pool: true), tolerance: 1e-5)
        // One thread for the forward pass, more threads than samples.
        assertTensorsClose(try bothPaths(spec, shape: [6, 10, 8], batch: 2, pool: true, threads: 1), tolerance: 1e-5)
        assertTensorsClose(try bothPaths(spec, shape: [6, 10, 8], batch: 2, pool: true, threads: 5), tolerance: 1e-5)
    }

    func testFusedPoolingBreaksExactTiesAsTheDirectPath() throws {
        // The input is zero on rows 0 ..< 5, so output rows 0 ..< 4 are exactly the bias (or
        // exactly 0) on both paths: every window there is a 4-way tie whose code must be 0 (first
        // maximum, strict >). With a linear activation the pooled gradient then goes to the
        // window's top-left pixel, so another code would change dx. Relu adds exact zeros
        // (negative biases, and windows that are all negative lower down).
        let shape = [8, 10, 8], batch = 2, count = shape.reduce(1, *)
        var x = randomFloats(batch * count, seed: 9)
        for s in 0..<batch { for i in 0..<(5 * 10 * 8) { x[s * count + i] = 0 } }
        for (activation, useBias) in [(Activation.linear, true), (.relu, true), (.linear, false)] {
            let spec = LayerSpec.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: activation, useBias: useBias)
            let results = try bothPaths(spec, shape: shape, batch: batch, pool: true, input: x)
            assertTensorsClose(results, tolerance: 1e-5)
            // The tied rows of dx (input rows 0 ..< 4 only see tied outputs): equal to rounding.
            let dxW = results[0][1], dxD = results[1][1]
            for s in 0..<batch {
                for i in 0..<(3 * 10 * 8) {
                    XCTAssertEqual(dxW[s * count + i], dxD[s * count + i], accuracy: 1e-5, "\(activation) bias \(useBias) dx[\(s), \(i)]")
                }
            }
        }
    }

    /// Trains the same model on both paths (`allowsWinograd`) and returns the weights and the
    /// predictions of each, with `threadCount` 2 for training.
    private func trainBothPaths(inputShape: [Int], layers: [LayerSpec], samples: Int = 6, batchSize: Int = 3,
                                epochs: Int = 2, toggle: Bool = false,
                                check: ((Sequential) -> Void)? = nil) throws -> [(weights: [[Float]], predictions: [[Float]])] {
        let x = randomFloats(samples * inputShape.reduce(1, *), seed: 41)
        let labels = 3
        let y = (0..<(samples * labels)).map { Float(($0 * 7 / 3) % 2) }
        var results: [(weights: [[Float]], predictions: [[Float]])] = []
        for winograd in [true, false] {
            let model = try Sequential(inputShape: inputShape, layers: layers + [.flatten, .dense(units: labels, activation: .sigmoid)], seed: 6)
            model.allowsWinograd = winograd
            model.threadCount = 2
            try model.compile(optimizer: .sgd(learningRate: 0.3, momentum: 0.9), loss: .binaryCrossentropy())
            if toggle && winograd {
                // Winograd, direct, Winograd again: one epoch each, continuing the same run.
                for (epoch, allows) in [true, false, true].enumerated() {
                    model.allowsWinograd = allows
                    _ = try model.fit(x: x, y: y, count: samples, epochs: 1, batchSize: batchSize, seed: UInt64(epoch))
                }
            } else if toggle {
                for epoch in 0..<3 { _ = try model.fit(x: x, y: y, count: samples, epochs: 1, batchSize: batchSize, seed: UInt64(epoch)) }
            } else {
                _ = try model.fit(x: x, y: y, count: samples, epochs: epochs, batchSize: batchSize, seed: 1)
            }
            check?(model)
            let convs = model.layers.compactMap { $0 as? Conv2D }.filter(\.winogradEligible)
            XCTAssertTrue(convs.allSatisfy { $0.winogradActive == winograd }, "winograd \(winograd)")
            // Predictions with other thread counts and batch sizes than training's.
            var predictions: [[Float]] = []
            for (threads, batch) in [(2, 3), (1, 1), (3, 4), (4, 7)] {
                model.threadCount = threads
                predictions.append(try x.withUnsafeBufferPointer {
                    try model.predict(x: $0, shape: [samples] + inputShape, batchSize: batch)
                })
            }
            results.append((model.weights(), predictions))
        }
        return results
    }

    private func assertSameTraining(_ results: [(weights: [[Float]], predictions: [[Float]])], tolerance: Float = 1e-5,
                                    file: StaticString = #filePath, line: UInt = #line) {
        for (a, b) in zip(results[0].weights, results[1].weights) {
            for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: tolerance * max(1, abs(v)), file: file, line: line) }
        }
        for p in results[0].predictions + results[1].predictions {
            for (u, v) in zip(p, results[1].predictions[0]) { XCTAssertEqual(u, v, accuracy: tolerance, file: file, line: line) }
        }
    }

    func testModelsWithUnfusedWinogradConvolutions() throws {
        // conv 1 (Winograd, no pooling fused: 2×2 does not tile 7×7), an unfused pooling to 3×3,
        // conv 2 (Winograd, batch-wise backward with dx written over its own output, cin == cout),
        // a dropout in place over conv 2's linear output, conv 3 (8 → 16) before Flatten.
        let results = try trainBothPaths(inputShape: [7, 7, 8], layers: [
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            .maxPooling2D(),
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .linear),
            .dropout(rate: 0.3),
            .conv2D(filters: 16, kernelSize: (3, 3), padding: .same, activation: .relu),
        ], check: { model in
            // What this test is about: conv 2 writes dx over its own output; conv 1 is unfused.
            XCTAssertTrue(model.gradientPlan().contains { $0.layer == 2 && $0.dx == .output(2) }, "\(model.gradientPlan())")
            XCTAssertNil((model.layers[0] as! Conv2D).fusedPool)
        })
        assertSameTraining(results)
    }

    func testModelsWithFusedPoolingOnPartialTiles() throws {
        // 6 × 10 → fused pooling to 3 × 5 (tiles with one pooled row / column), a second
        // Winograd convolution with a fused pooling of its own would need even sizes: 3 × 5
        // stays unpooled; 24 and 40 channels.
        let results = try trainBothPaths(inputShape: [6, 10, 24], layers: [
            .conv2D(filters: 40, kernelSize: (3, 3), padding: .same, activation: .relu),
            .maxPooling2D(),
            .conv2D(filters: 24, kernelSize: (3, 3), padding: .same, activation: .relu),
            .dropout(rate: 0.2),
        ])
        assertSameTraining(results)
        let pooledTwice = try trainBothPaths(inputShape: [12, 20, 8], layers: [
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .linear),
            .maxPooling2D(),
            .conv2D(filters: 16, kernelSize: (3, 3), padding: .same, activation: .relu),
            .maxPooling2D(),
        ])
        assertSameTraining(pooledTwice)
    }

    func testDropoutFoldedIntoTheReluConvolutionBelowOnBothPaths() throws {
        // A dropout in place over a relu convolution's output is left to the convolution
        // (`Conv2D.foldedDropout`): forward, its mask on each stored output row (direct path) or
        // on the sample after the transforms (Winograd); backward, inside the one pass that applies
        // relu's derivative (tk_relu_grad_rows, direct) or before the transforms (Winograd).
        // The bottom convolution needs no dx: only its dW and bias see the dropout's mask.
        let results = try trainBothPaths(inputShape: [8, 8, 8], layers: [
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            .dropout(rate: 0.4),
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
        ], check: { model in
            XCTAssertTrue((model.layers[0] as! Conv2D).foldedDropout === model.layers[1])
            XCTAssertTrue((model.layers[1] as! Dropout).foldedIntoConvolution)
        })
        assertSameTraining(results)
    }

    func testAllowsWinogradToggledBetweenFits() throws {
        let results = try trainBothPaths(inputShape: [8, 6, 8], layers: [
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            .maxPooling2D(),
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
        ], toggle: true)
        assertSameTraining(results)
    }

    func testSeedLikeModel() throws {
        // The seed model's shape in small: an RGB conv (stacked rows, not Winograd), a dropout
        // in place over its relu output, the Winograd conv with a fused pooling (dx into the
        // sample-by-sample chain), Flatten, Dense.
        for (shape, filters) in [([6, 10, 3], 8), ([8, 4, 3], 16)] {
            let results = try trainBothPaths(inputShape: shape, layers: [
                .conv2D(filters: filters, kernelSize: (3, 3), padding: .same, activation: .relu),
                .dropout(rate: 0.2),
                .conv2D(filters: filters, kernelSize: (3, 3), padding: .same, activation: .relu),
                .maxPooling2D(),
            ], check: { model in
                XCTAssertFalse((model.layers[0] as! Conv2D).winogradEligible)
                XCTAssertNotNil((model.layers[2] as! Conv2D).fusedPool)
            })
            assertSameTraining(results)
        }
    }

    func testReluPropagatesNaNAsTheDirectPath() throws {
        // A diverged kernel (one NaN weight, output channel 0): the direct path's relu,
        // max(x, 0), keeps NaN — as Keras does — so the loss turns NaN and the run shows it.
        // Winograd must not turn those NaN pre-activations into zeros (a dead channel whose
        // gradient is 0 forever, with a finite loss).
        for pool in [false, true] {
            var outputs: [[Float]] = []
            for winograd in [true, false] {
                let spec = LayerSpec.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu)
                let conv = try makeLayer(spec, inputShape: [6, 6, 8]) as! Conv2D
                conv.usesWinograd = winograd
                conv.kernel.value.base[0] = .nan
                if pool {
                    conv.fusedPool = MaxPooling2D(name: "pool", inputShape: conv.outputShape, poolSize: (2, 2), strides: (2, 2), padding: .valid)
                    conv.reserveFusedPool(batch: 2)
                }
                XCTAssertEqual(conv.winogradActive, winograd)
                conv.reserve(threads: 1)
                let x = randomFloats(2 * conv.inputCount, seed: 3)
                var y = [Float](repeating: 0, count: 2 * (conv.fusedPool?.outputCount ?? conv.outputCount))
                x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                    conv.forward(xp.baseAddress!, yp.baseAddress!, batch: 2, context: RunContext(training: true, threads: 1))
                } }
                outputs.append(y)
            }
            XCTAssertTrue(outputs[1].contains { $0.isNaN }, "the direct path keeps NaN")
            for (i, (w, d)) in zip(outputs[0], outputs[1]).enumerated() where d.isNaN {
                XCTAssertTrue(w.isNaN, "pool \(pool): output \(i) is \(w) on the Winograd path, NaN on the direct path")
            }
        }
    }
}
