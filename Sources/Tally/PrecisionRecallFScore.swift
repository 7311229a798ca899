/// Precision, recall, F-beta and support, as scikit-learn's
/// `precision_recall_fscore_support` returns them.
public struct PrecisionRecallFScore: Equatable, Sendable {
    /// One value per selected label when `average` is nil, else one value.
    public var precision: [Double]
    public var recall: [Double]
    public var fScore: [Double]
    /// Per selected label: tp + fn (the weight of the rows where the label is true).
    /// Nil when averaged, as scikit-learn.
    public var support: [Double]?
    /// The undefined scores that `zero_division: .warn` replaced by 0, in the order
    /// scikit-learn warns (precision, recall, F).
    public var warnings: [MetricWarning]
}

/// scikit-learn's `_warn_prf` message.
func undefinedMessage(average: Average?, modifier: String, start: String, resultSize: Int) -> String {
    var axis0 = "sample", axis1 = "label"
    if average == .samples { swap(&axis0, &axis1) }
    let place = resultSize == 1 ? "due to" : "in \(axis1)s with"
    return "\(start) ill-defined and being set to 0.0 \(place) no \(modifier) \(axis0)s. Use `zero_division` parameter to control this behavior."
}

/// `numerator / denominator`, with `zeroDivision` where the denominator is 0
/// (scikit-learn's `_prf_divide`). Appends a warning when it replaced something under `.warn`.
func divide(_ numerator: [Double], _ denominator: [Double], metric: ScoreName, modifier: String,
            average: Average?, zeroDivision: ZeroDivision, resultSize: Int,
            warnings: inout [MetricWarning]) -> [Double] {
    var undefined = false
    let result = zip(numerator, denominator).map { (n, d) -> Double in
        if d == 0 { undefined = true; return zeroDivision.replacement }
        return n / d
    }
    if undefined && zeroDivision == .warn {
        let start = metric == .fScore ? "F-score is" : "\(metric.rawValue.prefix(1).uppercased())\(metric.rawValue.dropFirst()) is"
        warnings.append(.undefined(metric, undefinedMessage(average: average, modifier: modifier, start: start,
                                                             resultSize: resultSize)))
    }
    return result
}

extension ConfusionCounts {
    /// Checks `labels` and returns them, or every label in order when nil (`selectLabels`).
    public func selectedLabels(_ labels: [Int]?) throws -> [Int] {
        try selectLabels(labels, labelCount: labelCount)
    }

    /// Precision, recall, F-beta and support from the counts, exactly as
    /// scikit-learn's `precision_recall_fscore_support` on the concatenated batches.
    ///
    /// - Parameters:
    ///   - beta: the weight of recall in the F score (≥ 0; `.infinity` gives recall).
    ///   - average: nil for per-label values, else how to combine them.
    ///   - zeroDivision: the value of an undefined score.
    ///   - labels: the labels (columns) to score, in order; nil for all. With
    ///     `.samples` only all labels in order are allowed, because rows are
    ///     counted over every label (score a column subset with counts built on it).
    /// - Complexity: O(labelCount), or O(distinct row triples) for `.samples`.
    public func precisionRecallFScore(beta: Double = 1, average: Average? = nil,
                                      zeroDivision: ZeroDivision = .warn,
                                      labels: [Int]? = nil) throws -> PrecisionRecallFScore {
        let fBeta = try FBeta(beta: beta)
        let selected = try selectedLabels(labels)
        if average == .samples {
            guard selected == Array(0..<labelCount) else {
                throw TallyError.invalidValue("Expected `labels` to be all labels in order with average='samples', but got a subset; build the counts on the columns you want")
            }
            return samplesAverage(fBeta, zeroDivision: zeroDivision)
        }
        var tp = selected.map { truePositivesAt($0) }
        var pred = selected.map { truePositivesAt($0) + falsePositivesAt($0) }
        var trueSum = selected.map { truePositivesAt($0) + falseNegativesAt($0) }
        if average == .micro {
            tp = [tp.reduce(0, +)]
            pred = [pred.reduce(0, +)]
            trueSum = [trueSum.reduce(0, +)]
        }
        var warnings: [MetricWarning] = []
        let (precision, recall, fScore) = Self.scores(tp: tp, pred: pred, trueSum: trueSum, fBeta: fBeta,
                                                      average: average, zeroDivision: zeroDivision,
                                                      resultSize: tp.count, warnings: &warnings)
        guard let average else {
            return PrecisionRecallFScore(precision: precision, recall: recall, fScore: fScore,
                                         support: trueSum, warnings: warnings)
        }
        let weights: [Double]? = average == .weighted ? trueSum : nil
        func mean(_ values: [Double]) -> Double { averageScores(values, weights: weights, nan: .skip) }
        return PrecisionRecallFScore(precision: [mean(precision)], recall: [mean(recall)], fScore: [mean(fScore)],
                                     support: nil, warnings: warnings)
    }

