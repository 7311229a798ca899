import XCTest
@testable import TallyNet

/// The Winograd F(4×4, 3×3) path against the shifted-row path (a direct convolution) and
/// against finite differences: whole and partial tiles, several GEMM blocks, relu and linear,
/// with and without bias, with and without a fused 2×2 pooling.
final class WinogradTests: XCTestCase {
    /// Forward, dx, dW and db of one layer on both paths (same weights, input and dy).
    private func bothPaths(_ spec: LayerSpec, shape: [Int], batch: Int = 3, blockTiles: Int? = nil) throws -> [[[Float]]] {
        var results: [[[Float]]] = []
        for winograd in [true, false] {
            let layer = try makeLayer(spec, inputShape: shape)
            let conv = layer as! Conv2D
            XCTAssertTrue(conv.usesWinograd)
            conv.usesWinograd = winograd
            conv.winogradBlockTiles = blockTiles
            XCTAssertEqual(conv.winogradActive, winograd)
            layer.reserve(threads: 2)
            let context = RunContext(training: true, threads: 2)
            let x = randomFloats(batch * layer.inputCount, seed: 5)
            var y = [Float](repeating: 0, count: batch * layer.outputCount)
            var dy = randomFloats(batch * layer.outputCount, seed: 6)
            var dx = [Float](repeating: 0, count: x.count)
            let grads = layer.parameters.map { $0.targetGradientBuffer() }
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                layer.forward(xp.baseAddress!, yp.baseAddress!, batch: batch, context: context)
                dy.withUnsafeMutableBufferPointer { dyp in dx.withUnsafeMutableBufferPointer { dxp in
                    layer.backward(x: xp.baseAddress!, y: UnsafePointer(yp.baseAddress!), dy: dyp.baseAddress!,
                                   dx: dxp.baseAddress!, batch: batch, context: context)
                } }
            } }
            results.append([y, dx] + grads.map { Array($0.buffer) })
        }
        return results
    }

    /// Largest difference relative to the largest magnitude of each tensor.
    private func assertClose(_ results: [[[Float]]], tolerance: Float, file: StaticString = #filePath, line: UInt = #line) {
        for (k, (a, b)) in zip(results[0], results[1]).enumerated() {
            XCTAssertEqual(a.count, b.count, file: file, line: line)
            let scale = max(b.map(abs).max() ?? 0, 1e-6)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst / scale, tolerance, "tensor \(k): max difference \(worst) of \(scale)", file: file, line: line)
            XCTAssertGreaterThan(scale, 1e-3, "tensor \(k) is all zeros: the comparison would prove nothing", file: file, line: line)
        }
    }

    func testMatchesDirectConvolutionOnWholeAndPartialTiles() throws {
        for (shape, filters, activation, useBias) in [([8, 8, 8], 8, Activation.relu, true), ([7, 9, 8], 16, .linear, true),
                                                      ([13, 6, 16], 8, .relu, false), ([3, 2, 8], 8, .linear, true),
                                                      ([12, 12, 32], 32, .relu, true)] {
            let spec = LayerSpec.conv2D(filters: filters, kernelSize: (3, 3), padding: .same, activation: activation, useBias: useBias)
            assertClose(try bothPaths(spec, shape: shape), tolerance: 1e-5)
        }
    }

    func testSeveralGemmBlocksPerSample() throws {
        // 3 tiles per block on a 5 × 3 tile grid: blocks end mid-row and the last one is short.
        let spec = LayerSpec.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu)
        assertClose(try bothPaths(spec, shape: [18, 10, 8], blockTiles: 3), tolerance: 1e-5)
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
}
