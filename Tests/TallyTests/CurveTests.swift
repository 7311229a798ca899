import XCTest
@testable import Tally

/// Threshold curves (`ThresholdCurve`, ROC and precision-recall curves), binned scores
/// (`BinnedScores`) and per-row confusion (`RowConfusion`) against scikit-learn's arrays
/// recorded by Fixtures/make_metric_fixtures.py: ties, a label with no positives or no
/// negatives, one score for every row, weights with weight-0 rows, scores outside the
/// binned range.
final class CurveTests: XCTestCase {
    struct Recorded {
        let truth: NPYArray, scores: NPYArray, weights: [Double]?
        /// scikit-learn's arrays, in the generator's order.
        var blocks: [[Double]]
        var rows: Int { truth.shape[0] }
        var labels: Int { truth.shape[1] }

        mutating func next(_ what: String, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
            guard !blocks.isEmpty else {
                XCTFail("no recorded block left for \(what)", file: file, line: line)
                return []
            }
            return blocks.removeFirst()
        }
    }

    /// The cases the generator wrote (CURVE_CASES); each must be there.
    let cases = [0, 1, 2]

    func recorded(_ k: Int) throws -> Recorded {
        let flat = try NPYArray(contentsOf: fixtures + "curves\(k)_expected.npy").doubles()
        var blocks: [[Double]] = []
        var i = 0
        while i < flat.count {
            let n = Int(flat[i])
            blocks.append(Array(flat[(i + 1)..<(i + 1 + n)]))
            i += 1 + n
        }
        let weighted = k != 0
        return Recorded(truth: try NPYArray(contentsOf: fixtures + "curves\(k)_y_true.npy"),
                        scores: try NPYArray(contentsOf: fixtures + "curves\(k)_y_score.npy"),
                        weights: weighted ? try NPYArray(contentsOf: fixtures + "curves\(k)_weight.npy").doubles() : nil,
                        blocks: blocks)
    }

    /// Calls `body` with each batch of `batchSize` rows as matrix views (and weights).
    func forEachBatch(_ r: Recorded, _ batchSize: Int,
                      _ body: (MatrixView, MatrixView, UnsafeBufferPointer<Double>?) throws -> Void) throws {
        try forEachRecordedBatch(truth: r.truth, scores: r.scores, weights: r.weights, batchSize: batchSize, body)
    }

    func testThresholdCurvesAreScikitLearns() throws {
        for k in cases {
            for batch in [1000, 7] {
                var r = try recorded(k)
                var store = try ScoreStore(labelCount: r.labels)
                try forEachBatch(r, batch) { try store.update(truth: $0, scores: $1, sampleWeight: $2) }
                for j in 0..<r.labels {
                    let at = "case \(k), label \(j), batches of \(batch)"
                    let c = store.curve(label: j)
                    // confusion_matrix_at_thresholds: fps, tps, thresholds.
                    assertClose(c.falsePositives, r.next("fps"), "fps, \(at)")
                    assertClose(c.truePositives, r.next("tps"), "tps, \(at)")
                    XCTAssertEqual(c.thresholds, r.next("thresholds"), "thresholds, \(at)")
                    for drop in [false, true] {
                        let roc = c.rocCurve(dropIntermediate: drop)
                        assertClose(roc.x, r.next("fpr"), "fpr, drop \(drop), \(at)")
                        assertClose(roc.y, r.next("tpr"), "tpr, drop \(drop), \(at)")
                        XCTAssertEqual(roc.thresholds, r.next("roc thresholds"), "roc thresholds, drop \(drop), \(at)")
                    }
                    for drop in [false, true] {
                        let pr = c.precisionRecallCurve(dropIntermediate: drop)
                        assertClose(pr.x, r.next("precision"), "precision, drop \(drop), \(at)")
                        assertClose(pr.y, r.next("recall"), "recall, drop \(drop), \(at)")
                        XCTAssertEqual(pr.thresholds, r.next("pr thresholds"), "pr thresholds, drop \(drop), \(at)")
                    }
                }
            }
        }
    }

    /// The warnings scikit-learn's curves raise for a label with one class (label 1 of
    /// cases 0 and 1 has no positives, of case 2 no negatives).
    func testOneClassCurvesWarnAsScikitLearn() throws {
        for k in cases {
            let r = try recorded(k)
            var store = try ScoreStore(labelCount: r.labels)
            try forEachBatch(r, 1000) { try store.update(truth: $0, scores: $1, sampleWeight: $2) }
            let c = store.curve(label: 1)
            XCTAssertEqual(c.hasPositive, k == 2, "case \(k)")
            XCTAssertEqual(c.hasNegative, k != 2, "case \(k)")
            XCTAssertEqual(c.rocCurve().warnings, k == 2 ? [.noNegatives] : [.noPositives], "case \(k)")
            XCTAssertEqual(c.precisionRecallCurve().warnings, k == 2 ? [] : [.noPositiveClass], "case \(k)")
            XCTAssertEqual(store.curve(label: 0).rocCurve().warnings, [], "case \(k)")
        }
    }

