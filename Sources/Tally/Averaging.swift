/// How a mean over labels (or rows) treats an undefined (nan) score. scikit-learn
/// averages with three rules, which differ only there.
public enum NanRule: String, NamedOption {
    /// `_nanaverage` (precision, recall, F, specificity, negative predictive value):
    /// nan values are left out; when the weights of the rest sum to 0, their
    /// unweighted mean; nan when every value is nan.
    case skip
    /// `np.average` (Jaccard): a nan makes the mean nan.
    case propagate
    /// `_average_binary_score` (ROC AUC, average precision): a value of weight 0
    /// counts as 0, so its nan does not spread; any other nan does.
    case zeroWeightIsZero = "zero_weight_is_zero"

    public static var parameterName: String { "nan_rule" }
}

/// The one averaging kernel: every macro, weighted and samples average in Tally is
/// this mean over per-label (or per-row) values.
///
/// The values stand for an array in which value `i` appears `multiplicity[i]` times
/// (1 when nil) with total weight `weights[i]` (its multiplicity when nil) — the
/// samples average keeps one value per distinct row instead of one per row.
///
///     averageScores([0.5, .nan, 1], nan: .skip)                    // 0.75
///     averageScores([0.5, .nan, 1], weights: [1, 0, 3], nan: .zeroWeightIsZero)  // 0.875
///
/// - Parameters:
///   - values: the scores.
///   - weights: the weight of each value (support, sample weight), or nil.
///   - multiplicity: how many rows each value stands for, or nil for one each.
///   - nan: how a nan counts.
/// - Returns: the mean; nan when nothing is left to average.
/// - Complexity: O(values.count). Sums run left to right, as the arithmetic the
///   scikit-learn fixtures were checked against.
public func averageScores(_ values: [Double], weights: [Double]? = nil, multiplicity: [Double]? = nil,
                          nan rule: NanRule) -> Double {
    if let multiplicity { return averageDistinctRows(values, weights: weights, multiplicity: multiplicity, nan: rule) }
    // One value per label (or row): numpy's own sums (pairwise, `numpySum`), so that
    // a mean lands on the same float64 as scikit-learn's.
    func mean(_ v: [Double]) -> Double { numpySum(v[...]) / Double(v.count) }
    func weightedMean(_ v: [Double], _ w: [Double]) -> Double {
        numpySum(zip(v, w).map { $0 * $1 }[...]) / numpySum(w[...])
    }
    switch rule {
    case .skip:
        let kept = values.indices.filter { !values[$0].isNaN }
        guard !kept.isEmpty else { return .nan }
        guard let weights else {
            // np.nanmean: nan replaced by 0 in place, summed, over the count of the rest.
            return numpySum(values.map { $0.isNaN ? 0 : $0 }[...]) / Double(kept.count)
        }
        let (v, w) = (kept.map { values[$0] }, kept.map { weights[$0] })
        return numpySum(w[...]) != 0 ? weightedMean(v, w) : mean(v)
    case .propagate:
        guard let weights else { return mean(values) }
        return weightedMean(values, weights)
    case .zeroWeightIsZero:
        guard let weights else { return mean(values) }
        return weightedMean(zip(values, weights).map { $1 == 0 ? 0 : $0 }, weights)
    }
}

/// `averageScores` over values that each stand for `multiplicity` rows (the samples
/// average keeps one value per distinct row): sums run left to right.
func averageDistinctRows(_ values: [Double], weights: [Double]?, multiplicity: [Double], nan rule: NanRule) -> Double {
    var sum = 0.0, count = 0.0, weightedSum = 0.0, weightTotal = 0.0
    for i in values.indices {
        let v = values[i], m = multiplicity[i]
        if rule == .skip && v.isNaN { continue }
        let w = weights?[i] ?? m
        sum += v * m
        count += m
        if rule != .zeroWeightIsZero || w != 0 { weightedSum += v * w }
        weightTotal += w
    }
    switch rule {
    case .skip:
        guard count > 0 else { return .nan }
        if weights != nil, weightTotal != 0 { return weightedSum / weightTotal }
        return sum / count
    case .propagate, .zeroWeightIsZero:
        return weights == nil ? sum / count : weightedSum / weightTotal
    }
}

/// scikit-learn's `_average_binary_score` returns 0 for `average="weighted"`,
/// before scoring anything (so without warnings), when the labels' positive
/// weights sum to about zero (`np.isclose(sum, 0)`).
func binaryScoreWeightsVanish(_ support: [Double]) -> Bool {
    abs(support.reduce(0, +)) <= 1e-8
}
