import XCTest
@testable import Tally

/// Confidence intervals against values recorded from independent references:
/// SciPy (`norm.ppf`, `beta.ppf`/`isf`), statsmodels' `proportion_confint`
/// ('wilson', 'beta'), scikit-learn on each bootstrap replicate with the Poisson
/// weights drawn by numpy from the documented rule, and a numpy DeLong (Sun & Xu
/// 2014). The recording script is `python/tests/test_intervals.py`'s references.
final class IntervalTests: XCTestCase {
    // Six rows, three labels: predictions are score >= 0.5.
    let truth: [UInt8] = [1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0]
    let scores: [Double] = [0.9, 0.2, 0.4, 0.1, 0.8, 0.7, 0.6, 0.3, 0.1, 0.7, 0.1, 0.2, 0.2, 0.9, 0.8, 0.3, 0.6, 0.1]

    func testNormalAndBetaQuantilesMatchSciPy() {
        XCTAssertEqual(Distributions.normalQuantile(0.025), -1.9599639845400545, accuracy: 1e-15)
        XCTAssertEqual(Distributions.normalQuantile(0.995), 2.5758293035489004, accuracy: 1e-15)
        XCTAssertEqual(Distributions.normalQuantile(1e-10), -6.361340902404056, accuracy: 1e-14)
        XCTAssertTrue(Distributions.normalQuantile(1.5).isNaN)
        // (p, a, b, beta.ppf(p, a, b), beta.isf(p, a, b), beta.cdf(0.3, a, b))
        let cases: [(Double, Double, Double, Double, Double, Double)] = [
            (0.025, 3, 8, 0.06673951117773447, 0.5560954623076415, 0.6172172136000003),
            (0.025, 1, 1e6, 2.5317807663794178e-08, 3.688872650206489e-06, 1.0),
            (0.005, 1234.5, 88.25, 0.9144020488248353, 0.9497068318769987, 0.0),
            (0.3, 0.5, 0.5, 0.2061073738537634, 0.7938926261462365, 0.36901011956554536),
        ]
        for (p, a, b, ppf, isf, cdf) in cases {
            XCTAssertEqual(Distributions.betaQuantile(p, a, b), ppf, accuracy: 1e-11 * ppf, "ppf \(p) \(a) \(b)")
            XCTAssertEqual(Distributions.betaQuantile(p, a, b, upper: true), isf, accuracy: 1e-11 * isf, "isf \(p) \(a) \(b)")
            XCTAssertEqual(Distributions.betaCDF(0.3, a, b), cdf, accuracy: 1e-13, "cdf \(a) \(b)")
        }
    }

    func testProportionIntervalsMatchStatsmodels() {
        // (successes, trials, wilson 95% lower/upper, beta 90% lower/upper)
        let cases: [(Double, Double, Double, Double, Double, Double)] = [
            (3, 10, 0.10779126740630099, 0.6032218525388546, 0.0872644339141503, 0.6066242161054123),
            (0, 10, 0.0, 0.2775327998628892, 0.0, 0.2588655508930523),
            (10, 10, 0.7224672001371107, 0.9999999999999999, 0.7411344491069477, 1.0),
            (1, 123457, 1.4298478952018709e-06, 4.58844158962246e-05, 4.1547489192197944e-07, 3.842465465349655e-05),
            (4.5, 7.25, 0.29029227589909623, 0.8674867889011897, 0.26909875019210155, 0.8963135047371794),
        ]
        for (s, n, wl, wu, bl, bu) in cases {
            let w = proportionInterval(successes: s, trials: n, level: 0.95, method: .wilson)
            let b = proportionInterval(successes: s, trials: n, level: 0.9, method: .clopperPearson)
            assertClose([w.lower, w.upper, b.lower, b.upper], [wl, wu, bl, bu], tolerance: 1e-10 * max(wl, 1e-5), "\(s)/\(n)")
        }
        let none = proportionInterval(successes: 0, trials: 0, level: 0.95, method: .wilson)
        XCTAssertTrue(none.lower.isNaN && none.upper.isNaN)
    }

