/// Element-wise (2-D) weights in the ranking sums: missing labels for the
/// row-wise ranking metrics (meaning: ScoreAccumulator+ElementWeights.swift).
///
/// Definition: each row is ranked over its known labels only, as if the row had
/// just those labels (so "every label is relevant", the label count of
/// coverage, min(k, labels) of precision@k and NDCG's ideal are all over the
/// known labels), and weighs the common value of its nonzero element weights. A
/// row with no known label weighs 0: it is skipped (counted in `rowCount`, not in
/// any mean). This is scikit-learn's metric on each row restricted to its known
/// labels, averaged over rows with those weights.
extension RankingSums {
    /// Adds one batch with a weight per (row, label); entries of weight 0 are
    /// unknown and not read. A call that throws changes nothing.
    /// - Parameters:
    ///   - truth: relevances where the weight is not 0 (0/1, or ≥ 0 for NDCG).
    ///   - scores: float32/float64, finite where the weight is not 0.
    ///   - elementWeights: float64 (rows × labelCount), finite and ≥ 0; 0 = unknown.
    /// - Complexity: O(rows × labelCount log labelCount).
    public mutating func update(truth: MatrixView, scores: MatrixView, elementWeights: MatrixView) throws {
        let batch = try ElementWeightedBatch(truth: truth, scores: scores, elementWeights: elementWeights,
                                             labelCount: labelCount, graded: true)
        let (rows, n) = (batch.rows, labelCount)
        guard rows > 0 else { return }
        let (total, overflow) = rowCount.addingReportingOverflow(Int64(rows))
        guard !overflow else { throw TallyError.overflow("Adding \(rows) rows would overflow the Int64 row count") }
        // Rows grouped by their number of known labels; each group is ranked by the
        // plain update of an accumulator of that many labels, whose sums are added here.
        var groups = [Int: (truth: [Double], scores: [Double], weights: [Double])]()
        for r in 0..<rows where batch.rowWeights[r] != 0 {
            var t: [Double] = [], s: [Double] = []
            for j in 0..<n where batch.weights[r &* n &+ j] != 0 {
                t.append(batch.truth[r &* n &+ j]); s.append(batch.scores[r &* n &+ j])
            }
            groups[t.count, default: ([], [], [])].truth += t
            groups[t.count]!.scores += s
            groups[t.count]!.weights.append(batch.rowWeights[r])
        }
        var next = self
        next.isWeighted = true
        for known in groups.keys.sorted() {
            let g = groups[known]!
            var part = try RankingSums(labelCount: known, ndcgK: ndcgK, topK: topK, metrics: metrics)
            try g.truth.withMatrixView(rows: g.weights.count, columns: known) { t in
                try g.scores.withMatrixView(rows: g.weights.count, columns: known) { s in
                    try g.weights.withUnsafeBufferPointer { try part.update(truth: t, scores: s, sampleWeight: $0) }
                }
            }
            next.isBinary = next.isBinary && part.isBinary
            next.addSums(part)
        }
        next.rowCount = total
        self = next
    }
}