    func testBinnedScoresAreScikitLearnsOnTheBinnedScores() throws {
        for k in cases {
            var r = try recorded(k)
            // Skip the per-label curve blocks (5 curves of 3 arrays per label).
            r.blocks.removeFirst(15 * r.labels)
            let range = r.next("bins, low, high")
            XCTAssertEqual(range.count, 3)
            var binned = try BinnedScores(labelCount: r.labels, bins: Int(range[0]), low: range[1], high: range[2])
            var halves = [try BinnedScores(labelCount: r.labels, bins: Int(range[0]), low: range[1], high: range[2]), binned]
            var seen = 0
            try forEachBatch(r, 11) { t, s, w in
                try binned.update(truth: t, scores: s, sampleWeight: w)
                try halves[seen % 2].update(truth: t, scores: s, sampleWeight: w)
                seen += 1
            }
            try halves[0].merge(halves[1])
            XCTAssertEqual(halves[0], binned, "merged halves, case \(k)")
            XCTAssertEqual(try BinnedScores(serialized: binned.serialized()), binned, "restored, case \(k)")

            let roc = try binned.rocAUC(average: nil)
            assertClose(roc.values, r.next("binned roc None"), "binned ROC AUC per label, case \(k)")
            for average in [Average.micro, .macro, .weighted] {
                assertClose(try binned.rocAUC(average: average).values, r.next("binned roc"), "binned ROC AUC \(average), case \(k)")
            }
            let ap = try binned.averagePrecision(average: nil)
            assertClose(ap.values, r.next("binned ap None"), "binned AP per label, case \(k)")
            for average in [Average.micro, .macro, .weighted] {
                assertClose(try binned.averagePrecision(average: average).values, r.next("binned ap"), "binned AP \(average), case \(k)")
            }
            // The exact values on the raw scores lie in the intervals.
            for (result, exact, name) in [(roc, r.next("exact roc"), "ROC AUC"), (ap, r.next("exact ap"), "AP")] {
                XCTAssertEqual(exact.count, r.labels)
                for j in 0..<r.labels {
                    if exact[j].isNaN {
                        XCTAssertTrue(result.lower[j].isNaN && result.upper[j].isNaN, "\(name) label \(j), case \(k)")
                    } else {
                        XCTAssertLessThanOrEqual(result.lower[j], exact[j] + 1e-12, "\(name) lower, label \(j), case \(k)")
                        XCTAssertGreaterThanOrEqual(result.upper[j], exact[j] - 1e-12, "\(name) upper, label \(j), case \(k)")
                    }
                }
            }
            XCTAssertEqual(roc.undefined, [1], "case \(k)")
        }
    }

    func testRowConfusionIsScikitLearnsSamplewise() throws {
        for k in cases {
            var r = try recorded(k)
            r.blocks.removeFirst(15 * r.labels + 1 + 2 * 4 + 2)
            let expected = r.next("rows")
            XCTAssertEqual(expected.count, 4 * r.rows)
            XCTAssertTrue(r.blocks.isEmpty, "case \(k): blocks left over")
            var rows: RowConfusion?
            try forEachBatch(r, 1000) { t, s, w in
                rows = try RowConfusion(truth: t, prediction: s, sampleWeight: w, threshold: .scalar(0.5), kind: .scores)
            }
            switch rows {
            case .integers(let counts)?:
                XCTAssertNil(r.weights, "case \(k)")
                XCTAssertEqual(counts.map(Double.init), expected, "case \(k)")
            case .weighted(let counts)?:
                XCTAssertNotNil(r.weights, "case \(k)")
                assertClose(counts, expected, "case \(k)")
            case nil:
                XCTFail("no rows, case \(k)")
            }
        }
    }

    /// The fixture files are all there and hold what the tests above read.
    func testRecordedCasesAreComplete() throws {
        XCTAssertFalse(cases.isEmpty)
        for k in cases {
            let r = try recorded(k)
            XCTAssertEqual(r.blocks.count, 15 * r.labels + 1 + 2 * 4 + 2 + 1, "case \(k)")
            XCTAssertEqual(r.truth.shape, [60, 4])
            XCTAssertEqual(r.weights?.contains(0), k == 0 ? nil : true, "case \(k): weight-0 rows")
        }
    }
}
