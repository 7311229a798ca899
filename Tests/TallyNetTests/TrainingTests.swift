import XCTest
@testable import TallyNet
import Tally

/// End to end: a tiny CNN learns, runs repeat, bad input is refused with a clear message.
final class TrainingTests: XCTestCase {
    let side = 6, channels = 2, labels = 3

    func tinyModel(seed: UInt64 = 3) throws -> Sequential {
        let model = try Sequential(inputShape: [side, side, channels], layers: [
            .conv2D(filters: 4, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(3)),
            .dropout(rate: 0.2),
            .maxPooling2D(),
            .flatten,
            .dense(units: 16, activation: .relu, kernelConstraint: .maxNorm(3)),
            .dropout(rate: 0.3),
            .dense(units: labels, activation: .sigmoid),
        ], seed: seed)
        model.threadCount = 2
        try model.compile(optimizer: .sgd(learningRate: 0.05, momentum: 0.9, decay: 0.001), loss: .binaryCrossentropy())
        return model
    }

    func testTinyModelLearnsSeparableMultiLabelProblem() throws {
        let train = templateData(count: 160, side: side, channels: channels, labels: labels, seed: 1)
        let valid = templateData(count: 64, side: side, channels: channels, labels: labels, seed: 2)
        let model = try tinyModel()
        var batchCalls = 0, epochCalls = 0
        let history = try model.fit(x: train.x, y: train.y, count: 160, validation: (valid.x, valid.y, 64),
                                    epochs: 25, batchSize: 16, seed: 5,
                                    onBatchEnd: { _ in batchCalls += 1; return false },
                                    onEpochEnd: { _ in epochCalls += 1; return false })
        XCTAssertEqual(batchCalls, 25 * 10)
        XCTAssertEqual(epochCalls, 25)
        let last = try XCTUnwrap(history.epochs.last)
        XCTAssertLessThan(last.loss, history.epochs[0].loss)
        // The bound of this test: validation macro-F1 above 0.9 after 25 epochs.
        XCTAssertGreaterThan(try last.f1(average: .macro, validation: true), 0.9)
        XCTAssertEqual(last.validationCounts?.rowCount, 64)
        XCTAssertEqual(last.counts.rowCount, 160)
        XCTAssertEqual(model.iterations, 250)
        // predict gives probabilities that match the validation counts.
        let p = try model.predict(valid.x, count: 64)
        XCTAssertTrue(p.allSatisfy { $0 >= 0 && $0 <= 1 })
        var counts = try ConfusionCounts(labelCount: labels)
        try valid.y.withMatrixView(rows: 64, columns: labels) { t in
            try p.withMatrixView(rows: 64, columns: labels) { s in try counts.update(truth: t, prediction: s) }
        }
        XCTAssertEqual(counts, last.validationCounts)
    }

    func testSameSeedSameWeightsAndHistory() throws {
        let data = templateData(count: 40, side: side, channels: channels, labels: labels, seed: 1)
        func train(_ seed: UInt64) throws -> ([[Float]], [Double]) {
            let model = try tinyModel()
            let h = try model.fit(x: data.x, y: data.y, count: 40, epochs: 2, batchSize: 8, seed: seed)
            return (model.weights(), h.epochs.map(\.loss))
        }
        let a = try train(9), b = try train(9), c = try train(10)
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertNotEqual(a.0, c.0)
    }

    func testCallbackStopsTraining() throws {
        let data = templateData(count: 32, side: side, channels: channels, labels: labels, seed: 1)
        let model = try tinyModel()
        let h = try model.fit(x: data.x, y: data.y, count: 32, epochs: 5, batchSize: 8, seed: 1,
                              onBatchEnd: { $0.epoch == 1 && $0.batch == 1 })
        XCTAssertEqual(h.epochs.count, 2)
        XCTAssertTrue(h.stopped)
        XCTAssertEqual(model.iterations, 6)
    }

