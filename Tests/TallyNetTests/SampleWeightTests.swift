import XCTest
@testable import TallyNet
import Tally

/// Per-sample weights (Keras's `sample_weight`): the weighted losses' gradients, the
/// `sum_over_batch_size` reduction through a whole model, weighted counts, and refusals.
final class SampleWeightTests: XCTestCase {
    func testWeightedBinaryCrossentropyGradient() {
        // Two rows of three labels, weights 0.25 and 3: loss and gradient per row scale by the weight.
        let z: [Float] = [-3, -0.5, 0, 0.7, 2.5, 4]
        let y: [Float] = [0, 1, 1, 0, 1, 0]
        let w: [Float] = [0.25, 3]
        func loss(_ z: [Float]) -> Double {
            binaryCrossentropyFromLogits(logits: z, targets: y, count: 6, probabilities: nil, gradient: nil,
                                         gradientScale: 1, sampleWeights: w, width: 3)
        }
        var expected = 0.0
        for i in 0..<6 {
            let p = 1 / (1 + exp(-Double(z[i])))
            expected += Double(w[i / 3]) * (-Double(y[i]) * log(p) - (1 - Double(y[i])) * log(1 - p))
        }
        XCTAssertEqual(loss(z), expected, accuracy: 1e-5)
        var g = [Float](repeating: 0, count: 6)
        _ = binaryCrossentropyFromLogits(logits: z, targets: y, count: 6, probabilities: nil, gradient: &g,
                                         gradientScale: 1, sampleWeights: w, width: 3)
        for (a, n) in zip(g, numericGradient(loss, at: z)) { XCTAssertEqual(Double(a), n, accuracy: 2e-3 * max(1, abs(n))) }
        // Weight 0: no loss, no gradient; weight 1 everywhere: the unweighted values, bit for bit.
        var g0 = g
        _ = binaryCrossentropyFromLogits(logits: z, targets: y, count: 6, probabilities: nil, gradient: &g0,
                                         gradientScale: 0.5, sampleWeights: [0, 0], width: 3)
        XCTAssertEqual(g0, [Float](repeating: 0, count: 6))
        var g1 = g, gu = g
        let l1 = binaryCrossentropyFromLogits(logits: z, targets: y, count: 6, probabilities: nil, gradient: &g1,
                                              gradientScale: 0.5, sampleWeights: [1, 1], width: 3)
        let lu = binaryCrossentropyFromLogits(logits: z, targets: y, count: 6, probabilities: nil, gradient: &gu, gradientScale: 0.5)
        XCTAssertEqual(g1, gu)
        XCTAssertEqual(l1, lu)
    }

    func testWeightedCategoricalCrossentropyGradient() {
        let z: [Float] = [1, 2, 0.5, -1, 0.3, 0.3, 2, -2, -1, 0, 1, 2]
        let y: [Float] = [0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]
        let w: [Float] = [2, 0.5, 0]
        func loss(_ z: [Float]) -> Double {
            categoricalCrossentropyFromLogits(logits: z, targets: y, rows: 3, width: 4, probabilities: nil, gradient: nil,
                                              gradientScale: 1, sampleWeights: w)
        }
        var expected = 0.0
        for r in 0..<3 {
            let row = z[(r * 4)..<(r * 4 + 4)].map(Double.init)
            let lse = log(row.map(exp).reduce(0, +))
            for j in 0..<4 { expected += Double(w[r]) * Double(y[r * 4 + j]) * (lse - row[j]) }
        }
        XCTAssertEqual(loss(z), expected, accuracy: 1e-5)
        var g = [Float](repeating: 0, count: 12)
        _ = categoricalCrossentropyFromLogits(logits: z, targets: y, rows: 3, width: 4, probabilities: nil, gradient: &g,
                                              gradientScale: 1, sampleWeights: w)
        for (a, n) in zip(g, numericGradient(loss, at: z)) { XCTAssertEqual(Double(a), n, accuracy: 2e-3 * max(1, abs(n))) }
        XCTAssertEqual(Array(g[8..<12]), [0, 0, 0, 0])
    }

    /// A small dense model (no dropout, no constraint) for whole-model checks.
    func denseModel(optimizer: OptimizerSpec = .sgd(learningRate: 1)) throws -> Sequential {
        let model = try Sequential(inputShape: [5], layers: [
            .dense(units: 4, activation: .relu),
            .dense(units: 3, activation: .sigmoid),
        ], seed: 4)
        model.threadCount = 1
        try model.compile(optimizer: optimizer, loss: .binaryCrossentropy())
        return model
    }

    func testModelGradientOfWeightedBatchLossByFiniteDifferences() throws {
        // One plain-SGD step (lr 1) over one batch of all samples moves each weight by minus the
        // gradient of Keras's loss Σ w_i · loss_i / n, which `evaluate` computes: finite differences.
        let n = 6
        let x = randomFloats(n * 5, seed: 11)
        let y: [Float] = (0..<(n * 3)).map { Float($0 % 4 == 0 || $0 % 5 == 1 ? 1 : 0) }
        let w: [Double] = [0.5, 2, 0, 1, 3, 0.25]
        let model = try denseModel()
        let start = model.weights()
        _ = try model.fit(x: x, y: y, count: n, sampleWeight: w, epochs: 1, batchSize: n, seed: 1)
        try assertStepIsMinusGradient(start: start, after: model.weights(), probe: try denseModel()) {
            try $0.evaluate(x: x, y: y, count: n, sampleWeight: w).loss
        }
    }