    func testCountsProportionIntervals() throws {
        let counts = try makeCounts(truth, scores, labels: 3)
        // statsmodels' proportion_confint(method="beta", alpha=0.1) of the counts numpy found.
        let twoOfThree = (0.13535036217158378, 0.9830475724915585)
        let expected: [(IntervalMetric, [Double], [Double], [Double])] = [
            (.precision, [twoOfThree.0, twoOfThree.0, 0.22360679774997894], [twoOfThree.1, twoOfThree.1, 1.0], [2 / 3, 2 / 3, 1]),
            (.recall, [twoOfThree.0, twoOfThree.0, twoOfThree.0], [twoOfThree.1, twoOfThree.1, twoOfThree.1], [2 / 3, 2 / 3, 2 / 3]),
            (.specificity, [twoOfThree.0, twoOfThree.0, 0.36840314986403866], [twoOfThree.1, twoOfThree.1, 1.0], [2 / 3, 2 / 3, 1]),
            (.negativePredictiveValue, [twoOfThree.0, twoOfThree.0, 0.2486046257301818],
             [twoOfThree.1, twoOfThree.1, 0.9872585449014338], [2 / 3, 2 / 3, 3 / 4]),
            (.labelAccuracy, [0.27133837251975246, 0.27133837251975246, 0.41819659074797405],
             [0.9371501082916456, 0.9371501082916456, 0.9914875553891529], [4 / 6, 4 / 6, 5 / 6]),
        ]
        for (metric, lower, upper, point) in expected {
            let r = try counts.proportionIntervals(metric, level: 0.9, method: .clopperPearson)
            assertClose(r.lower, lower, tolerance: 1e-11, metric.rawValue)
            assertClose(r.upper, upper, tolerance: 1e-11, metric.rawValue)
            assertClose(r.point, point, tolerance: 1e-15, metric.rawValue)
        }
        // Micro recall: 6 of 9, Wilson 95%.
        let micro = try counts.proportionIntervals(.recall, average: .micro, level: 0.95, method: .wilson)
        assertClose(micro.lower + micro.upper, [0.3542021355803963, 0.879416181613089], tolerance: 1e-12)
    }

    func testPoissonDrawsFollowTheRecordedRule() {
        // numpy's implementation of the documented rule (test_intervals.numpy_poisson_weights).
        let seed0: [[Double]] = [[1, 1, 1, 1, 1, 2, 3, 3], [0, 1, 0, 0, 1, 1, 1, 0], [0, 1, 0, 1, 0, 0, 1, 1],
                                 [0, 2, 3, 0, 1, 0, 1, 0], [1, 2, 0, 0, 1, 2, 1, 0], [0, 1, 2, 4, 2, 2, 2, 2]]
        XCTAssertEqual(PoissonDraws(seed: 0).weights(rows: Array(0..<6), replicates: 8), seed0.flatMap { $0 })
        XCTAssertEqual(PoissonDraws(seed: 42).weights(rows: [7, 1 << 40], replicates: 6), [1, 0, 1, 0, 0, 1, 1, 1, 2, 0, 2, 0])
    }

    func testBootstrapReplicatesEqualScikitLearnWithTheirWeights() throws {
        let counts = try makeCounts(truth, scores, labels: 3)
        var replicates = try BootstrapCounts(labelCount: 3, replicates: 8, seed: 0)
        try add(&replicates, rows: 0..<2)
        try add(&replicates, rows: 2..<6)
        // f1_score(average="macro" / "samples", sample_weight=w_b, zero_division=0) per replicate.
        let macro = [0.4444444444444444, 0.6428571428571428, 0.4666666666666666, 0.6296296296296297,
                     0.7190476190476192, 0.7222222222222222, 0.7071428571428572, 0.6]
        let samples = [0.5833333333333333, 0.5416666666666666, 0.4444444444444444, 0.8888888888888888,
                       0.6944444444444443, 0.7619047619047619, 0.6851851851851851, 0.7777777777777777]
        assertClose(try replicates.distribution(.f1, average: .macro).map { $0[0] }, macro, tolerance: 1e-15)
        assertClose(try replicates.distribution(.f1, average: .samples).map { $0[0] }, samples, tolerance: 1e-15)
        // matthews_corrcoef per label, replicate 1 and 6.
        let mcc = try replicates.distribution(.matthews)
        assertClose(mcc[1], [0.0, 0.2581988897471611, 0.7745966692414834], tolerance: 1e-15)
        assertClose(mcc[6], [0.55, 0.55, 0.47809144373375745], tolerance: 1e-15)
        // np.percentile(values, [5, 95]) around f1_score(average="macro").
        let r = try counts.confidenceIntervals(.f1, method: .bootstrap, replicates: replicates, average: .macro, level: 0.9)
        assertClose(r.lower + r.upper + r.point, [0.4522222222222222, 0.7211111111111111, 0.7111111111111111], tolerance: 1e-15)
    }

