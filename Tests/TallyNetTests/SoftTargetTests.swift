@testable import TallyNet
import XCTest

/// Soft targets and label smoothing, as Keras trains on them; the exact counts read the
/// label a soft target stands for (`y >= 0.5`).
final class SoftTargetTests: XCTestCase {
    func testBinaryCrossentropyOfSoftAndSmoothedTargetsByHand() {
        // z = 2, y = 0.9: max(z, 0) - z·y + log(1 + e^-|z|) = 2 - 1.8 + log(1 + e^-2).
        let expected = 0.2 + log1p(exp(-2.0))
        let soft = binaryCrossentropyFromLogits(logits: [2], targets: [0.9], count: 1, probabilities: nil,
                                                gradient: nil, gradientScale: 1)
        XCTAssertEqual(soft, expected, accuracy: 1e-6)
        // Label smoothing 0.2 turns the label 1 into 1 · 0.8 + 0.1 = 0.9: the same loss.
        let smoothed = binaryCrossentropyFromLogits(logits: [2], targets: [1], count: 1, probabilities: nil,
                                                    gradient: nil, gradientScale: 1, labelSmoothing: 0.2)
        XCTAssertEqual(smoothed, expected, accuracy: 1e-6)
        // ... and 0 into 0.1: 2 - 0.2 + log(1 + e^-2).
        let zero = binaryCrossentropyFromLogits(logits: [2], targets: [0], count: 1, probabilities: nil,
                                                gradient: nil, gradientScale: 1, labelSmoothing: 0.2)
        XCTAssertEqual(zero, 1.8 + log1p(exp(-2.0)), accuracy: 1e-6)
    }

    func testCategoricalCrossentropyWithLabelSmoothingByHand() {
        // Two classes, logits (0, 0): log-sum-exp = log 2 for both; any targets summing to 1 give log 2.
        let l = categoricalCrossentropyFromLogits(logits: [0, 0], targets: [1, 0], rows: 1, width: 2, probabilities: nil,
                                                  gradient: nil, gradientScale: 1, labelSmoothing: 0.4)
        XCTAssertEqual(l, log(2.0), accuracy: 1e-6)
        // Logits (1, 0), smoothing 0.4: targets (0.8, 0.2); loss = lse - 0.8·1 with lse = log(e + 1).
        let m = categoricalCrossentropyFromLogits(logits: [1, 0], targets: [1, 0], rows: 1, width: 2, probabilities: nil,
                                                  gradient: nil, gradientScale: 1, labelSmoothing: 0.4)
        XCTAssertEqual(m, log(exp(1.0) + 1) - 0.8, accuracy: 1e-6)
    }

    func testSmoothedGradientsMatchFiniteDifferences() {
        let z: [Float] = [1.5, -0.5, 0.25, -2, 0.75, 0.1]
        let y: [Float] = [1, 0, 0.7, 0, 1, 0.3]
        for s: Float in [0, 0.1, 0.6] {
            let numeric = numericGradient({ zz in
                binaryCrossentropyFromLogits(logits: zz, targets: y, count: 6, probabilities: nil, gradient: nil,
                                             gradientScale: 1, labelSmoothing: s)
            }, at: z)
            var g = [Float](repeating: 0, count: 6)
            _ = binaryCrossentropyFromLogits(logits: z, targets: y, count: 6, probabilities: nil, gradient: &g,
                                             gradientScale: 1, labelSmoothing: s)
            for i in 0..<6 { XCTAssertEqual(Double(g[i]), numeric[i], accuracy: 1e-3, "s=\(s) i=\(i)") }
            let numericC = numericGradient({ zz in
                categoricalCrossentropyFromLogits(logits: zz, targets: [0, 1, 0, 0.25, 0.75, 0], rows: 2, width: 3,
                                                  probabilities: nil, gradient: nil, gradientScale: 1, labelSmoothing: s)
            }, at: z)
            _ = categoricalCrossentropyFromLogits(logits: z, targets: [0, 1, 0, 0.25, 0.75, 0], rows: 2, width: 3,
                                                  probabilities: nil, gradient: &g, gradientScale: 1, labelSmoothing: s)
            for i in 0..<6 { XCTAssertEqual(Double(g[i]), numericC[i], accuracy: 1e-3, "cce s=\(s) i=\(i)") }
        }
    }

    func testSoftTargetsTrainAndCountTheLabelsTheyStandFor() throws {
        let (side, channels, labels, count) = (6, 2, 3, 8)
        let data = templateData(count: count, side: side, channels: channels, labels: labels, seed: 4)
        // Soft targets on the same side of 0.5 as the labels (0 → 0.2 or 0.5-, 1 → 0.5 or 0.9).
        let soft = data.y.enumerated().map { i, v -> Float in v == 1 ? (i % 2 == 0 ? 0.5 : 0.9) : (i % 3 == 0 ? 0.2 : 0.45) }
        func model() throws -> Sequential {
            let m = try Sequential(inputShape: [side, side, channels], layers: [
                .flatten, .dense(units: labels, activation: .sigmoid),
            ], seed: 9)
            try m.compile(optimizer: .sgd(learningRate: 0.1), loss: .binaryCrossentropy())
            return m
        }
        let m = try model()
        _ = try m.fit(x: data.x, y: soft, count: count, epochs: 2, batchSize: 4, seed: 1)
        let hard = try m.evaluate(x: data.x, y: data.y, count: count)
        let softResult = try m.evaluate(x: data.x, y: soft, count: count)
        // Same predictions, and the counts' truth is the labels in both: equal counts.
        XCTAssertEqual(softResult.counts.truePositives, hard.counts.truePositives)
        XCTAssertEqual(softResult.counts.falsePositives, hard.counts.falsePositives)
        XCTAssertEqual(softResult.counts.falseNegatives, hard.counts.falseNegatives)
        XCTAssertNotEqual(softResult.loss, hard.loss)  // the loss does see the soft targets
        XCTAssertGreaterThan(data.y.filter { $0 == 1 }.count, 0)
    }
}
