import XCTest
@testable import TallyNet
import Tally

/// Element (per sample and label) weights in the trainer, above all masks for missing
/// labels: the masked binary cross-entropy's gradient by finite differences, a whole
/// model's step against the finite differences of `evaluate`, and a masked entry that is
/// never read. Expectations are computed here from their definitions.
final class ElementMaskTests: XCTestCase {
    func testElementWeightedBinaryCrossentropyGradient() {
        // Two rows of three labels; weight 0 masks (0, 1) and (1, 2), whose targets are junk.
        let z: [Float] = [-3, -0.5, 0, 0.7, 2.5, 4]
        let y: [Float] = [0, -1, 1, 0, 1, .nan]
        let w: [Float] = [0.5, 0, 2, 1, 3, 0]
        let clean = zip(y, w).map { $1 == 0 ? 0 : $0 }  // the trainer reads masked targets as 0
        func loss(_ z: [Float]) -> Double {
            binaryCrossentropyFromLogits(logits: z, targets: clean, count: 6, probabilities: nil, gradient: nil,
                                         gradientScale: 1, width: 3, elementWeights: w)
        }
        var expected = 0.0
        for i in 0..<6 where w[i] != 0 {
            let p = 1 / (1 + exp(-Double(z[i])))
            expected += Double(w[i]) * (-Double(y[i]) * log(p) - (1 - Double(y[i])) * log(1 - p))
        }
        XCTAssertEqual(loss(z), expected, accuracy: 1e-5)
        var g = [Float](repeating: 7, count: 6)
        _ = binaryCrossentropyFromLogits(logits: z, targets: clean, count: 6, probabilities: nil, gradient: &g,
                                         gradientScale: 1, width: 3, elementWeights: w)
        for (a, n) in zip(g, numericGradient(loss, at: z)) { XCTAssertEqual(Double(a), n, accuracy: 2e-3 * max(1, abs(n))) }
        XCTAssertEqual(g[1], 0)
        XCTAssertEqual(g[5], 0)
        // Element weights that repeat the row weights give the row-weighted loss and gradient, bit for bit.
        var gRow = g, gCell = g
        let lRow = binaryCrossentropyFromLogits(logits: z, targets: clean, count: 6, probabilities: nil, gradient: &gRow,
                                                gradientScale: 0.25, sampleWeights: [0.5, 3], width: 3)
        let lCell = binaryCrossentropyFromLogits(logits: z, targets: clean, count: 6, probabilities: nil, gradient: &gCell,
                                                 gradientScale: 0.25, width: 3, elementWeights: [0.5, 0.5, 0.5, 3, 3, 3])
        XCTAssertEqual(lRow, lCell)
        XCTAssertEqual(gRow, gCell)
    }

    func denseModel(learningRate: Float = 1) throws -> Sequential {
        let model = try Sequential(inputShape: [5], layers: [
            .dense(units: 4, activation: .relu),
            .dense(units: 3, activation: .sigmoid),
        ], seed: 4)
        model.threadCount = 1
        try model.compile(optimizer: .sgd(learningRate: learningRate), loss: .binaryCrossentropy())
        return model
    }

    func run(_ model: Sequential, x: [Float], y: [Float], n: Int, cells: [Double], evaluate: Bool) throws -> Double {
        try x.withUnsafeBufferPointer { xp in
            try y.withMatrixView(rows: n, columns: 3) { yv in
                let data = LabeledData(x: xp, shape: [n, 5], y: yv, elementWeight: cells)
                if evaluate { return try model.evaluate(data, batchSize: n).loss }
                _ = try model.fit(data, epochs: 1, batchSize: n, seed: 1)
                return 0
            }
        }
    }

