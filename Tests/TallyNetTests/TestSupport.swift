import XCTest
@testable import TallyNet
import Tally

/// Seeded uniform floats in [lo, hi).
func randomFloats(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
    var g = SplitMix64(seed: seed)
    return (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * g.nextUnitFloat() }
}

/// Builds one layer on `inputShape` with seeded random parameters.
func makeLayer(_ spec: LayerSpec, inputShape: [Int], seed: UInt64 = 7) throws -> Layer {
    let layer = try Sequential.makeLayer(spec, inputShape: inputShape, index: 0, seed: seed, name: { $0 })
    for (k, p) in layer.parameters.enumerated() {
        let values = randomFloats(p.count, seed: seed &+ UInt64(k) &+ 100, in: -0.5...0.5)
        p.value.base.update(from: values, count: p.count)
    }
    return layer
}

/// Central differences of `f` at `z`, one per element.
func numericGradient(_ f: ([Float]) -> Double, at z: [Float], epsilon: Float = 1e-2) -> [Double] {
    (0..<z.count).map { i in
        var zp = z, zm = z
        zp[i] += epsilon
        zm[i] -= epsilon
        return (f(zp) - f(zm)) / Double(2 * epsilon)
    }
}

/// One training-mode forward and backward pass of `layer` (already reserved) on `batch`
/// samples of `x`, with a random output gradient (seed 6): `[y, dx]` and then each parameter's
/// gradient. `outputCount`: values per sample the layer writes (pooled when a pooling is fused).
func forwardBackward(_ layer: Layer, x: [Float], batch: Int, threads: Int, outputCount: Int? = nil) -> [[Float]] {
    let context = RunContext(training: true, threads: threads)
    let outCount = outputCount ?? layer.outputCount
    var y = [Float](repeating: 0, count: batch * outCount)
    var dy = randomFloats(batch * outCount, seed: 6)
    var dx = [Float](repeating: 0, count: x.count)
    let grads = layer.parameters.map { $0.targetGradientBuffer() }
    x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
        layer.forward(xp.baseAddress!, yp.baseAddress!, batch: batch, context: context)
        dy.withUnsafeMutableBufferPointer { dyp in dx.withUnsafeMutableBufferPointer { dxp in
            layer.backward(x: xp.baseAddress!, y: UnsafePointer(yp.baseAddress!), dy: dyp.baseAddress!,
                           dx: dxp.baseAddress!, batch: batch, context: context)
        } }
    } }
    return [y, dx] + grads.map { Array($0.buffer) }
}

/// Central-difference check of a layer's input and parameter gradients on the
/// objective L = Σ r ⊙ y (r random), in float32 with a Double-accumulated objective.
func checkGradients(_ spec: LayerSpec, inputShape: [Int], batch: Int = 3, input: [Float]? = nil,
                    training: Bool = false, epsilon: Float = 5e-3, tolerance: Float = 1e-2,
                    configure: ((Layer) -> Void)? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws {
    let layer = try makeLayer(spec, inputShape: inputShape)
    configure?(layer)
    layer.reserve(threads: 2)
    let context = RunContext(training: training, threads: 2, stepSeed: 42)
    var x = input ?? randomFloats(batch * layer.inputCount, seed: 1)
    let r = randomFloats(batch * layer.outputCount, seed: 2)
    var y = [Float](repeating: 0, count: batch * layer.outputCount)

    func objective() -> Double {
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                layer.forward(xp.baseAddress!, yp.baseAddress!, batch: batch, context: context)
            }
        }
        var s = 0.0
        for i in 0..<y.count { s += Double(r[i]) * Double(y[i]) }
        return s
    }

    _ = objective()
    var dy = r
    var dx = [Float](repeating: 0, count: x.count)
    let grads = layer.parameters.map { $0.targetGradientBuffer() }
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeBufferPointer { yp in
            dy.withUnsafeMutableBufferPointer { dyp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    layer.backward(x: xp.baseAddress!, y: yp.baseAddress!, dy: dyp.baseAddress!, dx: dxp.baseAddress!,
                                   batch: batch, context: context)
                }
            }
        }
    }

    func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
        let err = abs(Double(analytic) - numeric)
        XCTAssertLessThanOrEqual(err, Double(tolerance) * max(1, abs(numeric)),
                                 "\(layer.kind) \(what): analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
    }
    for i in 0..<x.count {
        let saved = x[i]
        x[i] = saved + epsilon
        let plus = objective()
        x[i] = saved - epsilon
        let minus = objective()
        x[i] = saved
        compare(dx[i], (plus - minus) / Double(2 * epsilon), "dx[\(i)]")
    }
    for (p, g) in zip(layer.parameters, grads) {
        for i in 0..<p.count {
            let saved = p.value.base[i]
            p.value.base[i] = saved + epsilon
            let plus = objective()
            p.value.base[i] = saved - epsilon
            let minus = objective()
            p.value.base[i] = saved
            compare(g.base[i], (plus - minus) / Double(2 * epsilon), "d\(p.name)[\(i)]")
        }
    }
}