    func testBootstrapMergesAndSerializes() throws {
        var one = try BootstrapCounts(labelCount: 3, replicates: 5, seed: 9)
        try add(&one, rows: 0..<6)
        var first = try BootstrapCounts(labelCount: 3, replicates: 5, seed: 9)
        var second = first
        try add(&second, rows: 3..<6, ids: [3, 4, 5])
        try add(&first, rows: 0..<3)
        try second.merge(first)
        XCTAssertEqual(second, one)
        XCTAssertEqual(second.serialized(), one.serialized())
        XCTAssertEqual(try BootstrapCounts(serialized: one.serialized()), one)
        // Without ids the second shard reuses ids 0, 1, 2: other draws.
        var reused = try BootstrapCounts(labelCount: 3, replicates: 5, seed: 9)
        try add(&reused, rows: 3..<6)
        try reused.merge(first)
        XCTAssertNotEqual(reused, one)
        var truncated = one.serialized()
        truncated.removeLast(8)
        XCTAssertThrowsError(try BootstrapCounts(serialized: truncated))
    }

    func testBadInputIsRefusedAndChangesNothing() throws {
        let counts = try makeCounts(truth, scores, labels: 3)
        var replicates = try BootstrapCounts(labelCount: 3, replicates: 4, seed: 1)
        try add(&replicates, rows: 0..<6)
        let before = replicates
        for level in [0.0, 1.0, -2, .nan] {
            XCTAssertThrowsError(try counts.proportionIntervals(.recall, level: level)) { error in
                XCTAssertTrue("\(error)".hasPrefix("Expected `level` to be between 0 and 1 (exclusive), but got"), "\(error)")
            }
        }
        XCTAssertThrowsError(try counts.confidenceIntervals(.f1, method: .wilson)) { error in
            XCTAssertTrue("\(error)".contains("use method='bootstrap'"), "\(error)")
        }
        XCTAssertThrowsError(try counts.confidenceIntervals(.f1, method: .bootstrap)) { error in
            XCTAssertTrue("\(error)".contains("Expected bootstrap replicates for method='bootstrap'"), "\(error)")
        }
        XCTAssertThrowsError(try IntervalMethod(parsing: "normal"))
        XCTAssertThrowsError(try IntervalMetric(parsing: "auc"))
        var other = try BootstrapCounts(labelCount: 3, replicates: 4, seed: 2)
        XCTAssertThrowsError(try other.merge(replicates))
        XCTAssertThrowsError(try add(&replicates, rows: 0..<6, ids: [1, 2]))
        var badTruth = truth
        badTruth[4] = 2
        XCTAssertThrowsError(try badTruth.withMatrixView(rows: 6, columns: 3) { t in
            try scores.withMatrixView(rows: 6, columns: 3) { try replicates.update(truth: t, prediction: $0) }
        }) { error in XCTAssertTrue("\(error)".contains("Expected `y_true` to hold only 0 and 1"), "\(error)") }
        XCTAssertEqual(replicates, before)
        XCTAssertThrowsError(try BootstrapCounts(labelCount: 3, replicates: 0))
    }

    func testDeLongMatchesNumpy() throws {
        let y: [UInt8] = [1, 0, 1, 1, 0, 0, 1, 0, 0, 1]
        let a = [0.9, 0.3, 0.7, 0.7, 0.2, 0.7, 0.4, 0.1, 0.5, 0.8]
        let b = [0.6, 0.4, 0.9, 0.5, 0.3, 0.2, 0.6, 0.2, 0.7, 0.5]
        let storeA = try store(y, a), storeB = try store(y, b)
        let (interval, variance) = try storeA.delongIntervals(level: 0.95)
        // numpy_delong: AUC 0.88 with variance 0.0118; AUC_B 0.84 (0.0272), covariance 0.0034.
        assertClose(interval.point, [0.88], tolerance: 1e-15)
        assertClose(variance, [0.011800000000000001], tolerance: 1e-15)
        assertClose(interval.lower + interval.upper, [0.6670934146528326, 1], tolerance: 1e-14)
        let test = try delongTest(storeA, storeB)
        assertClose(test.aucA + test.aucB, [0.88, 0.84], tolerance: 1e-15)
        assertClose(test.variance, [0.032200000000000006], tolerance: 1e-15)
        assertClose(test.z, [0.22291128503014132], tolerance: 1e-13)
        assertClose(test.pValue, [0.8236045531753549], tolerance: 1e-13)
        XCTAssertThrowsError(try delongTest(storeA, try store(y.map { 1 - $0 }, b))) { error in
            XCTAssertTrue("\(error)".contains("label 0's y_true differs"), "\(error)")
        }
    }

