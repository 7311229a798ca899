/// Element-wise (2-D) sample weights: an extension of scikit-learn's per-row
/// weights, used above all as a mask for missing labels (weight 0).
///
/// Meaning, per metric (see README "Metrics"):
/// - per-label counts weigh element (i, j) by `W[i, j]`: label j's tp, fp, fn and
///   tn are scikit-learn's weighted counts on the rows where `W[:, j] != 0`, with
///   weights `W[:, j]`; micro sums these over the labels.
/// - a row's own counts (`average: .samples`, subset accuracy, zero-one loss) are
///   over its unmasked labels, and the row weighs the common value of its nonzero
///   weights (their mean when they differ); a row with every label masked weighs
///   0, as a row of 1-D weight 0.
/// - Hamming loss is the weighted fraction of wrong unmasked cells.
/// A 2-D weight that repeats a 1-D weight along the labels gives the 1-D result.
extension ConfusionCounts {
    /// Adds one batch with a weight per (row, label).
    ///
    /// Values at masked positions (weight 0) are not read as labels or scores, so
    /// missing labels may be stored as -1 or nan there. A call that throws
    /// leaves the counts unchanged.
    /// - Parameters:
    ///   - truth: (rows × labelCount) matrix of 0/1 labels.
    ///   - prediction: matrix of the same shape: scores or 0/1 predictions.
    ///   - elementWeights: float64 matrix of the same shape: finite weights, 0 = missing.
    ///   - kind: how to read `prediction`.
    /// - Complexity: O(rows × labelCount).
    public mutating func update(truth: MatrixView, prediction: MatrixView, elementWeights: MatrixView,
                                kind: PredictionKind = .scores) throws {
        try checkShapes(truth: truth, prediction: prediction, sampleWeight: nil)
        guard elementWeights.elementType == .float64 else {
            throw TallyError.invalidType("Expected `sample_weight` to have dtype float64, but got \(elementWeights.elementType.rawValue)")
        }
        guard elementWeights.rows == truth.rows, elementWeights.columns == truth.columns else {
            throw TallyError.invalidValue(
                "Expected a 2-D `sample_weight` to have shape (\(truth.rows), \(truth.columns)) like `y_true`, but got (\(elementWeights.rows), \(elementWeights.columns))")
        }
        guard truth.rows > 0 else { return }
        let n = labelCount, rows = truth.rows
        let weights = UnsafeBufferPointer(start: elementWeights.base!.assumingMemoryBound(to: Double.self), count: rows * n)
        if let i = weights.firstIndex(where: { !$0.isFinite }) {
            throw TallyError.invalidValue("Expected `sample_weight` to hold finite numbers, but got \(weights[i]) at row \(i / n), column \(i % n)")
        }
        let scores = kind == .scores && prediction.elementType.isFloatingPoint
        var sums = [Double](repeating: 0, count: Self.stride * n)
        var labelTotals = [Double](repeating: 0, count: n)
        var rowTable = RowTable(capacity: 64)
        var rowWeightSum = 0.0, partlyMasked = false
        var firstBad: (row: Int, column: Int, inTruth: Bool)? = nil
        let float32Thresholds = thresholds.map(float32Threshold)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * n) { scratch in
            let t = scratch.baseAddress!, p = t + n
            thresholds.withUnsafeBufferPointer { th in
            float32Thresholds.withUnsafeBufferPointer { f32 in
            sums.withUnsafeMutableBufferPointer { c in
            for r in 0..<rows where firstBad == nil {
                decodeLabels(truth, row: r, into: t)
                if scores {
                    decodeScoresMarkingNaN(prediction, row: r, thresholds: th, float32Thresholds: f32.baseAddress!, into: p)
                } else {
                    decodeLabels(prediction, row: r, into: p)
                }
                let w = weights.baseAddress! + r &* n
                var rowTP = 0, rowPredicted = 0, rowActual = 0
                var row = RowWeight()
                for j in 0..<n {
                    let weight = w[j]
                    guard weight != 0 else { continue }
                    let a = t[j], b = p[j]
                    if (a | b) & 0xFE != 0 {
                        firstBad = (r, j, a & 0xFE != 0)
                        break
                    }
                    // The same products as the 1-D path, so a broadcast weight matches it to the bit.
                    c[3 &* j] += weight * Double(a & b)
                    c[3 &* j &+ 1] += weight * Double(b)
                    c[3 &* j &+ 2] += weight * Double(a)
                    labelTotals[j] += weight
                    rowTP &+= Int(a & b); rowPredicted &+= Int(b); rowActual &+= Int(a)
                    row.add(weight)
                }
                if row.known > 0 && row.known < n { partlyMasked = true }
                let rowWeight = row.value
                rowWeightSum += rowWeight
                rowTable.add(RowKey(tp: rowTP, fp: rowPredicted - rowTP, fn: rowActual - rowTP),
                             RowTally(rows: 1, weight: rowWeight))
            }
            }
            }
            }
        }
        if let bad = firstBad {
            let m = bad.inTruth ? truth : prediction
            let value = describeValue(m, row: bad.row, column: bad.column)
            if bad.inTruth {
                throw TallyError.invalidValue("Expected `y_true` to hold only 0 and 1 where `sample_weight` is not 0, but got \(value) at row \(bad.row), column \(bad.column)")
            }
            if scores {
                throw TallyError.invalidValue("Expected `y_score` to hold numbers where `sample_weight` is not 0, but got nan at row \(bad.row), column \(bad.column)")
            }
            throw TallyError.invalidValue("Expected `y_pred` to hold only 0 and 1 where `sample_weight` is not 0, but got \(value) at row \(bad.row), column \(bad.column)")
        }
        // Commit: from here on nothing throws.
        if !isElementWeighted { labelWeightSums = labelWeights }
        if !isWeighted { promoteToWeighted() }
        weightedCounts.withUnsafeMutableBufferPointer { c in
            for i in 0..<c.count { c[i] += sums[i] }
        }
        for j in 0..<n { labelWeightSums[j] += labelTotals[j] }
        weightSum += rowWeightSum
        rowCount &+= Int64(rows)
        hasPartlyMaskedRows = hasPartlyMaskedRows || partlyMasked
        rowHistogram.merge(rowTable)
    }

    /// The value at (row, column) as scikit-learn would print it, for messages.
    func describeValue(_ m: MatrixView, row: Int, column: Int) -> String {
        let i = row * m.columns + column
        let base = m.base!
        switch m.elementType {
        case .bool, .uint8: return "\(base.assumingMemoryBound(to: UInt8.self)[i])"
        case .int8: return "\(base.assumingMemoryBound(to: Int8.self)[i])"
        case .uint16: return "\(base.assumingMemoryBound(to: UInt16.self)[i])"
        case .int16: return "\(base.assumingMemoryBound(to: Int16.self)[i])"
        case .uint32: return "\(base.assumingMemoryBound(to: UInt32.self)[i])"
        case .int32: return "\(base.assumingMemoryBound(to: Int32.self)[i])"
        case .uint64: return "\(base.assumingMemoryBound(to: UInt64.self)[i])"
        case .int64: return "\(base.assumingMemoryBound(to: Int64.self)[i])"
        case .float32: return "\(base.assumingMemoryBound(to: Float.self)[i])"
        case .float64: return "\(base.assumingMemoryBound(to: Double.self)[i])"
        }
    }
}

