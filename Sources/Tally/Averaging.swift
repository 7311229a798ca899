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
    var sum = 0.0, count = 0.0, weightedSum = 0.0, weightTotal = 0.0
    for i in values.indices {
        let v = values[i], m = multiplicity?[i] ?? 1
        switch rule {
        case .skip:
            guard !v.isNaN else { continue }
            sum += v * m
            count += m
            if let w = weights { weightedSum += v * w[i]; weightTotal += w[i] }
        case .propagate:
            sum += v * m
            count += m
            if let w = weights { weightedSum += v * w[i]; weightTotal += w[i] }
        case .zeroWeightIsZero:
            sum += v * m
            count += m
            if let w = weights {
                if w[i] != 0 { weightedSum += v * w[i] }
                weightTotal += w[i]
            }
        }
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
