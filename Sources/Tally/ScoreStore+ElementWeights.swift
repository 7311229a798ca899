/// Element-wise (2-D) weights in the exact score store: missing labels for ROC
/// AUC, average precision, their curves and tuned thresholds. Meaning: see
/// ScoreAccumulator+ElementWeights.swift. Label j's curve is scikit-learn's on
/// the rows where `W[:, j] != 0` with weights `W[:, j]`; `average: .samples`
/// scores each row over its known labels.
extension ScoreStore {
    /// Whether element (2-D) weights have been seen: each label then has its own
    /// weight per row, and entries of weight 0 are unknown.
    public var isElementWeighted: Bool { !cellWeights.isEmpty }

    /// The weight of (row, label): the element weight, else the row's weight.
    public func weight(label j: Int, row r: Int) -> Double {
        if isElementWeighted { return cellWeights[j][r] }
        return isWeighted ? weights[r] : 1
    }

    /// Appends one batch with a weight per (row, label).
    ///
    /// Values at entries of weight 0 are not read: missing labels may be stored as
    /// -1 or nan there, and their scores may be anything. A call that throws changes nothing.
    /// - Parameters:
    ///   - truth: (rows × labelCount) 0/1 labels where the weight is not 0.
    ///   - scores: (rows × labelCount) float32 or float64, finite where the weight is not 0.
    ///   - elementWeights: float64 (rows × labelCount), finite and ≥ 0; 0 = unknown.
    /// - Complexity: O(rows × labelCount).
    public mutating func update(truth: MatrixView, scores: MatrixView, elementWeights: MatrixView) throws {
        let batch = try ElementWeightedBatch(truth: truth, scores: scores, elementWeights: elementWeights,
                                             labelCount: labelCount)
        let (rows, n) = (batch.rows, labelCount)
        guard rows > 0 else { return }
        guard rowCount + rows < Int(UInt32.max) else {
            throw TallyError.overflow("Expected at most \(UInt32.max - 1) rows in a score store, but adding \(rows) to \(rowCount) exceeds it")
        }
        // From here on nothing throws: the cleaned batch passes every check of `update`.
        let start = rowCount
        if !isElementWeighted {
            let previous = rowWeights
            cellWeights = Array(repeating: previous, count: n)
            if weights.isEmpty { weights = previous }
        }
        let truthBytes = batch.truth.map { UInt8($0) }
        try truthBytes.withMatrixView(rows: rows, columns: n) { t in
            // Float64 copies of the scores: a float32 score keeps its key (it fits float32).
            try batch.scores.withMatrixView(rows: rows, columns: n) { s in
                try update(truth: t, scores: s, sampleWeight: nil)
            }
        }
        // `update` gave the new rows weight 1 (or none, on an empty store): set them.
        weights.append(contentsOf: repeatElement(1, count: rowCount - weights.count))
        for r in 0..<rows { weights[start + r] = batch.rowWeights[r] }
        for j in 0..<n {
            cellWeights[j].append(contentsOf: repeatElement(1, count: rowCount - cellWeights[j].count))
            cellWeights[j].withUnsafeMutableBufferPointer { w in
                for r in 0..<rows { w[start + r] = batch.weights[r &* n &+ j] }
            }
        }
    }

    /// After a batch with row weights (or none): each label gets the row's weight.
    mutating func appendRowWeightsToCells(_ sampleWeight: UnsafeBufferPointer<Double>?, rows: Int) {
        guard isElementWeighted else { return }
        for j in 0..<labelCount {
            if let w = sampleWeight { cellWeights[j].append(contentsOf: w) }
            else { cellWeights[j].append(contentsOf: repeatElement(1, count: rows)) }
        }
    }

    /// Before `rowCount` grows by `other.rowCount`: the element weights of both sides.
    mutating func mergeCellWeights(_ other: ScoreStore) {
        guard isElementWeighted || other.isElementWeighted else { return }
        let mine = isElementWeighted ? cellWeights : Array(repeating: rowWeightsBeforeMerge(other), count: labelCount)
        let theirs = other.isElementWeighted ? other.cellWeights : Array(repeating: other.rowWeights, count: labelCount)
        cellWeights = zip(mine, theirs).map { $0 + $1 }
    }

    /// This store's own row weights while a merge is under way (`weights` may already hold both sides).
    private func rowWeightsBeforeMerge(_ other: ScoreStore) -> [Double] {
        isWeighted ? Array(weights.prefix(rowCount)) : Array(repeating: 1, count: rowCount)
    }

    /// Whether the labels' known cells hold a positive, and a negative. Without
    /// element weights every cell counts (weight 0 included, as scikit-learn's
    /// class check); with them, only cells of nonzero weight: an unknown entry is
    /// no class at all.
    func classPresence(_ labels: [Int]) -> (Bool, Bool) {
        guard isElementWeighted else {
            let positives = labels.reduce(0) { $0 + positiveCount($1) }
            return (positives > 0, positives < labels.count * rowCount)
        }
        var positive = false, negative = false
        for j in labels {
            for r in 0..<rowCount where cellWeights[j][r] != 0 {
                if truthBit(j, r) { positive = true } else { negative = true }
                if positive && negative { return (true, true) }
            }
        }
        return (positive, negative)
    }
}
