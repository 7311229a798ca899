/// What a tuned threshold optimises, per label. A threshold `t` predicts
/// `score >= t`; the candidates are every distinct score of the label (rows of
/// weight 0 add none) plus `+inf`, which predicts nothing.
///
///     let f1 = try ThresholdObjective(parsing: "f1")
///     let strict = ThresholdObjective.recallAtPrecision(minPrecision: 0.9)
public enum ThresholdObjective: Equatable, Sendable {
    /// Maximise F-beta (`beta` = 1: F1).
    case fBeta(beta: Double)
    /// Maximise recall among thresholds whose precision is at least `minPrecision`.
    case recallAtPrecision(minPrecision: Double)
    /// Maximise precision among thresholds whose recall is at least `minRecall`.
    case precisionAtRecall(minRecall: Double)
    /// Maximise Youden's J = TPR − FPR.
    case youden
    /// The highest threshold whose predicted-positive rate (predicted-positive
    /// weight over all weight) is at least `rate`.
    case rate(Double)

    /// The names users pick an objective by.
    public static let names = ["f1", "fbeta", "precision_at_recall", "recall_at_precision", "youden", "rate"]

    /// The objective named `name`, with the parameter that name needs.
    /// - Throws: `TallyError.invalidValue` for an unknown name, a missing
    ///   parameter, or a parameter out of range.
    public init(parsing name: String, beta: Double? = nil, minPrecision: Double? = nil,
                minRecall: Double? = nil, rate: Double? = nil) throws {
        func need(_ v: Double?, _ parameter: String) throws -> Double {
            guard let v else {
                throw TallyError.invalidValue("Expected `\(parameter)` with objective='\(name)', but got none")
            }
            return v
        }
        switch name {
        case "f1": self = .fBeta(beta: 1)
        case "fbeta": self = .fBeta(beta: try need(beta, "beta"))
        case "recall_at_precision": self = .recallAtPrecision(minPrecision: try need(minPrecision, "min_precision"))
        case "precision_at_recall": self = .precisionAtRecall(minRecall: try need(minRecall, "min_recall"))
        case "youden": self = .youden
        case "rate": self = .rate(try need(rate, "rate"))
        default:
            let spelled = Self.names.map { "'\($0)'" }.joined(separator: ", ")
            throw TallyError.invalidValue("Expected `objective` to be one of \(spelled), but got '\(name)'")
        }
        try check()
    }

    /// The name `init(parsing:)` reads (`fBeta(1)` is "f1").
    public var name: String {
        switch self {
        case .fBeta(let beta): return beta == 1 ? "f1" : "fbeta"
        case .recallAtPrecision: return "recall_at_precision"
        case .precisionAtRecall: return "precision_at_recall"
        case .youden: return "youden"
        case .rate: return "rate"
        }
    }

    /// The objective's parameter (`beta`, `min_precision`, `min_recall`, `rate`), nil for Youden.
    public var parameter: (name: String, value: Double)? {
        switch self {
        case .fBeta(let beta): return ("beta", beta)
        case .recallAtPrecision(let p): return ("min_precision", p)
        case .precisionAtRecall(let r): return ("min_recall", r)
        case .youden: return nil
        case .rate(let r): return ("rate", r)
        }
    }

    /// Refuses parameters outside their range.
    public func check() throws {
        switch self {
        case .fBeta(let beta):
            _ = try FBeta(beta: beta)
        case .recallAtPrecision(let p):
            guard p >= 0 && p <= 1 else { throw TallyError.invalidValue("Expected `min_precision` in [0, 1], but got \(pythonRepr(p))") }
        case .precisionAtRecall(let r):
            guard r >= 0 && r <= 1 else { throw TallyError.invalidValue("Expected `min_recall` in [0, 1], but got \(pythonRepr(r))") }
        case .youden: break
        case .rate(let r):
            guard r >= 0 && r <= 1 else { throw TallyError.invalidValue("Expected `rate` in [0, 1], but got \(pythonRepr(r))") }
        }
    }

    /// Whether the objective reads recall, so is undefined for a label without positive weight.
    var needsPositives: Bool {
        if case .rate = self { return false }
        return true
    }

