extension TunedThresholds {
    /// The per-label table `tally thresholds` prints (Swift and Python alike):
    ///
    ///     objective: f1 (beta=1.0); among equal optima the highest threshold
    ///
    ///     label  threshold  value  precision  recall  support  predicted
    ///       cat  0.2        0.75        0.60    1.00        3          5
    ///      newt  inf         nan         nan     nan        0          0  undefined
    ///
    ///     mean value over 1 of 2 labels (defined): 0.75
    ///
    /// Thresholds are printed exactly (Python's `repr`), the rest with `digits` decimals.
    /// - Parameters:
    ///   - names: one name per label (default: the label's index).
    public func table(names: [String]? = nil, digits: Int = 2) throws -> String {
        try checkTableOptions(names: names, labelCount: labelCount, digits: digits)
        func weight(_ x: Double) -> String { formatWeight(x, digits: digits) }
        let headers = ["label", "threshold", "value", "precision", "recall", "support", "predicted"]
        let undefinedSet = Set(undefined)
        var rows: [[String]] = []
        for j in 0..<labelCount {
            rows.append([names?[j] ?? String(j), pythonRepr(thresholds[j]), formatFixed(values[j], digits: digits),
                         formatFixed(precision[j], digits: digits), formatFixed(recall[j], digits: digits),
                         weight(support[j]), weight(predicted[j])])
        }
        let widths = headers.indices.map { c in rows.reduce(headers[c].count) { max($0, $1[c].count) } }
        func line(_ cells: [String], _ note: String = "") -> String {
            var out = ""
            for (c, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                // The threshold reads left-aligned (exact reprs differ in length); the rest right-aligned.
                out += (c == 0 ? "" : "  ") + (c == 1 ? cell + pad : pad + cell)
            }
            return out + (note.isEmpty ? "" : "  " + note) + "\n"
        }
        var parameter = ""
        if let p = objective.parameter { parameter = " (\(p.name)=\(pythonRepr(p.value)))" }
        var out = "objective: \(objective.name)\(parameter); among equal optima the highest threshold\n\n"
        out += line(headers)
        for j in 0..<labelCount { out += line(rows[j], undefinedSet.contains(j) ? "undefined" : "") }
        let defined = (0..<labelCount).filter { !undefinedSet.contains($0) }
        let mean = defined.isEmpty ? Double.nan : defined.reduce(0.0) { $0 + values[$1] } / Double(defined.count)
        out += "\nmean value over \(defined.count) of \(labelCount) labels (defined): \(formatFixed(mean, digits: digits))\n"
        return out
    }
}
