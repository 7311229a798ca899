import XCTest
@testable import Tally

/// F-beta's one definition and its edge cases. Expected values are scikit-learn
/// 1.9's `fbeta_score` on the arrays below (also checked by hand in the comments).
final class FBetaTests: XCTestCase {
    func testFractionAndEdgeCases() throws {
        // tp 1, predicted 2, actual 1: F1 = 2/3, F2 = 5·1/(4·1 + 2) = 5/6.
        let f1 = try FBeta(beta: 1).fraction(truePositives: 1, predicted: 2, actual: 1)
        XCTAssertEqual(f1.numerator / f1.denominator, 2.0 / 3)
        let f2 = try FBeta(beta: 2).fraction(truePositives: 1, predicted: 2, actual: 1)
        XCTAssertEqual(f2.numerator / f2.denominator, 5.0 / 6)
        // β = 0 is precision, β = ∞ recall.
        let p = try FBeta(beta: 0).fraction(truePositives: 1, predicted: 2, actual: 1)
        XCTAssertEqual(p.numerator / p.denominator, 0.5)
        let r = try FBeta(beta: .infinity).fraction(truePositives: 1, predicted: 2, actual: 1)
        XCTAssertEqual(r.numerator / r.denominator, 1)
        XCTAssertTrue(try FBeta(beta: 0).isPrecisionOrRecall)
        XCTAssertTrue(try FBeta(beta: .infinity).isPrecisionOrRecall)
        XCTAssertFalse(try FBeta(beta: 0.5).isPrecisionOrRecall)
        // Undefined only when tp + fp + fn = 0.
        XCTAssertEqual(try FBeta(beta: 2).fraction(truePositives: 0, predicted: 0, actual: 0).denominator, 0)
        XCTAssertGreaterThan(try FBeta(beta: 2).fraction(truePositives: 0, predicted: 1, actual: 0).denominator, 0)
    }

    func testRefusesNegativeAndNanBeta() {
        for beta in [-1.0, .nan, -.infinity] {
            XCTAssertThrowsError(try FBeta(beta: beta)) {
                XCTAssertTrue(($0 as? TallyError)?.message.hasPrefix("Expected `beta` to be a number >= 0, but got ") == true)
            }
        }
        XCTAssertThrowsError(try ConfusionCounts(labelCount: 1).precisionRecallFScore(beta: -1))
    }

    /// Rows (true / predicted): {0,1,2}/{0}, {}/{}, {1}/{1,2}. Per row: P = 1, R = 1/3;
    /// undefined; P = 1/2, R = 1. scikit-learn's `fbeta_score(average="samples")`:
    static let truth: [UInt8] = [1, 1, 1, 0, 0, 0, 0, 1, 0]
    static let pred: [Double] = [1, 0, 0, 0, 0, 0, 0, 1, 1]
    static let samples: [(beta: Double, zero: Double, one: Double, nan: Double, weightedOne: Double)] = [
        (0, 0.5, 0.8333333333333334, 0.75, 0.75),
        (1, 0.38888888888888884, 0.7222222222222222, 0.5833333333333333, 0.75),
        (2, 0.40598290598290604, 0.7393162393162394, 0.608974358974359, 0.8141025641025642),
        (.infinity, 0.4444444444444444, 0.7777777777777777, 0.6666666666666666, 0.888888888888889),
    ]

    func testSamplesAverageMatchesScikitLearn() throws {
        let counts = try makeCounts(Self.truth, Self.pred, labels: 3, kind: .labels)
        let weighted = try makeCounts(Self.truth, Self.pred, labels: 3, weights: [1, 2, 3], kind: .labels)
        for row in Self.samples {
            for (zd, want) in [(ZeroDivision.zero, row.zero), (.one, row.one), (.nan, row.nan)] {
                let got = try counts.precisionRecallFScore(beta: row.beta, average: .samples, zeroDivision: zd).fScore[0]
                XCTAssertEqual(got, want, accuracy: 1e-15, "beta \(row.beta) \(zd)")
            }
            let got = try weighted.precisionRecallFScore(beta: row.beta, average: .samples, zeroDivision: .one).fScore[0]
            XCTAssertEqual(got, row.weightedOne, accuracy: 1e-15, "beta \(row.beta) weighted")
        }
    }

    /// β = 0 and ∞ report undefined values as precision's and recall's only
    /// (scikit-learn does not warn about F for them); other β warn about F.
    func testWarningsForDegenerateBeta() throws {
        let counts = try makeCounts([0, 0], [0, 0], labels: 1, kind: .labels)
        let metrics = { (beta: Double) in try counts.precisionRecallFScore(beta: beta).warnings.map(\.metric) }
        XCTAssertEqual(try metrics(0), [.precision, .recall])
        XCTAssertEqual(try metrics(.infinity), [.precision, .recall])
        XCTAssertEqual(try metrics(1), [.precision, .recall, .fScore])
    }
}
