extension BinnedScores {
    /// The lowest score of each bin above the first: a score `s` lands in bin `b`
    /// or higher exactly when `s >= edges[b - 1]` (each edge is the smallest
    /// float64 with that property). A framework that bins on its own device
    /// compares with these, so that its histograms are the core's.
    /// - Complexity: O(bins).
    public var edges: [Double] { (1..<bins).map(edge) }

    /// A histogram state from its parts, as a framework keeps them in its own
    /// variables (e.g. `tally.keras.BinnedROCAUC`): per label, `bins` values each
    /// of positive and negative weight and count (label-major). Checked as an
    /// update would leave them: counts `>= 0`, weights finite, every label's counts
    /// summing to the same row count — or, weighted, to at most the largest label's
    /// (element weights leave each label's unknown entries out; the row count is then
    /// that largest sum, the rows that are known somewhere as far as the histograms tell).
    public init(labelCount: Int, bins: Int, low: Double, high: Double, positiveWeight: [Double],
                negativeWeight: [Double], positiveCount: [Int64], negativeCount: [Int64], isWeighted: Bool) throws {
        _ = try BinnedScores(labelCount: labelCount, bins: bins, low: low, high: high)  // checks the shape first
        let size = labelCount * bins
        for (name, count) in [("positive_weight", positiveWeight.count), ("negative_weight", negativeWeight.count),
                              ("positive_count", positiveCount.count), ("negative_count", negativeCount.count)]
        where count != size {
            throw TallyError.invalidValue("Expected `\(name)` to hold \(size) values (\(labelCount) labels × \(bins) bins), but got \(count)")
        }
        if let bad = (positiveWeight + negativeWeight).first(where: { !$0.isFinite }) {
            throw TallyError.invalidValue("Expected finite histogram weights, but got \(pythonRepr(bad))")
        }
        if let bad = (positiveCount + negativeCount).first(where: { $0 < 0 }) {
            throw TallyError.invalidValue("Expected histogram counts >= 0, but got \(bad)")
        }
        var rows: Int64 = 0
        var sums: [Int64] = []
        for j in 0..<labelCount {
            var sum: Int64 = 0
            for i in (j * bins)..<((j + 1) * bins) {
                let (a, o1) = sum.addingReportingOverflow(positiveCount[i])
                let (b, o2) = a.addingReportingOverflow(negativeCount[i])
                guard !o1, !o2 else { throw TallyError.overflow("Label \(j)'s histogram counts overflow Int64") }
                sum = b
            }
            sums.append(sum)
            if j == 0 { rows = sum }
            guard isWeighted || sum == rows else {
                throw TallyError.invalidValue("Expected every label's counts to sum to the same number of rows, but label 0 sums to \(rows) and label \(j) to \(sum)")
            }
        }
        rows = sums.max() ?? 0
        // The serialized layout is this type's own; its parser sets the fields.
        var words: [UInt64] = [0x3153_4E49_4253_5454, UInt64(labelCount), UInt64(bins), low.bitPattern, high.bitPattern,
                               UInt64(bitPattern: rows), isWeighted ? 1 : 0]
        words += positiveWeight.map(\.bitPattern) + negativeWeight.map(\.bitPattern)
        words += positiveCount.map { UInt64(bitPattern: $0) } + negativeCount.map { UInt64(bitPattern: $0) }
        self = try BinnedScores(serialized: words.withUnsafeBytes { Array($0) })
    }
}
