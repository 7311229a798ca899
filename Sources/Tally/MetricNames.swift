/// The names by which users pick a metric or an output where one entry point
/// serves several (`counts_negative_class(…, "npv", …)`). Each parses through
/// `NamedOption`, so an unknown name is refused instead of meaning "the other one".

/// Specificity or negative predictive value: the two scores of the negative class.
public enum NegativeClassMetric: String, NamedOption {
    case specificity
    case negativePredictiveValue = "npv"
    public static var parameterName: String { "metric" }
}

/// Which curve of a label's threshold curve: ROC (fpr, tpr) or precision-recall.
public enum CurveKind: String, NamedOption {
    case roc
    case precisionRecall = "pr"
    public static var parameterName: String { "kind" }
}

/// A score computed from the ranking of scores within each label.
public enum RankingScore: String, NamedOption {
    case rocAUC = "roc_auc"
    case averagePrecision = "average_precision"
    public static var parameterName: String { "metric" }
}

/// A metric over the ranking of labels within each row (`RankingSums`).
public enum RankingMetric: String, NamedOption {
    case lrap, coverage
    case rankingLoss = "ranking_loss"
    case ndcg
    case precisionAtK = "precision_at_k"
    case recallAtK = "recall_at_k"
    public static var parameterName: String { "name" }
}

/// The layouts of a classification report.
public enum ReportFormat: String, NamedOption {
    case text, json, markdown, html
    public static var parameterName: String { "format" }
}

extension ConfusionCounts {
    /// Specificity or negative predictive value, by name.
    public func negativeClassScore(_ metric: NegativeClassMetric, average: Average? = nil,
                                   zeroDivision: ZeroDivision = .warn, labels: [Int]? = nil) throws -> LabelScores {
        try negativeClassScore(average: average, zeroDivision: zeroDivision, labels: labels,
                               recall: metric == .specificity)
    }
}

extension ThresholdCurve {
    /// The ROC or precision-recall curve, each with its own default for `dropIntermediate`
    /// given by the caller.
    public func curve(_ kind: CurveKind, dropIntermediate: Bool) -> Curve {
        switch kind {
        case .roc: return rocCurve(dropIntermediate: dropIntermediate)
        case .precisionRecall: return precisionRecallCurve(dropIntermediate: dropIntermediate)
        }
    }
}

extension BinnedScores {
    /// ROC AUC or average precision of the binned scores, by name.
    public func score(_ metric: RankingScore, average: Average? = .macro) throws -> Result {
        switch metric {
        case .rocAUC: return try rocAUC(average: average)
        case .averagePrecision: return try averagePrecision(average: average)
        }
    }
}