    func testModelGradientOfMaskedLossByFiniteDifferences() throws {
        // One plain-SGD step (lr 1) over one batch moves each weight by minus the gradient of
        // Σ w_ij · bce_ij / (n · labels), which `evaluate` computes: finite differences.
        let n = 6
        let x = randomFloats(n * 5, seed: 11)
        let mask: [Double] = (0..<(n * 3)).map { $0 % 4 == 1 || $0 >= 15 ? 0 : 1 }  // row 5 fully masked
        let cells = zip(mask, (0..<(n * 3)).map { Double($0 % 3) + 0.5 }).map { $0 * $1 }
        let y: [Float] = (0..<(n * 3)).map { mask[$0] == 0 ? -1 : Float($0 % 4 == 0 || $0 % 5 == 1 ? 1 : 0) }
        let model = try denseModel()
        let start = model.weights()
        _ = try run(model, x: x, y: y, n: n, cells: cells, evaluate: false)
        let checked = try assertStepIsMinusGradient(start: start, after: model.weights(), probe: try denseModel()) {
            try self.run($0, x: x, y: y, n: n, cells: cells, evaluate: true)
        }
        XCTAssertEqual(checked, 5 * 4 + 4 + 4 * 3 + 3)
    }

    func testMaskedEntriesAreNeverReadAndCountAsElementWeights() throws {
        // The same data with other values at the masked entries trains to the same weights,
        // and the epoch's counts are the element-weighted counts of its predictions.
        let n = 8
        let x = randomFloats(n * 5, seed: 2)
        let mask: [Double] = (0..<(n * 3)).map { $0 % 5 == 2 ? 0 : 1 }
        let y: [Float] = (0..<(n * 3)).map { Float($0 % 3 == 0 ? 1 : 0) }
        let a = try denseModel(learningRate: 0.1), b = try denseModel(learningRate: 0.1)
        _ = try run(a, x: x, y: zip(y, mask).map { $1 == 0 ? .nan : $0 }, n: n, cells: mask, evaluate: false)
        _ = try run(b, x: x, y: zip(y, mask).map { $1 == 0 ? 0.5 : $0 }, n: n, cells: mask, evaluate: false)
        XCTAssertEqual(a.weights(), b.weights())
        let result = try x.withUnsafeBufferPointer { xp in
            try y.withMatrixView(rows: n, columns: 3) { yv in
                try a.evaluate(LabeledData(x: xp, shape: [n, 5], y: yv, elementWeight: mask), batchSize: 3)
            }
        }
        let p = try a.predict(x, count: n)
        var expected = try ConfusionCounts(labelCount: 3)
        try y.withMatrixView(rows: n, columns: 3) { t in
            try p.withMatrixView(rows: n, columns: 3) { s in
                try mask.withMatrixView(rows: n, columns: 3) { try expected.update(truth: t, prediction: s, elementWeights: $0) }
            }
        }
        XCTAssertEqual(result.counts, expected)
        // Entries 2, 7, 12, 17, 22 masked: columns 2, 1, 0, 2, 1 of 8 rows each.
        XCTAssertEqual(result.counts.labelWeights, [7, 6, 6])
    }

    func testBadElementWeightsAreRefusedAndChangeNothing() throws {
        let n = 4
        let x = randomFloats(n * 5, seed: 1)
        let y: [Float] = Array(repeating: 0, count: n * 3)
        let model = try denseModel()
        let before = model.weights()
        func message(_ cells: [Double], sampleWeight: [Double]? = nil) -> String? {
            do {
                try x.withUnsafeBufferPointer { xp in
                    try y.withMatrixView(rows: n, columns: 3) { yv in
                        _ = try model.fit(LabeledData(x: xp, shape: [n, 5], y: yv, sampleWeight: sampleWeight, elementWeight: cells),
                                          epochs: 1, batchSize: 2, seed: 0)
                    }
                }
                return nil
            } catch let e as TallyError { return e.message } catch { return "\(error)" }
        }
        XCTAssertEqual(message([1, 1]), "Expected a 2-D `sample_weight` to have shape (4, 3), but got 2 values")
        XCTAssertEqual(message(Array(repeating: 1, count: 11) + [-1]),
                       "Expected `sample_weight` to hold finite numbers >= 0, but got -1.0 at (3, 2)")
        XCTAssertEqual(message(Array(repeating: 1, count: 12), sampleWeight: [1, 1, 1, 1]),
                       "Expected either a 1-D or a 2-D `sample_weight`, but got both")
        XCTAssertEqual(model.weights(), before)
        XCTAssertEqual(model.iterations, 0)
    }
}
