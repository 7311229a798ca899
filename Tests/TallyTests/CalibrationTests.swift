import XCTest
@testable import Tally

/// Calibration sums, reliability bins and the exact sums under them. Expected values
/// are worked out by hand in the comments, or recorded from scikit-learn / numpy
/// (named where they are).
final class CalibrationTests: XCTestCase {
    func sums(_ truth: [UInt8], _ scores: [Double], labels: Int, bins: Int = 15, weights: [Double]? = nil) throws -> CalibrationSums {
        var c = try CalibrationSums(labelCount: labels, bins: bins)
        try c.add(truth, scores, labels: labels, weights: weights)
        return c
    }

    // MARK: ExactSum

    func testExactSumIsTheRoundedExactSumInAnyOrder() throws {
        var s = ExactSum()
        for x in [1e16, 1, -1e16] { s.add(x) }
        XCTAssertEqual(s.value, 1)                       // a running sum gives 0
        var tenths = ExactSum()
        for _ in 0..<10 { tenths.add(0.1) }
        XCTAssertEqual(tenths.value, 1.0)                // math.fsum([0.1] * 10) == 1.0; a running sum 0.9999999999999999
        var a = ExactSum(), b = ExactSum()
        let values = [0.1, 0.2, 0.3, 1e-300, 3.5, 1e20, -1e20]
        for x in values { a.add(x) }
        for x in values.reversed() { b.add(x) }
        XCTAssertEqual(a.value, b.value)
        XCTAssertEqual(a.value, 4.1)                     // math.fsum of the list
        XCTAssertTrue(ExactSum().isZero)
        XCTAssertEqual(ExactSum().value, 0)
        XCTAssertThrowsError(try ExactSum(partials: [1, .nan]))
    }

    func testFixedPointScratchIsExactOnAndOffItsGrid() throws {
        // On the grid [2^-108, 2^63) and off it (tiny, subnormal, huge, negative, zero), in
        // two orders and with carry passes every 3 additions: the value is the exact sum's.
        var values: [Double] = [0.1, 0.2, 0.3, 1e-300, 3.5, 1e18, 9.2e18, 2e-33, 2e-32, 0, -0.0, -4.25,
                                Double.leastNonzeroMagnitude, 0x1p-108, 0x1.fffffffffffffp62, 0x1p63, 1 / 3]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 { values.append(Double.random(in: 0..<1, using: &generator) * 0x1p-40) }
        for _ in 0..<500 { values.append(Double.random(in: 0..<37, using: &generator)) }
        var direct = ExactSum()
        for x in values { direct.add(x) }
        for (order, interval) in [(values, 1 << 31), (values.reversed(), 3)] {
            var sums = [ExactSum(), ExactSum()]
            let scratch = FixedSumScratch(slots: 2, carryInterval: interval)
            for x in order { scratch.add(1, x, spill: &sums) }
            // Naming the touched slots reads only those (slot 0 was never added to).
            scratch.flush(into: &sums, touched: interval == 3 ? { $0 == 1 } : nil)
            XCTAssertEqual(sums[1].value, direct.value)
            XCTAssertTrue(sums[0].isZero)
            // Flushed means cleared: a second flush adds nothing.
            scratch.flush(into: &sums)
            XCTAssertEqual(sums[1].value, direct.value)
        }
        // Ten 0.1s: the exact sum rounds to 1.0 (math.fsum), a running sum to 0.9999999999999999.
        var tenths = [ExactSum()]
        let scratch = FixedSumScratch(slots: 1)
        for _ in 0..<10 { scratch.add(0, 0.1, spill: &tenths) }
        scratch.flush(into: &tenths)
        XCTAssertEqual(tenths[0].value, 1.0)
    }

    // MARK: Brier score and log loss

    func testBrierAndLogLossHandTable() throws {
        // Label 0: (y=1, p=0.8), (y=0, p=0.4): Brier ((0.2)² + (0.4)²)/2 = 0.1, log loss (−ln 0.8 − ln 0.6)/2.
        // Label 1: (y=1, p=0) clipped to 2^-52, (y=0, p=0): Brier (1 + 0)/2, log loss 52·ln 2 / 2.
        let c = try sums([1, 1, 0, 0], [0.8, 0, 0.4, 0], labels: 2)
        assertClose(try c.score(.brier), [0.1, 0.5], tolerance: 1e-16)
        assertClose(try c.score(.logLoss), [(0.2231435513142097 + 0.5108256237659907) / 2, 52 * 0.6931471805599453 / 2],
                    tolerance: 1e-15)
    }

