/// Element-wise (2-D) weights in the binned score histograms: missing labels
/// (meaning: ScoreAccumulator+ElementWeights.swift). An entry of weight 0 is not
/// binned at all, so label j's histogram is that of its known rows.
extension BinnedScores {
    /// Adds one batch with a weight per (row, label); entries of weight 0 are
    /// unknown and not read. A call that throws changes nothing.
    public mutating func update(truth: MatrixView, scores: MatrixView, elementWeights: MatrixView) throws {
        let batch = try ElementWeightedBatch(truth: truth, scores: scores, elementWeights: elementWeights,
                                             labelCount: labelCount)
        let (rows, n) = (batch.rows, labelCount)
        guard rows > 0 else { return }
        let (total, overflow) = rowCount.addingReportingOverflow(Int64(rows))
        guard !overflow else { throw TallyError.overflow("Adding \(rows) rows would overflow the Int64 row count") }
        for r in 0..<rows {
            for j in 0..<n {
                let w = batch.weights[r &* n &+ j]
                guard w != 0 else { continue }
                let i = j &* bins &+ bin(batch.scores[r &* n &+ j])
                if batch.truth[r &* n &+ j] != 0 { positiveWeight[i] += w; positiveCount[i] &+= 1 }
                else { negativeWeight[i] += w; negativeCount[i] &+= 1 }
            }
        }
        isWeighted = true
        rowCount = total
    }
}