    func testWeightsInKerasLayoutRoundTrip() throws {
        let model = try tinyModel()
        XCTAssertEqual(model.weightShapes, [[3, 3, 2, 4], [4], [36, 16], [16], [16, 3], [3]])
        XCTAssertEqual(model.weightNames, ["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"])
        let w = model.weights()
        XCTAssertTrue(w[1].allSatisfy { $0 == 0 })
        // Glorot uniform: |w| <= sqrt(6 / (fan_in + fan_out)), fans × receptive field 9.
        XCTAssertLessThanOrEqual(w[0].map(abs).max()!, (6.0 / Float(18 + 36)).squareRoot())
        let other = try tinyModel(seed: 99)
        try other.setWeights(w)
        XCTAssertEqual(other.weights(), w)
        XCTAssertThrowsError(try other.setWeights(Array(w.dropLast()))) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("Expected 6 weight arrays, but got 5"))
        }
        XCTAssertTrue(model.summary().contains("conv2d (Conv2D)"))
        XCTAssertEqual(model.parameterCount, 72 + 4 + 576 + 16 + 48 + 3)
    }

    func testFinalSoftmaxOverImagesIsRefused() throws {
        // Keras's softmax on a Conv2D runs per pixel; the fused output activation would run over
        // the whole output. A clear error instead of a different model; sigmoid (element-wise) is fine.
        XCTAssertThrowsError(try Sequential(inputShape: [4, 4, 2], layers: [
            .conv2D(filters: 3, kernelSize: (1, 1), activation: .softmax),
        ])) { error in
            XCTAssertEqual("\(error)", "Expected a 1-D output for a final softmax (flatten first: TallyNet fuses the last softmax into the loss over the whole output, Keras applies it per pixel), but got output shape (4, 4, 3)")
        }
        XCTAssertNoThrow(try Sequential(inputShape: [4, 4, 2], layers: [.conv2D(filters: 3, kernelSize: (1, 1), activation: .sigmoid)]))
        XCTAssertNoThrow(try Sequential(inputShape: [4, 4, 2], layers: [.flatten, .dense(units: 3, activation: .softmax)]))
    }

    func testBadInputIsRefusedWithClearMessages() throws {
        let model = try tinyModel()
        let data = templateData(count: 4, side: side, channels: channels, labels: labels, seed: 1)
        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let e as TallyError { return e.message } catch { return "\(error)" }
        }
        XCTAssertEqual(message {
            try data.x.withUnsafeBufferPointer { x in
                try data.y.withMatrixView(rows: 4, columns: labels) { y in
                    _ = try model.fit(LabeledData(x: x, shape: [4, 6, 3, 4], y: y))
                }
            }
        }, "Expected `x` to have shape (n, 6, 6, 2), but got (4, 6, 3, 4)")
        var y = data.y
        y[5] = 1.5
        XCTAssertEqual(message { _ = try model.fit(x: data.x, y: y, count: 4, epochs: 1, batchSize: 2, seed: 0) },
                       "Expected `y` to hold 0/1 labels or soft targets in [0, 1], but got 1.5 at (1, 2)")
        y[5] = -0.25
        XCTAssertEqual(message { _ = try model.fit(x: data.x, y: y, count: 4, epochs: 1, batchSize: 2, seed: 0) },
                       "Expected `y` to hold 0/1 labels or soft targets in [0, 1], but got -0.25 at (1, 2)")
        y[5] = .nan
        XCTAssertEqual(message { _ = try model.fit(x: data.x, y: y, count: 4, epochs: 1, batchSize: 2, seed: 0) },
                       "Expected `y` to hold 0/1 labels or soft targets in [0, 1], but got nan at (1, 2)")
        XCTAssertEqual(message { try model.compile(optimizer: .sgd(), loss: .binaryCrossentropy(labelSmoothing: 1.5)) },
                       "Expected `label_smoothing` to be a number in [0, 1], but got 1.5")
        var x = data.x
        x[6 * 6 * 2 * 2 + 3] = .nan
        XCTAssertEqual(message { _ = try model.fit(x: x, y: data.y, count: 4, epochs: 1, batchSize: 2, seed: 0) },
                       "Expected `x` to hold finite numbers, but got nan in sample 2")
        XCTAssertEqual(message { _ = try Sequential(inputShape: [6, 6, 2], layers: [.dense(units: 3)]) },
                       "Expected the input of Dense (layer 0) to be flat (add .flatten before it), but got (6, 6, 2)")
        let softmaxFree = try Sequential(inputShape: [4], layers: [.dense(units: 2, activation: .relu)])
        XCTAssertEqual(message { try softmaxFree.compile(optimizer: .adam(), loss: .categoricalCrossentropy()) },
                       "Expected the last layer's activation to be 'softmax' for categorical_crossentropy(from_logits=false), but got 'linear'")
    }

    /// The inputs' check scans blocks of 1024 values in C: a non-finite value at a block's edges,
    /// in the last partial block, or after another one names the first, in its sample.
    func testNonFiniteInputIsFoundInEveryBlock() throws {
        let model = try Sequential(inputShape: [6, 6, 2], layers: [.flatten, .dense(units: 3)])
        let per = 72, n = 40  // 2880 values: two whole blocks and a partial one
        let clean = (0..<(per * n)).map { Float(($0 % 13) - 6) * 1e30 }
        func message(_ x: [Float]) -> String? {
            x.withUnsafeBufferPointer { b in
                do { _ = try model.checkSamples(b, shape: [n, 6, 6, 2]); return nil } catch { return "\(error)" }
            }
        }
        XCTAssertNil(message(clean))
        XCTAssertNil(message(clean.enumerated().map { $0.offset % 3 == 0 ? .greatestFiniteMagnitude : -.leastNonzeroMagnitude }))
        for (at, value) in [(0, Float.nan), (1023, .infinity), (1024, -.infinity), (2047, .nan), (2048, .infinity),
                            (per * n - 1, -.nan), (100, .signalingNaN)] {
            var x = clean
            x[at] = value
            if at + 500 < x.count { x[at + 500] = .infinity }  // a later one is not the one named
            XCTAssertEqual(message(x), "Expected `x` to hold finite numbers, but got \(value) in sample \(at / per)", "at \(at)")
        }
    }

    func testSoftmaxCategoricalModelLearns() throws {
        // One-hot version of the template problem with Adam: the argmax class is learned.
        var data = templateData(count: 96, side: 4, channels: 1, labels: 3, seed: 4)
        for n in 0..<96 {
            let k = n % 3
            for j in 0..<3 { data.y[n * 3 + j] = j == k ? 1 : 0 }
        }
        let templates = (0..<3).map { randomFloats(16, seed: 1000 + UInt64($0), in: -1...1) }
        var g = SplitMix64(seed: 8)
        for n in 0..<96 { for i in 0..<16 { data.x[n * 16 + i] = templates[n % 3][i] + 0.3 * (2 * g.nextUnitFloat() - 1) } }
        let model = try Sequential(inputShape: [4, 4, 1], layers: [.flatten, .dense(units: 3, activation: .softmax)], seed: 1)
        try model.compile(optimizer: .adam(learningRate: 0.05), loss: .categoricalCrossentropy())
        let h = try model.fit(x: data.x, y: data.y, count: 96, epochs: 20, batchSize: 16, seed: 2)
        XCTAssertLessThan(h.epochs.last!.loss, 0.1)
    }

    /// Keras's SGD with momentum and a max-norm kernel, in Double, on one full batch per step.
    func referenceSGD(x: [Float], y: [Float], count: Int, inputs: Int, units: Int, start: [[Float]],
                      steps: Int, lr: Double, momentum: Double, maxNorm: Double) -> (w: [Double], b: [Double]) {
        var w = start[0].map(Double.init), b = start[1].map(Double.init)
        var vw = [Double](repeating: 0, count: w.count), vb = [Double](repeating: 0, count: units)
        for _ in 0..<steps {
            var dw = [Double](repeating: 0, count: w.count), db = [Double](repeating: 0, count: units)
            for n in 0..<count {
                for j in 0..<units {
                    var z = b[j]
                    for i in 0..<inputs { z += Double(x[n * inputs + i]) * w[i * units + j] }
                    let g = (1 / (1 + exp(-z)) - Double(y[n * units + j])) / Double(count * units)
                    db[j] += g
                    for i in 0..<inputs { dw[i * units + j] += Double(x[n * inputs + i]) * g }
                }
            }
            for k in w.indices { vw[k] = momentum * vw[k] - lr * dw[k]; w[k] += vw[k] }
            for j in 0..<units { vb[j] = momentum * vb[j] - lr * db[j]; b[j] += vb[j] }
            for j in 0..<units {
                var n2 = 0.0
                for i in 0..<inputs { n2 += w[i * units + j] * w[i * units + j] }
                let norm = n2.squareRoot(), f = min(norm, maxNorm) / (1e-7 + norm)
                for i in 0..<inputs { w[i * units + j] *= f }
            }
        }
        return (w, b)
    }

    func testDenseUpdateByRowBlocksMatchesKerasSGDWithMaxNorm() throws {
        // The fused path: dX, dW into the velocity, the update and the norms per row block, and
        // the max-norm factors left pending on the kernel — on one thread and on two.
        let (inputs, units, count) = (40, 4, 24)
        let x = randomFloats(count * inputs, seed: 21)
        let y = (0..<(count * units)).map { Float(($0 * 7) % 3 == 0 ? 1 : 0) }
        // Without a constraint the same fused pass runs with no norm sums (reference: a bound never reached).
        // Both GEMM paths for the forward and dX: TallyNet's own loops (where the CPU has them) and BLIS.
        let paths = Backend.current.usesOwnKernels ? [true, false] : [false]
        for own in paths {
        for (threads, blockRows, bound) in [(1, 1 << 20, 0.5), (2, 7, 0.5), (2, 3, 0.5), (2, 3, 1e30)] {
            let constrained = bound < 1e30
            let model = try Sequential(inputShape: [inputs], layers: [
                .dense(units: units, activation: .sigmoid, kernelConstraint: constrained ? .maxNorm(Float(bound)) : nil),
            ], seed: 4)
            model.threadCount = threads
            let dense = model.layers[0] as! Dense
            dense.blockRows = blockRows
            dense.parallelThreshold = 0
            dense.usesOwnKernels = own
            let start = model.weights()
            try model.compile(optimizer: .sgd(learningRate: 0.5, momentum: 0.9), loss: .binaryCrossentropy())
            _ = try model.fit(x: x, y: y, count: count, epochs: 3, batchSize: count, seed: 1)
            XCTAssertEqual(dense.kernel.hasPendingScale, constrained, "the last rescale is left pending")
            // predict honours the pending factors; weights() applies them.
            let p = try model.predict(x, count: count)
            let ref = referenceSGD(x: x, y: y, count: count, inputs: inputs, units: units, start: start,
                                   steps: 3, lr: 0.5, momentum: 0.9, maxNorm: bound)
            let w = model.weights()
            XCTAssertFalse(dense.kernel.hasPendingScale)
            for (a, e) in zip(w[0], ref.w) { XCTAssertEqual(Double(a), e, accuracy: 1e-5) }
            for (a, e) in zip(w[1], ref.b) { XCTAssertEqual(Double(a), e, accuracy: 1e-5) }
            for n in 0..<count {
                for j in 0..<units {
                    var z = ref.b[j]
                    for i in 0..<inputs { z += Double(x[n * inputs + i]) * ref.w[i * units + j] }
                    XCTAssertEqual(Double(p[n * units + j]), 1 / (1 + exp(-z)), accuracy: 1e-5)
                }
            }
        }
        }
    }

    func testInPlaceDropoutGivesTheSameTraining() throws {
        // Dropout after a relu layer overwrites that layer's output: same weights as with a buffer of its own.
        let data = templateData(count: 32, side: side, channels: channels, labels: labels, seed: 1)
        var results: [[[Float]]] = []
        for inPlace in [true, false] {
            let model = try tinyModel()
            model.allowsInPlace = inPlace
            XCTAssertEqual(model.runsInPlace(1), inPlace)
            defer { XCTAssertEqual((model.layers[1] as! Dropout).backwardFromOutput, inPlace) }
            _ = try model.fit(x: data.x, y: data.y, count: 32, epochs: 2, batchSize: 8, seed: 3)
            results.append(model.weights())
        }
        XCTAssertEqual(results[0], results[1])
    }

    func testGradientsWrittenInPlaceAndFusedPoolingGiveTheSameTraining() throws {
        // Shifted-row convolutions (stacked and not) write dx over their own output, dropouts
        // over dy, and the second convolution pools its own output (no full-size buffer).
        // Same weights as without, up to the order of the bias-gradient sums.
        let data = templateData(count: 24, side: side, channels: channels, labels: labels, seed: 2)
        var results: [[[Float]]] = []
        var predictions: [[Float]] = []
        for inPlace in [true, false] {
            let model = try Sequential(inputShape: [side, side, channels], layers: [
                .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(3)),
                .dropout(rate: 0.2),
                .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
                .maxPooling2D(),
                .flatten,
                .dense(units: 16, activation: .relu, kernelConstraint: .maxNorm(3)),
                .activation(.relu),
                .dropout(rate: 0.3),
                .dense(units: labels, activation: .sigmoid),
            ], seed: 5)
            model.threadCount = 2
            model.allowsInPlace = inPlace
            XCTAssertTrue((model.layers[0] as! Conv2D).stacksRows)
            XCTAssertTrue((model.layers[2] as! Conv2D).usesShiftedRows)
            try model.compile(optimizer: .sgd(learningRate: 0.05, momentum: 0.9), loss: .binaryCrossentropy())
            _ = try model.fit(x: data.x, y: data.y, count: 24, epochs: 2, batchSize: 8, seed: 3)
            let plan = model.gradientPlan()
            XCTAssertEqual(plan.contains { $0.dx == .output(0) }, false, "the first layer has no dx")
            // In place, the layers under Flatten backpropagate sample by sample (per-thread buffers).
            XCTAssertEqual(model.backwardPlan().segment?.top, inPlace ? 3 : nil)
            XCTAssertEqual(plan.contains { $0.layer <= 3 }, !inPlace)
            XCTAssertEqual(plan.contains { $0.layer == 7 && $0.dx == $0.dy }, inPlace)
            XCTAssertEqual((model.layers[2] as! Conv2D).fusedPool != nil, inPlace)
            XCTAssertEqual((model.layers[3] as! MaxPooling2D).fusedIntoConvolution, inPlace)
            results.append(model.weights())
            predictions.append(try model.predict(data.x, count: 24))
        }
        for (a, b) in zip(results[0], results[1]) {
            for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5) }
        }
        for (u, v) in zip(predictions[0], predictions[1]) { XCTAssertEqual(u, v, accuracy: 1e-5) }
    }

    func testRecomputedBottomLayersGiveTheSameTraining() throws {
        // The layers under the top of the sample-by-sample run keep no batch buffer: the forward
        // carries each sample through the run, the backward computes their values again on the
        // sample's thread; the Dense layer above writes its dX over its (pooled) input, the relu's
        // derivative applied. Bit for bit the training and predictions of batch buffers, with one
        // recomputed buffer shared by an in-place dropout, with two (the second on the Winograd
        // path), and with one shared by a fused pooling; a short last batch each time.
        let relu8 = LayerSpec.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu)
        let cases: [(side: Int, bottom: [LayerSpec], recomputed: Set<Int>)] = [
            (side, [.conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(3)),
                    .dropout(rate: 0.2)], [0, 1]),
            (side, [relu8, .dropout(rate: 0.2), relu8, .dropout(rate: 0.25)], [0, 1, 2, 3]),
            (8, [relu8, .maxPooling2D()], [0, 1]),
        ]
        for (n, (side, bottom, expected)) in cases.enumerated() {
            let data = templateData(count: 20, side: side, channels: channels, labels: labels, seed: 4)
            var results: [[[Float]]] = []
            var predictions: [[Float]] = []
            // Recomputed values and the Dense dX written over its input, each alone and together,
            // against neither.
            for (recompute, overwrite) in [(true, true), (true, false), (false, true), (false, false)] {
                let model = try Sequential(inputShape: [side, side, channels], layers: bottom + [
                    relu8,
                    .maxPooling2D(),
                    .flatten,
                    .dense(units: 16, activation: .relu, kernelConstraint: .maxNorm(3)),
                    .dropout(rate: 0.3),
                    .dense(units: labels, activation: .sigmoid),
                ], seed: 7)
                model.threadCount = 2
                model.recomputesSampleValues = recompute
                model.writesDenseGradientOverInput = overwrite
                try model.compile(optimizer: .sgd(learningRate: 0.05, momentum: 0.9), loss: .binaryCrossentropy())
                _ = try model.fit(x: data.x, y: data.y, count: 20, epochs: 2, batchSize: 8, seed: 3)
                XCTAssertEqual(model.recomputedLayerIndices, recompute ? expected : [], "case \(n)")
                XCTAssertEqual(model.readsInputRows, recompute, "case \(n): shuffled samples read in place, not gathered")
                for i in expected { XCTAssertEqual(model.hasBatchOutput(i), !recompute, "case \(n), layer \(i)") }
                XCTAssertTrue(model.hasBatchOutput(bottom.count), "the run's top keeps its (pooled) batch buffer")
                if n == 1 { XCTAssertTrue((model.layers[2] as! Conv2D).winogradActive) }
                if n == 2 { XCTAssertNotNil((model.layers[0] as! Conv2D).fusedPool) }
                let dense = model.layers[bottom.count + 3] as! Dense, top = model.layers[bottom.count] as! Conv2D
                XCTAssertEqual(dense.inputActivation, overwrite ? .relu : nil, "case \(n)")
                XCTAssertEqual(top.gradientIncludesActivation, overwrite, "case \(n)")
                XCTAssertEqual(model.gradientPlan().contains { $0.layer == bottom.count + 3 && $0.dx == .output(bottom.count + 1) },
                               overwrite, "case \(n): dX over the pooled buffer")
                results.append(model.weights())
                predictions.append(try model.predict(data.x, count: 20))
            }
            // Compared whole (a failure message with every weight would be unreadable).
            for k in 0..<3 {
                XCTAssertTrue(results[k] == results[3], "weights differ, case \(n), variant \(k)")
                XCTAssertTrue(predictions[k] == predictions[3], "predictions differ, case \(n), variant \(k)")
            }
        }
    }

    func testMoreThreadsAfterAFirstFit() throws {
        // Per-thread workspaces grow with threadCount between calls.
        let data = templateData(count: 16, side: side, channels: channels, labels: labels, seed: 3)
        let model = try Sequential(inputShape: [side, side, channels], layers: [
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            .dropout(rate: 0.2),
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            .maxPooling2D(),
            .flatten,
            .dense(units: 8, activation: .relu, kernelConstraint: .maxNorm(1)),
            .dense(units: labels, activation: .sigmoid),
        ], seed: 2)
        model.threadCount = 1
        try model.compile(optimizer: .sgd(learningRate: 0.05, momentum: 0.9), loss: .binaryCrossentropy())
        _ = try model.fit(x: data.x, y: data.y, count: 16, epochs: 1, batchSize: 8, seed: 1)
        model.threadCount = 3
        let h = try model.fit(x: data.x, y: data.y, count: 16, epochs: 2, batchSize: 8, seed: 1)
        XCTAssertTrue(h.epochs.allSatisfy { $0.loss.isFinite })
        XCTAssertEqual(model.iterations, 6)
    }

    func testFusedPoolingMatchesSeparateLayersOnOneStep() throws {
        // conv (shifted rows) + 2×2 pooling, sigmoid and relu, one SGD step: the fused pair and
        // the separate layers give the same weights (ties impossible with random inputs).
        // With an Activation layer first, the pair runs batch-wise instead of sample by sample.
        for (activation, first) in [(Activation.relu, [LayerSpec]()), (.sigmoid, []), (.relu, [.activation(.linear)])] {
            let x = randomFloats(4 * 8 * 6 * 8, seed: 30)
            let y = (0..<(4 * 3)).map { Float($0 % 2) }
            var results: [[[Float]]] = []
            for fused in [true, false] {
                let model = try Sequential(inputShape: [8, 6, 8], layers: first + [
                    .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: activation),
                    .maxPooling2D(poolSize: (2, 3)),
                    .flatten,
                    .dense(units: 3, activation: .sigmoid),
                ], seed: 6)
                model.allowsInPlace = fused
                try model.compile(optimizer: .sgd(learningRate: 0.5), loss: .binaryCrossentropy())
                _ = try model.fit(x: x, y: y, count: 4, epochs: 1, batchSize: 4, seed: 1)
                XCTAssertEqual((model.layers[first.count] as! Conv2D).fusedPool != nil, fused)
                XCTAssertEqual(model.backwardPlan().segment != nil, fused && first.isEmpty)
                results.append(model.weights())
            }
            for (a, b) in zip(results[0], results[1]) {
                for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-6) }
            }
        }
    }
}
