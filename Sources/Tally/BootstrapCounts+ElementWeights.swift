/// Bootstrap replicates of counts with 2-D (element) weights — above all a mask
/// for missing labels (weight 0). Each replicate weighs element (r, j) by
/// `W[r, j] · w(seed, id(r), b)`, so replicate b holds exactly the counts
/// `ConfusionCounts` would hold with 2-D weights `W · w_b` (see
/// `ConfusionCounts+ElementWeights.swift` for what they mean per metric).
extension BootstrapCounts {
    /// Adds one batch with a weight per (row, label) to every replicate.
    ///
    /// The batch is checked first by the counts' own 2-D update on a scratch copy
    /// (same checks, same messages): a call that throws changes nothing.
    /// - Parameters:
    ///   - elementWeights: float64 (rows × labelCount) finite weights, 0 = missing
    ///     (the label and score there are not read).
    ///   - rowIDs: one id per row, or nil for `rowCount`, `rowCount + 1`, ….
    /// - Complexity: O(rows × replicates × (1 + the row's unmasked labels)).
    public mutating func update(truth: MatrixView, prediction: MatrixView, elementWeights: MatrixView,
                                rowIDs: [UInt64]? = nil, kind: PredictionKind = .scores) throws {
        var scratch = try ConfusionCounts(labelCount: labelCount, threshold: .perLabel(thresholds))
        scratch.rowCount = rowCount
        try scratch.update(truth: truth, prediction: prediction, elementWeights: elementWeights, kind: kind)
        let rows = truth.rows, n = labelCount, B = replicates
        if let rowIDs, rowIDs.count != rows {
            throw TallyError.invalidValue("Expected `row_ids` to have \(rows) values (one per row), but got \(rowIDs.count)")
        }
        guard rows > 0 else { return }
        // Commit: nothing below throws.
        if !isElementWeighted { labelWeightSums = labelTotals() }
        let scores = kind == .scores && prediction.elementType.isFloatingPoint
        let float32Thresholds = thresholds.map(float32Threshold)
        let weightBase = elementWeights.base!.assumingMemoryBound(to: Double.self)
        var t = [UInt8](repeating: 0, count: n), p = [UInt8](repeating: 0, count: n)
        var draws = [Double](repeating: 0, count: B), scaled = [Double](repeating: 0, count: B)
        for r in 0..<rows {
            t.withUnsafeMutableBufferPointer { decodeLabels(truth, row: r, into: $0.baseAddress!) }
            p.withUnsafeMutableBufferPointer { pb in
                if scores {
                    thresholds.withUnsafeBufferPointer { th in
                        float32Thresholds.withUnsafeBufferPointer { f32 in
                            decodeScoresMarkingNaN(prediction, row: r, thresholds: th, float32Thresholds: f32.baseAddress!,
                                                   into: pb.baseAddress!)
                        }
                    }
                } else {
                    decodeLabels(prediction, row: r, into: pb.baseAddress!)
                }
            }
            let w = weightBase + r &* n
            let id = rowIDs?[r] ?? UInt64(rowCount) &+ UInt64(r)
            draws.withUnsafeMutableBufferPointer { self.draws.weights(row: id, into: $0.baseAddress!, count: B) }
            var rowTP = 0, rowPredicted = 0, rowActual = 0
            var row = RowWeight()
            for j in 0..<n where w[j] != 0 {
                let (a, b, weight) = (Int(t[j]), Int(p[j]), w[j])
                scale(draws, by: weight, into: &scaled)
                scaled.withUnsafeBufferPointer { s in
                    let source = s.baseAddress!
                    counts.withUnsafeMutableBufferPointer { c in
                        if a & b != 0 { add(source, to: c.baseAddress! + (3 &* j) &* B, B) }
                        if b != 0 { add(source, to: c.baseAddress! + (3 &* j &+ 1) &* B, B) }
                        if a != 0 { add(source, to: c.baseAddress! + (3 &* j &+ 2) &* B, B) }
                    }
                    labelWeightSums.withUnsafeMutableBufferPointer { add(source, to: $0.baseAddress! + j &* B, B) }
                }
                rowTP &+= a & b; rowPredicted &+= b; rowActual &+= a
                row.add(weight)
            }
            if row.known > 0 && row.known < n { hasPartlyMaskedRows = true }
            let rowWeight = row.value
            scale(draws, by: rowWeight, into: &scaled)
            let slot = rowSlot(RowKey(tp: rowTP, fp: rowPredicted - rowTP, fn: rowActual - rowTP))
            scaled.withUnsafeBufferPointer { s in
                totals.withUnsafeMutableBufferPointer { add(s.baseAddress!, to: $0.baseAddress!, B) }
                rowWeights.withUnsafeMutableBufferPointer { add(s.baseAddress!, to: $0.baseAddress! + slot &* B, B) }
            }
        }
        rowCount += Int64(rows)
    }
}

/// out[i] = source[i] · factor (the products the counts form: weight times draw).
func scale(_ source: [Double], by factor: Double, into out: inout [Double]) {
    for i in source.indices { out[i] = factor * source[i] }
}
