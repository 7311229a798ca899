import XCTest
@testable import Tally

/// Arrays recorded with numpy and scikit-learn's answers on them
/// (Fixtures/make_fixtures.py): the Swift core must agree to 1e-12.
final class RecordedArraysTests: XCTestCase {
    let zeroDivisions: [ZeroDivision] = [.zero, .one, .nan]
    let averages: [Average] = [.micro, .macro, .weighted, .samples]

    func check(case k: Int, batchSize: Int) throws {
        let truth = try NPYArray(contentsOf: fixtures + "case\(k)_y_true.npy")
        let scores = try NPYArray(contentsOf: fixtures + "case\(k)_y_score.npy")
        let weightPath = fixtures + "case\(k)_weight.npy"
        let weights = (try? NPYArray(contentsOf: weightPath))?.doubles()
        let perLabel = try NPYArray(contentsOf: fixtures + "case\(k)_per_label.npy")
        let averaged = try NPYArray(contentsOf: fixtures + "case\(k)_averaged.npy")
        let labels = truth.shape[1]
        var counts = try ConfusionCounts(labelCount: labels)
        // Feed the recorded rows in batches, straight from the .npy bytes.
        try forEachRecordedBatch(truth: truth, scores: scores, weights: weights, batchSize: batchSize) { t, s, w in
            try counts.update(truth: t, prediction: s, sampleWeight: w)
        }
        let expectedPerLabel = perLabel.doubles()
        let expectedAveraged = averaged.doubles()
        for (z, zd) in zeroDivisions.enumerated() {
            let r = try counts.precisionRecallFScore(zeroDivision: zd)
            for (m, values) in [r.precision, r.recall, r.fScore, r.support!].enumerated() {
                let start = (z * 4 + m) * labels
                assertClose(values, Array(expectedPerLabel[start..<(start + labels)]), "case \(k) zd \(zd) metric \(m)")
            }
            for (a, average) in averages.enumerated() {
                let r = try counts.precisionRecallFScore(average: average, zeroDivision: zd)
                let start = (a * 3 + z) * 3
                assertClose(r.precision + r.recall + r.fScore, Array(expectedAveraged[start..<(start + 3)]),
                            "case \(k) \(average) zd \(zd)")
            }
        }
    }

    func testUnweightedCases() throws {
        for k in [0, 1] {
            for batch in [1, 32, 1000] { try check(case: k, batchSize: batch) }
        }
    }

    func testWeightedCase() throws {
        for batch in [7, 1000] { try check(case: 2, batchSize: batch) }
    }
}