    func testWeightsOfTwoDoubleTheLearningRateBitForBit() throws {
        // Every step is linear in the loss gradient and scaling by 2 is exact in float.
        let data = templateData(count: 24, side: 1, channels: 5, labels: 3, seed: 3)
        let weighted = try denseModel(optimizer: .sgd(learningRate: 0.05, momentum: 0.9))
        _ = try weighted.fit(x: data.x, y: data.y, count: 24, sampleWeight: Array(repeating: 2, count: 24),
                             epochs: 2, batchSize: 5, seed: 8)
        let doubled = try denseModel(optimizer: .sgd(learningRate: 0.1, momentum: 0.9))
        _ = try doubled.fit(x: data.x, y: data.y, count: 24, epochs: 2, batchSize: 5, seed: 8)
        XCTAssertEqual(weighted.weights(), doubled.weights())
        // And weights of 1 are no weights at all (the loss and counts too, counts then weighted sums).
        let ones = try denseModel(optimizer: .adam(learningRate: 0.01))
        let hOnes = try ones.fit(x: data.x, y: data.y, count: 24, sampleWeight: Array(repeating: 1, count: 24),
                                 epochs: 2, batchSize: 5, seed: 8)
        let none = try denseModel(optimizer: .adam(learningRate: 0.01))
        let hNone = try none.fit(x: data.x, y: data.y, count: 24, epochs: 2, batchSize: 5, seed: 8)
        XCTAssertEqual(ones.weights(), none.weights())
        XCTAssertEqual(hOnes.epochs.map(\.loss), hNone.epochs.map(\.loss))
        XCTAssertTrue(hOnes.epochs[1].counts.isWeighted)
        let a = try hOnes.epochs[1].counts.precisionRecallFScore(average: nil, zeroDivision: .zero)
        let b = try hNone.epochs[1].counts.precisionRecallFScore(average: nil, zeroDivision: .zero)
        XCTAssertEqual(a.fScore, b.fScore)
    }

    func testShuffledBatchesCarryTheirSamplesWeights() throws {
        // Learning rate 0: the model never changes, so the epoch's loss and counts, gathered from
        // shuffled batches of 4, must be the weighted loss and counts of its predictions.
        let n = 22
        let data = templateData(count: n, side: 1, channels: 5, labels: 3, seed: 5)
        let w: [Double] = (0..<n).map { Double(($0 * 7) % 5) * 0.5 }
        let model = try denseModel(optimizer: .sgd(learningRate: 0))
        let h = try model.fit(x: data.x, y: data.y, count: n, sampleWeight: w, epochs: 1, batchSize: 4, seed: 3)
        let p = try model.predict(data.x, count: n)
        var expected = try ConfusionCounts(labelCount: 3)
        try data.y.withMatrixView(rows: n, columns: 3) { t in
            try p.withMatrixView(rows: n, columns: 3) { s in
                try w.withUnsafeBufferPointer { try expected.update(truth: t, prediction: s, sampleWeight: $0) }
            }
        }
        let got = try h.epochs[0].counts.precisionRecallFScore(average: nil, zeroDivision: .zero)
        let want = try expected.precisionRecallFScore(average: nil, zeroDivision: .zero)
        for (a, b) in zip(got.fScore, want.fScore) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        var loss = 0.0
        for i in 0..<n {
            var row = 0.0
            for j in 0..<3 {
                let q = Double(p[i * 3 + j]), t = Double(data.y[i * 3 + j])
                row -= t * log(q) + (1 - t) * log(1 - q)
            }
            loss += w[i] * row / 3
        }
        XCTAssertEqual(h.epochs[0].loss, loss / Double(n), accuracy: 1e-5)
        XCTAssertEqual(try model.evaluate(x: data.x, y: data.y, count: n, sampleWeight: w, batchSize: 5).loss,
                       loss / Double(n), accuracy: 1e-5)
    }

    func testBadWeightsAreRefusedAndChangeNothing() throws {
        let data = templateData(count: 4, side: 1, channels: 5, labels: 3, seed: 1)
        let model = try denseModel()
        let before = model.weights()
        func message(_ w: [Double]) -> String? {
            do {
                _ = try model.fit(x: data.x, y: data.y, count: 4, sampleWeight: w, epochs: 1, batchSize: 2, seed: 0)
                return nil
            } catch let e as TallyError { return e.message } catch { return "\(error)" }
        }
        XCTAssertEqual(message([1, 1, 1]), "Expected `sample_weight` to have 4 values (one per sample), but got 3")
        XCTAssertEqual(message([1, -1, 1, 1]), "Expected `sample_weight` to hold finite numbers >= 0, but got -1.0 at index 1")
        XCTAssertEqual(message([1, 1, .nan, 1]), "Expected `sample_weight` to hold finite numbers >= 0, but got nan at index 2")
        XCTAssertEqual(message([1, 1, 1, .infinity]), "Expected `sample_weight` to hold finite numbers >= 0, but got inf at index 3")
        XCTAssertThrowsError(try model.evaluate(x: data.x, y: data.y, count: 4, sampleWeight: [1]))
        XCTAssertEqual(model.iterations, 0)
        XCTAssertEqual(model.weights(), before)
    }
}