    /// The objective's value at a threshold predicting `tp` positive and `fp`
    /// negative weight, of `positives` and `negatives` in all; nil where it is
    /// undefined (a zero denominator) or the constraint fails.
    @inline(__always)
    func value(tp: Double, fp: Double, positives: Double, negatives: Double) -> Double? {
        let predicted = tp + fp
        switch self {
        case .fBeta(let beta):
            // The F-beta of `precisionRecallFScore`: (1 + β²)·tp / (β²·actual + predicted).
            let (numerator, denominator) = FBeta(checked: beta).fraction(truePositives: tp, predicted: predicted, actual: positives)
            return denominator == 0 ? nil : numerator / denominator
        case .recallAtPrecision(let p):
            guard predicted != 0, tp / predicted >= p else { return nil }
            return tp / positives
        case .precisionAtRecall(let r):
            guard predicted != 0, tp / positives >= r else { return nil }
            return tp / predicted
        case .youden:
            return tp / positives - fp / negatives
        case .rate(let r):
            let total = positives + negatives
            guard total != 0, predicted / total >= r else { return nil }
            return predicted / total
        }
    }
}

/// One threshold per label and what it reaches there.
///
/// Among thresholds reaching the same (best) value, the **highest** is chosen:
/// the one predicting the fewest positives. A label whose objective is
/// undefined at every candidate (no positive weight for an objective that reads
/// recall, no negative weight for Youden's J, no rows of weight > 0, or no
/// threshold meeting the constraint) gets threshold `+inf` (predict nothing),
/// value nan, and is listed in `undefined`.
public struct TunedThresholds: Equatable, Sendable {
    public var objective: ThresholdObjective
    /// One threshold per label: predict `score >= threshold`.
    public var thresholds: [Double]
    /// The objective's value at each label's threshold (nan where undefined).
    public var values: [Double]
    /// Precision there (nan when nothing is predicted positive).
    public var precision: [Double]
    /// Recall there (nan when the label has no positive weight).
    public var recall: [Double]
    /// Positive weight of each label (its count when unweighted).
    public var support: [Double]
    /// Predicted-positive weight at each label's threshold.
    public var predicted: [Double]
    /// Labels whose objective could not be reached (threshold `+inf`, value nan).
    public var undefined: [Int]
    /// Binned stores only: per label, bounds on the exact optimum over every
    /// raw-score threshold (nil for the exact store, whose value is that optimum).
    public var lowerBound: [Double]?
    public var upperBound: [Double]?

    public var labelCount: Int { thresholds.count }

    /// The thresholds as `Threshold`, for `ConfusionCounts(labelCount:threshold:)`.
    public var threshold: Threshold { .perLabel(thresholds) }

    init(objective: ThresholdObjective, labelCount: Int) {
        self.objective = objective
        thresholds = Array(repeating: .infinity, count: labelCount)
        values = Array(repeating: .nan, count: labelCount)
        precision = values; recall = values
        support = Array(repeating: 0, count: labelCount)
        predicted = support
        undefined = []
    }
}

/// The best threshold so far of one label for one objective, fed the candidates
/// from the highest down: `+inf` (at creation), then each distinct score. A
/// candidate replaces the best only when strictly better, so ties go to the
/// highest threshold; for `.rate` the first candidate reaching the rate wins.
struct ThresholdSearch {
    let objective: ThresholdObjective
    let positives: Double, negatives: Double
    /// nil until a candidate is defined (and for the whole search of an undefined label).
    private(set) var threshold: Double?
    private(set) var value = Double.nan
    private(set) var tp = 0.0, fp = 0.0
    private var closed = false
    private let isRate: Bool
    /// The positive weight of the previous candidate.
    private var previousTP = 0.0

    /// - Parameters: positives, negatives: the label's total positive and negative weight.
    init(_ objective: ThresholdObjective, positives: Double, negatives: Double) {
        (self.objective, self.positives, self.negatives) = (objective, positives, negatives)
        if case .rate = objective { isRate = true } else { isRate = false }
        if objective.needsPositives && positives == 0 { closed = true; return }
        if case .youden = objective, negatives == 0 { closed = true; return }
        _ = offer(tp: 0, fp: 0, threshold: .infinity)
    }

    /// Offers the next lower candidate, which predicts `tp` and `fp` weight.
    @inline(__always)
    mutating func offer(tp: Double, fp: Double, threshold t: @autoclosure () -> Double) -> Bool {
        guard !closed else { return false }
        // A candidate that adds only negatives to the previous one is never strictly better
        // (F-beta, precision and J do not rise, recall stays; each rounded monotonically), and
        // is infeasible where the previous one was: skip it once a best exists. Most
        // candidates are such, so the pass costs about what the sort does.
        if !isRate && threshold != nil && tp == previousTP { return false }
        previousTP = tp
        guard let v = objective.value(tp: tp, fp: fp, positives: positives, negatives: negatives),
              threshold == nil || v > value else { return false }
        (threshold, value, self.tp, self.fp) = (t(), v, tp, fp)
        if case .rate = objective { closed = true }
        return true
    }
}

