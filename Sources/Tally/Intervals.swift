/// Confidence intervals: the names users pick them by, the result, and the
/// proportion intervals (Wilson, Clopper–Pearson) of one success count.
///
/// Which method serves which metric:
/// - Wilson and Clopper–Pearson: the proportions (precision, recall, specificity,
///   negative predictive value, label accuracy), per label or micro-averaged,
///   from the counts alone (`ConfusionCounts+Intervals.swift`).
/// - Poisson bootstrap: every counting metric and every average, from replicate
///   counts kept beside the counts (`BootstrapCounts`).
/// - DeLong: per-label ROC AUC, from the exact score store (`ScoreStore+DeLong.swift`).

/// How an interval is computed.
public enum IntervalMethod: String, NamedOption {
    /// Wilson's score interval (statsmodels' `proportion_confint(method="wilson")`).
    case wilson
    /// The Clopper–Pearson "exact" interval (statsmodels' `method="beta"`).
    case clopperPearson = "clopper_pearson"
    /// Percentiles of the metric over Poisson bootstrap replicates.
    case bootstrap
    /// DeLong's variance of ROC AUC, with a normal interval.
    case delong

    public static var parameterName: String { "method" }
}

/// The metric an interval is for.
public enum IntervalMetric: String, NamedOption {
    case precision, recall, specificity
    case negativePredictiveValue = "npv"
    case labelAccuracy = "label_accuracy"
    case f1, fbeta, jaccard
    case matthews = "matthews_corrcoef"

    public static var parameterName: String { "metric" }

    /// Whether the metric is a proportion of counts (Wilson and Clopper–Pearson apply).
    public var isProportion: Bool {
        switch self {
        case .precision, .recall, .specificity, .negativePredictiveValue, .labelAccuracy: return true
        case .f1, .fbeta, .jaccard, .matthews: return false
        }
    }
}

/// Lower and upper bounds around a point estimate, one entry per selected label
/// (or one for an average).
public struct ConfidenceIntervals: Equatable, Sendable {
    public var lower: [Double]
    public var upper: [Double]
    public var point: [Double]

    public init(lower: [Double], upper: [Double], point: [Double]) {
        (self.lower, self.upper, self.point) = (lower, upper, point)
    }
}

/// Checks a confidence level: a number strictly between 0 and 1.
public func checkLevel(_ level: Double) throws {
    guard level > 0, level < 1 else {
        throw TallyError.invalidValue("Expected `level` to be between 0 and 1 (exclusive), but got \(level)")
    }
}

/// The interval of a proportion `successes / trials` at confidence `level`, as
/// statsmodels' `proportion_confint(successes, trials, alpha=1 - level, method=…)`
/// (two-sided, α/2 in each tail). Counts may be float sums of sample weights:
/// they are then used as counts (frequency weights).
///
///     proportionInterval(successes: 3, trials: 10, level: 0.95, method: .wilson)
///     // (0.10779126740630092, 0.6032218525388546)
///
/// - Returns: nan bounds when there are no trials (or negative weights made the
///   counts impossible).
public func proportionInterval(successes: Double, trials: Double, level: Double,
                               method: IntervalMethod) -> (lower: Double, upper: Double) {
    guard trials > 0, successes >= 0, successes <= trials else { return (.nan, .nan) }
    let halfAlpha = (1 - level) / 2
    switch method {
    case .clopperPearson:
        let lower = successes == 0 ? 0 : Distributions.betaQuantile(halfAlpha, successes, trials - successes + 1)
        let upper = successes == trials ? 1
            : Distributions.betaQuantile(halfAlpha, successes + 1, trials - successes, upper: true)
        return (lower, upper)
    default:
        // statsmodels' arithmetic, step by step, clipped to [0, 1].
        let z = -Distributions.normalQuantile(halfAlpha)
        let z2 = z * z
        let q = successes / trials
        let denominator = 1 + z2 / trials
        let center = (q + z2 / (2 * trials)) / denominator
        var distance = z * (q * (1 - q) / trials + z2 / (4 * trials * trials)).squareRoot()
        distance /= denominator
        return (min(max(center - distance, 0), 1), min(max(center + distance, 0), 1))
    }
}
