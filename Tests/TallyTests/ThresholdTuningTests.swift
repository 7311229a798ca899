import XCTest
@testable import Tally

/// Tuned thresholds against a brute-force search written here: every distinct
/// score of every row (zero-weight rows included) plus +inf, counts summed in row
/// order, the objective's formula written out, the highest threshold among equal optima.
final class ThresholdTuningTests: XCTestCase {
    struct Problem {
        var labels: Int
        var truth: [UInt8]     // row-major
        var scores: [Double]
        var weights: [Double]?
        var rows: Int { truth.count / labels }

        func store() throws -> ScoreStore {
            var s = try ScoreStore(labelCount: labels)
            try add(to: &s, rows: 0..<rows)
            return s
        }

        func add(to store: inout ScoreStore, rows range: Range<Int>) throws {
            let t = Array(truth[(range.lowerBound * labels)..<(range.upperBound * labels)])
            let s = Array(scores[(range.lowerBound * labels)..<(range.upperBound * labels)])
            let w = weights.map { Array($0[range]) }
            try t.withMatrixView(rows: range.count, columns: labels) { tv in
                try s.withMatrixView(rows: range.count, columns: labels) { sv in
                    try w.withOptionalBuffer { try store.update(truth: tv, scores: sv, sampleWeight: $0) }
                }
            }
        }
    }

    /// (threshold, value) by brute force; nil when no candidate is defined.
    static func bruteForce(_ p: Problem, label j: Int, _ objective: ThresholdObjective) -> (Double, Double)? {
        let w = p.weights ?? Array(repeating: 1, count: p.rows)
        var positives = 0.0, negatives = 0.0
        for r in 0..<p.rows { if p.truth[r * p.labels + j] == 1 { positives += w[r] } else { negatives += w[r] } }
        var candidates = Set((0..<p.rows).map { p.scores[$0 * p.labels + j] })
        candidates.insert(.infinity)
        var scored: [(Double, Double)] = []
        for t in candidates {
            var tp = 0.0, fp = 0.0
            for r in 0..<p.rows where p.scores[r * p.labels + j] >= t {
                if p.truth[r * p.labels + j] == 1 { tp += w[r] } else { fp += w[r] }
            }
            let precision = tp + fp > 0 ? tp / (tp + fp) : Double.nan
            let recall = positives > 0 ? tp / positives : Double.nan
            var v: Double? = nil
            switch objective {
            case .fBeta(let b):
                if positives > 0 {
                    if b == .infinity { v = recall }
                    else if b == 0 { v = precision.isNaN ? nil : precision }
                    else { let d = b * b * positives + tp + fp; v = d > 0 ? (1 + b * b) * tp / d : nil }
                }
            case .recallAtPrecision(let m): if positives > 0, !precision.isNaN, precision >= m { v = recall }
            case .precisionAtRecall(let m): if positives > 0, !precision.isNaN, recall >= m { v = precision }
            case .youden: if positives > 0, negatives > 0 { v = tp / positives - fp / negatives }
            case .rate(let m):
                let total = positives + negatives
                if total > 0, (tp + fp) / total >= m { v = (tp + fp) / total }
            }
            if let v { scored.append((t, v)) }
        }
        guard !scored.isEmpty else { return nil }
        if case .rate = objective { return scored.max { $0.0 < $1.0 } }  // the highest threshold reaching the rate
        let best = scored.map(\.1).max()!
        return scored.filter { $0.1 == best }.max { $0.0 < $1.0 }
    }

    static let objectives: [ThresholdObjective] = [
        .fBeta(beta: 1), .fBeta(beta: 2), .fBeta(beta: 0.5), .fBeta(beta: 0), .fBeta(beta: .infinity),
        .recallAtPrecision(minPrecision: 0.5), .recallAtPrecision(minPrecision: 0.9), .recallAtPrecision(minPrecision: 1),
        .precisionAtRecall(minRecall: 0), .precisionAtRecall(minRecall: 0.5), .precisionAtRecall(minRecall: 1), .youden,
        .recallAtPrecision(minPrecision: 0),
        .rate(0), .rate(0.3), .rate(1),
    ]

