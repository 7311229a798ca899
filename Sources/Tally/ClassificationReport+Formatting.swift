/// The one home of the report's layouts: scikit-learn's text (character for
/// character), its `output_dict` as JSON, a markdown table and an HTML table. The
/// Swift command line, `classification_report` and `Tally.report()` in Python, and
/// the notebook's HTML repr all print through these.
extension ClassificationReport {
    static let headers = ["precision", "recall", "f1-score", "support"]

    /// The report in `format`.
    /// - Parameters:
    ///   - digits: decimals of the scores (text, markdown, HTML).
    ///   - caption: an HTML caption (HTML only).
    public func formatted(_ format: ReportFormat, digits: Int = 2, caption: String? = nil) -> String {
        switch format {
        case .text: return text(digits: digits)
        case .json: return json()
        case .markdown: return markdown(digits: digits)
        case .html: return html(digits: digits, caption: caption)
        }
    }

    /// A support as the report prints it: an integer while unweighted, else Python's
    /// `repr` of the float.
    public func supportText(_ s: Double) -> String {
        weighted ? pythonRepr(s) : String(Int64(s))
    }

    /// The four cells of a row: precision, recall and F1 with `digits` decimals (blank
    /// precision and recall on the accuracy line), and the support.
    func cells(_ row: Row, digits: Int) -> [String] {
        let scores = [row.precision, row.recall, row.f1].map { formatFixed($0, digits: digits) }
        return (row.isAccuracy ? ["", "", scores[2]] : scores) + [supportText(row.support)]
    }

    // MARK: Text

    /// scikit-learn's text layout (`digits` decimals); interval columns, when
    /// present, follow the support, and a line names their method and level.
    public func text(digits: Int = 2) -> String {
        let width = max(labels.map(\.name.count).max() ?? 0, "weighted avg".count, digits)
        func right(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        let rows = labels + averages
        let extra = intervalCells(digits: digits, rows: rows.count)
        let extraWidths = (intervals?.columns ?? []).indices.map { c in
            max(intervals!.columns[c].header.count, extra.map { $0[c].count }.max() ?? 0)
        }
        func extraText(_ cells: [String]) -> String { zip(cells, extraWidths).map { "  " + right($0, $1) }.joined() }
        var out = right("", width) + " " + Self.headers.map { " " + right($0, 9) }.joined()
            + extraText(intervals?.columns.map(\.header) ?? []) + "\n\n"
        func line(_ i: Int) -> String {
            let c = cells(rows[i], digits: digits)
            var text = right(rows[i].name, width) + " " + c.dropLast().map { " " + right($0, 9) }.joined() + " " + right(c[3], 9)
                + extraText(extra[i])
            // Blank interval cells (averages that are not proportions) leave no trailing spaces.
            while intervals != nil && text.last == " " { text.removeLast() }
            return text + "\n"
        }
        for i in labels.indices { out += line(i) }
        out += "\n"
        for i in labels.count..<rows.count { out += line(i) }
        if let intervals { out += "\n" + intervals.note + "\n" }
        return out
    }

    /// The interval cells of every row (empty lists without intervals).
    func intervalCells(digits: Int, rows: Int) -> [[String]] {
        (0..<rows).map { intervals?.cells(row: $0, digits: digits) ?? [] }
    }

    // MARK: JSON

    /// The `output_dict=True` dictionary as JSON: `{"<label>": {"precision": …,
    /// "recall": …, "f1-score": …, "support": …}, …, "micro avg": {…}, …}`; the
    /// accuracy line is one number, as scikit-learn's.
    /// Interval columns add `"precision CI": [lower, upper]` (…) where they have bounds.
    public func json() -> String {
        func object(_ row: Row, _ i: Int) -> String {
            if row.isAccuracy { return pythonRepr(row.f1) }
            var bounds = ""
            for column in intervals?.columns ?? [] {
                if let b = column.bounds[i] { bounds += ", \"\(column.header)\": [\(pythonRepr(b.lower)), \(pythonRepr(b.upper))]" }
            }
            return "{\"precision\": \(pythonRepr(row.precision)), \"recall\": \(pythonRepr(row.recall)), "
                + "\"f1-score\": \(pythonRepr(row.f1)), \"support\": \(supportText(row.support))\(bounds)}"
        }
        let entries = (labels + averages).enumerated().map { "\"\(jsonEscaped($1.name))\": \(object($1, $0))" }
        return "{" + entries.joined(separator: ", ") + "}\n"
    }

    // MARK: Markdown

    public func markdown(digits: Int = 2) -> String {
        let headers = Self.headers + (intervals?.columns.map(\.header) ?? [])
        var out = "| label | " + headers.joined(separator: " | ") + " |\n|---|"
            + String(repeating: "---:|", count: headers.count) + "\n"
        let rows = labels + averages
        let extra = intervalCells(digits: digits, rows: rows.count)
        for (i, row) in rows.enumerated() {
            out += "| \(row.name.replacingPipes()) | " + (cells(row, digits: digits) + extra[i]).joined(separator: " | ") + " |\n"
        }
        if let intervals { out += "\n" + intervals.note + "\n" }
        return out
    }

    // MARK: HTML

    /// A `<table class="tally-report">`: a header row, one row per label, then one
    /// `<tr class="average">` per average; names are HTML-escaped.
    public func html(digits: Int = 2, caption: String? = nil) -> String {
        var out = "<table class=\"tally-report\">"
        if let caption { out += "<caption>\(htmlEscaped(caption))</caption>" }
        let headers = Self.headers + (intervals?.columns.map(\.header) ?? [])
        out += "<thead><tr><th></th>" + headers.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
        let rows = labels + averages
        let extra = intervalCells(digits: digits, rows: rows.count)
        for (i, row) in rows.enumerated() {
            out += (i < labels.count ? "<tr>" : "<tr class=\"average\">") + "<th>\(htmlEscaped(row.name))</th>"
                + (cells(row, digits: digits) + extra[i]).map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        out += "</tbody>"
        if let intervals { out += "<tfoot><tr><td colspan=\"\(headers.count + 1)\">\(intervals.note)</td></tr></tfoot>" }
        return out + "</table>"
    }
}

extension String {
    fileprivate func replacingPipes() -> String {
        var s = ""
        for c in self { s += c == "|" ? "\\|" : String(c) }
        return s
    }
}

/// Python's `html.escape(s)`: &, <, >, " and ' as entities.
func htmlEscaped(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#x27;"
        default: out.append(c)
        }
    }
    return out
}

/// A JSON string's contents: quotes, backslashes and control characters escaped.
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
