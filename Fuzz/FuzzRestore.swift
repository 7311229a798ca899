// libFuzzer target for the other restorable states: `RankingSums(serialized:)`,
// `BinnedScores(serialized:)`, `ScoreStore(serialized:)`, and `ConfusionCounts`
// states that saw 2-D element weights (format 3). Each mode builds a valid state
// from the input, corrupts some of its bytes, and restores it: the restore must
// throw a TallyError, or give a state whose merge, update and score calls never
// trap (an overflow must throw, a merge that throws must change nothing).
//
// Built by scripts/fuzz.sh together with Sources/Tally (one module) under
// -sanitize=fuzzer,address. A trap, an ASan report or a failed check is a finding.
//
// Input layout (missing bytes read as 0): a mode byte (0 ranking, 1 binned,
// 2 score store, 3 2-D weighted counts), the state's shape and batch, then edits.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRestoreStates(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(Array(UnsafeBufferPointer(start: data, count: size)))
    switch input.byte() % 4 {
    case 0: fuzzRankingSums(&input)
    case 1: fuzzBinnedScores(&input)
    case 2: fuzzScoreStore(&input)
    default: fuzzElementWeightedCounts(&input)
    }
    return 0
}

/// Words that sit on the edges of every field: sizes, flags, counts, float bits.
func interestingWords(labels: Int, rows: Int) -> [UInt64] {
    [0, 1, 2, 3, UInt64(labels), UInt64(labels + 1), UInt64(rows), UInt64(rows + 1), UInt64(bitPattern: -1),
     UInt64(Int64.max), 1 << 63, 1 << 62, (1 << 63) | 1, 1 << 31, (1 << 31) - 1, 1 << 24, (1 << 24) - 1,
     UInt64(UInt32.max), UInt64(UInt32.max) - 1, 1 << 20, 0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0000,
     0xFFF0_0000_0000_0000, (1.0).bitPattern, (-1.0).bitPattern, (1e308).bitPattern, (-1e308).bitPattern,
     (0.5).bitPattern, Double.leastNonzeroMagnitude.bitPattern]
}

