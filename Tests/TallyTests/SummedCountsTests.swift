import XCTest
@testable import Tally

/// The summed state (the Keras metrics' variables): its layout, one batch's
/// contributions on hand-checked rows, and the samples average read from it
/// against scikit-learn's values (the same rows as FBetaTests).
final class SummedCountsTests: XCTestCase {
    func testLayoutOffsets() {
        // 2 labels: tp [0, 2), fp [2, 4), fn [4, 6), rows 6, weight 7, four blocks of
        // four row sums from 8, exact-match weight 24, known-row weight per label [25, 27), size 27.
        let layout = SummedCounts.Layout(labelCount: 2)
        XCTAssertEqual([layout.truePositives, layout.falsePositives, layout.falseNegatives, layout.rows, layout.weightSum],
                       [0, 2, 4, 6, 7])
        XCTAssertEqual(SummedCounts.RowScore.allCases.map(layout.rowSums), [8, 12, 16, 20])
        XCTAssertEqual(layout.exactMatchWeight, 24)
        XCTAssertEqual(layout.labelWeights, 25)
        XCTAssertEqual(layout.size, 27)
        XCTAssertEqual(layout.offsets.map(\.name), ["true_positives", "false_positives", "false_negatives", "rows",
                                                     "weight_sum", "precision", "recall", "fbeta", "jaccard",
                                                     "exact_match_weight", "label_weight", "size"])
    }

    func testContributionsOfHandCheckedRows() throws {
        // Rows (true / predicted) over 3 labels: {0,1,2}/{0}, {}/{}, {1}/{1,2}, weights 1, 2, 3.
        let counts = try makeCounts(FBetaTests.truth, FBetaTests.pred, labels: 3, weights: [1, 2, 3], kind: .labels)
        let s = SummedCounts.contributions(of: counts, fBeta: try FBeta(beta: 2))
        let layout = SummedCounts.Layout(labelCount: 3)
        XCTAssertEqual(Array(s[0..<3]), [1, 3, 0])     // tp: row 1 label 0 (w 1), row 3 label 1 (w 3)
        XCTAssertEqual(Array(s[3..<6]), [0, 0, 3])     // fp: row 3 label 2
        XCTAssertEqual(Array(s[6..<9]), [0, 1, 1])     // fn: row 1 labels 1, 2
        XCTAssertEqual(s[layout.rows], 3)
        XCTAssertEqual(s[layout.weightSum], 6)
        // precision per row: 1, undefined, 1/2 → [Σ w·p, Σ w, Σ p, rows] = [1 + 1.5, 4, 1.5, 2]
        let p = layout.rowSums(.precision)
        XCTAssertEqual(Array(s[p..<(p + 4)]), [2.5, 4, 1.5, 2])
        // F2 per row: 5/13, undefined, 5/6
        let f = layout.rowSums(.fBeta)
        assertClose(Array(s[f..<(f + 4)]), [5.0 / 13 + 3 * 5.0 / 6, 4, 5.0 / 13 + 5.0 / 6, 2])
        // Jaccard per row: 1/3, undefined, 1/2
        let j = layout.rowSums(.jaccard)
        assertClose(Array(s[j..<(j + 4)]), [1.0 / 3 + 1.5, 4, 1.0 / 3 + 0.5, 2])
        // only the empty row is predicted exactly (weight 2)
        XCTAssertEqual(s[layout.exactMatchWeight], 2)
        XCTAssertEqual(Array(s[layout.labelWeights...]), [6, 6, 6])  // every label known on every row
    }

    func testLabelWeightsUnderElementWeights() throws {
        // Weights [[1, 0], [2, 3]]: label 0 is known on both rows (1 + 2), label 1 on row 2 (3).
        // Truth [[1, -1], [0, 1]], predicted [[1, 1], [1, 0]]: label 0 tp 1, fp 2; label 1 fn 3.
        var counts = try ConfusionCounts(labelCount: 2)
        try [1.0, -1, 0, 1].withMatrixView(rows: 2, columns: 2) { t in
            try [1.0, 1, 1, 0].withMatrixView(rows: 2, columns: 2) { p in
                try [1.0, 0, 2, 3].withMatrixView(rows: 2, columns: 2) {
                    try counts.update(truth: t, prediction: p, elementWeights: $0)
                }
            }
        }
        let s = SummedCounts.contributions(of: counts, fBeta: try FBeta(beta: 1))
        let layout = SummedCounts.Layout(labelCount: 2)
        XCTAssertEqual(Array(s[layout.labelWeights...]), [3, 3])
        XCTAssertEqual(Array(s[0..<6]), [1, 0, 2, 0, 0, 3])
        // Label accuracy (known weight − fp − fn) / known weight, as the core's.
        XCTAssertEqual(try counts.labelAccuracy(), [(3.0 - 2) / 3, 0])
    }

    func testSamplesAverageFromTheStateMatchesScikitLearn() throws {
        for row in FBetaTests.samples {
            let fBeta = try FBeta(beta: row.beta)
            let plain = SummedCounts.contributions(
                of: try makeCounts(FBetaTests.truth, FBetaTests.pred, labels: 3, kind: .labels), fBeta: fBeta)
            let weighted = SummedCounts.contributions(
                of: try makeCounts(FBetaTests.truth, FBetaTests.pred, labels: 3, weights: [1, 2, 3], kind: .labels), fBeta: fBeta)
            for (zd, want) in [(ZeroDivision.zero, row.zero), (.one, row.one), (.nan, row.nan)] {
                XCTAssertEqual(try SummedCounts.samplesAverage(plain, labelCount: 3, score: .fBeta, zeroDivision: zd),
                               want, accuracy: 1e-15, "beta \(row.beta) \(zd)")
            }
            XCTAssertEqual(try SummedCounts.samplesAverage(weighted, labelCount: 3, score: .fBeta, zeroDivision: .one),
                           row.weightedOne, accuracy: 1e-15, "beta \(row.beta) weighted")
        }
        XCTAssertThrowsError(try SummedCounts.samplesAverage([0], labelCount: 3, score: .recall, zeroDivision: .zero))
    }

    /// hi + lo keeps integer counts exact past float32's 2^24.
    func testAddSplitKeepsCountsPastFloat32() {
        var hi: [Float] = [0], lo: [Float] = [0]
        for _ in 0..<3 {
            let next = hi.withUnsafeBufferPointer { h in
                lo.withUnsafeBufferPointer { l in SummedCounts.addSplit(hi: h, lo: l, [16_777_217]) }
            }
            (hi, lo) = ([next[0]], [next[1]])
        }
        XCTAssertEqual(Double(hi[0]) + Double(lo[0]), 3 * 16_777_217)
    }
}
