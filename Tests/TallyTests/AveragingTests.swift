import XCTest
@testable import Tally

/// The one averaging kernel, on hand-checked tables: each row is what scikit-learn's
/// `_nanaverage`, `np.average` or `_average_binary_score` gives for the same input
/// (worked out by hand; the comments show the arithmetic).
final class AveragingTests: XCTestCase {
    func testSkipLeavesNanOut() {
        // (0.5 + 1) / 2
        XCTAssertEqual(averageScores([0.5, .nan, 1], nan: .skip), 0.75)
        // weights of the non-nan values: (0.5·1 + 1·3) / 4
        XCTAssertEqual(averageScores([0.5, .nan, 1], weights: [1, 5, 3], nan: .skip), 0.875)
        // the non-nan values' weights sum to 0: their unweighted mean
        XCTAssertEqual(averageScores([0.5, .nan, 1], weights: [0, 5, 0], nan: .skip), 0.75)
        // every value nan: nan
        XCTAssertTrue(averageScores([.nan, .nan], nan: .skip).isNaN)
        XCTAssertTrue(averageScores([], nan: .skip).isNaN)
        // multiplicity: [0.5, 0.5, 0.5, 1] → 2.5 / 4
        XCTAssertEqual(averageScores([0.5, .nan, 1], multiplicity: [3, 7, 1], nan: .skip), 0.625)
    }

    func testPropagateSpreadsNan() {
        XCTAssertEqual(averageScores([0.5, 0, 1], nan: .propagate), 0.5)
        XCTAssertTrue(averageScores([0.5, .nan, 1], nan: .propagate).isNaN)
        // a nan of weight 0 still spreads (np.average multiplies nan by 0)
        XCTAssertTrue(averageScores([0.5, .nan], weights: [1, 0], nan: .propagate).isNaN)
        // (0.5·2 + 1·2) / 4
        XCTAssertEqual(averageScores([0.5, 1], weights: [2, 2], nan: .propagate), 0.75)
        // rows [0, 0, 1]: 1/3
        XCTAssertEqual(averageScores([0, 1], multiplicity: [2, 1], nan: .propagate), 1.0 / 3)
    }

    func testZeroWeightIsZeroStopsOnlyWeightlessNan() {
        // weighted: the nan of weight 0 counts 0: (0.5·1 + 1·3) / 4
        XCTAssertEqual(averageScores([0.5, .nan, 1], weights: [1, 0, 3], nan: .zeroWeightIsZero), 0.875)
        // a nan of weight > 0 spreads
        XCTAssertTrue(averageScores([0.5, .nan, 1], weights: [1, 2, 3], nan: .zeroWeightIsZero).isNaN)
        // unweighted (macro): nan spreads, as scikit-learn's np.average
        XCTAssertTrue(averageScores([0.5, .nan], nan: .zeroWeightIsZero).isNaN)
        XCTAssertEqual(averageScores([0.5, 0.25], nan: .zeroWeightIsZero), 0.375)
    }

    /// numpy sums eight or more values pairwise: these per-label recalls have
    /// np.mean 0.42500000000000004 (scikit-learn's macro recall), where a
    /// left-to-right sum gives 0.425 (and a report would print 0.42, not 0.43).
    func testMeansSumAsNumpy() {
        let recalls = [0.5, 0, 0.7, 0.4, 0.4, 0.5, 0.4, 0.5]
        for rule in [NanRule.skip, .propagate, .zeroWeightIsZero] {
            XCTAssertEqual(averageScores(recalls, nan: rule), 0.42500000000000004, "\(rule)")
        }
    }

    func testBinaryScoreWeightsVanishAsNumpyIsClose() {
        XCTAssertTrue(binaryScoreWeightsVanish([0, 0]))
        XCTAssertTrue(binaryScoreWeightsVanish([1e-9]))
        XCTAssertFalse(binaryScoreWeightsVanish([0, 1e-7]))
    }

    /// Every average of every metric goes through the kernel: the same per-label
    /// values give the same macro and weighted results from precision (`_nanaverage`)
    /// and from specificity computed on the complemented arrays.
    func testSpecificityIsRecallOfTheComplement() throws {
        // y_true / y_pred of 4 rows × 3 labels; label 2 has no negatives in y_true.
        let truth: [UInt8] = [1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1]
        let pred: [Double] = [1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1]
        let counts = try makeCounts(truth, pred, labels: 3, kind: .labels)
        let complement = try makeCounts(truth.map { 1 - $0 }, pred.map { 1 - $0 }, labels: 3, kind: .labels)
        for average in [Average.macro, .weighted, .micro] {
            for zd in [ZeroDivision.zero, .one, .nan] {
                let spec = try counts.specificity(average: average, zeroDivision: zd).values
                let recall = try complement.precisionRecallFScore(average: average, zeroDivision: zd).recall
                assertClose(spec, recall, "\(average) \(zd)")
            }
        }
    }
}
