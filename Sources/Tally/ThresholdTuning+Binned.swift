extension BinnedScores {
    /// One threshold per label from the histograms: the candidates are the bin
    /// edges (each the smallest float64 `t` with every score `>= t` in that bin or
    /// above, `-inf` for the lowest bin) plus `+inf`, searched with the exact
    /// store's rule (ties to the highest threshold).
    ///
    /// A threshold at a bin edge splits no bin, so the value reached there is the
    /// exact value on the raw scores. What binning costs is the thresholds inside
    /// bins, never tried: the exact optimum over every raw-score threshold lies in
    /// `[lowerBound, upperBound]`. For a maximised objective `lowerBound` is the
    /// value reached, and `upperBound` the best any threshold inside a bin could
    /// do if the bin's positives all scored above its negatives. For `.rate`, the
    /// exact highest threshold reaching the rate predicts a rate in `[rate, value]`.
    public func tuneThresholds(_ objective: ThresholdObjective) throws -> TunedThresholds {
        try objective.check()
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row of scores, but got none") }
        var result = TunedThresholds(objective: objective, labelCount: labelCount)
        var lower = [Double](repeating: .nan, count: labelCount), upper = lower
        for j in 0..<labelCount {
            let h = histogram([j])
            let positives = h.pw.reduce(0, +), negatives = h.nw.reduce(0, +)
            var search = ThresholdSearch(objective, positives: positives, negatives: negatives)
            var bound = search.threshold == nil ? -Double.infinity : search.value
            var tp = 0.0, fp = 0.0
            for b in stride(from: bins - 1, through: 0, by: -1) where h.pw[b] != 0 || h.nw[b] != 0 {
                // Inside bin b at best: all its positives, none of its negatives.
                if let v = objective.value(tp: tp + h.pw[b], fp: fp, positives: positives, negatives: negatives) {
                    bound = max(bound, v)
                }
                tp += h.pw[b]; fp += h.nw[b]
                _ = search.offer(tp: tp, fp: fp, threshold: edge(b))
            }
            result.record(j, search)
            if case .rate(let r) = objective {
                if search.threshold != nil { (lower[j], upper[j]) = (r, search.value) }
            } else {
                // An edge is a threshold inside no bin, so `bound` covers the edges too.
                (lower[j], upper[j]) = (search.value, bound > -.infinity ? bound : .nan)
            }
        }
        result.lowerBound = lower
        result.upperBound = upper
        return result
    }

    /// The smallest float64 whose bin is `b` or higher (`bin` never decreases), `-inf` for bin 0.
    func edge(_ b: Int) -> Double {
        if b == 0 { return -.infinity }
        var t = low + (high - low) * Double(b) / Double(bins)
        while bin(t) >= b && bin(t.nextDown) >= b { t = t.nextDown }
        while bin(t) < b { t = t.nextUp }
        return t
    }
}