    func testReportIntervalColumns() throws {
        let counts = try makeCounts(truth, scores, labels: 3)
        let report = try ClassificationReport(counts, zeroDivision: .zero, intervalMethod: .wilson, level: 0.95)
        // Wilson bounds from statsmodels: 2/3 -> [0.21, 0.94], 2/2 -> [0.34, 1.00],
        // micro precision 6/8 -> [0.41, 0.93], micro recall 6/9 -> [0.35, 0.88].
        let lines = report.text(digits: 2).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "              precision    recall  f1-score   support  precision CI     recall CI")
        XCTAssertEqual(lines[2], "           0       0.67      0.67      0.67         3  [0.21, 0.94]  [0.21, 0.94]")
        XCTAssertEqual(lines[4], "           2       1.00      0.67      0.80         3  [0.34, 1.00]  [0.21, 0.94]")
        XCTAssertEqual(lines[6], "   micro avg       0.75      0.67      0.71         9  [0.41, 0.93]  [0.35, 0.88]")
        XCTAssertEqual(lines[7], "   macro avg       0.78      0.67      0.71         9")
        XCTAssertEqual(lines[11], "intervals: wilson, level 0.95")
        // Without an interval method the layout is scikit-learn's.
        let plain = try ClassificationReport(counts, zeroDivision: .zero).text(digits: 2)
        XCTAssertFalse(plain.contains("CI"))
        XCTAssertTrue(report.markdown().hasPrefix("| label | precision | recall | f1-score | support | precision CI | recall CI |\n|---|---:|---:|---:|---:|---:|---:|\n"))
    }

    func testBootstrapWithElementWeightsEqualsCountsWeightedByTheDraws() throws {
        // A mask (0 = missing: the -1 there is not read) and a weight, on the six rows.
        var maskedTruth = truth
        maskedTruth[1] = 255
        let weights: [Double] = [1, 0, 1, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0.5, 1, 3]
        var replicates = try BootstrapCounts(labelCount: 3, replicates: 8, seed: 0)
        try maskedTruth.withMatrixView(rows: 6, columns: 3) { t in
            try scores.withMatrixView(rows: 6, columns: 3) { s in
                try weights.withMatrixView(rows: 6, columns: 3) { try replicates.update(truth: t, prediction: s, elementWeights: $0) }
            }
        }
        XCTAssertEqual(try BootstrapCounts(serialized: replicates.serialized()), replicates)
        let draws = PoissonDraws(seed: 0).weights(rows: Array(0..<6), replicates: 8)
        for b in 0..<8 {
            let scaled = (0..<18).map { weights[$0] * draws[($0 / 3) * 8 + b] }
            var expected = try ConfusionCounts(labelCount: 3)
            try maskedTruth.withMatrixView(rows: 6, columns: 3) { t in
                try scores.withMatrixView(rows: 6, columns: 3) { s in
                    try scaled.withMatrixView(rows: 6, columns: 3) { try expected.update(truth: t, prediction: s, elementWeights: $0) }
                }
            }
            let got = replicates.replicate(b)
            assertClose(got.truePositives + got.falsePositives + got.trueNegatives, expected.truePositives
                        + expected.falsePositives + expected.trueNegatives, tolerance: 1e-12, "replicate \(b)")
            assertClose(try got.jaccard(average: .samples, zeroDivision: .zero).values,
                        try expected.jaccard(average: .samples, zeroDivision: .zero).values, tolerance: 1e-12, "replicate \(b)")
        }
    }

    // MARK: Helpers

    func add(_ replicates: inout BootstrapCounts, rows: Range<Int>, ids: [UInt64]? = nil) throws {
        let t = Array(truth[(3 * rows.lowerBound)..<(3 * rows.upperBound)])
        let s = Array(scores[(3 * rows.lowerBound)..<(3 * rows.upperBound)])
        try t.withMatrixView(rows: rows.count, columns: 3) { tv in
            try s.withMatrixView(rows: rows.count, columns: 3) { try replicates.update(truth: tv, prediction: $0, rowIDs: ids) }
        }
    }

    func store(_ y: [UInt8], _ s: [Double]) throws -> ScoreStore {
        var store = try ScoreStore(labelCount: 1)
        try y.withMatrixView(rows: y.count, columns: 1) { t in
            try s.withMatrixView(rows: s.count, columns: 1) { try store.update(truth: t, scores: $0) }
        }
        return store
    }
}