    func assertMatchesBruteForce(_ p: Problem, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let store = try p.store()
        let all = try store.tuneThresholds(Self.objectives, threads: 2)
        var checked = 0
        for (objective, tuned) in zip(Self.objectives, all) {
            XCTAssertEqual(tuned.json(), try store.tuneThresholds(objective, threads: 1).json(), "one pass for several objectives")
            for j in 0..<p.labels {
                let expected = Self.bruteForce(p, label: j, objective)
                let m = "\(message), \(objective), label \(j)"
                if let (t, v) = expected {
                    XCTAssertEqual(tuned.thresholds[j], t, m, file: file, line: line)
                    XCTAssertEqual(tuned.values[j], v, accuracy: 1e-12, m, file: file, line: line)
                    XCTAssertFalse(tuned.undefined.contains(j), m, file: file, line: line)
                } else {
                    XCTAssertEqual(tuned.thresholds[j], .infinity, m, file: file, line: line)
                    XCTAssertTrue(tuned.values[j].isNaN, m, file: file, line: line)
                    XCTAssertTrue(tuned.undefined.contains(j), m, file: file, line: line)
                }
                checked += 1
            }
            // Applying the thresholds with `>=` gives the reported precision and recall.
            let counts = try makeCounts(p.truth, p.scores, labels: p.labels, weights: p.weights, threshold: tuned.threshold)
            let prf = try counts.precisionRecallFScore(beta: 1, zeroDivision: .nan)
            assertClose(prf.recall, tuned.recall, tolerance: 1e-12, "recall at the thresholds, \(message), \(objective)")
            for j in 0..<p.labels where tuned.predicted[j] > 0 {
                XCTAssertEqual(prf.precision[j], tuned.precision[j], accuracy: 1e-12, "\(message), \(objective)")
            }
        }
        XCTAssertEqual(checked, Self.objectives.count * p.labels)
    }

    func testHandTable() throws {
        // Label 0: scores 0.9+ 0.8- 0.7+ 0.7- 0.2+ ; label 1: no positives; label 2: all scores equal.
        let p = Problem(labels: 3,
                        truth: [1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0],
                        scores: [0.9, 0.1, 0.5, 0.8, 0.2, 0.5, 0.7, 0.3, 0.5, 0.7, 0.4, 0.5, 0.2, 0.5, 0.5],
                        weights: nil)
        let store = try p.store()
        // F1 of label 0 by hand: t=0.9: 2/(3+1)=0.5; t=0.8: 2/(3+2)=0.4; t=0.7: 4/(3+4)=4/7; t=0.2: 6/8=0.75.
        let f1 = try store.tuneThresholds(.fBeta(beta: 1))
        XCTAssertEqual(f1.thresholds[0], 0.2)
        XCTAssertEqual(f1.values[0], 0.75)
        XCTAssertEqual(f1.precision[0], 0.6)
        XCTAssertEqual(f1.recall[0], 1)
        XCTAssertEqual(f1.support, [3, 0, 2])
        // No positives: +inf, nan, undefined. All-equal scores: the one score (F1 = 4/7).
        XCTAssertEqual(f1.thresholds[1], .infinity)
        XCTAssertTrue(f1.values[1].isNaN)
        XCTAssertEqual(f1.undefined, [1])
        XCTAssertEqual(f1.thresholds[2], 0.5)
        XCTAssertEqual(f1.values[2], 4.0 / 7.0)
        // Precision >= 0.6 allows t = 0.2 (3/5): recall 1.
        let rp = try store.tuneThresholds(.recallAtPrecision(minPrecision: 0.6))
        XCTAssertEqual(rp.thresholds[0], 0.2)
        XCTAssertEqual(rp.values[0], 1)
        // Precision >= 1 only at 0.9 (recall 1/3); label 2 never reaches it: undefined.
        let strict = try store.tuneThresholds(.recallAtPrecision(minPrecision: 1))
        XCTAssertEqual(strict.thresholds[0], 0.9)
        XCTAssertEqual(strict.values[0], 1.0 / 3.0)
        XCTAssertEqual(strict.undefined, [1, 2])
        // Youden: t=0.9: 1/3; 0.8: 1/3-1/2; 0.7: 2/3-1; 0.2: 1-1 = 0; +inf: 0. Best 1/3 at 0.9.
        let j = try store.tuneThresholds(.youden)
        XCTAssertEqual(j.thresholds[0], 0.9)
        XCTAssertEqual(j.values[0], 1.0 / 3.0)
        // Rate 0.4 of 5 rows: 2 rows at t = 0.8.
        let rate = try store.tuneThresholds(.rate(0.4))
        XCTAssertEqual(rate.thresholds[0], 0.8)
        XCTAssertEqual(rate.values[0], 0.4)
        XCTAssertEqual(rate.thresholds[1], 0.4)  // rates need no positives: 0.5 and 0.4 of 5 rows
    }

