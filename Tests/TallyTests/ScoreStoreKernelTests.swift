import XCTest
@testable import Tally

/// The score store's C kernels: the fill (`tk_store_fill_*`: keys and truth bits
/// transposed from row-major batches, checked on the way) and the ranking sort
/// (`tk_rank_*`: buckets by the keys' top varying bits, sorted in cache), against the
/// store's own definitions: each stored key and bit read back, and the weighted path
/// (weights of 1), which sorts (key, cell) pairs by another route, bit for bit.
final class ScoreStoreKernelTests: XCTestCase {
    func batch(rows: Int, labels: Int, seed: UInt64) -> (truth: [UInt8], scores: [Float]) {
        var g = SeededGenerator(seed: seed)
        let truth = (0..<(rows * labels)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < 0.3 ? 1 : 0) }
        let scores = (0..<(rows * labels)).map { i -> Float in
            switch i % labels % 4 {
            case 0: return Float(Int.random(in: -3...3, using: &g)) / 2  // ties, negatives, -0 and +0 below
            case 1: return Float.random(in: -1..<1, using: &g)
            case 2: return i % 3 == 0 ? -0.0 : 0.0
            default: return Float.random(in: 0..<1, using: &g)
            }
        }
        return (truth, scores)
    }

    /// Batches cut so that later ones start inside a 64-row word of the truth bits.
    func store(_ truth: [UInt8], _ scores: [Float], rows: Int, labels: Int, cuts: [Int], weighted: Bool = false) throws -> ScoreStore {
        var s = try ScoreStore(labelCount: labels)
        let edges = [0] + cuts.filter { $0 < rows } + [rows]
        for (a, b) in zip(edges, edges.dropFirst()) where b > a {
            let t = Array(truth[(a * labels)..<(b * labels)]), p = Array(scores[(a * labels)..<(b * labels)])
            let ones = [Double](repeating: 1, count: b - a)
            try t.withMatrixView(rows: b - a, columns: labels) { tv in
                try p.withMatrixView(rows: b - a, columns: labels) { pv in
                    if weighted { try ones.withUnsafeBufferPointer { try s.update(truth: tv, scores: pv, sampleWeight: $0) } }
                    else { try s.update(truth: tv, scores: pv) }
                }
            }
        }
        return s
    }

    func testFillStoresEveryKeyAndBit() throws {
        for labels in [1, 15, 16, 17, 39, 64, 65] {
            for rows in [1, 63, 64, 65, 130, 7000] {
                let (truth, scores) = batch(rows: rows, labels: labels, seed: UInt64(labels * 100_000 + rows))
                let whole = try store(truth, scores, rows: rows, labels: labels, cuts: [])
                let pieces = try store(truth, scores, rows: rows, labels: labels, cuts: [1, 37, 64, 100, 129, 4100])
                XCTAssertEqual(whole, pieces, "labels \(labels), rows \(rows)")
                XCTAssertEqual(whole.rowCount, rows)
                for j in 0..<labels {
                    let expected = (0..<rows).map { Double(scores[$0 * labels + j] == 0 ? 0 : scores[$0 * labels + j]) }
                    XCTAssertEqual(whole.scores(label: j), expected, "labels \(labels), rows \(rows), label \(j)")
                    XCTAssertEqual(whole.truth(label: j), (0..<rows).map { truth[$0 * labels + j] })
                    XCTAssertEqual(whole.truthBits[j].count, (rows + 63) / 64)
                }
            }
        }
    }

    func testFloat64ScoresThatFloat32HoldsStoreTheSameKeys() throws {
        let (rows, labels) = (3000, 17)
        let (truth, scores) = batch(rows: rows, labels: labels, seed: 5)
        var wide = try ScoreStore(labelCount: labels)
        try truth.withMatrixView(rows: rows, columns: labels) { t in
            try scores.map(Double.init).withMatrixView(rows: rows, columns: labels) { try wide.update(truth: t, scores: $0) }
        }
        XCTAssertFalse(wide.isWide)
        XCTAssertEqual(wide, try store(truth, scores, rows: rows, labels: labels, cuts: []))
    }

    func testRankSortEqualsPairSortBitForBit() throws {
        for labels in [1, 16, 39, 65] {
            for rows in [1, 64, 65, 9000] {
                let (truth, scores) = batch(rows: rows, labels: labels, seed: UInt64(labels + rows))
                let fast = try store(truth, scores, rows: rows, labels: labels, cuts: [63, 129])
                let slow = try store(truth, scores, rows: rows, labels: labels, cuts: [63, 129], weighted: true)
                for average: Average? in [nil, .macro, .micro] {
                    XCTAssertEqual(try fast.rocAUC(average: average).values.map(\.bitPattern),
                                   try slow.rocAUC(average: average).values.map(\.bitPattern), "labels \(labels), rows \(rows)")
                    XCTAssertEqual(try fast.averagePrecision(average: average).values.map(\.bitPattern),
                                   try slow.averagePrecision(average: average).values.map(\.bitPattern))
                }
                for j in 0..<labels { XCTAssertEqual(fast.curve(label: j), slow.curve(label: j)) }
                // The pooled (micro) walk on one thread and on two gives the same numbers.
                XCTAssertEqual(try fast.rocAUC(average: .micro, threads: 1).values.map(\.bitPattern),
                               try fast.rocAUC(average: .micro, threads: 2).values.map(\.bitPattern))
            }
        }
    }

    func testPooledWalkOfManyCellsOnSeveralThreads() throws {
        // 2^20 cells and more: the pooled (micro) walk splits its cells and buckets over threads.
        let (rows, labels) = (17_000, 63)
        let (truth, scores) = batch(rows: rows, labels: labels, seed: 21)
        let fast = try store(truth, scores, rows: rows, labels: labels, cuts: [])
        let slow = try store(truth, scores, rows: rows, labels: labels, cuts: [], weighted: true)
        let one = try fast.rocAUC(average: .micro, threads: 1).values, two = try fast.rocAUC(average: .micro, threads: 2).values
        XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern))
        XCTAssertEqual(two.map(\.bitPattern), try slow.rocAUC(average: .micro).values.map(\.bitPattern))
        XCTAssertEqual(try fast.averagePrecision(average: .micro, threads: 2).values.map(\.bitPattern),
                       try slow.averagePrecision(average: .micro).values.map(\.bitPattern))
    }

    func testBucketsLargerThanTheCacheSplitAgain() throws {
        // One outlier and a dense cluster: nearly every cell lands in one top-level bucket.
        let rows = 40_000
        var g = SeededGenerator(seed: 9)
        let scores = (0..<rows).map { r -> Float in r == 0 ? -1000 : 0.5 + Float(Int.random(in: 0..<30_000, using: &g)) * 1e-7 }
        let truth = (0..<rows).map { _ in UInt8(Int.random(in: 0..<4, using: &g) == 0 ? 1 : 0) }
        let fast = try store(truth, scores, rows: rows, labels: 1, cuts: [])
        let slow = try store(truth, scores, rows: rows, labels: 1, cuts: [], weighted: true)
        XCTAssertEqual(fast.curve(label: 0), slow.curve(label: 0))
        XCTAssertEqual(try fast.rocAUC(average: nil).values, try slow.rocAUC(average: nil).values)
    }

    func testBadScoresAndTruthAreRefusedAndChangeNothing() throws {
        let labels = 39
        let (truth, scores) = batch(rows: 9000, labels: labels, seed: 3)
        var s = try store(truth, scores, rows: 100, labels: labels, cuts: [])  // 100 rows: the next batch starts mid-word
        let before = s
        for (row, column, value) in [(0, 0, Float.nan), (8999, 38, .infinity), (4444, 17, -.infinity)] {
            var bad = scores
            bad[row * labels + column] = value
            XCTAssertThrowsError(try truth.withMatrixView(rows: 9000, columns: labels) { t in
                try bad.withMatrixView(rows: 9000, columns: labels) { try s.update(truth: t, scores: $0) }
            }) { XCTAssertEqual("\($0)", "Expected `y_score` to hold finite numbers, but got \(Double(value)) at row \(row), column \(column)") }
            XCTAssertEqual(s, before)
            // A bad score is named before a bad truth value.
            var badTruth = truth
            badTruth[5 * labels + 2] = 2
            XCTAssertThrowsError(try badTruth.withMatrixView(rows: 9000, columns: labels) { t in
                try bad.withMatrixView(rows: 9000, columns: labels) { try s.update(truth: t, scores: $0) }
            }) { XCTAssertTrue("\($0)".hasPrefix("Expected `y_score` to hold finite numbers")) }
            XCTAssertEqual(s, before)
        }
        var badTruth = truth
        badTruth[7000 * labels + 30] = 3
        XCTAssertThrowsError(try badTruth.withMatrixView(rows: 9000, columns: labels) { t in
            try scores.withMatrixView(rows: 9000, columns: labels) { try s.update(truth: t, scores: $0) }
        }) { XCTAssertEqual("\($0)", "Expected `y_true` to hold only 0 and 1, but got 3 at row 7000, column 30") }
        XCTAssertEqual(s, before)
    }

    func testResetKeepsNothingButCapacity() throws {
        let (rows, labels) = (5000, 7)
        let (truth, scores) = batch(rows: rows, labels: labels, seed: 4)
        var s = try store(truth, scores, rows: rows, labels: labels, cuts: [])
        s.reset()
        XCTAssertEqual(s, try ScoreStore(labelCount: labels))
        try truth.withMatrixView(rows: rows, columns: labels) { t in
            try scores.withMatrixView(rows: rows, columns: labels) { try s.update(truth: t, scores: $0) }
        }
        XCTAssertEqual(s, try store(truth, scores, rows: rows, labels: labels, cuts: []))
    }
}
