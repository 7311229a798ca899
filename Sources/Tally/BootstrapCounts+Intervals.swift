/// Bootstrap intervals: every replicate is scored by the counts' own metric
/// functions (so each replicate's value is scikit-learn's metric with
/// `sample_weight` = that replicate's row weights), and the interval is the
/// percentiles of the replicates' values, as `numpy.nanpercentile` computes them.

/// Scores one metric on counts: the one dispatch from an interval's metric name to
/// the counts' functions. Warnings are dropped (an interval reports none).
func metricValues(_ metric: IntervalMetric, of counts: ConfusionCounts, beta: Double, average: Average?,
                  zeroDivision: ZeroDivision, labels: [Int]?) throws -> [Double] {
    switch metric {
    case .precision, .recall, .f1, .fbeta:
        let b = metric == .f1 ? 1 : beta
        let r = try counts.precisionRecallFScore(beta: b, average: average, zeroDivision: zeroDivision, labels: labels)
        return metric == .precision ? r.precision : (metric == .recall ? r.recall : r.fScore)
    case .jaccard:
        return try counts.jaccard(average: average, zeroDivision: zeroDivision, labels: labels).values
    case .specificity:
        return try counts.specificity(average: average, zeroDivision: zeroDivision, labels: labels).values
    case .negativePredictiveValue:
        return try counts.negativePredictiveValue(average: average, zeroDivision: zeroDivision, labels: labels).values
    case .labelAccuracy:
        return try counts.labelAccuracy(labels: labels, average: average)
    case .matthews:
        return try counts.matthewsCorrelation(labels: labels, average: average)
    }
}

extension BootstrapCounts {
    /// Replicate `b` as weighted confusion counts.
    public func replicate(_ b: Int) -> ConfusionCounts {
        precondition(b >= 0 && b < replicates, "replicate \(b) outside 0..<\(replicates)")
        var c = try! ConfusionCounts(labelCount: labelCount, threshold: .perLabel(thresholds))
        c.weightedCounts = (0..<(3 * labelCount)).map { counts[$0 * replicates + b] }
        c.weightSum = totals[b]
        c.rowCount = rowCount
        if isElementWeighted {
            c.labelWeightSums = (0..<labelCount).map { labelWeightSums[$0 * replicates + b] }
            c.hasPartlyMaskedRows = hasPartlyMaskedRows
        }
        for (i, key) in rowKeys.enumerated() {
            let weight = rowWeights[i * replicates + b]
            // A triple this replicate did not draw is absent from it, as from
            // scikit-learn's arrays under weight 0 (means are weighted by weight).
            if weight != 0 { c.rowHistogram.add(key, RowTally(rows: 1, weight: weight)) }
        }
        return c
    }

    /// The metric on every replicate: `values[b]` holds replicate b's per-label
    /// values (or its one average).
    public func distribution(_ metric: IntervalMetric, beta: Double = 1, average: Average? = nil,
                             zeroDivision: ZeroDivision = .zero, labels: [Int]? = nil) throws -> [[Double]] {
        try (0..<replicates).map { b in
            try metricValues(metric, of: replicate(b), beta: beta, average: average, zeroDivision: zeroDivision, labels: labels)
        }
    }

    /// Percentile intervals of a metric at `level`, around its value on `counts`
    /// (the counts of the same rows: same labels, thresholds and row count).
    ///
    /// Replicates whose value is nan (an undefined score with `zeroDivision: .nan`)
    /// are left out; the bounds are nan when every replicate is.
    public func intervals(_ metric: IntervalMetric, counts: ConfusionCounts, beta: Double = 1, average: Average? = nil,
                          zeroDivision: ZeroDivision = .zero, labels: [Int]? = nil,
                          level: Double = 0.95) throws -> ConfidenceIntervals {
        try checkLevel(level)
        guard counts.labelCount == labelCount, counts.thresholds == thresholds, counts.rowCount == rowCount else {
            throw TallyError.invalidValue("Expected the counts of the replicates' rows (\(labelCount) labels, \(rowCount) rows), but got \(counts.labelCount) labels and \(counts.rowCount) rows")
        }
        if metric == .fbeta { _ = try FBeta(beta: beta) }
        let point = try metricValues(metric, of: counts, beta: beta, average: average, zeroDivision: zeroDivision, labels: labels)
        let values = try distribution(metric, beta: beta, average: average, zeroDivision: zeroDivision, labels: labels)
        let halfAlpha = (1 - level) / 2
        var result = ConfidenceIntervals(lower: [], upper: [], point: point)
        for i in point.indices {
            let sorted = values.map { $0[i] }.filter { !$0.isNaN }.sorted()
            result.lower.append(percentile(sorted, halfAlpha))
            result.upper.append(percentile(sorted, 1 - halfAlpha))
        }
        return result
    }
}

/// numpy's default ('linear') quantile `q` in [0, 1] of sorted values, with its
/// interpolation (`_lerp`: from the upper value when the fraction is ≥ ½); nan
/// when there are none.
public func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let position = q * Double(sorted.count - 1)
    let below = min(max(Int(position.rounded(.down)), 0), sorted.count - 1)
    let above = min(below + 1, sorted.count - 1)
    let fraction = position - Double(below)
    let (a, b) = (sorted[below], sorted[above])
    let difference = b - a
    return fraction >= 0.5 ? b - difference * (1 - fraction) : a + difference * fraction
}