    func testTable() throws {
        let p = Problem(labels: 3,
                        truth: [1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0],
                        scores: [0.9, 0.1, 0.5, 0.8, 0.2, 0.5, 0.7, 0.3, 0.5, 0.7, 0.4, 0.5, 0.2, 0.5, 0.5],
                        weights: nil)
        let table = try p.store().tuneThresholds(.fBeta(beta: 1)).table(names: ["a", "bb", "c"])
        XCTAssertEqual(table, """
            objective: f1 (beta=1.0); among equal optima the highest threshold

            label  threshold  value  precision  recall  support  predicted
                a  0.2         0.75       0.60    1.00        3          5
               bb  inf          nan        nan     nan        0          0  undefined
                c  0.5         0.57       0.40    1.00        2          5

            mean value over 2 of 3 labels (defined): 0.66

            """)
        XCTAssertThrowsError(try p.store().tuneThresholds(.youden).table(names: ["a"])) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("Expected 3 label names (one per label), but got 1"))
        }
    }

    func testTiesGoToTheHighestThreshold() throws {
        // 0.9+ 0.8- 0.7+ 0.1-: Youden's J is 1/2 - 0 at 0.9, 1/2 - 1/2 at 0.8, 1 - 1/2 at 0.7, 0 at 0.1.
        let p = Problem(labels: 1, truth: [1, 0, 1, 0], scores: [0.9, 0.8, 0.7, 0.1], weights: nil)
        let tuned = try p.store().tuneThresholds(.youden)
        XCTAssertEqual(tuned.values[0], 0.5)
        XCTAssertEqual(tuned.thresholds[0], 0.9, "the highest of the equal optima 0.9 and 0.7")
        // 0.9+ 0.8+ 0.1-: precision 1 at both 0.9 and 0.8 (recall >= 0 always holds).
        let q = Problem(labels: 1, truth: [1, 1, 0], scores: [0.9, 0.8, 0.1], weights: nil)
        let best = try q.store().tuneThresholds(.precisionAtRecall(minRecall: 0))
        XCTAssertEqual(best.thresholds[0], 0.9)
        XCTAssertEqual(best.values[0], 1)
    }

    func testSeededRandomAgainstBruteForce() throws {
        var g = SeededGenerator(seed: 13)
        var cases = 0
        for trial in 0..<40 {
            let labels = Int.random(in: 1...4, using: &g)
            let rows = Int.random(in: 1...30, using: &g)
            let levels = Int.random(in: 1...6, using: &g)  // few distinct scores: heavy ties
            var truth = [UInt8](repeating: 0, count: rows * labels), scores = [Double](repeating: 0, count: rows * labels)
            for i in 0..<(rows * labels) {
                scores[i] = Double(Int.random(in: 0..<levels, using: &g)) / Double(levels)
                truth[i] = UInt8.random(in: 0...1, using: &g)
            }
            // Some labels with no positives, some all positive.
            if labels > 1 { for r in 0..<rows { truth[r * labels] = 0 } }
            if labels > 2 { for r in 0..<rows { truth[r * labels + 1] = 1 } }
            // Weights are multiples of 1/4, so every sum is exact in any order (some 0).
            let weights: [Double]? = trial % 2 == 0 ? nil : (0..<rows).map { _ in Double(Int.random(in: 0...8, using: &g)) / 4 }
            try assertMatchesBruteForce(Problem(labels: labels, truth: truth, scores: scores, weights: weights), "trial \(trial)")
            cases += 1
        }
        XCTAssertEqual(cases, 40)
    }

    func testAllEqualScoresAndOneRow() throws {
        try assertMatchesBruteForce(Problem(labels: 2, truth: [1, 0, 0, 0, 1, 1], scores: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], weights: nil), "all equal")
        try assertMatchesBruteForce(Problem(labels: 2, truth: [1, 0], scores: [0.3, 0.7], weights: nil), "one row")
        try assertMatchesBruteForce(Problem(labels: 1, truth: [1, 0, 1], scores: [0.2, 0.4, 0.6], weights: [0, 0, 0]), "all weights 0")
    }

    func testBatchedAndMergedStoresGiveTheSameThresholds() throws {
        var g = SeededGenerator(seed: 7)
        let (labels, rows) = (3, 50)
        let p = Problem(labels: labels, truth: (0..<(rows * labels)).map { _ in UInt8.random(in: 0...1, using: &g) },
                        scores: (0..<(rows * labels)).map { _ in Double(Int.random(in: 0..<7, using: &g)) / 7 },
                        weights: (0..<rows).map { _ in Double(Int.random(in: 1...4, using: &g)) / 2 })
        let whole = try p.store()
        var batched = try ScoreStore(labelCount: labels), a = try ScoreStore(labelCount: labels), b = try ScoreStore(labelCount: labels)
        for start in stride(from: 0, to: rows, by: 7) { try p.add(to: &batched, rows: start..<min(rows, start + 7)) }
        try p.add(to: &a, rows: 0..<20)
        try p.add(to: &b, rows: 20..<rows)
        try a.merge(b)
        for objective in Self.objectives {
            let expected = try whole.tuneThresholds(objective)
            XCTAssertEqual(try batched.tuneThresholds(objective).json(), expected.json())
            XCTAssertEqual(try a.tuneThresholds(objective).json(), expected.json())
        }
    }

    func testFloat32ScoresAndWideStores() throws {
        // 0.1 is not a float32: a float64 batch with it widens the store; thresholds stay exact.
        let p = Problem(labels: 1, truth: [1, 0, 1, 0], scores: [0.1, 0.1 + 1e-12, 0.3, 0.05], weights: nil)
        let store = try p.store()
        XCTAssertTrue(store.isWide)
        try assertMatchesBruteForce(p, "wide")
    }

    func testArgumentsAreChecked() throws {
        let store = try Problem(labels: 1, truth: [1], scores: [0.5], weights: nil).store()
        XCTAssertThrowsError(try store.tuneThresholds(.rate(1.5))) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("Expected `rate` in [0, 1], but got 1.5"))
        }
        XCTAssertThrowsError(try ThresholdObjective(parsing: "f2")) {
            XCTAssertEqual($0 as? TallyError, .invalidValue(
                "Expected `objective` to be one of 'f1', 'fbeta', 'precision_at_recall', 'recall_at_precision', 'youden', 'rate', but got 'f2'"))
        }
        XCTAssertThrowsError(try ThresholdObjective(parsing: "fbeta")) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("Expected `beta` with objective='fbeta', but got none"))
        }
        XCTAssertEqual(try ThresholdObjective(parsing: "recall_at_precision", minPrecision: 0.8), .recallAtPrecision(minPrecision: 0.8))
        XCTAssertThrowsError(try ScoreStore(labelCount: 2).tuneThresholds(.youden))
    }

    func testJSONAndNPYRoundTrip() throws {
        let p = Problem(labels: 3, truth: [1, 0, 1, 0, 0, 1, 1, 0, 0], scores: [0.9, 0.1, 0.3, 0.2, 0.4, 0.3, 0.6, 0.7, 0.8], weights: nil)
        let tuned = try p.store().tuneThresholds(.fBeta(beta: 2))
        XCTAssertEqual(tuned.undefined, [1])
        let text = tuned.json()
        XCTAssertTrue(text.hasPrefix("{\"objective\": \"fbeta\", \"beta\": 2.0, \"tie_rule\": \"highest\", \"thresholds\": ["), text)
        XCTAssertTrue(text.contains("Infinity") && text.contains("NaN"), text)
        let back = try TunedThresholds(json: text)
        XCTAssertEqual(back.thresholds, tuned.thresholds)
        assertClose(back.values, tuned.values)
        XCTAssertEqual(back.undefined, tuned.undefined)
        XCTAssertEqual(back.objective, tuned.objective)
        XCTAssertEqual(try NPYArray(npyBytes: tuned.npyBytes()).doubles(), tuned.thresholds)
        XCTAssertThrowsError(try TunedThresholds(json: "{\"objective\": \"f1\"}")) {
            XCTAssertEqual($0 as? TallyError, .invalidValue("Expected a \"thresholds\" field in the tuned thresholds, but it is missing"))
        }
        XCTAssertThrowsError(try TunedThresholds(json: "[1, 2"))
    }

    func testOutOfFoldAgainstABruteForceLoop() throws {
        var g = SeededGenerator(seed: 3)
        let (labels, rows, k) = (3, 41, 4)
        let p = Problem(labels: labels, truth: (0..<(rows * labels)).map { _ in UInt8.random(in: 0...1, using: &g) },
                        scores: (0..<(rows * labels)).map { _ in Double(Int.random(in: 0..<9, using: &g)) / 9 },
                        weights: nil)
        let oof = try p.store().tuneThresholdsOutOfFold(.fBeta(beta: 1), folds: k, seed: 5)
        // KFold sizes: 11, 10, 10, 10.
        XCTAssertEqual((0..<k).map { f in oof.foldOfRow.filter { $0 == f }.count }, [11, 10, 10, 10])
        XCTAssertEqual(oof.foldOfRow, ScoreStore.foldAssignment(rows: rows, folds: k, seed: 5))
        XCTAssertNotEqual(oof.foldOfRow, ScoreStore.foldAssignment(rows: rows, folds: k, seed: 6))
        var tp = [Double](repeating: 0, count: labels), fp = tp, positives = tp
        for f in 0..<k {
            let training = (0..<rows).filter { oof.foldOfRow[$0] != f }
            let sub = Problem(labels: labels, truth: training.flatMap { r in (0..<labels).map { p.truth[r * labels + $0] } },
                              scores: training.flatMap { r in (0..<labels).map { p.scores[r * labels + $0] } }, weights: nil)
            for j in 0..<labels {
                let t = Self.bruteForce(sub, label: j, .fBeta(beta: 1))?.0 ?? .infinity
                XCTAssertEqual(oof.foldThresholds[f][j], t, "fold \(f) label \(j)")
                for r in 0..<rows where oof.foldOfRow[r] == f {
                    let y = p.truth[r * labels + j] == 1, predicted = p.scores[r * labels + j] >= t
                    if y { positives[j] += 1 }
                    if y && predicted { tp[j] += 1 }
                    if !y && predicted { fp[j] += 1 }
                }
            }
        }
        let expected = (0..<labels).map { 2 * tp[$0] / (positives[$0] + tp[$0] + fp[$0]) }
        assertClose(oof.values, expected)
        XCTAssertEqual(oof.average, expected.reduce(0, +) / Double(labels), accuracy: 1e-15)
        XCTAssertEqual(oof.tuned.json(), try p.store().tuneThresholds(.fBeta(beta: 1)).json())
        XCTAssertThrowsError(try p.store().tuneThresholdsOutOfFold(.youden, folds: 1))
    }

    func testBinnedThresholdsAreExactAtEdgesAndBoundTheOptimum() throws {
        var g = SeededGenerator(seed: 11)
        var checked = 0
        for trial in 0..<12 {
            let (labels, rows, bins) = (2, 60, [4, 10, 50][trial % 3])
            let p = Problem(labels: labels, truth: (0..<(rows * labels)).map { _ in UInt8.random(in: 0...1, using: &g) },
                            scores: (0..<(rows * labels)).map { _ in Double.random(in: -0.1..<1.1, using: &g) },
                            weights: trial % 2 == 0 ? nil : (0..<rows).map { _ in Double(Int.random(in: 0...4, using: &g)) / 2 })
            var binned = try BinnedScores(labelCount: labels, bins: bins)
            try p.truth.withMatrixView(rows: rows, columns: labels) { t in
                try p.scores.withMatrixView(rows: rows, columns: labels) { s in
                    try p.weights.withOptionalBuffer { try binned.update(truth: t, scores: s, sampleWeight: $0) }
                }
            }
            for objective in [ThresholdObjective.fBeta(beta: 1), .youden, .recallAtPrecision(minPrecision: 0.6),
                              .precisionAtRecall(minRecall: 0.7), .rate(0.25)] {
                let tuned = try binned.tuneThresholds(objective)
                let counts = try makeCounts(p.truth, p.scores, labels: labels, weights: p.weights, threshold: tuned.threshold)
                for j in 0..<labels {
                    let m = "trial \(trial), \(objective), label \(j)"
                    let exact = Self.bruteForce(p, label: j, objective)
                    guard !tuned.values[j].isNaN else { continue }
                    // The value at the binned threshold is the exact value of `score >= t` on the raw scores.
                    let (tp, fp) = (counts.truePositives[j], counts.falsePositives[j])
                    let positives = tp + counts.falseNegatives[j], negatives = fp + counts.trueNegatives[j]
                    let applied = objective.value(tp: tp, fp: fp, positives: positives, negatives: negatives)
                    XCTAssertEqual(applied ?? .nan, tuned.values[j], accuracy: 1e-12, m)
                    // The exact optimum lies within the stated bounds.
                    let optimum = try XCTUnwrap(exact, m).1
                    XCTAssertGreaterThanOrEqual(optimum, tuned.lowerBound![j] - 1e-12, m)
                    XCTAssertLessThanOrEqual(optimum, tuned.upperBound![j] + 1e-12, m)
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }
}
