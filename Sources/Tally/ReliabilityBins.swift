/// One label's reliability diagram (or several labels' cells pooled): per bin the
/// rows, their weight, and the exact sums of weighted score and weighted truth.
/// ECE and MCE are read from it, so equal-width bins (`CalibrationSums`, streamed)
/// and equal-mass bins (`ScoreStore`, from every score) share one rule.
///
/// A bin whose weight is 0 is empty: its mean score and fraction positive are nan
/// and it adds nothing to ECE or MCE (scikit-learn's `calibration_curve` drops
/// such bins from its arrays; these keep every bin, in order).
public struct ReliabilityBins: Equatable, Sendable {
    /// bins + 1 edges: uniform, or the quantiles of the scores for equal mass.
    public var edges: [Double]
    public var counts: [Int64]
    var weightSums: [ExactSum]
    var scoreSums: [ExactSum]
    var positiveSums: [ExactSum]

    public var binCount: Int { counts.count }
    public var weights: [Double] { weightSums.map(\.value) }

    /// Per bin: Σ w·p / Σ w (nan for an empty bin), `calibration_curve`'s `prob_pred`.
    public var meanScores: [Double] { ratios(scoreSums) }
    /// Per bin: Σ w·y / Σ w (nan for an empty bin), `calibration_curve`'s `prob_true`.
    public var fractionsPositive: [Double] { ratios(positiveSums) }

    func ratios(_ sums: [ExactSum]) -> [Double] {
        zip(sums, weightSums).map { s, w in w.isZero ? .nan : s.value / w.value }
    }

    /// Per bin: |Σ w·p − Σ w·y|, the difference taken exactly and rounded once.
    var gaps: [Double] {
        zip(scoreSums, positiveSums).map { s, y in
            var d = s
            for x in y.partials { d.add(-x) }
            return abs(d.value)
        }
    }

    /// Σ over bins of (weight of the bin / total weight) · |mean score − fraction positive|,
    /// i.e. Σ |Σ w·p − Σ w·y| / Σ w; nan when no row has weight.
    public var expectedCalibrationError: Double {
        var total = ExactSum(), gapSum = ExactSum()
        for w in weightSums { total.add(w) }
        for g in gaps { gapSum.add(g) }
        return total.isZero ? .nan : gapSum.value / total.value
    }

    /// The largest |mean score − fraction positive| over non-empty bins; nan when all are empty.
    public var maximumCalibrationError: Double {
        var worst = -Double.infinity
        for (g, w) in zip(gaps, weightSums) where !w.isZero { worst = max(worst, g / w.value) }
        return worst == -.infinity ? .nan : worst
    }

    /// The bins of several labels added together (micro average).
    static func pooled(_ parts: [ReliabilityBins]) -> ReliabilityBins {
        var out = parts[0]
        for p in parts.dropFirst() {
            for b in out.counts.indices {
                out.counts[b] &+= p.counts[b]
                out.weightSums[b].add(p.weightSums[b]); out.scoreSums[b].add(p.scoreSums[b])
                out.positiveSums[b].add(p.positiveSums[b])
            }
        }
        return out
    }
}

/// Expected or maximum calibration error.
public enum CalibrationError: String, NamedOption {
    case expected = "ece"
    case maximum = "mce"
    public static var parameterName: String { "metric" }

    func value(_ bins: ReliabilityBins) -> Double {
        self == .expected ? bins.expectedCalibrationError : bins.maximumCalibrationError
    }
}

/// A proper scoring rule of probabilities, computed per label.
public enum CalibrationLoss: String, NamedOption {
    /// `brier_score_loss`.
    case brier
    /// `log_loss` with labels [0, 1].
    case logLoss = "log_loss"
    public static var parameterName: String { "metric" }
}

