/// What kind of warning scikit-learn raises (the Python layer maps it to a class).
public enum WarningCategory: String, Sendable {
    /// `sklearn.exceptions.UndefinedMetricWarning`.
    case undefinedMetric = "UndefinedMetricWarning"
    /// A plain `UserWarning`.
    case user = "UserWarning"
}

/// Which metric an undefined-score warning is about (for scikit-learn's `warn_for`).
public enum ScoreName: String, Sendable {
    case precision, recall, fScore = "f-score", jaccard
    case specificity, negativePredictiveValue = "negative predictive value"
}

/// One warning with scikit-learn's exact text: the one warning type of every
/// metric (counting metrics, score-based metrics and curves alike).
public struct MetricWarning: Equatable, Sendable, CustomStringConvertible {
    public var category: WarningCategory
    /// The score an undefined-score warning is about (precision, recall, …), which
    /// scikit-learn's `warn_for` filters on; nil for the score-based metrics.
    public var metric: ScoreName?
    public var message: String
    public var description: String { message }

    public init(category: WarningCategory, metric: ScoreName? = nil, message: String) {
        (self.category, self.metric, self.message) = (category, metric, message)
    }

    /// An undefined score replaced under `zero_division: .warn`.
    static func undefined(_ metric: ScoreName, _ message: String) -> MetricWarning {
        MetricWarning(category: .undefinedMetric, metric: metric, message: message)
    }

    static let oneClass = MetricWarning(
        category: .undefinedMetric,
        message: "Only one class is present in y_true. ROC AUC score is not defined in that case.")
    static let noNegatives = MetricWarning(
        category: .undefinedMetric,
        message: "No negative samples in y_true, false positive value should be meaningless")
    static let noPositives = MetricWarning(
        category: .undefinedMetric,
        message: "No positive samples in y_true, true positive value should be meaningless")
    static let noPositiveClass = MetricWarning(
        category: .user,
        message: "No positive class found in y_true, recall is set to one for all thresholds.")
}
