extension CalibrationSums {
    /// The per-label table `tally calibration` prints (Swift and Python alike):
    ///
    ///     calibration of 200 rows: Brier score, log loss, ECE and MCE over 15 equal-width bins
    ///
    ///            label  brier  log_loss   ece   mce  positives
    ///              cat   0.12      0.40  0.03  0.10         50
    ///     ...
    ///        micro avg   0.15      0.47  0.04  0.12        180
    ///        macro avg   ...
    ///     weighted avg   ...
    ///      samples avg   0.15      0.47                    180
    ///
    /// - Parameters:
    ///   - names: one name per label (default: the label's index).
    ///   - digits: decimals of every value (positives are printed as integers when they are).
    public func table(names: [String]? = nil, digits: Int = 2) throws -> String {
        try checkTableOptions(names: names, labelCount: labelCount, digits: digits)
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row of scores, but got none") }
        func weight(_ x: Double) -> String { formatWeight(x, digits: digits) }
        let positives = (0..<labelCount).map { labelWeights($0).positive.value }
        let brier = try score(.brier), logLoss = try score(.logLoss)
        let ece = try calibrationError(.expected), mce = try calibrationError(.maximum)
        var rows: [[String]] = (0..<labelCount).map { j in
            [names?[j] ?? String(j)] + [brier[j], logLoss[j], ece[j], mce[j]].map { formatFixed($0, digits: digits) }
                + [weight(positives[j])]
        }
        var total = ExactSum()
        for p in positives { total.add(p) }
        for average in Average.allCases {
            var cells = [try score(.brier, average: average)[0], try score(.logLoss, average: average)[0]]
                .map { formatFixed($0, digits: digits) }
            if average == .samples {
                cells += ["", ""]  // a row has no bins
            } else {
                cells += [try calibrationError(.expected, average: average)[0], try calibrationError(.maximum, average: average)[0]]
                    .map { formatFixed($0, digits: digits) }
            }
            rows.append(["\(average.rawValue) avg"] + cells + [weight(total.value)])
        }
        let headers = ["label", "brier", "log_loss", "ece", "mce", "positives"]
        let widths = headers.indices.map { c in rows.reduce(headers[c].count) { max($0, $1[c].count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in String(repeating: " ", count: widths[c] - cell.count) + cell }
                .joined(separator: "  ") + "\n"
        }
        var out = "calibration of \(rowCount) rows: Brier score, log loss, ECE and MCE over \(bins) equal-width bins\n\n"
        out += line(headers)
        for (i, row) in rows.enumerated() {
            if i == labelCount { out += "\n" }
            out += line(row)
        }
        return out
    }
}