/// `bytes` with some 8-byte words (or single bytes) replaced, maybe cut short or extended.
func corrupt(_ bytes: [UInt8], _ input: inout FuzzInput, labels: Int, rows: Int) -> [UInt8] {
    var bytes = bytes
    let edits = Int(input.byte()) % 5
    let interesting = interestingWords(labels: labels, rows: rows)
    for _ in 0..<edits where bytes.count >= 8 {
        let how = input.byte()
        if how & 0x40 != 0 {
            // One byte anywhere (ScoreStore's keys are 4 bytes wide).
            bytes[Int(input.byte()) % bytes.count] = input.byte()
            continue
        }
        let word = Int(input.byte()) % (bytes.count / 8)
        let value = how & 0x80 != 0 ? input.word() : interesting[Int(how) % interesting.count]
        for i in 0..<8 { bytes[8 * word + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
    switch input.byte() % 4 {
    case 1: bytes.removeLast(min(bytes.count, Int(input.byte()) % 17))
    case 2: bytes += [UInt8](repeating: input.byte(), count: Int(input.byte()) % 17)
    default: break
    }
    return bytes
}

/// Reads a fuzzed (rows × labels) matrix of 0/1 (or graded) values and scores.
func batch(_ input: inout FuzzInput, rows: Int, labels: Int, graded: Bool = false) -> (truth: [Double], scores: [Double], weights: [Double]) {
    let truth = (0..<(rows * labels)).map { _ -> Double in
        let b = input.byte()
        return graded && b & 0x80 != 0 ? Double(b & 7) : Double(b & 1)
    }
    let scores = (0..<(rows * labels)).map { _ -> Double in
        let b = input.byte()
        return b >= 0xF8 ? [1e300, -1e300, 0.1, 1.0 / 3, 2, -2, 0.5.nextUp, 0][Int(b - 0xF8)] : Double(b & 0x1F) / 16
    }
    let weights = (0..<rows).map { _ in [1, 0, 0.5, 2, 3, 1e300, 1e-300, 0.25][Int(input.byte()) % 8] }
    return (truth, scores, weights)
}

/// A merge that throws must leave the target as it was.
func checkedMerge<T: Equatable>(_ target: inout T, _ merge: (inout T) throws -> Void, _ what: String) -> Bool {
    let before = target
    do {
        try merge(&target)
        return true
    } catch is TallyError {
        check(target == before, "\(what): a merge that threw changed the state")
    } catch {
        check(false, "\(what): merge threw a non-Tally error \(error)")
    }
    return false
}

// MARK: RankingSums

func fuzzRankingSums(_ input: inout FuzzInput) {
    let labels = 1 + Int(input.byte()) % 6
    let rows = Int(input.byte()) % 6
    let flags = input.byte()
    let metrics = RankingSums.Metrics(rawValue: UInt64(1 + Int(input.byte()) % 31))
    let ndcgK: Int? = flags & 1 != 0 ? 1 + Int(input.byte()) % 8 : nil
    let topK = (0..<(Int(input.byte()) % 4)).map { _ in 1 + Int(input.byte()) % 8 }
    let weighted = flags & 2 != 0
    let graded = flags & 4 != 0 && metrics == .ndcg
    let sums = try! RankingSums(labelCount: labels, ndcgK: ndcgK, topK: topK, metrics: metrics)
    let (truth, scores, weights) = batch(&input, rows: rows, labels: labels, graded: graded)
    fuzzScoreState(&input, sums, truth, scores, weighted ? weights : nil, rows: rows, what: "ranking sums", score: scoreRanking)
}

func scoreRanking(_ s: RankingSums) {
    _ = try? s.labelRankingAveragePrecision()
    _ = try? s.coverageError()
    _ = try? s.labelRankingLoss()
    _ = try? s.ndcgScore()
    _ = try? s.precisionAtTopK()
    _ = try? s.recallAtTopK()
    _ = s.serialized()
}

// MARK: BinnedScores

func fuzzBinnedScores(_ input: inout FuzzInput) {
    let labels = 1 + Int(input.byte()) % 4
    let rows = Int(input.byte()) % 6
    let bins = 1 + Int(input.byte()) % 8
    let (low, high) = input.pick([(0.0, 1.0), (-1, 1), (0, 1e-300), (-1e308, 1e308), (0.25, 0.5)])
    let weighted = input.byte() & 1 != 0
    let binned = try! BinnedScores(labelCount: labels, bins: bins, low: low, high: high)
    let (truth, scores, weights) = batch(&input, rows: rows, labels: labels)
    fuzzScoreState(&input, binned, truth, scores, weighted ? weights : nil, rows: rows, what: "binned scores", score: scoreBinned)
}

func scoreBinned(_ s: BinnedScores) {
    for average in [nil] + Average.allCases.map(Optional.some) {
        _ = try? s.rocAUC(average: average)
        _ = try? s.averagePrecision(average: average)
    }
    _ = s.serialized()
}

// MARK: ScoreStore

func fuzzScoreStore(_ input: inout FuzzInput) {
    let labels = 1 + Int(input.byte()) % 4
    let rows = Int(input.byte()) % 6
    let flags = input.byte()
    let weighted = flags & 1 != 0
    let wide = flags & 2 != 0  // float64 scores that float32 does not hold: 64-bit keys
    let store = try! ScoreStore(labelCount: labels)
    var (truth, scores, weights) = batch(&input, rows: rows, labels: labels)
    if wide { scores = scores.map { $0 + 1e-12 } }
    fuzzScoreState(&input, store, truth, scores, weighted ? weights : nil, rows: rows, what: "score store", score: scoreStore)
}

func scoreStore(_ s: ScoreStore) {
    for average in [nil] + Average.allCases.map(Optional.some) {
        _ = try? s.rocAUC(average: average, threads: 1)
        _ = try? s.rocAUC(average: average, maxFPR: 0.5, threads: 1)
        _ = try? s.averagePrecision(average: average, threads: 1)
    }
    for j in 0..<min(s.labelCount, 8) {
        _ = s.scores(label: j)
        _ = s.truth(label: j)
        _ = s.curve(label: j)
    }
    _ = s.rowWeights
    _ = s.serialized()
}

// MARK: Every score accumulator

/// Updates `s` from row-major arrays (weights nil: unweighted).
func update<S: ScoreAccumulator>(_ s: inout S, _ t: [Double], _ p: [Double], _ w: [Double]?, rows: Int) throws {
    let labels = s.labelCount
    try t.withMatrixView(rows: rows, columns: labels) { tv in
        try p.withMatrixView(rows: rows, columns: labels) { pv in
            if let w {
                try w.withUnsafeBufferPointer { try s.update(truth: tv, scores: pv, sampleWeight: $0) }
            } else {
                try s.update(truth: tv, scores: pv, sampleWeight: nil)
            }
        }
    }
}

/// A valid state from one batch must round-trip; its corrupted bytes must be refused
/// or restore to a state that scores, merges (into itself, the original) and updates
/// without trapping.
func fuzzScoreState<S: ScoreAccumulator>(_ input: inout FuzzInput, _ fresh: S, _ truth: [Double], _ scores: [Double],
                                         _ weights: [Double]?, rows: Int, what: String, score: (S) -> Void) {
    var state = fresh
    do { try update(&state, truth, scores, weights, rows: rows) } catch {
        check(false, "a valid \(what) batch threw \(error)")
    }
    let good = state.serialized()
    guard let back = try? S(serialized: good), back.serialized() == good else {
        check(false, "\(what) do not round-trip"); return
    }
    let bytes = corrupt(good, &input, labels: state.labelCount, rows: rows)
    dumpForRegression(bytes)
    guard let restored = try? S(serialized: bytes) else { return }
    score(restored)
    for var target in [restored, state] {
        if checkedMerge(&target, { try $0.merge(restored) }, what) { score(target) }
    }
    // An update of the restored state: throws or works, never traps.
    var updated = restored
    let n = restored.labelCount
    if n <= 64 {
        let more = batch(&input, rows: 2, labels: n)
        do { try update(&updated, more.truth, more.scores, weights == nil ? nil : more.weights, rows: 2); score(updated) }
        catch { check(error is TallyError, "\(what) update threw a non-Tally error \(error)") }
    }
}

// MARK: ConfusionCounts with 2-D weights

func fuzzElementWeightedCounts(_ input: inout FuzzInput) {
    let labels = 1 + Int(input.byte()) % 6
    let rows = 1 + Int(input.byte()) % 5
    let flags = input.byte()
    var counts = try! ConfusionCounts(labelCount: labels)
    let (truth, scores, _) = batch(&input, rows: rows, labels: labels)
    // Weights 0 (masked), 1, 2.5, or a large one.
    let w = (0..<(rows * labels)).map { _ in [0, 1, 2.5, 1e300, 0.5, 1][Int(input.byte()) % 6] }
    do {
        try truth.withMatrixView(rows: rows, columns: labels) { t in
            try scores.withMatrixView(rows: rows, columns: labels) { s in
                try w.withMatrixView(rows: rows, columns: labels) { wv in
                    try counts.update(truth: t, prediction: s, elementWeights: wv)
                }
            }
        }
    } catch { check(false, "a valid 2-D weighted batch threw \(error)") }
    let good = counts.serialized()
    guard let back = try? ConfusionCounts(serialized: good), back.serialized() == good else {
        check(false, "2-D weighted counts do not round-trip"); return
    }
    let bytes = corrupt(good, &input, labels: labels, rows: rows)
    dumpForRegression(bytes)
    guard let restored = try? ConfusionCounts(serialized: bytes) else { return }
    scoreCounts(restored)
    let plain = try! ConfusionCounts(labelCount: restored.labelCount, threshold: .perLabel(restored.thresholds))
    for var target in [restored, counts, plain] {
        if checkedMerge(&target, { try $0.merge(restored) }, "counts") { scoreCounts(target) }
    }
    // Updates of the restored state: 1-D, 2-D and unweighted.
    let n = restored.labelCount
    guard n <= 64 else { return }
    let more = batch(&input, rows: 2, labels: n)
    let mode = flags % 3
    var updated = restored
    do {
        try more.truth.withMatrixView(rows: 2, columns: n) { t in
            try more.scores.withMatrixView(rows: 2, columns: n) { s in
                switch mode {
                case 0: try updated.update(truth: t, prediction: s)
                case 1: try more.weights.withUnsafeBufferPointer { try updated.update(truth: t, prediction: s, sampleWeight: $0) }
                default:
                    let ew = (0..<(2 * n)).map { Double($0 % 3) }
                    try ew.withMatrixView(rows: 2, columns: n) { try updated.update(truth: t, prediction: s, elementWeights: $0) }
                }
            }
        }
        scoreCounts(updated)
    } catch { check(error is TallyError, "counts update threw a non-Tally error \(error)") }
}

func scoreCounts(_ c: ConfusionCounts) {
    for average in [nil] + Average.allCases.map(Optional.some) {
        for beta in [0, 1, 2] as [Double] {
            _ = try? c.precisionRecallFScore(beta: beta, average: average, zeroDivision: .warn)
        }
        _ = try? c.jaccard(average: average)
        _ = try? c.specificity(average: average)
        _ = try? c.negativePredictiveValue(average: average)
        _ = try? c.labelAccuracy(average: average)
        _ = try? c.matthewsCorrelation(average: average)
    }
    _ = try? c.confusionMatrices()
    _ = c.subsetAccuracy(); _ = c.subsetAccuracy(normalize: false)
    _ = c.zeroOneLoss(); _ = c.zeroOneLoss(normalize: false)
    _ = c.hammingLoss()
    _ = try? ClassificationReport(c).text()
    _ = c.integerConfusion
    _ = c.trueNegatives
    _ = c.labelWeights
    _ = c.rowTriples
    _ = c.serialized()
}
