import XCTest
@testable import Tally

/// The per-label table of logged values, the out-of-fold section of `tally thresholds`,
/// and the binned histogram's edges and parts (what tally.keras's binned metrics keep).
final class LabelTableTests: XCTestCase {
    func testLabelTableByHand() throws {
        let text = try labelTable(columns: ["precision", "recall"], labels: ["cat", "newt"],
                                  values: [0.5, 1, .nan, 0.125], digits: 2)
        XCTAssertEqual(text, """
                  precision  recall
             cat       0.50    1.00
            newt        nan    0.12

            """)
        XCTAssertEqual(try labelTable(columns: ["v"], labels: ["a"], values: [2.5], digits: 0, labelHeader: "label"),
                       "label  v\n    a  2\n")
        XCTAssertThrowsError(try labelTable(columns: ["a", "b"], labels: ["x"], values: [1])) {
            XCTAssertEqual(($0 as? TallyError)?.message, "Expected 1 × 2 values (labels × columns), but got 1")
        }
        XCTAssertThrowsError(try labelTable(columns: ["a"], labels: ["x"], values: [1], digits: 16))
    }

    func testOutOfFoldTableByHand() throws {
        var tuned = TunedThresholds(objective: .fBeta(beta: 1), labelCount: 2)
        tuned.thresholds = [0.5, .infinity]
        let oof = try OutOfFoldThresholds(folds: 3, seed: 7, tuned: tuned, values: [0.75, .nan],
                                          precision: [0.6, .nan], recall: [1, .nan])
        XCTAssertEqual(oof.undefined, [1])
        XCTAssertEqual(oof.average, 0.75)
        XCTAssertEqual(try oof.table(names: ["cat", "newt"]), """
            out of fold: 3 folds (seed 7), each scored at thresholds tuned on the other 2

            label  value  precision  recall
              cat   0.75       0.60    1.00
             newt    nan        nan     nan  undefined

            mean out-of-fold value over 1 of 2 labels (defined): 0.75

            """)
        XCTAssertThrowsError(try OutOfFoldThresholds(folds: 3, seed: 0, tuned: tuned, values: [1], precision: [1], recall: [1]))
        XCTAssertThrowsError(try oof.table(names: ["cat"]))
    }

    /// Each edge is the lowest score of its bin: the edge lands in bin b, the float64
    /// just below it in bin b − 1. Scores on [0, 1] in 10 bins and on [-2, 3] in 7.
    func testBinnedEdgesAreEachBinsLowestScore() throws {
        for (bins, low, high) in [(10, 0.0, 1.0), (7, -2.0, 3.0), (200, 0.0, 1.0), (1, 0.0, 1.0)] {
            let b = try BinnedScores(labelCount: 1, bins: bins, low: low, high: high)
            let edges = b.edges
            XCTAssertEqual(edges.count, bins - 1)
            for (i, e) in edges.enumerated() {
                XCTAssertEqual(b.bin(e), i + 1, "bins \(bins) edge \(i + 1)")
                XCTAssertEqual(b.bin(e.nextDown), i, "bins \(bins) below edge \(i + 1)")
            }
        }
        // By hand: 0.1 * 10 is 1 in float64 exactly, and 0.1 is the lowest such score.
        XCTAssertEqual(try BinnedScores(labelCount: 1, bins: 10).edges[0], 0.1)
    }

    func testHistogramsRoundTripAndAreChecked() throws {
        var b = try BinnedScores(labelCount: 2, bins: 4)
        let truth: [UInt8] = [1, 0, 0, 1, 1, 1, 0, 0, 1, 0]
        let scores: [Double] = [0.9, 0.1, 0.3, 0.6, 0.35, 0.8, 0.05, 0.99, 0.5, 0.5]
        let weights: [Double] = [1, 2, 0.5, 1, 3]
        try truth.withMatrixView(rows: 5, columns: 2) { t in
            try scores.withMatrixView(rows: 5, columns: 2) { s in
                try weights.withUnsafeBufferPointer { try b.update(truth: t, scores: s, sampleWeight: $0) }
            }
        }
        let rebuilt = try BinnedScores(labelCount: 2, bins: 4, low: 0, high: 1, positiveWeight: b.positiveWeight,
                                       negativeWeight: b.negativeWeight, positiveCount: b.positiveCount,
                                       negativeCount: b.negativeCount, isWeighted: true)
        XCTAssertEqual(rebuilt, b)
        XCTAssertEqual(try rebuilt.rocAUC(average: nil).values, try b.rocAUC(average: nil).values)
        func rebuild(pc: [Int64], pw: [Double]? = nil, weighted: Bool = true) throws -> BinnedScores {
            try BinnedScores(labelCount: 2, bins: 4, low: 0, high: 1, positiveWeight: pw ?? b.positiveWeight,
                             negativeWeight: b.negativeWeight, positiveCount: pc, negativeCount: b.negativeCount,
                             isWeighted: weighted)
        }
        var unequal = b.positiveCount
        unequal[0] += 1  // label 0 now sums to 6 rows, label 1 to 5
        XCTAssertThrowsError(try rebuild(pc: unequal, weighted: false)) {
            XCTAssertEqual(($0 as? TallyError)?.message,
                           "Expected every label's counts to sum to the same number of rows, but label 0 sums to 6 and label 1 to 5")
        }
        // Weighted, unequal sums are what element weights (missing labels) leave: the rows
        // are the largest label's, and the bytes restore.
        let masked = try rebuild(pc: unequal)
        XCTAssertEqual(masked.rowCount, 6)
        XCTAssertEqual(try BinnedScores(serialized: masked.serialized()), masked)
        XCTAssertThrowsError(try rebuild(pc: Array(b.positiveCount.dropLast()))) {
            XCTAssertEqual(($0 as? TallyError)?.message,
                           "Expected `positive_count` to hold 8 values (2 labels × 4 bins), but got 7")
        }
        var negative = b.positiveCount
        negative[0] = -1
        XCTAssertThrowsError(try rebuild(pc: negative))
        var infinite = b.positiveWeight
        infinite[1] = .infinity
        XCTAssertThrowsError(try rebuild(pc: b.positiveCount, pw: infinite))
    }
}
