import XCTest
@testable import Tally

/// 2-D (element-wise) sample weights in the core, hand-checked; the Python tests
/// (python/tests/test_element_weights.py) compare them with scikit-learn.
final class ElementWeightTests: XCTestCase {
    // Three rows, three labels; -1 and nan sit where the mask is 0.
    let truth: [Double] = [1, -1, 0,
                           0, 1, -1,
                           1, 1, 1]
    let scores: [Double] = [0.9, .nan, 0.2,
                            0.1, 0.8, 0.3,
                            0.7, 0.2, .nan]
    let mask: [Double] = [1, 0, 1,
                          1, 1, 0,
                          1, 1, 0]

    func counts(_ weights: [Double]) throws -> ConfusionCounts {
        var c = try ConfusionCounts(labelCount: 3)
        try truth.withMatrixView(rows: 3, columns: 3) { t in
            try scores.withMatrixView(rows: 3, columns: 3) { s in
                try weights.withMatrixView(rows: 3, columns: 3) { w in
                    try c.update(truth: t, prediction: s, elementWeights: w)
                }
            }
        }
        return c
    }

    func testMaskedCellsAreLeftOut() throws {
        let c = try counts(mask)
        // Label 0: rows 0-2 (tp 2, tn 1); label 1: rows 1, 2 (tp 1, fn 1); label 2: row 0 (tn 1).
        XCTAssertEqual(c.truePositives, [2, 1, 0])
        XCTAssertEqual(c.falseNegatives, [0, 1, 0])
        XCTAssertEqual(c.trueNegatives, [1, 0, 1])
        XCTAssertEqual(c.labelWeights, [3, 2, 1])
        XCTAssertEqual(try c.labelAccuracy(), [1, 0.5, 1])
        XCTAssertEqual(c.hammingLoss(), 1.0 / 6)      // one wrong cell out of six unmasked
        XCTAssertEqual(c.subsetAccuracy(), 2.0 / 3)    // row 2 misses label 1
        XCTAssertTrue(c.hasPartlyMaskedRows)
        XCTAssertThrowsError(try c.specificity(average: .samples)) {
            XCTAssertEqual(($0 as? TallyError)?.message.hasPrefix("Expected no partly masked rows for specificity"), true)
        }
    }

    func testRowWeightIsTheCommonNonzeroWeight() throws {
        // Row 0 weighs 2 on its unmasked labels, row 1 nothing, row 2 weighs 1.
        let c = try counts([2, 0, 2,  0, 0, 0,  1, 1, 0])
        XCTAssertEqual(c.weightSum, 3)
        XCTAssertEqual(c.subsetAccuracy(), 2.0 / 3)  // row 0 right (weight 2), row 2 wrong (label 1)
        XCTAssertEqual(c.rowCount, 3)
    }

    func testBroadcastEqualsOneDimensionalWeights() throws {
        let truth01: [Double] = truth.map { $0 == 1 ? 1 : 0 }
        let scoresFinite = scores.map { $0.isNaN ? 0.4 : $0 }
        let rowWeights = [0.1, 0.0, 3.0]
        var one = try ConfusionCounts(labelCount: 3), two = try ConfusionCounts(labelCount: 3)
        try truth01.withMatrixView(rows: 3, columns: 3) { t in
            try scoresFinite.withMatrixView(rows: 3, columns: 3) { s in
                try rowWeights.withUnsafeBufferPointer { try one.update(truth: t, prediction: s, sampleWeight: $0) }
                try rowWeights.flatMap { [$0, $0, $0] }.withMatrixView(rows: 3, columns: 3) { w in
                    try two.update(truth: t, prediction: s, elementWeights: w)
                }
            }
        }
        XCTAssertEqual(try one.confusionMatrices(), try two.confusionMatrices())
        XCTAssertEqual(one.weightSum, two.weightSum)
        XCTAssertEqual(one.rowTriples.map(\.weight).sorted(), two.rowTriples.map(\.weight).sorted())
        XCTAssertEqual(try one.precisionRecallFScore(beta: 1, average: .samples, zeroDivision: .zero, labels: nil),
                       try two.precisionRecallFScore(beta: 1, average: .samples, zeroDivision: .zero, labels: nil))
        XCTAssertFalse(two.hasPartlyMaskedRows)
        XCTAssertEqual(try one.specificity(average: .samples).values, try two.specificity(average: .samples).values)
    }

    func testMergeAndSerializationKeepTheLabelTotals() throws {
        let c = try counts(mask)
        let restored = try ConfusionCounts(serialized: c.serialized())
        XCTAssertEqual(restored, c)
        var plain = try ConfusionCounts(labelCount: 3)
        try [UInt8(1), 0, 0].withMatrixView(rows: 1, columns: 3) { t in
            try [UInt8(1), 1, 0].withMatrixView(rows: 1, columns: 3) { p in try plain.update(truth: t, prediction: p) }
        }
        var a = plain, b = c
        try a.merge(c)
        try b.merge(plain)
        XCTAssertEqual(a.labelWeights, [4, 3, 2])
        XCTAssertEqual(try a.confusionMatrices(), try b.confusionMatrices())
        XCTAssertEqual(a.trueNegatives, [1, 0, 2])
        // A plain state still writes the format-2 bytes it always wrote.
        XCTAssertEqual(Array(plain.serialized().prefix(8)), [0x41, 0x4C, 0x4C, 0x59, 0x43, 0x54, 0x53, 0x32])
    }

    func testBadWeightsThrowAndChangeNothing() throws {
        var c = try counts(mask)
        let before = c
        XCTAssertThrowsError(try truth.withMatrixView(rows: 3, columns: 3) { t in
            try scores.withMatrixView(rows: 3, columns: 3) { s in
                try mask.withMatrixView(rows: 3, columns: 3) { _ in
                    try [Double](repeating: 1, count: 9).withMatrixView(rows: 3, columns: 3) { w in
                        try c.update(truth: t, prediction: s, elementWeights: w)
                    }
                }
            }
        }) { XCTAssertEqual(($0 as? TallyError)?.message,
                            "Expected `y_true` to hold only 0 and 1 where `sample_weight` is not 0, but got -1.0 at row 0, column 1") }
        XCTAssertThrowsError(try truth.withMatrixView(rows: 3, columns: 3) { t in
            try scores.withMatrixView(rows: 3, columns: 3) { s in
                try [Double](repeating: 1, count: 6).withMatrixView(rows: 3, columns: 2) { w in
                    try c.update(truth: t, prediction: s, elementWeights: w)
                }
            }
        }) { XCTAssertEqual(($0 as? TallyError)?.message,
                            "Expected a 2-D `sample_weight` to have shape (3, 3) like `y_true`, but got (3, 2)") }
        XCTAssertEqual(c, before)
    }
}