/// Decodes row `r` of a label matrix into bytes: 0, 1, or 0xFF for any other value.
func decodeLabels(_ m: MatrixView, row r: Int, into out: UnsafeMutablePointer<UInt8>) {
    let n = m.columns
    func decode<T: Numeric>(_ type: T.Type) {
        let p = m.base!.assumingMemoryBound(to: T.self) + r &* n
        for j in 0..<n { out[j] = p[j] == 0 ? 0 : (p[j] == 1 ? 1 : 0xFF) }
    }
    switch m.elementType {
    case .bool, .uint8: decode(UInt8.self)
    case .int8: decode(Int8.self)
    case .uint16: decode(UInt16.self)
    case .int16: decode(Int16.self)
    case .uint32: decode(UInt32.self)
    case .int32: decode(Int32.self)
    case .uint64: decode(UInt64.self)
    case .int64: decode(Int64.self)
    case .float32: decode(Float.self)
    case .float64: decode(Double.self)
    }
}

/// `decodeScores` with nan marked per element (0xFF) instead of per row.
func decodeScoresMarkingNaN(_ m: MatrixView, row r: Int, thresholds: UnsafeBufferPointer<Double>,
                            float32Thresholds: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt8>) {
    _ = decodeScores(m, row: r, thresholds: thresholds, float32Thresholds: float32Thresholds, into: out)
    let n = m.columns
    if m.elementType == .float32 {
        let p = m.base!.assumingMemoryBound(to: Float.self) + r &* n
        for j in 0..<n where p[j].isNaN { out[j] = 0xFF }
    } else {
        let p = m.base!.assumingMemoryBound(to: Double.self) + r &* n
        for j in 0..<n where p[j].isNaN { out[j] = 0xFF }
    }
}
