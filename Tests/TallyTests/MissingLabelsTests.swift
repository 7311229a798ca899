import XCTest
@testable import Tally

/// Missing labels in the core: `MissingLabels` turns marks in `y_true` into element
/// weights, and the score store, binned histograms and ranking sums score each label
/// on its known rows (each row on its known labels). Expectations worked by hand in
/// the comments; python/tests/test_missing_labels.py compares with scikit-learn.
final class MissingLabelsTests: XCTestCase {
    // Five rows, three labels; -1 marks an unknown entry, row 4 has none known.
    let truth: [Double] = [1, 0, -1,
                           0, -1, 1,
                           1, 1, 0,
                           0, 1, -1,
                           -1, -1, -1]
    let scores: [Double] = [0.9, 0.4, .nan,
                            0.3, .nan, 0.8,
                            0.6, 0.7, 0.5,
                            0.2, 0.1, 0.9,
                            .nan, 0.5, 0.5]
    let known: [Double] = [1, 1, 0,
                           1, 0, 1,
                           1, 1, 1,
                           1, 1, 0,
                           0, 0, 0]

    func weights(rows: Range<Int> = 0..<5) throws -> [Double] {
        let part = Array(truth[(rows.lowerBound * 3)..<(rows.upperBound * 3)])
        return try part.withMatrixView(rows: rows.count, columns: 3) { try MissingLabels(ignoreValue: -1).elementWeights(truth: $0)! }
    }

    func update<A: ElementWeightedScoreAccumulator>(_ acc: inout A, rows: Range<Int> = 0..<5) throws {
        let w = try weights(rows: rows)
        let t = Array(truth[(rows.lowerBound * 3)..<(rows.upperBound * 3)])
        let s = Array(scores[(rows.lowerBound * 3)..<(rows.upperBound * 3)])
        try t.withMatrixView(rows: rows.count, columns: 3) { t in
            try s.withMatrixView(rows: rows.count, columns: 3) { s in
                try w.withMatrixView(rows: rows.count, columns: 3) { try acc.update(truth: t, scores: s, elementWeights: $0) }
            }
        }
    }

    func testMarksBecomeZeroWeights() throws {
        XCTAssertEqual(try weights(), known)
        // nan marks too, and a row weight multiplies the known entries.
        let y: [Double] = [1, .nan, 0, -1]
        let w = try y.withMatrixView(rows: 2, columns: 2) { t in
            try [2.0, 3.0].withUnsafeBufferPointer { try MissingLabels(ignoreValue: -1).elementWeights(truth: t, sampleWeight: $0) }
        }
        XCTAssertEqual(w, [2, 0, 3, 0])
        // Nothing unknown and no 2-D weight: nil, the caller takes the unmasked path.
        let none = try [1, 0, 0, 1].withMatrixView(rows: 2, columns: 2) { try MissingLabels(ignoreValue: -1).elementWeights(truth: $0) }
        XCTAssertNil(none)
        // Integer truth: -1 marks, nan cannot occur.
        let ints: [Int] = [1, -1, 0, 1]
        XCTAssertEqual(try ints.withMatrixView(rows: 2, columns: 2) { try MissingLabels(ignoreValue: -1).elementWeights(truth: $0) }, [1, 0, 1, 1])
    }

    func testIgnoreValueMayNotBeALabel() {
        for v in [0.0, 1.0] {
            XCTAssertThrowsError(try MissingLabels(ignoreValue: v)) { error in
                XCTAssertEqual("\(error)", "Expected `ignore_value` to differ from the labels 0 and 1, but got \(v == 0 ? "0.0" : "1.0")")
            }
        }
        XCTAssertNoThrow(try MissingLabels(ignoreValue: .nan))
    }

    func testScoreStoreScoresEachLabelOnItsKnownRows() throws {
        var store = try ScoreStore(labelCount: 3)
        try update(&store)
        // Label 0: truth 1,0,1,0 at 0.9,0.3,0.6,0.2 -> 1. Label 1: truth 0,1,1 at 0.4,0.7,0.1:
        // pairs (0.7 > 0.4) and (0.1 < 0.4) -> 0.5. Label 2: truth 1,0 at 0.8,0.5 -> 1.
        XCTAssertEqual(try store.rocAUC(average: nil).values, [1, 0.5, 1])
        // Micro: positives 0.9,0.6,0.7,0.1,0.8 against negatives 0.3,0.2,0.4,0.5: 16 of 20 pairs.
        XCTAssertEqual(try store.rocAUC(average: .micro).values, [0.8])
        // Samples: rows 0-2 rank their positive first (1), row 3 ranks 0.1 under 0.2 (0);
        // row 4 has no known label and is skipped: 3 / 4.
        let samples = try store.rocAUC(average: .samples)
        XCTAssertEqual(samples.values, [0.75])
        XCTAssertEqual(samples.undefined, [])
        XCTAssertEqual(samples.warnings, [])
        // AP label 1: 0.7 (P 1, R 1/2), 0.4 (negative), 0.1 (P 2/3, R 1) -> 1/2 + 1/3.
        XCTAssertEqual(try store.averagePrecision(average: nil).values, [1, 0.5 + 1.0 / 3, 1])
        // Curves and weighted support read the known cells only (label 1: 2 positives).
        let curve = store.curve(label: 1)
        XCTAssertEqual(curve.thresholds, [0.7, 0.4, 0.1])
        let weightedAUC: Double = (2.0 * 1 + 2.0 * 0.5 + 1.0 * 1) / 5
        XCTAssertEqual(try store.rocAUC(average: .weighted).values, [weightedAUC])
    }

