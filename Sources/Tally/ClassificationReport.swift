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
    }

    /// One row per label, in order.
    public let labels: [Row]
    /// "micro avg", "macro avg", "weighted avg", "samples avg" (samples only when
    /// every label is in the report, as rows are counted over all labels).
    public let averages: [Row]
    /// True when the counts are weighted: supports are then printed as floats.
    public let weighted: Bool
    public let warnings: [UndefinedMetricWarning]

    /// The report of `counts`.
    /// - Parameters:
    ///   - names: one name per reported label (default: the column index).
    ///   - labels: the columns to report, in order; nil for all.
    public init(_ counts: ConfusionCounts, names: [String]? = nil, labels: [Int]? = nil,
                zeroDivision: ZeroDivision = .warn) throws {
        let selected = try counts.selectedLabels(labels)
        let names = names ?? selected.map(String.init)
        guard names.count == selected.count else {
            throw TallyError.invalidValue("Expected \(selected.count) label names (one per reported label), but got \(names.count)")
        }
        var warnings: [UndefinedMetricWarning] = []
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
    }

    // MARK: Text

    /// scikit-learn's text layout (`digits` decimals).
    public func text(digits: Int = 2) -> String {
        let headers = ["precision", "recall", "f1-score", "support"]
        let width = max(labels.map(\.name.count).max() ?? 0, "weighted avg".count, digits)
        func right(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var out = right("", width) + " " + headers.map { " " + right($0, 9) }.joined() + "\n\n"
        func line(_ row: Row) -> String {
            right(row.name, width) + " "
                + [row.precision, row.recall, row.f1].map { " " + right(formatFixed($0, digits: digits), 9) }.joined()
                + " " + right(supportText(row.support), 9) + "\n"
        }
        for row in labels { out += line(row) }
        out += "\n"
        for row in averages { out += line(row) }
        return out
    }

    func supportText(_ s: Double) -> String {
        weighted ? pythonRepr(s) : String(Int64(s))
    }

    // MARK: JSON

    /// The `output_dict=True` dictionary as JSON: `{"<label>": {"precision": …,
    /// "recall": …, "f1-score": …, "support": …}, …, "micro avg": {…}, …}`.
    public func json() -> String {
        func object(_ row: Row) -> String {
            "{\"precision\": \(pythonRepr(row.precision)), \"recall\": \(pythonRepr(row.recall)), "
                + "\"f1-score\": \(pythonRepr(row.f1)), \"support\": \(weighted ? pythonRepr(row.support) : String(Int64(row.support)))}"
        }
        let entries = (labels + averages).map { "\"\(jsonEscaped($0.name))\": \(object($0))" }
        return "{" + entries.joined(separator: ", ") + "}\n"
    }

    // MARK: Markdown

    public func markdown(digits: Int = 2) -> String {
        var out = "| label | precision | recall | f1-score | support |\n|---|---:|---:|---:|---:|\n"
        for row in labels + averages {
            let name = row.name.replacingPipes()
            out += "| \(name) | \(formatFixed(row.precision, digits: digits)) | \(formatFixed(row.recall, digits: digits)) | "
                + "\(formatFixed(row.f1, digits: digits)) | \(supportText(row.support)) |\n"
        }
        return out
    }
}

extension String {
    fileprivate func replacingPipes() -> String {
        var s = ""
        for c in self { s += c == "|" ? "\\|" : String(c) }
        return s
    }
}

func jsonEscaped(_ s: String) -> String {
    var out = ""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}