    func testElementWeightsScoreEachLabelOnItsKnownRows() throws {
        // Unknown entries (weight 0) hold -1 and a score outside [0, 1]: neither is read.
        //   row 0: y (1, ?)   p (0.8, 7)    row 1: y (0, 1) p (0.4, 0.5)    row 2: y (?, ?) p (9, 9)
        // Label 0 on rows 0, 1: Brier (0.2² + 0.4²)/2 = 0.1; label 1 on row 1: 0.5² = 0.25.
        // micro (0.04 + 0.16 + 0.25)/3 = 0.15; samples: row 0 0.04, row 1 (0.16 + 0.25)/2, row 2
        // skipped: (0.04 + 0.205)/2 = 0.1225. Log loss of label 1: −ln 0.5.
        var c = try CalibrationSums(labelCount: 2, bins: 10)
        let truth: [Double] = [1, -1, 0, 1, -1, -1], scores: [Double] = [0.8, 7, 0.4, 0.5, 9, 9]
        let weights: [Double] = [1, 0, 1, 1, 0, 0]
        try truth.withMatrixView(rows: 3, columns: 2) { t in
            try scores.withMatrixView(rows: 3, columns: 2) { s in
                try weights.withMatrixView(rows: 3, columns: 2) { try c.update(truth: t, scores: s, elementWeights: $0) }
            }
        }
        assertClose(try c.score(.brier), [0.1, 0.25], tolerance: 1e-16)
        assertClose(try c.score(.brier, average: .micro), [0.15], tolerance: 1e-16)
        assertClose(try c.score(.brier, average: .samples), [0.1225], tolerance: 1e-16)
        assertClose([try c.score(.logLoss)[1]], [0.6931471805599453], tolerance: 1e-16)
        XCTAssertEqual(try c.reliability(label: 0).counts.reduce(0, +), 2)  // unknown entries are not counted
        XCTAssertEqual(try c.reliability(label: 1).counts, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0])  // 0.5 on an inner edge: lower bin
        XCTAssertEqual(c.rowCount, 3)
        XCTAssertEqual(try CalibrationSums(serialized: c.serialized()), c)
        // A known score outside [0, 1] is refused and changes nothing.
        let before = c
        XCTAssertThrowsError(try truth.withMatrixView(rows: 3, columns: 2) { t in
            try [0.8, 7, 1.5, 0.5, 9, 9].withMatrixView(rows: 3, columns: 2) { s in
                try weights.withMatrixView(rows: 3, columns: 2) { try c.update(truth: t, scores: s, elementWeights: $0) }
            }
        }) { XCTAssertTrue("\($0)".contains("where `sample_weight` is not 0, but got 1.5 at row 1, column 0"), "\($0)") }
        XCTAssertEqual(c, before)
    }

    func testFloat32ScoresClipAtFloat32Epsilon() throws {
        // (y=1, p=0) as float32 clips to 2^-23: log loss 23·ln 2.
        var c = try CalibrationSums(labelCount: 1)
        try [UInt8(1)].withMatrixView(rows: 1, columns: 1) { t in
            try [Float(0)].withMatrixView(rows: 1, columns: 1) { s in try c.update(truth: t, scores: s) }
        }
        assertClose(try c.score(.logLoss), [23 * 0.6931471805599453], tolerance: 1e-14)
    }

    func testWeightedAveragesHandTable() throws {
        // y = [[1,0],[0,1],[1,1],[0,0]], p = [[.9,.2],[.3,.8],[.6,.4],[.1,.05]], w = [1, 2, .5, 1.5].
        // Σw·(y−p)²: label 0 .01 + .18 + .08 + .015 = .285; label 1 .04 + .08 + .18 + .00375 = .30375; Σw = 5.
        // scikit-learn 1.9.1 brier_score_loss: 0.05700000000000001 and 0.06074999999999999; micro 0.058875.
        let c = try sums([1, 0, 0, 1, 1, 1, 0, 0], [0.9, 0.2, 0.3, 0.8, 0.6, 0.4, 0.1, 0.05], labels: 2,
                         weights: [1, 2, 0.5, 1.5])
        assertClose(try c.score(.brier), [0.057, 0.06075], tolerance: 1e-15)
        assertClose(try c.score(.brier, average: .micro), [0.058875], tolerance: 1e-15)
        assertClose(try c.score(.brier, average: .macro), [(0.057 + 0.06075) / 2], tolerance: 1e-15)
        // weighted by positive weight: label 0 1 + .5 = 1.5, label 1 2 + .5 = 2.5
        assertClose(try c.score(.brier, average: .weighted), [(0.057 * 1.5 + 0.06075 * 2.5) / 4], tolerance: 1e-15)
        assertClose(try c.score(.brier, average: .samples), [0.058875], tolerance: 1e-15)
        assertClose(try c.score(.brier, labels: [1]), [0.06075], tolerance: 1e-15)
        // scikit-learn 1.9.1 log_loss(labels=[0, 1]) per column and on the flattened cells
        assertClose(try c.score(.logLoss), [0.2464327977810052, 0.24090319229220652], tolerance: 1e-15)
        assertClose(try c.score(.logLoss, average: .micro), [0.24366799503660586], tolerance: 1e-15)
    }

    func testNoWeightIsNan() throws {
        let c = try sums([1, 0], [0.5, 0.5], labels: 1, weights: [0, 0])
        XCTAssertTrue(try c.score(.brier)[0].isNaN)
        XCTAssertTrue(try c.calibrationError(.expected)[0].isNaN)
        XCTAssertTrue(try c.calibrationError(.maximum)[0].isNaN)
    }

    // MARK: Bins, ECE, MCE

    func testUniformEdgesAreNumpyLinspace() {
        // np.linspace(0, 1, 11)[3] is 0.30000000000000004 (3 · 0.1), [10] exactly 1
        let e = uniformEdges(10)
        XCTAssertEqual(e[3], 0.30000000000000004)
        XCTAssertEqual(e[10], 1)
        XCTAssertEqual(e.count, 11)
    }

    func testECEAndMCEHandTable() throws {
        // Two bins. Bin 0: p = 0.2 (y=0), 0.4 (y=1): mean 0.3, fraction 0.5, gap 0.2.
        // Bin 1: p = 0.9 (y=1): gap 0.1. ECE = 2/3·0.2 + 1/3·0.1 = 0.5/3; MCE = 0.2.
        let c = try sums([0, 1, 1], [0.2, 0.4, 0.9], labels: 1, bins: 2)
        assertClose(try c.calibrationError(.expected), [0.5 / 3], tolerance: 1e-16)
        assertClose(try c.calibrationError(.maximum), [0.2], tolerance: 1e-16)
        let r = try c.reliability(label: 0)
        XCTAssertEqual(r.counts, [2, 1])
        assertClose(r.meanScores, [0.3, 0.9], tolerance: 1e-16)
        assertClose(r.fractionsPositive, [0.5, 1], tolerance: 0)
        // A score on the inner edge (0.5) belongs to the lower bin; 0 and 1 to the end bins.
        let edge = try sums([1, 0, 1], [0.5, 0, 1], labels: 1, bins: 2)
        XCTAssertEqual(try edge.reliability(label: 0).counts, [2, 1])
        // 0.30000000000000004 is edge 3 of 10: bin 2; 0.3 is below it: bin 2 too; 0.31: bin 3
        let tenths = try sums([0, 0, 0], [0.30000000000000004, 0.3, 0.31], labels: 1, bins: 10)
        XCTAssertEqual(try tenths.reliability(label: 0).counts, [0, 0, 2, 1, 0, 0, 0, 0, 0, 0])
    }

    func testCalibrationErrorAverages() throws {
        // Label 0 as in the hand table (ECE 0.5/3, MCE 0.2, two positives);
        // label 1: p = 0.1, 0.1, 0.6 with y = 0, 0, 0: bin 0 gap 0.1 (2 rows), bin 1 gap 0.6: ECE (0.2 + 0.6)/3.
        let c = try sums([0, 0, 1, 0, 1, 0], [0.2, 0.1, 0.4, 0.1, 0.9, 0.6], labels: 2, bins: 2)
        assertClose(try c.calibrationError(.expected), [0.5 / 3, 0.8 / 3], tolerance: 1e-15)
        assertClose(try c.calibrationError(.maximum), [0.2, 0.6], tolerance: 1e-15)
        assertClose(try c.calibrationError(.expected, average: .macro), [(0.5 / 3 + 0.8 / 3) / 2], tolerance: 1e-15)
        // weighted by positives (2 and 0): label 0 alone
        assertClose(try c.calibrationError(.expected, average: .weighted), [0.5 / 3], tolerance: 1e-15)
        // micro: bin 0 holds .2 .4 .1 .1 (y 0 1 0 0): |0.8 − 1| = 0.2; bin 1 .9 .6 (y 1 0): |1.5 − 1| = 0.5 → 0.7/6
        assertClose(try c.calibrationError(.expected, average: .micro), [0.7 / 6], tolerance: 1e-15)
        // MCE micro: bin 0 gap 0.2/4, bin 1 0.5/2
        assertClose(try c.calibrationError(.maximum, average: .micro), [0.25], tolerance: 1e-15)
        XCTAssertThrowsError(try c.calibrationError(.expected, average: .samples)) { error in
            XCTAssertTrue("\(error)".contains("'samples'"), "\(error)")
        }
    }

    func testEqualMassBinsFollowNumpyPercentile() throws {
        // np.percentile([0.05, .1, .1, .4, .7, .71, .9], linspace(0, 1, 4) * 100) is
        // [0.05, 0.1, 0.6999999999999997, 0.9]: (n − 1)·q is just below 4, so the edge
        // interpolates just below 0.7 and 0.7 lands in the top bin. calibration_curve
        // (strategy="quantile") gives prob_true [1/3, 0, 1], prob_pred [0.08333…, 0.4, 0.77].
        let scores = [0.05, 0.1, 0.1, 0.4, 0.7, 0.71, 0.9]
        var store = try ScoreStore(labelCount: 1)
        try store.add([0, 0, 1, 0, 1, 1, 1], scores, labels: 1)
        let r = try store.reliability(label: 0, bins: 3)
        XCTAssertEqual(r.counts, [3, 1, 3])
        XCTAssertEqual(r.edges, [0.05, 0.1, 0.6999999999999997, 0.9])
        assertClose(r.fractionsPositive, [1.0 / 3, 0, 1], tolerance: 1e-16)
        assertClose(r.meanScores, [0.25 / 3, 0.4, 0.77], tolerance: 1e-15)
        // numpy 2.4: [0.0, 3.3333333333333326, 6.666666666666665, 10.0] (q = 1/3·100/100 rounds below 1/3)
        assertClose(percentileEdges([0, 10], bins: 3), [0, 3.3333333333333326, 6.666666666666665, 10], tolerance: 0)
        XCTAssertTrue(percentileEdges([], bins: 2).allSatisfy(\.isNaN))
    }

    func testTableLayout() throws {
        // The hand table of testECEAndMCEHandTable: Brier (0.04 + 0.36 + 0.01)/3 = 0.13667,
        // log loss (−ln 0.8 − ln 0.4 − ln 0.9)/3 = 0.41493, ECE 1/6, MCE 0.2, two positives.
        let c = try sums([0, 1, 1], [0.2, 0.4, 0.9], labels: 1, bins: 2)
        let expected = """
            calibration of 3 rows: Brier score, log loss, ECE and MCE over 2 equal-width bins

                   label   brier  log_loss     ece     mce  positives
                     cat  0.1367    0.4149  0.1667  0.2000          2

               micro avg  0.1367    0.4149  0.1667  0.2000          2
               macro avg  0.1367    0.4149  0.1667  0.2000          2
            weighted avg  0.1367    0.4149  0.1667  0.2000          2
             samples avg  0.1367    0.4149                          2

            """
        XCTAssertEqual(try c.table(names: ["cat"], digits: 4), expected)
        XCTAssertThrowsError(try c.table(names: ["a", "b"]))
        XCTAssertThrowsError(try c.table(digits: 16))
    }

    // MARK: Streaming

    func testBatchingAndMergingGiveTheSameBits() throws {
        var g = SeededGenerator(seed: 7)
        let (rows, labels) = (101, 3)
        let truth = (0..<(rows * labels)).map { _ in UInt8.random(in: 0...1, using: &g) }
        let scores = (0..<(rows * labels)).map { _ in Double.random(in: 0...1, using: &g) }
        let weights = (0..<rows).map { _ in Double.random(in: 0...4, using: &g) }
        let whole = try sums(truth, scores, labels: labels, bins: 7, weights: weights)
        var merged = try CalibrationSums(labelCount: labels, bins: 7)
        for (a, b) in [(60, 101), (0, 17), (17, 60)] {
            let part = try sums(Array(truth[(a * labels)..<(b * labels)]), Array(scores[(a * labels)..<(b * labels)]),
                                labels: labels, bins: 7, weights: Array(weights[a..<b]))
            try merged.merge(part)
        }
        for loss in [CalibrationLoss.brier, .logLoss] {
            for average in [nil, Average.micro, .macro, .weighted, .samples] {
                XCTAssertEqual(try whole.score(loss, average: average), try merged.score(loss, average: average))
            }
        }
        XCTAssertEqual(try whole.calibrationError(.expected), try merged.calibrationError(.expected))
        XCTAssertEqual(try whole.reliability(label: 2).meanScores, try merged.reliability(label: 2).meanScores)
        let restored = try CalibrationSums(serialized: merged.serialized())
        XCTAssertEqual(try restored.score(.brier, average: .micro), try whole.score(.brier, average: .micro))
        XCTAssertEqual(restored.rowCount, 101)
        XCTAssertTrue(restored.isWeighted)
    }

    func testBadInputThrowsAndChangesNothing() throws {
        var c = try sums([1, 0], [0.7, 0.2], labels: 2, bins: 4)
        let before = c
        for (scores, message) in [([1.5, 0.2], "Expected `y_prob` to hold probabilities in [0, 1], but got 1.5 at row 0, column 0"),
                                  ([0.5, -0.1], "but got -0.1 at row 0, column 1"),
                                  ([0.5, .nan], "Expected `y_score` to hold finite numbers, but got nan")] {
            XCTAssertThrowsError(try c.add([1, 0], scores, labels: 2)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
        XCTAssertThrowsError(try c.add([2, 0], [0.5, 0.5], labels: 2))
        XCTAssertThrowsError(try c.add([1, 0], [0.5, 0.5], labels: 2, weights: [-1]))
        XCTAssertEqual(c, before)
        XCTAssertThrowsError(try CalibrationSums(labelCount: 2, bins: 0)) { error in
            XCTAssertEqual("\(error)", "Expected `n_bins` to be an integer in [1, 1048576], but got 0")
        }
        XCTAssertThrowsError(try CalibrationSums(labelCount: 0))
        XCTAssertThrowsError(try CalibrationSums(labelCount: 1 << 31, bins: 15)) { error in
            XCTAssertTrue("\(error)".contains("at most 4194304"), "\(error)")
        }
        XCTAssertThrowsError(try c.merge(try CalibrationSums(labelCount: 2, bins: 5)))
        XCTAssertThrowsError(try c.reliability(label: 2))
        XCTAssertThrowsError(try CalibrationSums(labelCount: 2).score(.brier)) // no rows
        var bytes = c.serialized()
        bytes.removeLast(8)
        XCTAssertThrowsError(try CalibrationSums(serialized: bytes))
        var corrupt = c.serialized()
        corrupt[5 * 8] = 9 // a bin count that no longer sums to the row count
        XCTAssertThrowsError(try CalibrationSums(serialized: corrupt))
    }
}

extension CalibrationSums {
    mutating func add(_ truth: [UInt8], _ scores: [Double], labels: Int, weights: [Double]? = nil) throws {
        let rows = truth.count / labels
        try truth.withMatrixView(rows: rows, columns: labels) { t in
            try scores.withMatrixView(rows: rows, columns: labels) { s in
                try weights.withOptionalBuffer { try update(truth: t, scores: s, sampleWeight: $0) }
            }
        }
    }
}

extension ScoreStore {
    mutating func add(_ truth: [UInt8], _ scores: [Double], labels: Int) throws {
        let rows = truth.count / labels
        try truth.withMatrixView(rows: rows, columns: labels) { t in
            try scores.withMatrixView(rows: rows, columns: labels) { s in try update(truth: t, scores: s) }
        }
    }
}