    func testALabelWithNoKnownRowIsUndefined() throws {
        var store = try ScoreStore(labelCount: 3)
        try update(&store, rows: 3..<5)  // label 2 is unknown in both rows
        let auc = try store.rocAUC(average: nil)
        XCTAssertTrue(auc.values[2].isNaN)
        XCTAssertEqual(auc.undefined, [0, 1, 2])  // labels 0 and 1 have one class each
    }

    func testStoreMergesSerializesAndMixesWithPlainBatches() throws {
        var whole = try ScoreStore(labelCount: 3)
        try update(&whole)
        var first = try ScoreStore(labelCount: 3), second = first
        try update(&first, rows: 0..<2)
        try update(&second, rows: 2..<5)
        try first.merge(second)
        XCTAssertEqual(first, whole)
        XCTAssertEqual(try ScoreStore(serialized: whole.serialized()), whole)
        // A plain batch (rows 2 as all known) before the masked ones: label j weighs 1 there.
        var mixed = try ScoreStore(labelCount: 3)
        try Array(truth[6..<9]).withMatrixView(rows: 1, columns: 3) { t in
            try Array(scores[6..<9]).withMatrixView(rows: 1, columns: 3) { try mixed.update(truth: t, scores: $0) }
        }
        try update(&mixed, rows: 0..<2)
        try update(&mixed, rows: 3..<5)
        XCTAssertEqual(try mixed.rocAUC(average: nil).values, [1, 0.5, 1])
        XCTAssertEqual(try ScoreStore(serialized: mixed.serialized()), mixed)
    }

    func testBadBatchesThrowAndChangeNothing() throws {
        var store = try ScoreStore(labelCount: 3)
        try update(&store, rows: 0..<2)
        let before = store
        let w: [Double] = [1, 1, 1]
        for (t, s, message) in [([1.0, 2.0, 0.0], [0.5, 0.5, 0.5], "Expected `y_true` to hold only 0 and 1 where `sample_weight` is not 0, but got 2.0 at row 0, column 1"),
                                ([1.0, 0.0, 0.0], [0.5, .nan, 0.5], "Expected `y_score` to hold finite numbers where `sample_weight` is not 0, but got nan at row 0, column 1")] {
            XCTAssertThrowsError(try t.withMatrixView(rows: 1, columns: 3) { t in
                try s.withMatrixView(rows: 1, columns: 3) { s in
                    try w.withMatrixView(rows: 1, columns: 3) { try store.update(truth: t, scores: s, elementWeights: $0) }
                }
            }) { XCTAssertEqual("\($0)", message) }
        }
        XCTAssertThrowsError(try [1.0, 0, 0].withMatrixView(rows: 1, columns: 3) { t in
            try [0.5, 0.5, 0.5].withMatrixView(rows: 1, columns: 3) { s in
                try [1.0, 1].withMatrixView(rows: 1, columns: 2) { try store.update(truth: t, scores: s, elementWeights: $0) }
            }
        }) { XCTAssertEqual("\($0)", "Expected a 2-D `sample_weight` to have shape (1, 3) like `y_true`, but got (1, 2)") }
        XCTAssertEqual(store, before)
    }

    func testBinnedHistogramsSkipUnknownEntries() throws {
        var binned = try BinnedScores(labelCount: 3, bins: 10)
        try update(&binned)
        // Every known score sits in a bin of its own: the exact values.
        XCTAssertEqual(try binned.score(.rocAUC, average: nil).values, [1, 0.5, 1])
    }

    func testRankingRanksEachRowOverItsKnownLabels() throws {
        var sums = try RankingSums(labelCount: 3, topK: [1, 3])
        try update(&sums)
        // LRAP: rows 0-2 rank every relevant label on top (1); row 3's one relevant label is
        // second of two (1/2); row 4 is skipped -> 3.5 / 4.
        XCTAssertEqual(try sums.labelRankingAveragePrecision(), 0.875)
        // Coverage: 1, 1, 2, 2 -> 1.5. Ranking loss: only row 3's pair is misordered -> 1/4.
        XCTAssertEqual(try sums.coverageError(), 1.5)
        XCTAssertEqual(try sums.labelRankingLoss(), 0.25)
        // precision@1: rows 0-2 hit, row 3 misses. precision@3 over min(3, known labels):
        // 1/2, 1/2, 2/3, 1/2.
        let p = try sums.precisionAtTopK()
        XCTAssertEqual(p[0], 0.75)
        let atThree: Double = (0.5 + 0.5 + 2.0 / 3 + 0.5) / 4
        XCTAssertEqual(p[1], atThree, accuracy: 1e-15)
        XCTAssertEqual(sums.rowCount, 5)
        // Batching does not change the sums beyond the last bits.
        var parts = try RankingSums(labelCount: 3, topK: [1, 3])
        try update(&parts, rows: 0..<2)
        try update(&parts, rows: 2..<5)
        XCTAssertEqual(try parts.labelRankingAveragePrecision(), 0.875)
    }
}