/// ECE or MCE per label (or averaged) from each label's bins: the one averaging
/// rule of both bin strategies.
/// - Parameters:
///   - bins: the reliability bins of one selected label.
///   - pooled: the bins of all selected labels' cells together (micro).
///   - support: the positive weight of one label (weighted average).
func averagedCalibrationError(_ metric: CalibrationError, average: Average?, labels: [Int],
                              bins: (Int) -> ReliabilityBins, pooled: () -> ReliabilityBins,
                              support: (Int) -> Double) throws -> [Double] {
    switch average {
    case .samples?:
        throw TallyError.invalidValue("Expected `average` to be one of None, 'micro', 'macro', 'weighted' for a calibration error (a row has no bins), but got 'samples'")
    case .micro?:
        return [metric.value(pooled())]
    case nil:
        return labels.map { metric.value(bins($0)) }
    case .macro?, .weighted?:
        let values = labels.map { metric.value(bins($0)) }
        return [averageScores(values, weights: average == .weighted ? labels.map(support) : nil, nan: .skip)]
    }
}

extension CalibrationSums {
    /// The reliability diagram of one label, from its equal-width bins.
    public func reliability(label: Int) throws -> ReliabilityBins {
        reliabilityBins(try selectLabels([label], labelCount: labelCount)[0])
    }

    func reliabilityBins(_ j: Int) -> ReliabilityBins {
        let range = (j * bins)..<((j + 1) * bins)
        return ReliabilityBins(edges: edges, counts: Array(binCounts[range]), weightSums: Array(binWeights[range]),
                               scoreSums: Array(binScores[range]), positiveSums: Array(binPositives[range]))
    }

    /// The label's total weight (Σ w over its rows) and positive weight, exactly.
    func labelWeights(_ j: Int) -> (total: ExactSum, positive: ExactSum) {
        var total = ExactSum(), positive = ExactSum()
        for k in (j * bins)..<((j + 1) * bins) { total.add(binWeights[k]); positive.add(binPositives[k]) }
        return (total, positive)
    }

    /// ECE or MCE over the equal-width bins, per label (`average` nil) or averaged:
    /// macro (labels whose value is nan left out), weighted by positive weight, micro
    /// (every selected label's cells in one set of bins).
    public func calibrationError(_ metric: CalibrationError, average: Average? = nil, labels: [Int]? = nil) throws -> [Double] {
        let selected = try selectLabels(labels, labelCount: labelCount)
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row of scores, but got none") }
        return try averagedCalibrationError(metric, average: average, labels: selected,
                                            bins: reliabilityBins,
                                            pooled: { ReliabilityBins.pooled(selected.map(reliabilityBins)) },
                                            support: { labelWeights($0).positive.value })
    }

    /// The Brier score or log loss per label (`average` nil) or averaged. micro:
    /// every selected cell as one binary problem (Σ over labels / Σ of weights);
    /// macro: the mean of the labels' values; weighted: weighted by each label's
    /// positive weight; samples: the weighted mean over rows of each row's mean.
    /// A label whose rows weigh nothing has a nan score (scikit-learn raises).
    public func score(_ loss: CalibrationLoss, average: Average? = nil, labels: [Int]? = nil) throws -> [Double] {
        let selected = try selectLabels(labels, labelCount: labelCount)
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row of scores, but got none") }
        // scikit-learn halves the two-column Brier sum (scale_by_half for a binary target).
        let scale = loss == .brier ? 0.5 : 1
        let sums = loss == .brier ? brierSums : logLossSums
        func ratio(_ s: ExactSum, _ w: ExactSum) -> Double { w.isZero ? .nan : scale * (s.value / w.value) }
        switch average {
        case .samples?:
            guard selected == Array(0..<labelCount) else {
                throw TallyError.invalidValue("Expected `labels` to be all labels in order with average='samples', but got a subset")
            }
            return [ratio(loss == .brier ? rowBrier : rowLogLoss, rowWeight)]
        case .micro?:
            var s = ExactSum(), w = ExactSum()
            for j in selected { s.add(sums[j]); w.add(labelWeights(j).total) }
            return [ratio(s, w)]
        case nil:
            return selected.map { ratio(sums[$0], labelWeights($0).total) }
        case .macro?, .weighted?:
            let values = selected.map { ratio(sums[$0], labelWeights($0).total) }
            let support = average == .weighted ? selected.map { labelWeights($0).positive.value } : nil
            return [averageScores(values, weights: support, nan: .skip)]
        }
    }
}