    static func scores(tp: [Double], pred: [Double], trueSum: [Double], fBeta: FBeta, average: Average?,
                       zeroDivision: ZeroDivision, resultSize: Int, warnings: inout [MetricWarning])
        -> ([Double], [Double], [Double]) {
        let precision = divide(tp, pred, metric: .precision, modifier: "predicted",
                               average: average, zeroDivision: zeroDivision, resultSize: resultSize, warnings: &warnings)
        let recall = divide(tp, trueSum, metric: .recall, modifier: "true",
                            average: average, zeroDivision: zeroDivision, resultSize: resultSize, warnings: &warnings)
        // β = 0 and β = ∞ are precision and recall, whose undefined values were
        // reported above: scikit-learn does not report them again as F's.
        if fBeta.isPrecisionOrRecall { return (precision, recall, fBeta.beta == 0 ? precision : recall) }
        var numerator = [Double](), denominator = [Double]()
        for i in tp.indices {
            let (n, d) = fBeta.fraction(truePositives: tp[i], predicted: pred[i], actual: trueSum[i])
            numerator.append(n); denominator.append(d)
        }
        let fScore = divide(numerator, denominator, metric: .fScore, modifier: "true nor predicted", average: average,
                            zeroDivision: zeroDivision, resultSize: resultSize, warnings: &warnings)
        return (precision, recall, fScore)
    }

    /// The row triples in a fixed order, so that sums do not depend on hashing.
    var sortedRowTriples: [(key: RowKey, tally: RowTally)] {
        rowHistogram.sortedEntries
    }

    /// Average over rows of each row's own precision, recall and F, weighted by
    /// sample weight when weighted: scikit-learn's `average="samples"`.
    func samplesAverage(_ fBeta: FBeta, zeroDivision: ZeroDivision) -> PrecisionRecallFScore {
        let triples = sortedRowTriples
        let tp = triples.map { Double($0.key.tp) }
        let pred = triples.map { Double($0.key.tp + $0.key.fp) }
        let trueSum = triples.map { Double($0.key.tp + $0.key.fn) }
        var warnings: [MetricWarning] = []
        // scikit-learn scores an array of one entry per row: the warning text
        // depends on the row count, not on the number of distinct triples.
        let (precision, recall, fScore) = Self.scores(tp: tp, pred: pred, trueSum: trueSum, fBeta: fBeta,
                                                      average: .samples, zeroDivision: zeroDivision,
                                                      resultSize: Int(rowCount), warnings: &warnings)
        let rows = triples.map { Double($0.tally.rows) }
        let weights = isWeighted ? triples.map { $0.tally.weight } : nil
        func mean(_ values: [Double]) -> Double { averageScores(values, weights: weights, multiplicity: rows, nan: .skip) }
        return PrecisionRecallFScore(precision: [mean(precision)], recall: [mean(recall)],
                                     fScore: [mean(fScore)], support: nil, warnings: warnings)
    }
}
