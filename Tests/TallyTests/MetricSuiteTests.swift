import XCTest
@testable import Tally

/// The metric suite on recorded arrays (Fixtures/make_metric_fixtures.py): every
/// value equals scikit-learn's to 1e-12, fed in batches of several sizes, and
/// merged shards and serialized states give the same values.
final class MetricSuiteTests: XCTestCase {
    struct Recorded {
        let truth: NPYArray, scores: NPYArray, weights: [Double]?, expected: [Double]
        var rows: Int { truth.shape[0] }
        var labels: Int { truth.shape[1] }
    }

    func recorded(_ k: Int) throws -> Recorded {
        Recorded(truth: try NPYArray(contentsOf: fixtures + "metrics\(k)_y_true.npy"),
                 scores: try NPYArray(contentsOf: fixtures + "metrics\(k)_y_score.npy"),
                 weights: (try? NPYArray(contentsOf: fixtures + "metrics\(k)_weight.npy"))?.doubles(),
                 expected: try NPYArray(contentsOf: fixtures + "metrics\(k)_expected.npy").doubles())
    }

    /// Calls `body` with each batch of `batchSize` rows as matrix views (and weights).
    func forEachBatch(_ r: Recorded, _ batchSize: Int,
                      _ body: (MatrixView, MatrixView, UnsafeBufferPointer<Double>?) throws -> Void) throws {
        try forEachRecordedBatch(truth: r.truth, scores: r.scores, weights: r.weights, batchSize: batchSize, body)
    }

    func check(case k: Int, batchSize: Int) throws {
        let r = try recorded(k)
        let labels = r.labels
        var counts = try ConfusionCounts(labelCount: labels)
        var store = try ScoreStore(labelCount: labels)
        var ranking = try RankingSums(labelCount: labels)
        var ranking3 = try RankingSums(labelCount: labels, ndcgK: 3)
        try forEachBatch(r, batchSize) { t, s, w in
            try counts.update(truth: t, prediction: s, sampleWeight: w)
            try store.update(truth: t, scores: s, sampleWeight: w)
            try ranking.update(truth: t, scores: s, sampleWeight: w)
            try ranking3.update(truth: t, scores: s, sampleWeight: w)
        }
        var e = r.expected[...]
        func take(_ n: Int) -> [Double] { defer { e = e.dropFirst(n) }; return Array(e.prefix(n)) }
        let zero = ZeroDivision.zero
        let averages: [Average] = [.micro, .macro, .weighted, .samples]
        assertClose(try counts.jaccard(zeroDivision: zero).values, take(labels), "jaccard per label, case \(k)")
        for a in averages { assertClose(try counts.jaccard(average: a, zeroDivision: zero).values, take(1), "jaccard \(a)") }
        assertClose([counts.subsetAccuracy(), counts.hammingLoss(), counts.zeroOneLoss()], take(3), "accuracy, Hamming, zero-one")
        assertClose(try counts.matthewsCorrelation(), take(labels), "MCC per label")
        assertClose(try counts.labelAccuracy(), take(labels), "label accuracy")
        assertClose(try store.rocAUC(average: nil).values, take(labels), "ROC AUC per label, case \(k)")
        for a in averages { assertClose(try store.rocAUC(average: a).values, take(1), "ROC AUC \(a)") }
        assertClose(try store.rocAUC(average: .macro, maxFPR: 0.3).values, take(1), "partial ROC AUC")
        assertClose(try store.averagePrecision(average: nil).values, take(labels), "AP per label")
        for a in averages { assertClose(try store.averagePrecision(average: a).values, take(1), "AP \(a)") }
        assertClose([try ranking.labelRankingAveragePrecision(), try ranking.coverageError(), try ranking.labelRankingLoss(),
                     try ranking.ndcgScore(), try ranking3.ndcgScore()], take(5), "ranking, case \(k)")
        XCTAssertTrue(e.isEmpty)

        // Serialized states restore exactly; halves merge to the whole.
        XCTAssertEqual(try ScoreStore(serialized: store.serialized()), store)
        XCTAssertEqual(try RankingSums(serialized: ranking.serialized()), ranking)
        var first = try ScoreStore(labelCount: labels), second = try ScoreStore(labelCount: labels)
        var seen = 0
        try forEachBatch(r, 50) { t, s, w in
            if seen < 2 { try first.update(truth: t, scores: s, sampleWeight: w) } else { try second.update(truth: t, scores: s, sampleWeight: w) }
            seen += 1
        }
        try first.merge(second)
        XCTAssertEqual(first.serialized(), store.serialized())
    }

    func testRecordedCases() throws {
        for k in [0, 1] {
            for batch in [1, 17, 1000] { try check(case: k, batchSize: batch) }
        }
    }

    func testHandCheckedAUCWithTies() throws {
        // Positives at 0.8, 0.5; negatives at 0.5, 0.2: pairs (0.8>0.5), (0.8>0.2), (0.5=0.5 → ½), (0.5>0.2).
        var store = try ScoreStore(labelCount: 1)
        try [UInt8(1), 1, 0, 0].withMatrixView(rows: 4, columns: 1) { t in
            try [Float(0.8), 0.5, 0.5, 0.2].withMatrixView(rows: 4, columns: 1) { s in try store.update(truth: t, scores: s) }
        }
        XCTAssertEqual(try store.rocAUC(average: nil).values, [3.5 / 4])
        // AP: thresholds 0.8 (P=1, R=½), 0.5 (P=⅔, R=1), 0.2: ½·1 + ½·⅔.
        assertClose(try store.averagePrecision(average: nil).values, [0.5 + 1.0 / 3])
    }

    func testOneClassLabelIsUndefined() throws {
        var store = try ScoreStore(labelCount: 2)
        try [UInt8(0), 1, 0, 0].withMatrixView(rows: 2, columns: 2) { t in
            try [Float(0.1), 0.9, 0.3, 0.2].withMatrixView(rows: 2, columns: 2) { s in try store.update(truth: t, scores: s) }
        }
        let r = try store.rocAUC(average: nil)
        XCTAssertTrue(r.values[0].isNaN && r.values[1] == 1)
        XCTAssertEqual(r.undefined, [0])
        XCTAssertEqual(r.warnings.map(\.message), ["Only one class is present in y_true. ROC AUC score is not defined in that case."])
    }

    func testBadInputChangesNothing() throws {
        var store = try ScoreStore(labelCount: 2)
        XCTAssertThrowsError(try [UInt8(2), 1].withMatrixView(rows: 1, columns: 2) { t in
            try [Float(0.1), 0.9].withMatrixView(rows: 1, columns: 2) { s in try store.update(truth: t, scores: s) }
        }) { XCTAssertEqual(($0 as? TallyError)?.message, "Expected `y_true` to hold only 0 and 1, but got 2 at row 0, column 0") }
        XCTAssertThrowsError(try [UInt8(0), 1].withMatrixView(rows: 1, columns: 2) { t in
            try [Float.nan, 0.9].withMatrixView(rows: 1, columns: 2) { s in try store.update(truth: t, scores: s) }
        }) { XCTAssertEqual(($0 as? TallyError)?.message, "Expected `y_score` to hold finite numbers, but got nan at row 0, column 0") }
        XCTAssertEqual(store.rowCount, 0)
        XCTAssertThrowsError(try ScoreStore(serialized: [1, 2, 3]))
        XCTAssertThrowsError(try BinnedScores(labelCount: 1, bins: 0))
    }
}
