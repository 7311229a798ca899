import XCTest
@testable import Tally

/// Hand-checked tables: scikit-learn's own crafted multi-label examples
/// (sklearn/metrics/tests/test_classification.py) and the edge cases.
final class PrecisionRecallFScoreTests: XCTestCase {
    // test_precision_recall_f1_score_multilabel_1
    let truth1: [UInt8] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1]
    let pred1: [Double] = [0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0]

    func testPerLabelMatchesScikitLearnExample() throws {
        let counts = try makeCounts(truth1, pred1, labels: 4, kind: .labels)
        XCTAssertEqual(counts.truePositives, [0, 1, 1, 0])
        XCTAssertEqual(counts.falseNegatives, [1, 0, 0, 1])
        XCTAssertEqual(counts.falsePositives, [1, 1, 0, 0])
        XCTAssertEqual(counts.trueNegatives, [1, 1, 2, 2])
        let r = try counts.precisionRecallFScore(average: nil, zeroDivision: .warn)
        assertClose(r.precision, [0, 0.5, 1, 0])
        assertClose(r.recall, [0, 1, 1, 0])
        assertClose(r.fScore, [0, 1 / 1.5, 1, 0])
        XCTAssertEqual(r.support, [1, 1, 1, 1])
        // Label 3 is never predicted: its precision is undefined (and warned about).
        XCTAssertEqual(r.warnings.map(\.metric), [.precision])
        let f2 = try counts.precisionRecallFScore(beta: 2).fScore
        assertClose(f2, [0, 5.0 / 6.0, 1, 0])
    }

    func testAveragesMatchScikitLearnExample() throws {
        let counts = try makeCounts(truth1, pred1, labels: 4, kind: .labels)
        let macro = try counts.precisionRecallFScore(average: .macro)
        assertClose(macro.precision + macro.recall + macro.fScore, [1.5 / 4, 0.5, 2.5 / 1.5 * 0.25])
        XCTAssertNil(macro.support)
        let micro = try counts.precisionRecallFScore(average: .micro)
        assertClose(micro.precision + micro.recall + micro.fScore, [0.5, 0.5, 0.5])
        let weighted = try counts.precisionRecallFScore(average: .weighted)
        assertClose(weighted.precision + weighted.recall + weighted.fScore, [1.5 / 4, 0.5, 2.5 / 1.5 * 0.25])
        let samples = try counts.precisionRecallFScore(average: .samples)
        assertClose(samples.precision + samples.recall + samples.fScore, [0.5, 0.5, 0.5])
        assertClose(try counts.precisionRecallFScore(beta: 2, average: .samples).fScore, [0.5])
    }

    // test_precision_recall_f1_score_with_an_empty_prediction
    func testEmptyPredictionsWarnAndReplace() throws {
        let truth: [UInt8] = [1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0]
        let pred: [Double] = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
        let counts = try makeCounts(truth, pred, labels: 4, kind: .labels)
        let r = try counts.precisionRecallFScore(average: nil)
        assertClose(r.precision, [0, 1, 1, 0])
        assertClose(r.recall, [0, 1 / 3, 1, 0])
        assertClose(r.fScore, [0, 0.5, 1, 0])
        XCTAssertEqual(r.support, [1, 3, 1, 0])
        XCTAssertEqual(r.warnings.map(\.message), [
            "Precision is ill-defined and being set to 0.0 in labels with no predicted samples. Use `zero_division` parameter to control this behavior.",
            "Recall is ill-defined and being set to 0.0 in labels with no true samples. Use `zero_division` parameter to control this behavior.",
            "F-score is ill-defined and being set to 0.0 in labels with no true nor predicted samples. Use `zero_division` parameter to control this behavior.",
        ])
        let macro = try counts.precisionRecallFScore(average: .macro)
        assertClose(macro.precision + macro.recall + macro.fScore, [0.5, 1.0 / 3.0, 0.375])
        let samples = try counts.precisionRecallFScore(average: .samples)
        assertClose(samples.precision + samples.recall + samples.fScore, [2.0 / 3.0, 1.0 / 3.0, 4.0 / 9.0])
    }

    func testZeroDivisionValuesAndNanLeavesTheAverages() throws {
        // Label 1 is never true nor predicted: its precision, recall and F are undefined.
        let truth: [UInt8] = [1, 0, 0, 1, 0, 0]
        let pred: [Double] = [1, 0, 1, 0, 0, 0]
        let counts = try makeCounts(truth, pred, labels: 3, kind: .labels)
        for (zd, v) in [(ZeroDivision.zero, 0.0), (.one, 1.0)] {
            let r = try counts.precisionRecallFScore(zeroDivision: zd)
            assertClose(r.precision, [1, v, 0])
            assertClose(r.recall, [0.5, v, v])
            XCTAssertEqual(r.warnings, [])
        }
        let nan = try counts.precisionRecallFScore(zeroDivision: .nan)
        assertClose(nan.precision, [1, .nan, 0])
        assertClose(nan.fScore, [2.0 / 3.0, .nan, 0])
        let macro = try counts.precisionRecallFScore(average: .macro, zeroDivision: .nan)
        assertClose(macro.precision, [0.5])    // mean of 1 and 0; nan left out
        assertClose(macro.recall, [0.5])       // only label 0 is defined
        let weighted = try counts.precisionRecallFScore(average: .weighted, zeroDivision: .nan)
        assertClose(weighted.precision, [1])   // support [2, 0, 0]
    }

    func testFScoreIsUndefinedOnlyWithoutTrueAndPredicted() throws {
        // Label 0: tp = 0, fp = 1, fn = 1 → precision and recall are 0, F is 0 (defined).
        let counts = try makeCounts([1, 0], [0, 1], labels: 1, kind: .labels)
        let r = try counts.precisionRecallFScore(zeroDivision: .one)
        assertClose(r.fScore, [0])
        // All negative: everything undefined.
        let empty = try makeCounts([0, 0], [0, 0], labels: 1, kind: .labels)
        assertClose(try empty.precisionRecallFScore(zeroDivision: .one).fScore, [1])
        XCTAssertEqual(try empty.precisionRecallFScore().warnings.map(\.metric), [.precision, .recall, .fScore])
        XCTAssertTrue(try empty.precisionRecallFScore().warnings[0].message.contains("due to no predicted samples"))
    }

    func testBetaExtremes() throws {
        let counts = try makeCounts(truth1, pred1, labels: 4, kind: .labels)
        let r = try counts.precisionRecallFScore()
        XCTAssertEqual(try counts.precisionRecallFScore(beta: 0).fScore, r.precision)
        XCTAssertEqual(try counts.precisionRecallFScore(beta: .infinity).fScore, r.recall)
        XCTAssertThrowsError(try counts.precisionRecallFScore(beta: -1)) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("Expected `beta` to be a number >= 0, but got -1.0"))
        }
    }

    func testLabelsSelectAndOrderColumns() throws {
        let counts = try makeCounts(truth1, pred1, labels: 4, kind: .labels)
        let r = try counts.precisionRecallFScore(labels: [2, 1])
        assertClose(r.precision, [1, 0.5])
        let micro = try counts.precisionRecallFScore(average: .micro, labels: [1, 2])
        assertClose(micro.precision, [2.0 / 3.0])
        XCTAssertThrowsError(try counts.precisionRecallFScore(labels: [4])) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("All labels must be in [0, n labels) for multilabel targets. Got 4 > 3"))
        }
        XCTAssertThrowsError(try counts.precisionRecallFScore(labels: [-1]))
        XCTAssertThrowsError(try counts.precisionRecallFScore(average: .samples, labels: [0, 1]))
    }

    func testSampleWeightsWeighRowsAndSamplesAverage() throws {
        let truth: [UInt8] = [1, 0, 0, 1, 1, 1]
        let pred: [Double] = [1, 1, 0, 1, 0, 0]
        let counts = try makeCounts(truth, pred, labels: 2, weights: [2, 0.5, 1], kind: .labels)
        XCTAssertEqual(counts.truePositives, [2, 0.5])
        XCTAssertEqual(counts.falsePositives, [0, 2])
        XCTAssertEqual(counts.falseNegatives, [1, 1])
        // Row precisions: [0.5, 1, 0 (undefined)], weights [2, 0.5, 1].
        let samples = try counts.precisionRecallFScore(average: .samples, zeroDivision: .zero)
        assertClose(samples.precision, [(0.5 * 2 + 1 * 0.5) / 3.5])
        let nan = try counts.precisionRecallFScore(average: .samples, zeroDivision: .nan)
        assertClose(nan.precision, [(0.5 * 2 + 1 * 0.5) / 2.5])
    }
}
