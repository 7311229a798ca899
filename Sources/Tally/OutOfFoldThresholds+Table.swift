extension OutOfFoldThresholds {
    /// An out-of-fold estimate from its per-label values (a result read back from
    /// another layer): the undefined labels and the average follow from `values`.
    public init(folds: Int, seed: UInt64, tuned: TunedThresholds, values: [Double], precision: [Double],
                recall: [Double]) throws {
        let n = tuned.labelCount
        guard values.count == n, precision.count == n, recall.count == n else {
            throw TallyError.invalidValue("Expected \(n) out-of-fold values, precisions and recalls (one per label), but got \(values.count), \(precision.count) and \(recall.count)")
        }
        let defined = values.filter { !$0.isNaN }
        self.init(folds: folds, seed: seed, tuned: tuned, foldOfRow: [], foldThresholds: [], values: values,
                  precision: precision, recall: recall, undefined: values.indices.filter { values[$0].isNaN },
                  average: defined.isEmpty ? .nan : defined.reduce(0, +) / Double(defined.count))
    }

    /// The out-of-fold section `tally thresholds --folds k` prints after the
    /// tuned table (Swift and Python alike):
    ///
    ///     out of fold: 5 folds (seed 0), each scored at thresholds tuned on the other 4
    ///
    ///     label  value  precision  recall
    ///       cat   0.70       0.60    0.80
    ///      newt    nan        nan     nan  undefined
    ///
    ///     mean out-of-fold value over 1 of 2 labels (defined): 0.70
    public func table(names: [String]? = nil, digits: Int = 2) throws -> String {
        let n = values.count
        if let names, names.count != n {
            throw TallyError.invalidValue("Expected \(n) label names (one per label), but got \(names.count)")
        }
        let labels = names ?? (0..<n).map(String.init)
        let body = try labelTable(columns: ["value", "precision", "recall"], labels: labels,
                                  values: (0..<n).flatMap { [values[$0], precision[$0], recall[$0]] }, digits: digits,
                                  labelHeader: "label")
        let undefinedSet = Set(undefined)
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // after the final newline
        for j in 0..<n where undefinedSet.contains(j) { lines[j + 1] += "  undefined" }
        var out = "out of fold: \(folds) folds (seed \(seed)), each scored at thresholds tuned on the other \(folds - 1)\n\n"
        out += lines.joined(separator: "\n") + "\n"
        out += "\nmean out-of-fold value over \(n - undefined.count) of \(n) labels (defined): \(formatFixed(average, digits: digits))\n"
        return out
    }
}
