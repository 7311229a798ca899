import XCTest
@testable import Tally

final class ConfusionCountsTests: XCTestCase {
    func randomBatch(rows: Int, labels: Int, using g: inout SeededGenerator) -> ([UInt8], [Double]) {
        let truth = (0..<(rows * labels)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < 0.3 ? 1 : 0) }
        let scores = (0..<(rows * labels)).map { _ in (Double.random(in: 0..<1, using: &g) * 8).rounded() / 8 }
        return (truth, scores)
    }

    func testThresholdIsInclusiveAndPerLabel() throws {
        let counts = try makeCounts([1, 1], [0.5, 0.5], labels: 2, threshold: .perLabel([0.5, 0.6]))
        XCTAssertEqual(counts.truePositives, [1, 0])
        XCTAssertEqual(counts.falseNegatives, [0, 1])
    }

    func testFloat32ScoresCompareExactly() throws {
        // float32(0.3) is above 0.3 in float64: it is a positive at threshold 0.3.
        var counts = try ConfusionCounts(labelCount: 1, threshold: .scalar(0.3))
        let truth: [UInt8] = [1]
        let score: [Float] = [0.3]
        try truth.withMatrixView(rows: 1, columns: 1) { t in
            try score.withMatrixView(rows: 1, columns: 1) { try counts.update(truth: t, prediction: $0) }
        }
        XCTAssertEqual(counts.truePositives, [Double(Float(0.3)) >= 0.3 ? 1 : 0])
    }

    func testAnySplitIntoBatchesGivesIdenticalCounts() throws {
        var g = SeededGenerator(seed: 7)
        let labels = 6, rows = 97
        let (truth, scores) = randomBatch(rows: rows, labels: labels, using: &g)
        let whole = try makeCounts(truth, scores, labels: labels)
        for _ in 0..<20 {
            var batched = try ConfusionCounts(labelCount: labels)
            var start = 0
            while start < rows {
                let size = Int.random(in: 0...20, using: &g)
                let end = min(rows, start + size)
                try batched.add(Array(truth[(start * labels)..<(end * labels)]),
                                Array(scores[(start * labels)..<(end * labels)]), labels: labels)
                start = end
            }
            XCTAssertEqual(batched, whole)
            for average in [nil] + Average.allCases.map(Optional.some) {
                XCTAssertEqual(try batched.precisionRecallFScore(average: average),
                               try whole.precisionRecallFScore(average: average))
            }
        }
    }

    func testMergeIsAssociativeAndCommutative() throws {
        var g = SeededGenerator(seed: 11)
        let labels = 5
        let parts = try (0..<3).map { i -> ConfusionCounts in
            let (t, s) = randomBatch(rows: 10 + i, labels: labels, using: &g)
            return try makeCounts(t, s, labels: labels, weights: i == 1 ? (0..<(10 + i)).map { Double($0) / 4 } : nil)
        }
        var left = parts[0]; try left.merge(parts[1]); try left.merge(parts[2])
        var right = parts[1]; try right.merge(parts[2])
        var right2 = parts[0]; try right2.merge(right)
        var swapped = parts[2]; try swapped.merge(parts[0]); try swapped.merge(parts[1])
        XCTAssertEqual(left.truePositives, right2.truePositives)
        XCTAssertEqual(left.truePositives, swapped.truePositives)
        XCTAssertEqual(left.rowCount, 33)
        XCTAssertTrue(left.isWeighted)
        assertClose(try left.precisionRecallFScore(average: .samples).precision,
                    try swapped.precisionRecallFScore(average: .samples).precision)
    }

    func testMergeRejectsOtherLabelsOrThresholds() throws {
        var a = try ConfusionCounts(labelCount: 3)
        XCTAssertThrowsError(try a.merge(try ConfusionCounts(labelCount: 4))) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("Expected counts with 3 labels to merge, but got 4"))
        }
        XCTAssertThrowsError(try a.merge(try ConfusionCounts(labelCount: 3, threshold: .scalar(0.4))))
    }

    func testBadInputThrowsAndChangesNothing() throws {
        var counts = try makeCounts([1, 0, 0, 1], [0.9, 0.1, 0.2, 0.8], labels: 2)
        let before = counts
        func expect(_ truth: [Double], _ scores: [Double], columns: Int, _ message: String, weights: [Double]? = nil,
                    line: UInt = #line) {
            XCTAssertThrowsError(try truth.withMatrixView(rows: truth.count / columns, columns: columns) { t in
                try scores.withMatrixView(rows: scores.count / columns, columns: columns) { s in
                    try weights.withOptionalBuffer { try counts.update(truth: t, prediction: s, sampleWeight: $0) }
                }
            }, line: line) { XCTAssertEqual(($0 as? TallyError)?.message, message, line: line) }
            XCTAssertEqual(counts, before, line: line)
        }
        expect([1, 0, 1], [1, 0, 1], columns: 3, "Expected `y_true` to have 2 columns, but got 3")
        expect([1, 2], [0.5, 0.5], columns: 2, "Expected `y_true` to hold only 0 and 1, but got 2.0 at row 0, column 1")
        expect([1, 0, 1, 1], [0.5, .nan, 0.1, 0.2], columns: 2, "Expected `y_score` to hold numbers, but got nan at row 0, column 1")
        expect([1, 0], [0.5, 0.1], columns: 2, "Expected `sample_weight` to have 1 values (one per row), but got 2", weights: [1, 1])
        expect([1, 0], [0.5, 0.1], columns: 2, "Expected `sample_weight` to hold finite numbers, but got inf at row 0", weights: [.infinity])
        // Integer predictions are labels: they must be 0/1.
        let truth: [UInt8] = [1, 0]
        let preds: [Int32] = [1, 3]
        XCTAssertThrowsError(try truth.withMatrixView(rows: 1, columns: 2) { t in
            try preds.withMatrixView(rows: 1, columns: 2) { try counts.update(truth: t, prediction: $0) }
        }) { XCTAssertEqual(($0 as? TallyError)?.message, "Expected `y_pred` to hold only 0 and 1, but got 3 at row 0, column 1") }
        XCTAssertEqual(counts, before)
    }

    func testEveryElementTypeCountsTheSame() throws {
        let truth: [UInt8] = [1, 0, 1, 1, 0, 0]
        let expected = try makeCounts(truth, [1, 0, 0, 1, 1, 0], labels: 3, kind: .labels)
        func check<T: MatrixElement>(_ values: [T], line: UInt = #line) throws {
            var c = try ConfusionCounts(labelCount: 3)
            try values.withMatrixView(rows: 2, columns: 3) { t in
                try [1.0, 0, 0, 1, 1, 0].withMatrixView(rows: 2, columns: 3) { try c.update(truth: t, prediction: $0, kind: .labels) }
            }
            XCTAssertEqual(c, expected, line: line)
        }
        try check(truth.map { $0 == 1 })
        try check(truth)
        try check(truth.map { Int8($0) })
        try check(truth.map { Int16($0) })
        try check(truth.map { UInt16($0) })
        try check(truth.map { Int32($0) })
        try check(truth.map { UInt32($0) })
        try check(truth.map { Int64($0) })
        try check(truth.map { UInt64($0) })
        try check(truth.map { Float($0) })
        try check(truth.map { Double($0) })
    }

    func testSerializationRoundTrips() throws {
        var g = SeededGenerator(seed: 3)
        let (t, s) = randomBatch(rows: 40, labels: 4, using: &g)
        for weights in [nil, (0..<40).map { Double($0) / 3 }] {
            let counts = try makeCounts(t, s, labels: 4, weights: weights, threshold: .perLabel([0.1, 0.5, 0.7, 1]))
            let restored = try ConfusionCounts(serialized: counts.serialized())
            XCTAssertEqual(restored, counts)
        }
        XCTAssertThrowsError(try ConfusionCounts(serialized: [1, 2, 3]))
        var bytes = try makeCounts(t, s, labels: 4).serialized()
        bytes.removeLast(8)
        XCTAssertThrowsError(try ConfusionCounts(serialized: bytes))
    }

    func testEmptyBatchIsANoOpAndResetForgets() throws {
        var counts = try makeCounts([1, 0], [1, 0], labels: 2)
        let before = counts
        try counts.add([], [], labels: 2)
        XCTAssertEqual(counts, before)
        counts.reset()
        XCTAssertEqual(counts, try ConfusionCounts(labelCount: 2))
    }

    func testLabelCountMustBePositive() {
        XCTAssertThrowsError(try ConfusionCounts(labelCount: 0)) {
            XCTAssertEqual(($0 as? TallyError)?.message, "Expected `n_labels` to be at least 1, but got 0")
        }
        XCTAssertThrowsError(try ConfusionCounts(labelCount: 2, threshold: .perLabel([0.5])))
    }
}