extension ThresholdCurve {
    /// The best of this curve's candidates for `objective`.
    /// - Complexity: O(number of distinct scores).
    func search(_ objective: ThresholdObjective) -> ThresholdSearch {
        var s = ThresholdSearch(objective, positives: truePositives.last ?? 0, negatives: falsePositives.last ?? 0)
        for i in thresholds.indices { _ = s.offer(tp: truePositives[i], fp: falsePositives[i], threshold: thresholds[i]) }
        return s
    }
}

/// Searches several objectives while a label's sorted scores stream past
/// (unweighted stores, whose totals are exact counts known before the walk).
struct SearchSink: GroupSink {
    var searches: [ThresholdSearch]
    mutating func group(key: UInt64, wide: Bool, tp: Double, fp: Double) {
        for i in searches.indices {
            _ = searches[i].offer(tp: tp, fp: fp, threshold: wide ? scoreFromKey64(key)
                                                                   : Double(scoreFromKey32(UInt32(truncatingIfNeeded: key))))
        }
    }
}

extension TunedThresholds {
    /// Records label `j`'s outcome.
    mutating func record(_ j: Int, _ s: ThresholdSearch) {
        support[j] = s.positives
        guard let t = s.threshold else {
            undefined.append(j)
            thresholds[j] = .infinity; values[j] = .nan; predicted[j] = 0
            precision[j] = .nan; recall[j] = s.positives > 0 ? 0 : .nan
            return
        }
        thresholds[j] = t
        values[j] = s.value
        let p = s.tp + s.fp
        predicted[j] = p
        precision[j] = p != 0 ? s.tp / p : .nan
        recall[j] = s.positives != 0 ? s.tp / s.positives : .nan
    }
}

extension ScoreStore {
    /// One threshold per label that optimises `objective` on every stored row,
    /// exactly: each label's distinct scores are sorted once and every one is
    /// tried (see `TunedThresholds` for ties and undefined labels).
    ///
    ///     let tuned = try store.tuneThresholds(.fBeta(beta: 1))
    ///     var counts = try ConfusionCounts(labelCount: 39, threshold: tuned.threshold)
    ///
    /// - Parameters:
    ///   - objective: what to optimise.
    ///   - threads: labels are sorted in parallel on this many threads.
    /// - Complexity: one sort of each label's scores.
    public func tuneThresholds(_ objective: ThresholdObjective, threads: Int = coreProcessorCount()) throws -> TunedThresholds {
        try tuneThresholds([objective], threads: threads)[0]
    }

    /// Several objectives from one sorted pass per label.
    public func tuneThresholds(_ objectives: [ThresholdObjective], threads: Int = coreProcessorCount()) throws -> [TunedThresholds] {
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row of scores, but got none") }
        guard !objectives.isEmpty else { throw TallyError.invalidValue("Expected at least one objective, but got none") }
        for o in objectives { try o.check() }
        var searches = [[ThresholdSearch]](repeating: [], count: labelCount)
        searches.withUnsafeMutableBufferPointer { found in
            let f = found
            parallelFor(labelCount, threads: threads) { j in f[j] = self.searchLabel(j, objectives) }
        }
        return objectives.indices.map { o in
            var result = TunedThresholds(objective: objectives[o], labelCount: labelCount)
            for j in 0..<labelCount { result.record(j, searches[j][o]) }
            return result
        }
    }

    /// One label's searches. Unweighted, the totals are exact counts, so the
    /// search runs as the sorted scores stream past; weighted, the totals are the
    /// walk's own sums (summed in its order), so the curve is kept and searched after.
    func searchLabel(_ j: Int, _ objectives: [ThresholdObjective]) -> [ThresholdSearch] {
        if isWeighted { return objectives.map(curve(label: j).search) }
        let positives = Double(positiveCount(j)), negatives = Double(rowCount) - positives
        var sink = SearchSink(searches: objectives.map { ThresholdSearch($0, positives: positives, negatives: negatives) })
        _ = walk(labels: [j], into: &sink)
        return sink.searches
    }
}
