import XCTest
@testable import Tally

/// The core's fast paths (C kernels at the CPU's level, the score store's split radix
/// sort, the sort-free ranking rows) against the row-by-row code they replace and
/// against counts made here, on seeded random arrays with odd label counts and tails.
/// The Python side (test_kernels.py) runs every kernel level against scikit-learn.
final class KernelTests: XCTestCase {
    func randomBatch(rows: Int, labels: Int, seed: UInt64) -> (truth: [UInt8], scores: [Float]) {
        var g = SeededGenerator(seed: seed)
        let truth = (0..<(rows * labels)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < 0.3 ? 1 : 0) }
        // Scores on a 0.1 grid (ties, and scores equal to the 0.5 threshold).
        let scores = (0..<(rows * labels)).map { _ in Float(Int.random(in: 0...10, using: &g)) / 10 }
        return (truth, scores)
    }

    func testCountingKernelEqualsRowLoopAndDirectCounts() throws {
        for labels in [1, 7, 39, 64, 65, 130] {
            for rows in [1, 255, 256, 3000] {
                let (truth, scores) = randomBatch(rows: rows, labels: labels, seed: UInt64(labels * 10_000 + rows))
                let predictions = scores.map { $0 >= 0.5 ? UInt8(1) : 0 }
                var kernel = try ConfusionCounts(labelCount: labels), viaScores = kernel, rowLoop = kernel
                try truth.withMatrixView(rows: rows, columns: labels) { t in
                    try predictions.withMatrixView(rows: rows, columns: labels) { try kernel.update(truth: t, prediction: $0) }
                    try scores.withMatrixView(rows: rows, columns: labels) { try viaScores.update(truth: t, prediction: $0) }
                }
                // Int8 truth takes the Swift row loop.
                try truth.map { Int8($0) }.withMatrixView(rows: rows, columns: labels) { t in
                    try predictions.withMatrixView(rows: rows, columns: labels) { try rowLoop.update(truth: t, prediction: $0) }
                }
                XCTAssertEqual(kernel, rowLoop, "labels \(labels), rows \(rows)")
                XCTAssertEqual(viaScores, rowLoop, "labels \(labels), rows \(rows), float32")
                let direct = (0..<labels).map { j -> [Int64] in
                    var c: [Int64] = [0, 0, 0, 0]  // tp, fp, fn, tn
                    for r in 0..<rows {
                        let (a, b) = (truth[r * labels + j], predictions[r * labels + j])
                        c[a == 1 ? (b == 1 ? 0 : 2) : (b == 1 ? 1 : 3)] += 1
                    }
                    return c
                }
                XCTAssertEqual(kernel.integerConfusion, direct, "labels \(labels), rows \(rows)")
            }
        }
    }

    /// Bytes other than 0 and 1 (uint8 truth or predictions) at every kernel level, weighted
    /// and not: refused with the row loop's message, the counts unchanged. The generic
    /// kernels (baseline, and AVX2's weighted rows) once summed such bytes into a row's
    /// (tp, fp, fn) and indexed the row table with it before the refusal: out of bounds
    /// (the update fuzzer under AddressSanitizer at TALLY_KERNEL=avx2). Under ASan (make
    /// safety) this test fails on any such access.
    func testBadBytesAreRefusedAtEveryLevelWithinBounds() throws {
        defer { chooseKernelLevel(nil) }
        for level in ["baseline", "avx2", "avx512"] {
            let used = chooseKernelLevel(level)
            for labels in [1, 5, 39, 64, 65] {
                for rows in [1, 300, 3000] {
                    var g = SeededGenerator(seed: UInt64(labels * 10_000 + rows))
                    var truth = (0..<(rows * labels)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < 0.4 ? 1 : 0) }
                    var predictions = (0..<(rows * labels)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < 0.5 ? 1 : 0) }
                    let weights = (0..<rows).map { Double($0 % 5) / 2 }
                    // Many bad bytes, so that a row's sums of raw bytes would leave the table.
                    for i in stride(from: rows * labels / 3, to: rows * labels, by: 7) {
                        truth[i] = [2, 3, 255][i % 3]
                        predictions[(i + 1) % predictions.count] = [254, 3, 2][i % 3]
                    }
                    for weighted in [false, true] {
                        var counts = try ConfusionCounts(labelCount: labels)
                        let ones = [UInt8](repeating: 1, count: labels)
                        try ones.withMatrixView(rows: 1, columns: labels) { try counts.update(truth: $0, prediction: $0, sampleWeight: nil) }
                        let before = counts
                        let what = "level \(used), labels \(labels), rows \(rows), weighted \(weighted)"
                        XCTAssertThrowsError(try weights.withUnsafeBufferPointer { w in
                            try truth.withMatrixView(rows: rows, columns: labels) { t in
                                try predictions.withMatrixView(rows: rows, columns: labels) {
                                    try counts.update(truth: t, prediction: $0, sampleWeight: weighted ? w : nil)
                                }
                            }
                        }, what) { error in
                            guard case .invalidValue(let m) = error as? TallyError else { return XCTFail("\(what): \(error)") }
                            XCTAssertTrue(m.contains("to hold only 0 and 1"), "\(what): \(m)")
                        }
                        XCTAssertEqual(counts, before, what)
                    }
                }
            }
        }
    }

    /// Rows of many predicted labels (triples above 15, which the table of every triple
    /// takes for up to 64 labels) and weighted rows (weights 0, -0 and negative among
    /// them): the kernels' state equals the row loop's bit for bit (serialized), on label
    /// counts around the 16-lane and 64-label edges and row counts past the 255-row flush,
    /// the 2048-row table and the two-thread splits (the last cases: label sums and row
    /// table for weighted batches from `weightedSplitValues`, rows for unweighted ones from
    /// `splitValues`, with the table of every triple and with listed rows).
    func testCountingKernelsEqualRowLoopBitForBit() throws {
        let split = ConfusionCounts.weightedSplitValues
        let cases = [1, 15, 16, 17, 39, 63, 64, 65, 100].flatMap { labels in [1, 300, 2100, 7000].map { (labels, $0) } }
            + [(39, split / 39 + 1), (64, split / 64 + 1), (64, ConfusionCounts.splitValues / 64 + 1),
               (100, ConfusionCounts.splitValues / 100 + 1)]
        for (labels, rows) in cases {
            do {
                var g = SeededGenerator(seed: UInt64(labels * 100_000 + rows))
                let truth = (0..<(rows * labels)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < 0.4 ? 1 : 0) }
                let scores = (0..<(rows * labels)).map { _ in Float(Int.random(in: 2...10, using: &g)) / 10 }
                let predictions = scores.map { $0 >= 0.5 ? UInt8(1) : 0 }
                let weights = (0..<rows).map { r -> Double in
                    r % 7 == 0 ? 0 : r % 7 == 3 ? -0.0 : Double.random(in: -1..<3, using: &g)
                }
                let slowTruth = truth.map { Int8($0) }  // takes the row loop
                for weighted in [false, true] {
                    var kernel = try ConfusionCounts(labelCount: labels), viaScores = kernel, rowLoop = kernel
                    try weights.withUnsafeBufferPointer { wb in
                        let w = weighted ? wb : nil
                        try truth.withMatrixView(rows: rows, columns: labels) { t in
                            try predictions.withMatrixView(rows: rows, columns: labels) {
                                try kernel.update(truth: t, prediction: $0, sampleWeight: w)
                            }
                            try scores.withMatrixView(rows: rows, columns: labels) {
                                try viaScores.update(truth: t, prediction: $0, sampleWeight: w)
                            }
                        }
                        try slowTruth.withMatrixView(rows: rows, columns: labels) { t in
                            try predictions.withMatrixView(rows: rows, columns: labels) {
                                try rowLoop.update(truth: t, prediction: $0, sampleWeight: w)
                            }
                        }
                    }
                    let what = "labels \(labels), rows \(rows), weighted \(weighted)"
                    XCTAssertEqual(kernel.serialized(), rowLoop.serialized(), what)
                    XCTAssertEqual(viaScores.serialized(), rowLoop.serialized(), what + ", float32")
                }
            }
        }
    }

    /// A row table that reserved room first holds what one that grew step by step holds,
    /// whether the keys are new or already there, and keeps growing past the reservation.
    func testRowTableReserveKeepsEveryTriple() {
        var grown = RowTable(), reserved = RowTable()
        let keys = (0..<3000).map { RowKey(tp: $0 % 40, fp: ($0 / 40) % 40, fn: $0 / 1600) }
        reserved.add(keys[0], RowTally(rows: 5, weight: 2.5))
        grown.add(keys[0], RowTally(rows: 5, weight: 2.5))
        reserved.reserve(keys.count)
        for (i, k) in keys.enumerated() {
            grown.add(k, RowTally(rows: Int64(i), weight: Double(i) / 4))
            reserved.add(k, RowTally(rows: Int64(i), weight: Double(i) / 4))
        }
        XCTAssertEqual(reserved.count, 3000)
        XCTAssertEqual(reserved, grown)
        reserved.reserve(0)
        for i in 0..<5000 { reserved.add(RowKey(tp: 50 + i % 50, fp: i / 50, fn: 7), RowTally(rows: 1, weight: 1)) }
        XCTAssertEqual(reserved.count, 8000)
    }

    func testCountingKernelRefusesBadValuesAndChangesNothing() throws {
        var counts = try ConfusionCounts(labelCount: 3)
        let before = counts
        XCTAssertThrowsError(try [UInt8]([1, 0, 2, 0, 0, 0]).withMatrixView(rows: 2, columns: 3) { t in
            try [UInt8]([1, 0, 1, 0, 1, 0]).withMatrixView(rows: 2, columns: 3) { try counts.update(truth: t, prediction: $0) }
        }) { XCTAssertEqual("\($0)", "Expected `y_true` to hold only 0 and 1, but got 2 at row 0, column 2") }
        XCTAssertThrowsError(try [UInt8]([1, 0, 1, 0, 0, 0]).withMatrixView(rows: 2, columns: 3) { t in
            try [Float]([0.1, .nan, 0.9, 0, 1, 0]).withMatrixView(rows: 2, columns: 3) { try counts.update(truth: t, prediction: $0) }
        }) { XCTAssertEqual("\($0)", "Expected `y_score` to hold numbers, but got nan at row 0, column 1") }
        XCTAssertEqual(counts, before)
    }

    /// Large weighted batches count on two threads, one the label sums, the other the row
    /// table and the check of every value: a bad value anywhere in the row is refused with
    /// the row loop's message and changes nothing.
    func testWeightedTwoThreadCountRefusesBadValuesAndChangesNothing() throws {
        let labels = 39, rows = ConfusionCounts.weightedSplitValues / labels + 1
        let weights = [Double](repeating: 0.5, count: rows)
        for column in [2, 36] {
            var counts = try ConfusionCounts(labelCount: labels)
            let before = counts
            var truth = [UInt8](repeating: 0, count: rows * labels), predictions = truth
            var scores = [Float](repeating: 0.25, count: rows * labels)
            truth[5000 * labels + column] = 2
            try weights.withUnsafeBufferPointer { w in
                XCTAssertThrowsError(try truth.withMatrixView(rows: rows, columns: labels) { t in
                    try predictions.withMatrixView(rows: rows, columns: labels) {
                        try counts.update(truth: t, prediction: $0, sampleWeight: w)
                    }
                }) { XCTAssertEqual("\($0)", "Expected `y_true` to hold only 0 and 1, but got 2 at row 5000, column \(column)") }
                truth[5000 * labels + column] = 0
                predictions[(rows - 1) * labels + column] = 3
                XCTAssertThrowsError(try truth.withMatrixView(rows: rows, columns: labels) { t in
                    try predictions.withMatrixView(rows: rows, columns: labels) {
                        try counts.update(truth: t, prediction: $0, sampleWeight: w)
                    }
                }) { XCTAssertEqual("\($0)", "Expected `y_pred` to hold only 0 and 1, but got 3 at row \(rows - 1), column \(column)") }
                scores[1 * labels + column] = .nan
                XCTAssertThrowsError(try truth.withMatrixView(rows: rows, columns: labels) { t in
                    try scores.withMatrixView(rows: rows, columns: labels) {
                        try counts.update(truth: t, prediction: $0, sampleWeight: w)
                    }
                }) { XCTAssertEqual("\($0)", "Expected `y_score` to hold numbers, but got nan at row 1, column \(column)") }
            }
            XCTAssertEqual(counts, before, "column \(column)")
        }
    }

    /// The count's row-order weight total (the kernel's, on one call or two threads, and the
    /// row loop's) stands in for a separate pass over the weights: a non-finite weight (alone,
    /// or inf against -inf) is still refused with its row, before any bad value; finite weights
    /// whose total overflows are counted.
    func testWeightTotalChecksTheWeights() throws {
        let labels = 39
        for rows in [300, ConfusionCounts.weightedSplitValues / labels + 1] {  // one call; two threads
            var g = SeededGenerator(seed: UInt64(rows))
            let truth = (0..<(rows * labels)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < 0.3 ? 1 : 0) }
            let predictions = truth.map { 1 - $0 }
            func update(_ counts: inout ConfusionCounts, _ weights: [Double], truth: [UInt8], rowLoop: Bool = false) throws {
                try weights.withUnsafeBufferPointer { w in
                    func add(_ t: MatrixView) throws {
                        try predictions.withMatrixView(rows: rows, columns: labels) {
                            try counts.update(truth: t, prediction: $0, sampleWeight: w)
                        }
                    }
                    // Int8 truth takes the row loop.
                    if rowLoop { try truth.map { Int8($0) }.withMatrixView(rows: rows, columns: labels, add) }
                    else { try truth.withMatrixView(rows: rows, columns: labels, add) }
                }
            }
            var counts = try ConfusionCounts(labelCount: labels)
            try update(&counts, [Double](repeating: 0.5, count: rows), truth: truth)
            let before = counts
            for (bad, message) in [([(rows - 1, Double.nan)], "got nan at row \(rows - 1)"),
                                   ([(7, .infinity), (9, -.infinity)], "got inf at row 7"),
                                   ([(0, -.infinity)], "got -inf at row 0")] {
                var weights = [Double](repeating: 1, count: rows), badTruth = truth
                for (r, w) in bad { weights[r] = w }
                badTruth[5] = 2
                for t in [truth, badTruth] {
                    for rowLoop in [false, true] {
                        XCTAssertThrowsError(try update(&counts, weights, truth: t, rowLoop: rowLoop)) {
                            XCTAssertEqual("\($0)", "Expected `sample_weight` to hold finite numbers, but " + message)
                        }
                    }
                }
                XCTAssertEqual(counts, before, "rows \(rows), \(message)")
            }
            // Finite weights, infinite total: counted, as the row loop counts them.
            let huge = [Double](repeating: 1e308, count: rows)
            var rowLoop = before
            try update(&counts, huge, truth: truth)
            try update(&rowLoop, huge, truth: truth, rowLoop: true)
            XCTAssertEqual(counts.serialized(), rowLoop.serialized(), "rows \(rows)")
        }
    }

    func testScoreStoreSplitSortEqualsPairSortBitForBit() throws {
        let (rows, labels) = (5000, 9)
        let (truth, scores) = randomBatch(rows: rows, labels: labels, seed: 11)
        var fast = try ScoreStore(labelCount: labels), slow = fast
        let ones = [Double](repeating: 1, count: rows)
        try truth.withMatrixView(rows: rows, columns: labels) { t in
            try scores.withMatrixView(rows: rows, columns: labels) { s in
                try fast.update(truth: t, scores: s)
                try ones.withUnsafeBufferPointer { try slow.update(truth: t, scores: s, sampleWeight: $0) }
            }
        }
        for average: Average? in [nil, .macro, .micro] {
            XCTAssertEqual(try fast.rocAUC(average: average).values, try slow.rocAUC(average: average).values)
            XCTAssertEqual(try fast.averagePrecision(average: average).values,
                           try slow.averagePrecision(average: average).values)
        }
    }

    /// One row worked by hand: scores [0.9, 0.5, 0.5, 0.1], relevant labels 1 and 3.
    /// Coverage: all 4 labels score at or above 0.1. Ranking loss: each relevant label has
    /// 2 irrelevant ones at or above it, 4 of 2·2 pairs = 1. LRAP: label 1 ranks 3rd (ties
    /// take the worst rank) with 1 relevant at or above, label 3 ranks 4th with 2:
    /// (1/3 + 2/4) / 2 = 5/12.
    func testRankingRowKernelByHand() throws {
        var sums = try RankingSums(labelCount: 4)
        try [UInt8]([0, 1, 0, 1]).withMatrixView(rows: 1, columns: 4) { t in
            XCTAssertEqual(t.elementType, .uint8)
            try [Float]([0.9, 0.5, 0.5, 0.1]).withMatrixView(rows: 1, columns: 4) { try sums.update(truth: t, scores: $0) }
        }
        XCTAssertEqual(try sums.coverageError(), 4)
        XCTAssertEqual(try sums.labelRankingLoss(), 1)
        XCTAssertEqual(try sums.labelRankingAveragePrecision(), 5.0 / 12, accuracy: 1e-15)
    }

    func testRankingRowKernelEqualsSortedRows() throws {
        for labels in [2, 7, 39, 64] {
            let rows = 3000
            let (truth, scores) = randomBatch(rows: rows, labels: labels, seed: UInt64(labels))
            var kernel = try RankingSums(labelCount: labels), sorted = kernel
            try scores.withMatrixView(rows: rows, columns: labels) { s in
                try truth.withMatrixView(rows: rows, columns: labels) { try kernel.update(truth: $0, scores: s) }
                // Float64 truth takes the sorted row loop.
                try truth.map(Double.init).withMatrixView(rows: rows, columns: labels) { try sorted.update(truth: $0, scores: s) }
            }
            XCTAssertEqual(try kernel.coverageError(), try sorted.coverageError())
            XCTAssertEqual(try kernel.labelRankingLoss(), try sorted.labelRankingLoss())
            XCTAssertEqual(try kernel.labelRankingAveragePrecision(), try sorted.labelRankingAveragePrecision(), accuracy: 1e-12)
            XCTAssertEqual(try kernel.ndcgScore(), try sorted.ndcgScore(), accuracy: 1e-12)
            assertClose(try kernel.precisionAtTopK(), try sorted.precisionAtTopK())
        }
    }
}