/// Distinct values 0.02 apart in random order, so that no perturbation of ±epsilon
/// changes which element of a pooling window is the largest, shifted to straddle 0.
func distinctInputs(_ count: Int, seed: UInt64) -> [Float] {
    var values = (0..<count).map { Float($0) * 0.02 - Float(count) * 0.01 }
    var g = SplitMix64(seed: seed)
    values.shuffle(using: &g)
    return values
}

/// A separable multi-label image problem: label j is on when template j is added.
func templateData(count: Int, side: Int, channels: Int, labels: Int, seed: UInt64) -> (x: [Float], y: [Float]) {
    let size = side * side * channels
    let templates = (0..<labels).map { randomFloats(size, seed: 1000 + UInt64($0), in: -1...1) }
    var g = SplitMix64(seed: seed)
    var x = [Float](repeating: 0, count: count * size), y = [Float](repeating: 0, count: count * labels)
    for n in 0..<count {
        for j in 0..<labels where g.next() % 2 == 0 {
            y[n * labels + j] = 1
            for i in 0..<size { x[n * size + i] += templates[j][i] }
        }
        for i in 0..<size { x[n * size + i] += 0.3 * (2 * g.nextUnitFloat() - 1) }
    }
    return (x, y)
}

extension Sequential {
    /// `fit` over Swift arrays, for tests.
    func fit(x: [Float], y: [Float], count: Int, sampleWeight: [Double]? = nil,
             validation: (x: [Float], y: [Float], count: Int)? = nil,
             epochs: Int, batchSize: Int, shuffle: Bool = true, seed: UInt64,
             onBatchEnd: ((BatchLogs) -> Bool)? = nil, onEpochEnd: ((EpochLogs) -> Bool)? = nil) throws -> History {
        let width = outputShape.reduce(1, *)
        return try x.withUnsafeBufferPointer { xp in
            try y.withMatrixView(rows: count, columns: width) { yv in
                let train = LabeledData(x: xp, shape: [count] + inputShape, y: yv, sampleWeight: sampleWeight)
                guard let validation else {
                    return try fit(train, epochs: epochs, batchSize: batchSize, shuffle: shuffle, seed: seed,
                                   onBatchEnd: onBatchEnd, onEpochEnd: onEpochEnd)
                }
                return try validation.x.withUnsafeBufferPointer { vx in
                    try validation.y.withMatrixView(rows: validation.count, columns: width) { vy in
                        try fit(train, epochs: epochs, batchSize: batchSize,
                                validation: LabeledData(x: vx, shape: [validation.count] + inputShape, y: vy),
                                shuffle: shuffle, seed: seed, onBatchEnd: onBatchEnd, onEpochEnd: onEpochEnd)
                    }
                }
            }
        }
    }

    /// `evaluate` over Swift arrays, for tests.
    func evaluate(x: [Float], y: [Float], count: Int, sampleWeight: [Double]? = nil,
                  batchSize: Int = 32) throws -> (loss: Double, counts: ConfusionCounts) {
        try x.withUnsafeBufferPointer { xp in
            try y.withMatrixView(rows: count, columns: outputShape.reduce(1, *)) { yv in
                try evaluate(LabeledData(x: xp, shape: [count] + inputShape, y: yv, sampleWeight: sampleWeight),
                             batchSize: batchSize)
            }
        }
    }

    func predict(_ x: [Float], count: Int) throws -> [Float] {
        try x.withUnsafeBufferPointer { try predict(x: $0, shape: [count] + inputShape) }
    }
}

/// Checks that one plain-SGD step (learning rate 1) moved every weight from `start` to
/// `after` by minus the gradient of `loss`, by central finite differences: `loss` is
/// evaluated on `probe` set to `start` with one weight moved. Returns the weights checked.
@discardableResult
func assertStepIsMinusGradient(start: [[Float]], after: [[Float]], probe: Sequential,
                               loss: (Sequential) throws -> Double,
                               file: StaticString = #filePath, line: UInt = #line) throws -> Int {
    let analytic = zip(start, after).map { zip($0, $1).map { Double($0 - $1) } }
    let epsilon: Float = 1e-2
    var checked = 0
    for k in start.indices {
        for i in start[k].indices {
            func moved(_ delta: Float) throws -> Double {
                var ws = start
                ws[k][i] += delta
                try probe.setWeights(ws)
                return try loss(probe)
            }
            let numeric = (try moved(epsilon) - moved(-epsilon)) / Double(2 * epsilon)
            XCTAssertEqual(analytic[k][i], numeric, accuracy: 2e-3 * max(1, abs(numeric)), "weight \(k)[\(i)]",
                           file: file, line: line)
            checked += 1
        }
    }
    return checked
}

/// Two runs' tensors (`results[0]`, `results[1]`) agree: each tensor's largest difference at most
/// `tolerance` of its largest magnitude, and no tensor all zeros (the comparison would prove nothing).
func assertTensorsClose(_ results: [[[Float]]], tolerance: Float, _ context: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    for (k, (a, b)) in zip(results[0], results[1]).enumerated() {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let scale = max(b.map(abs).max() ?? 0, 1e-6)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst / scale, tolerance, "\(context) tensor \(k): max difference \(worst) of \(scale)",
                                 file: file, line: line)
        XCTAssertGreaterThan(scale, 1e-3, "\(context) tensor \(k) is all zeros: the comparison would prove nothing",
                             file: file, line: line)
    }
}
