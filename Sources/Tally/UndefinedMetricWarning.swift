/// Which metric an undefined-score warning is about (for scikit-learn's `warn_for`).
public enum ScoreName: String, Sendable {
    case precision, recall, fScore = "f-score", jaccard
    case specificity, negativePredictiveValue = "negative predictive value"
}

/// An undefined score that was replaced under `zero_division: .warn`, with
/// scikit-learn's exact message.
public struct UndefinedMetricWarning: Equatable, Sendable, CustomStringConvertible {
    public let metric: ScoreName
    public let message: String
    public var description: String { message }
}
