/// Interval columns of a classification report (`tally report --ci METHOD`).
///
/// Wilson and Clopper–Pearson give precision and recall intervals for the labels
/// and the micro average (the other averages are not proportions: their cells
/// stay blank); the bootstrap gives precision, recall and F1 intervals for every
/// row. The first four columns stay scikit-learn's, byte for byte.
public struct ReportIntervals: Sendable {
    public struct Column: Sendable {
        /// "precision CI", "recall CI", "f1-score CI".
        public let header: String
        /// One entry per report row (labels, then averages); nil prints blank.
        public let bounds: [(lower: Double, upper: Double)?]
    }

    public let method: IntervalMethod
    public let level: Double
    public let columns: [Column]

    /// The columns for `counts`' report rows.
    /// - Parameters:
    ///   - selected: the reported labels, in order.
    ///   - averages: the averages the report prints, in order.
    init(_ counts: ConfusionCounts, selected: [Int], averages: [Average], method: IntervalMethod, level: Double,
         replicates: BootstrapCounts?, zeroDivision: ZeroDivision) throws {
        let metrics: [(IntervalMetric, String)] = method == .bootstrap
            ? [(.precision, "precision CI"), (.recall, "recall CI"), (.f1, "f1-score CI")]
            : [(.precision, "precision CI"), (.recall, "recall CI")]
        func interval(_ metric: IntervalMetric, _ average: Average?) throws -> ConfidenceIntervals {
            try counts.confidenceIntervals(metric, method: method, replicates: replicates, average: average,
                                           zeroDivision: zeroDivision, labels: selected, level: level)
        }
        columns = try metrics.map { metric, header in
            let perLabel = try interval(metric, nil)
            var bounds: [(lower: Double, upper: Double)?] = perLabel.lower.indices.map { (perLabel.lower[$0], perLabel.upper[$0]) }
            for average in averages {
                guard method == .bootstrap || average == .micro else { bounds.append(nil); continue }
                let r = try interval(metric, average)
                bounds.append((r.lower[0], r.upper[0]))
            }
            return Column(header: header, bounds: bounds)
        }
        (self.method, self.level) = (method, level)
    }

    /// Row `row`'s cells: "[lower, upper]" with `digits` decimals, or "" where blank.
    func cells(row: Int, digits: Int) -> [String] {
        columns.map { column in
            guard let b = column.bounds[row] else { return "" }
            return "[\(formatFixed(b.lower, digits: digits)), \(formatFixed(b.upper, digits: digits))]"
        }
    }

    /// The line under the text and markdown layouts: "intervals: wilson, level 0.95".
    var note: String { "intervals: \(method.rawValue), level \(pythonRepr(level))" }
}
