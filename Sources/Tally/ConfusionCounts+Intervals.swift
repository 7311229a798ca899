/// Wilson and Clopper–Pearson intervals of the proportions the counts hold.
///
/// Each metric is successes out of trials:
///
/// | metric            | successes | trials     |
/// |-------------------|-----------|------------|
/// | precision         | tp        | tp + fp    |
/// | recall            | tp        | tp + fn    |
/// | specificity       | tn        | tn + fp    |
/// | npv               | tn        | tn + fn    |
/// | label_accuracy    | tp + tn   | the label's total weight |
///
/// `average: .micro` sums successes and trials over the selected labels first.
/// With sample weights the weighted sums are used as counts (frequency weights:
/// a row of weight 2 counts as two rows); no effective sample size is estimated.
extension ConfusionCounts {
    /// (successes, trials) of a proportion metric for one label.
    func proportionCounts(_ metric: IntervalMetric, label j: Int) -> (Double, Double) {
        let (tp, fp, fn, tn) = (truePositivesAt(j), falsePositivesAt(j), falseNegativesAt(j), trueNegativesAt(j))
        switch metric {
        case .precision: return (tp, tp + fp)
        case .recall: return (tp, tp + fn)
        case .specificity: return (tn, tn + fp)
        case .negativePredictiveValue: return (tn, tn + fn)
        default: return (tp + tn, labelWeightAt(j))
        }
    }

    /// Proportion intervals per selected label, or of the micro-averaged proportion.
    ///
    /// The point is successes / trials (nan without trials, whatever zero_division).
    /// - Parameters:
    ///   - metric: precision, recall, specificity, npv or label_accuracy.
    ///   - average: nil (per label) or `.micro`; the other averages are not
    ///     proportions of counts: use the bootstrap.
    ///   - level: the confidence level, in (0, 1).
    ///   - method: `.wilson` or `.clopperPearson`.
    ///   - labels: the labels to score, nil for all.
    /// - Complexity: O(labels); Clopper–Pearson runs a root search per bound.
    public func proportionIntervals(_ metric: IntervalMetric, average: Average? = nil, level: Double = 0.95,
                                    method: IntervalMethod = .wilson, labels: [Int]? = nil) throws -> ConfidenceIntervals {
        try checkLevel(level)
        guard method == .wilson || method == .clopperPearson else {
            throw TallyError.invalidValue("Expected `method` to be 'wilson' or 'clopper_pearson' for a proportion interval, but got '\(method.rawValue)'")
        }
        guard metric.isProportion else {
            throw TallyError.invalidValue("Expected a proportion (precision, recall, specificity, npv, label_accuracy) for method='\(method.rawValue)', but got '\(metric.rawValue)'; use method='bootstrap'")
        }
        guard average == nil || average == .micro else {
            throw TallyError.invalidValue("Expected `average` to be None or 'micro' for method='\(method.rawValue)', but got '\(average!.rawValue)'; use method='bootstrap' for the other averages")
        }
        var pairs = try selectedLabels(labels).map { proportionCounts(metric, label: $0) }
        if average == .micro {
            pairs = [pairs.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }]
        }
        var result = ConfidenceIntervals(lower: [], upper: [], point: [])
        for (successes, trials) in pairs {
            let (lower, upper) = proportionInterval(successes: successes, trials: trials, level: level, method: method)
            result.lower.append(lower)
            result.upper.append(upper)
            result.point.append(trials > 0 ? successes / trials : .nan)
        }
        return result
    }
}

extension ConfusionCounts {
    /// The interval of any counting metric by any method the counts serve: the one
    /// place that turns a method's name into a computation.
    /// - Parameters:
    ///   - metric: the metric.
    ///   - method: `.wilson` or `.clopperPearson` (proportions; per label or micro),
    ///     or `.bootstrap` (any metric and average; needs `replicates`).
    ///   - replicates: bootstrap replicates of the same rows, or nil.
    ///   - beta: F-beta's beta (`.fbeta` only).
    ///   - zeroDivision: the value of an undefined score (bootstrap; the proportion
    ///     intervals give nan there).
    /// - Throws: for a method or metric the counts cannot serve, or a level outside (0, 1).
    public func confidenceIntervals(_ metric: IntervalMetric, method: IntervalMethod, replicates: BootstrapCounts? = nil,
                                    beta: Double = 1, average: Average? = nil, zeroDivision: ZeroDivision = .zero,
                                    labels: [Int]? = nil, level: Double = 0.95) throws -> ConfidenceIntervals {
        switch method {
        case .wilson, .clopperPearson:
            return try proportionIntervals(metric, average: average, level: level, method: method, labels: labels)
        case .bootstrap:
            try checkLevel(level)
            guard let replicates else {
                throw TallyError.invalidValue("Expected bootstrap replicates for method='bootstrap', but this accumulator keeps none (create it with a number of bootstrap replicates)")
            }
            return try replicates.intervals(metric, counts: self, beta: beta, average: average, zeroDivision: zeroDivision,
                                            labels: labels, level: level)
        case .delong:
            throw TallyError.invalidValue("Expected `method` to be one of 'wilson', 'clopper_pearson', 'bootstrap' for a counting metric, but got 'delong' (DeLong's interval is for ROC AUC from the exact scores)")
        }
    }
}
