/// Element-wise (2-D) weights for the score-based accumulators (`ScoreStore`,
/// `BinnedScores`, `RankingSums`), with the meaning `ConfusionCounts` gives them:
/// an element of weight 0 is unknown (a missing label) and is neither read nor
/// scored; label j is scored on the rows where `W[:, j] != 0`, weighted by
/// `W[:, j]`; a row's own score (ranking metrics, `average: .samples`) is taken
/// over its known labels and weighs the common value of its nonzero weights
/// (their mean when they differ); a row with no known label weighs 0 and is
/// skipped.

/// One checked score batch with element weights: truth and scores copied as
/// float64 where the weight is nonzero and 0 where it is 0, so that the values at
/// unknown entries (-1, nan) never reach the accumulators.
struct ElementWeightedBatch {
    let rows: Int
    let columns: Int
    /// Row-major truth (0/1, or relevances ≥ 0 when graded), 0 where unknown.
    var truth: [Double]
    /// Row-major finite scores, 0 where unknown.
    var scores: [Double]
    /// Row-major element weights as given (finite, ≥ 0).
    var weights: [Double]
    /// Each row's weight for row-wise scores (0: no known label).
    var rowWeights: [Double]

    /// Checks shapes, dtypes, weights (finite, ≥ 0) and the known entries: truth 0/1
    /// (or ≥ 0 with `graded`), scores finite. Throws naming the first bad value.
    init(truth: MatrixView, scores: MatrixView, elementWeights: MatrixView, labelCount: Int, graded: Bool = false) throws {
        try checkScoreShapes(truth: truth, scores: scores, sampleWeight: nil, labelCount: labelCount)
        guard elementWeights.elementType == .float64 else {
            throw TallyError.invalidType("Expected `sample_weight` to have dtype float64, but got \(elementWeights.elementType.rawValue)")
        }
        guard elementWeights.rows == truth.rows, elementWeights.columns == truth.columns else {
            throw TallyError.invalidValue(
                "Expected a 2-D `sample_weight` to have shape (\(truth.rows), \(truth.columns)) like `y_true`, but got (\(elementWeights.rows), \(elementWeights.columns))")
        }
        let (rows, n) = (truth.rows, truth.columns)
        (self.rows, self.columns) = (rows, n)
        self.truth = readDoubles(truth)
        self.scores = readDoubles(scores)
        self.weights = readDoubles(elementWeights)
        rowWeights = [Double](repeating: 0, count: rows)
        for i in 0..<(rows * n) {
            let w = weights[i]
            guard w.isFinite && w >= 0 else {
                throw TallyError.invalidValue("Expected `sample_weight` to hold finite numbers >= 0, but got \(w) at row \(i / n), column \(i % n)")
            }
            if w == 0 {
                self.truth[i] = 0
                self.scores[i] = 0
                continue
            }
            let t = self.truth[i]
            guard graded ? (t.isFinite && t >= 0) : (t == 0 || t == 1) else {
                let expected = graded ? "relevances >= 0" : "only 0 and 1"
                throw TallyError.invalidValue("Expected `y_true` to hold \(expected) where `sample_weight` is not 0, but got \(pythonRepr(t)) at row \(i / n), column \(i % n)")
            }
            guard self.scores[i].isFinite else {
                throw TallyError.invalidValue("Expected `y_score` to hold finite numbers where `sample_weight` is not 0, but got \(self.scores[i]) at row \(i / n), column \(i % n)")
            }
        }
        for r in 0..<rows {
            var row = RowWeight()
            for j in (r * n)..<(r * n + n) { row.add(weights[j]) }
            rowWeights[r] = row.value
        }
    }
}

/// The weight of a row's own counts or score under element weights: the common
/// value of its nonzero element weights, their mean when they differ, 0 when all
/// are 0 (no known label). Fed one element weight at a time, so that each counting
/// loop finds it in its own pass over the row.
struct RowWeight {
    /// How many of the row's weights were nonzero (its known labels).
    private(set) var known = 0
    private var total = 0.0, common = 0.0, allEqual = true

    @inline(__always) mutating func add(_ w: Double) {
        guard w != 0 else { return }
        if known == 0 { common = w } else if w != common { allEqual = false }
        known &+= 1
        total += w
    }

    var value: Double { known == 0 ? 0 : (allEqual ? common : total / Double(known)) }
}
