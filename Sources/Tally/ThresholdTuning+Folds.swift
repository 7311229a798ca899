/// Thresholds tuned and scored on different rows: an honest estimate of what a
/// tuned threshold reaches on rows it has not seen.
///
/// The rows are shuffled with a seeded generator (SplitMix64, Fisher–Yates) and
/// cut into `k` folds of consecutive shuffled positions, the first `rows % k`
/// folds one row longer (scikit-learn's `KFold` sizes). For each fold, the
/// thresholds are tuned on the other k − 1 folds and applied (`score >= t`) to
/// the held-out fold; the held-out predictions of all folds are pooled into one
/// confusion per label, and the objective's metric is read from it (recall for
/// `recallAtPrecision`, precision for `precisionAtRecall`, F-beta, TPR − FPR, or
/// the predicted-positive rate). A constraint met in tuning may be missed out of
/// fold: `precision` and `recall` say by how much.
public struct OutOfFoldThresholds: Equatable, Sendable {
    public var folds: Int
    public var seed: UInt64
    /// Thresholds tuned on all rows (the ones to use), with their in-sample values.
    public var tuned: TunedThresholds
    /// The fold of each row.
    public var foldOfRow: [Int]
    /// Per fold, the thresholds tuned without it (folds × labels).
    public var foldThresholds: [[Double]]
    /// Per label, the objective's metric on the pooled held-out predictions (nan where undefined).
    public var values: [Double]
    public var precision: [Double]
    public var recall: [Double]
    /// Labels whose out-of-fold value is undefined.
    public var undefined: [Int]
    /// The mean of the defined per-label values (nan when none is).
    public var average: Double
}

extension ScoreStore {
    /// Out-of-fold tuning: see `OutOfFoldThresholds`.
    /// - Parameters:
    ///   - folds: k, from 2 to the number of rows.
    ///   - seed: the shuffle's seed.
    /// - Complexity: k + 1 tunings, each one sort per label.
    public func tuneThresholdsOutOfFold(_ objective: ThresholdObjective, folds: Int, seed: UInt64 = 0,
                                        threads: Int = coreProcessorCount()) throws -> OutOfFoldThresholds {
        try objective.check()
        guard folds >= 2, folds <= rowCount else {
            throw TallyError.invalidValue("Expected `folds` between 2 and the number of rows (\(rowCount)), but got \(folds)")
        }
        let foldOfRow = Self.foldAssignment(rows: rowCount, folds: folds, seed: seed)
        var members = [[Int]](repeating: [], count: folds)
        for r in 0..<rowCount { members[foldOfRow[r]].append(r) }
        let tuned = try tuneThresholds(objective, threads: threads)
        // Pooled held-out weight per label: tp, fp, positives, negatives.
        var tp = [Double](repeating: 0, count: labelCount), fp = tp, positives = tp, negatives = tp
        var foldThresholds: [[Double]] = []
        let w = rowWeights
        for f in 0..<folds {
            let training = (0..<rowCount).filter { foldOfRow[$0] != f }
            let t = try rows(training).tuneThresholds(objective, threads: threads).thresholds
            foldThresholds.append(t)
            for j in 0..<labelCount {
                let s = scores(label: j)
                for r in members[f] {
                    let weight = isElementWeighted ? cellWeights[j][r] : w[r]
                    if truthBit(j, r) {
                        positives[j] += weight
                        if s[r] >= t[j] { tp[j] += weight }
                    } else {
                        negatives[j] += weight
                        if s[r] >= t[j] { fp[j] += weight }
                    }
                }
            }
        }
        var values = [Double](repeating: .nan, count: labelCount), precision = values, recall = values
        var undefined: [Int] = []
        for j in 0..<labelCount {
            let predicted = tp[j] + fp[j]
            precision[j] = predicted != 0 ? tp[j] / predicted : .nan
            recall[j] = positives[j] != 0 ? tp[j] / positives[j] : .nan
            values[j] = objective.heldOutValue(tp: tp[j], fp: fp[j], positives: positives[j], negatives: negatives[j])
            if values[j].isNaN { undefined.append(j) }
        }
        let defined = values.filter { !$0.isNaN }
        return OutOfFoldThresholds(folds: folds, seed: seed, tuned: tuned, foldOfRow: foldOfRow,
                                   foldThresholds: foldThresholds, values: values, precision: precision,
                                   recall: recall, undefined: undefined,
                                   average: defined.isEmpty ? .nan : defined.reduce(0, +) / Double(defined.count))
    }

    /// The fold of each row: a seeded shuffle cut into `folds` runs (KFold sizes).
    public static func foldAssignment(rows: Int, folds: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<rows)
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        if rows > 1 {
            for i in stride(from: rows - 1, to: 0, by: -1) {
                let k = Int(next() % UInt64(i + 1))
                order.swapAt(i, k)
            }
        }
        var fold = [Int](repeating: 0, count: rows)
        var position = 0
        for f in 0..<folds {
            let size = rows / folds + (f < rows % folds ? 1 : 0)
            for p in position..<(position + size) { fold[order[p]] = f }
            position += size
        }
        return fold
    }

    /// A store of the given rows (in that order).
    func rows(_ selected: [Int]) -> ScoreStore {
        var out = try! ScoreStore(labelCount: labelCount)
        out.rowCount = selected.count
        out.isWide = isWide
        if isWide {
            out.wideKeys = wideKeys.map { keys in selected.map { keys[$0] } }
        } else {
            out.narrowKeys = narrowKeys.map { keys in selected.map { keys[$0] } }
        }
        out.truthBits = (0..<labelCount).map { j in
            var bits = [UInt64](repeating: 0, count: (selected.count + 63) / 64)
            for (i, r) in selected.enumerated() where truthBit(j, r) { bits[i >> 6] |= 1 << UInt64(i & 63) }
            return bits
        }
        if isWeighted { out.weights = selected.map { weights[$0] } }
        if isElementWeighted { out.cellWeights = cellWeights.map { w in selected.map { w[$0] } } }
        return out
    }
}

extension ThresholdObjective {
    /// The metric this objective reports, read from held-out counts (nan where undefined).
    func heldOutValue(tp: Double, fp: Double, positives: Double, negatives: Double) -> Double {
        let predicted = tp + fp
        switch self {
        case .fBeta(let beta):
            let (numerator, denominator) = FBeta(checked: beta).fraction(truePositives: tp, predicted: predicted, actual: positives)
            return positives == 0 || denominator == 0 ? .nan : numerator / denominator
        case .recallAtPrecision: return positives != 0 ? tp / positives : .nan
        case .precisionAtRecall: return predicted != 0 && positives != 0 ? tp / predicted : .nan
        case .youden: return positives != 0 && negatives != 0 ? tp / positives - fp / negatives : .nan
        case .rate: return positives + negatives != 0 ? predicted / (positives + negatives) : .nan
        }
    }
}
