/// Equal-mass reliability bins, ECE and MCE from every stored score: the edges are
/// `calibration_curve(strategy="quantile")`'s, `np.percentile(p, linspace(0, 1, n + 1) · 100)`
/// (linear interpolation) over the label's rows of non-zero weight, and a score on
/// an inner edge belongs to the lower bin. Repeated scores can make edges equal and
/// bins empty; scikit-learn drops those bins from its arrays, these keep them (nan).
extension ScoreStore {
    /// The equal-mass reliability diagram of one label.
    /// - Throws: for a label outside [0, labelCount), `bins < 1` or an empty store.
    public func reliability(label: Int, bins: Int) throws -> ReliabilityBins {
        let j = try selectLabels([label], labelCount: labelCount)[0]
        try checkEqualMassBins(bins)
        return equalMassBins([j], bins: bins)
    }

    /// ECE or MCE over equal-mass bins, per label or averaged as
    /// `CalibrationSums.calibrationError` (micro: the selected labels' cells pooled,
    /// with their own quantile edges).
    public func calibrationError(_ metric: CalibrationError, bins: Int, average: Average? = nil,
                                 labels: [Int]? = nil) throws -> [Double] {
        let selected = try selectLabels(labels, labelCount: labelCount)
        try checkEqualMassBins(bins)
        return try averagedCalibrationError(metric, average: average, labels: selected,
                                            bins: { equalMassBins([$0], bins: bins) },
                                            pooled: { equalMassBins(selected, bins: bins) },
                                            support: { j in
                                                (0..<rowCount).reduce(0.0) { truthBit(j, $1) ? $0 + weight(label: j, row: $1) : $0 }
                                            })
    }

    func checkEqualMassBins(_ bins: Int) throws {
        guard bins >= 1, bins <= 1 << 20 else {
            throw TallyError.invalidValue("Expected `n_bins` to be an integer in [1, 1048576], but got \(bins)")
        }
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row of scores, but got none") }
    }

    /// The bins of the labels' cells (cells of weight 0 left out: rows weighing nothing and,
    /// under element weights, unknown entries), edges at their quantiles.
    func equalMassBins(_ labels: [Int], bins: Int) -> ReliabilityBins {
        var cells: [(score: Double, truth: Bool, weight: Double)] = []
        for j in labels {
            let s = scores(label: j)
            for r in 0..<rowCount {
                let w = weight(label: j, row: r)
                if w != 0 { cells.append((s[r], truthBit(j, r), w)) }
            }
        }
        let edges = percentileEdges(cells.map(\.score).sorted(), bins: bins)
        let inner = Array(edges.dropFirst().dropLast())
        var out = ReliabilityBins(edges: edges, counts: Array(repeating: 0, count: bins),
                                  weightSums: Array(repeating: ExactSum(), count: bins),
                                  scoreSums: Array(repeating: ExactSum(), count: bins),
                                  positiveSums: Array(repeating: ExactSum(), count: bins))
        for c in cells {
            let b = searchSortedLeft(inner, c.score)
            out.counts[b] &+= 1
            out.weightSums[b].add(c.weight)
            out.scoreSums[b].add(c.weight * c.score)
            if c.truth { out.positiveSums[b].add(c.weight) }
        }
        return out
    }
}

/// `np.percentile(sorted, np.linspace(0, 1, bins + 1) * 100)` with numpy's linear
/// method, step by step as numpy computes it (q·100/100, (n − 1)·q, its lerp that
/// interpolates from the upper point when the fraction is ≥ ½). nan when empty.
func percentileEdges(_ sorted: [Double], bins: Int) -> [Double] {
    let n = sorted.count
    guard n > 0 else { return Array(repeating: .nan, count: bins + 1) }
    return uniformEdges(bins).map { edge in
        let q = (edge * 100) / 100
        let virtual = Double(n - 1) * q
        if virtual >= Double(n - 1) { return sorted[n - 1] }
        let previous = virtual.rounded(.down)
        let gamma = virtual - previous
        let (a, b) = (sorted[Int(previous)], sorted[Int(previous) + 1])
        let diff = b - a
        return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma
    }
}

/// The first index whose value is ≥ x (`np.searchsorted(values, x)`, side left).
func searchSortedLeft(_ values: [Double], _ x: Double) -> Int {
    var (low, high) = (0, values.count)
    while low < high {
        let mid = (low + high) / 2
        if values[mid] < x { low = mid + 1 } else { high = mid }
    }
    return low
}
