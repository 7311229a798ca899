/// A per-label table of precision, recall, F1 and support with the micro, macro,
/// weighted and samples averages: scikit-learn's `classification_report` for
/// multi-label targets, as text (character for character), JSON or markdown.
public struct ClassificationReport: Sendable {
    public struct Row: Sendable {
        public let name: String
        public let precision: Double
        public let recall: Double
        public let f1: Double
        public let support: Double
        /// scikit-learn's "accuracy" line (the micro average of single-label targets):
        /// only its F1 column (the accuracy) and support are printed.
        public let isAccuracy: Bool

        public init(name: String, precision: Double, recall: Double, f1: Double, support: Double, isAccuracy: Bool = false) {
            (self.name, self.precision, self.recall, self.f1, self.support, self.isAccuracy) =
                (name, precision, recall, f1, support, isAccuracy)
        }
    }

    /// One row per label, in order.
    public let labels: [Row]
    /// "micro avg", "macro avg", "weighted avg", "samples avg" (samples only when
    /// every label is in the report, as rows are counted over all labels).
    public let averages: [Row]
    /// True when the counts are weighted: supports are then printed as floats.
    public let weighted: Bool
    public let warnings: [MetricWarning]
    /// Interval columns, when asked for (`ReportIntervals`).
    public internal(set) var intervals: ReportIntervals? = nil

    /// A report of scores computed elsewhere (binary and multi-class targets, which
    /// the Python package scores as one-hot columns), laid out by the same code.
    public init(labels: [Row], averages: [Row], weighted: Bool) {
        (self.labels, self.averages, self.weighted, self.warnings) = (labels, averages, weighted, [])
    }

    /// The report of `counts`.
    /// - Parameters:
    ///   - names: one name per reported label (default: the column index).
    ///   - labels: the columns to report, in order; nil for all.
    ///   - intervalMethod: add interval columns by this method (nil: none).
    ///   - level: their confidence level.
    ///   - replicates: bootstrap replicates of the same rows (`.bootstrap`).
    public init(_ counts: ConfusionCounts, names: [String]? = nil, labels: [Int]? = nil,
                zeroDivision: ZeroDivision = .warn, intervalMethod: IntervalMethod? = nil, level: Double = 0.95,
                replicates: BootstrapCounts? = nil) throws {
        let selected = try counts.selectedLabels(labels)
        let names = names ?? selected.map(String.init)
        guard names.count == selected.count else {
            throw TallyError.invalidValue("Expected \(selected.count) label names (one per reported label), but got \(names.count)")
        }
        var warnings: [MetricWarning] = []
        let perLabel = try counts.precisionRecallFScore(average: nil, zeroDivision: zeroDivision, labels: selected)
        warnings += perLabel.warnings
        let support = perLabel.support ?? []
        self.labels = names.indices.map {
            Row(name: names[$0], precision: perLabel.precision[$0], recall: perLabel.recall[$0],
                f1: perLabel.fScore[$0], support: support[$0])
        }
        var averages: [Row] = []
        var modes: [Average] = [.micro, .macro, .weighted]
        if selected == Array(0..<counts.labelCount) { modes.append(.samples) }
        let total = numpySum(support[...])
        for mode in modes {
            let r = try counts.precisionRecallFScore(average: mode, zeroDivision: zeroDivision, labels: selected)
            warnings += r.warnings
            averages.append(Row(name: "\(mode.rawValue) avg", precision: r.precision[0], recall: r.recall[0],
                                f1: r.fScore[0], support: total))
        }
        self.averages = averages
        self.weighted = counts.isWeighted
        self.warnings = warnings
        if let intervalMethod {
            intervals = try ReportIntervals(counts, selected: selected, averages: modes, method: intervalMethod,
                                            level: level, replicates: replicates, zeroDivision: zeroDivision)
        }
    }
}
