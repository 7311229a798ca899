/// What the values of a prediction matrix mean.
public enum PredictionKind: Sendable {
    /// Floating-point scores are thresholded (`score >= threshold`); integer and
    /// bool predictions must be 0 or 1.
    case scores
    /// Every value must be 0 or 1, whatever the dtype (scikit-learn's `y_pred`).
    case labels
}

extension ConfusionCounts {
    /// Adds one batch of rows.
    ///
    /// Checks everything first; a call that throws leaves the counts unchanged.
    /// - Parameters:
    ///   - truth: (rows × labelCount) matrix of 0/1 labels (bool, integer or float dtype).
    ///   - prediction: matrix of the same shape: scores or 0/1 predictions.
    ///   - sampleWeight: one finite weight per row, or nil.
    ///   - kind: how to read `prediction`.
    /// - Complexity: O(rows × labelCount), one pass over each matrix to check it
    ///   and one to count.
    public mutating func update(truth: MatrixView, prediction: MatrixView,
                                sampleWeight: UnsafeBufferPointer<Double>? = nil,
                                kind: PredictionKind = .scores) throws {
        try validate(truth: truth, prediction: prediction, sampleWeight: sampleWeight, kind: kind)
        guard truth.rows > 0 else { return }
        if let weights = sampleWeight {
            if !isWeighted { promoteToWeighted() }
            countWeighted(truth: truth, prediction: prediction, weights: weights)
            var sum = 0.0
            for w in weights { sum += w }
            weightSum += sum
        } else if isWeighted {
            // Unweighted rows on weighted counts weigh 1 each.
            let ones = [Double](repeating: 1, count: truth.rows)
            ones.withUnsafeBufferPointer { countWeighted(truth: truth, prediction: prediction, weights: $0) }
            weightSum += Double(truth.rows)
        } else {
            countIntegers(truth: truth, prediction: prediction)
            weightSum += Double(truth.rows)
        }
        rowCount &+= Int64(truth.rows)
    }

    // MARK: Checks

    func validate(truth: MatrixView, prediction: MatrixView,
                  sampleWeight: UnsafeBufferPointer<Double>?, kind: PredictionKind) throws {
        guard truth.columns == labelCount else {
            throw TallyError.invalidValue("Expected `y_true` to have \(labelCount) columns, but got \(truth.columns)")
        }
        guard prediction.rows == truth.rows, prediction.columns == truth.columns else {
            throw TallyError.invalidValue(
                "Expected `y_pred` to have shape (\(truth.rows), \(truth.columns)) like `y_true`, but got (\(prediction.rows), \(prediction.columns))")
        }
        if let w = sampleWeight {
            guard w.count == truth.rows else {
                throw TallyError.invalidValue("Expected `sample_weight` to have \(truth.rows) values (one per row), but got \(w.count)")
            }
            if let i = w.firstIndex(where: { !$0.isFinite }) {
                throw TallyError.invalidValue("Expected `sample_weight` to hold finite numbers, but got \(w[i]) at row \(i)")
            }
        }
        let (_, overflow) = rowCount.addingReportingOverflow(Int64(truth.rows))
        guard !overflow else { throw TallyError.overflow("Adding \(truth.rows) rows would overflow the Int64 row count") }
        if let (r, c, v) = firstNonBinary(truth) {
            throw TallyError.invalidValue("Expected `y_true` to hold only 0 and 1, but got \(v) at row \(r), column \(c)")
        }
        if kind == .labels || !prediction.elementType.isFloatingPoint {
            if let (r, c, v) = firstNonBinary(prediction) {
                throw TallyError.invalidValue("Expected `y_pred` to hold only 0 and 1, but got \(v) at row \(r), column \(c)")
            }
        } else if let (r, c) = firstNaN(prediction) {
            throw TallyError.invalidValue("Expected `y_score` to hold numbers, but got nan at row \(r), column \(c)")
        }
    }

    /// The first value that is neither 0 nor 1, with its position; nil when all are.
    func firstNonBinary(_ m: MatrixView) -> (Int, Int, String)? {
        guard let base = m.base, m.count > 0 else { return nil }
        func scan<T: Numeric & Comparable>(_ type: T.Type) -> (Int, Int, String)? {
            let p = base.assumingMemoryBound(to: T.self)
            // A branch-free OR-reduction first: the common case (all 0/1) stays fast.
            var bad = false
            for i in 0..<m.count { let v = p[i]; bad = bad || (v != 0 && v != 1) }
            guard bad else { return nil }
            for i in 0..<m.count where p[i] != 0 && p[i] != 1 {
                return (i / m.columns, i % m.columns, "\(p[i])")
            }
            return nil
        }
        switch m.elementType {
        case .bool, .uint8:
            let p = base.assumingMemoryBound(to: UInt8.self)
            var acc: UInt8 = 0
            for i in 0..<m.count { acc |= p[i] }
            guard acc > 1 else { return nil }
            for i in 0..<m.count where p[i] > 1 { return (i / m.columns, i % m.columns, "\(p[i])") }
            return nil
        case .int8: return scan(Int8.self)
        case .uint16: return scan(UInt16.self)
        case .int16: return scan(Int16.self)
        case .uint32: return scan(UInt32.self)
        case .int32: return scan(Int32.self)
        case .uint64: return scan(UInt64.self)
        case .int64: return scan(Int64.self)
        case .float32: return scan(Float.self)
        case .float64: return scan(Double.self)
        }
    }

    /// The position of the first NaN in a floating-point matrix; nil when none.
    func firstNaN(_ m: MatrixView) -> (Int, Int)? {
        guard let base = m.base, m.count > 0 else { return nil }
        func scan<T: BinaryFloatingPoint>(_ type: T.Type) -> (Int, Int)? {
            let p = base.assumingMemoryBound(to: T.self)
            var bad = false
            for i in 0..<m.count { let v = p[i]; bad = bad || (v != v) }
            guard bad else { return nil }
            for i in 0..<m.count where p[i].isNaN { return (i / m.columns, i % m.columns) }
            return nil
        }
        switch m.elementType {
        case .float32: return scan(Float.self)
        case .float64: return scan(Double.self)
        default: return nil
        }
    }

    // MARK: Counting

    /// Decodes row `r` of a checked matrix into 0/1 bytes.
    @inline(__always)
    static func decodeRow(_ m: MatrixView, row r: Int, thresholds: UnsafeBufferPointer<Double>?,
                          into out: UnsafeMutablePointer<UInt8>) {
        let n = m.columns
        let start = r &* n
        let base = m.base!
        @inline(__always) func binary<T: Numeric>(_ t: T.Type) {
            let p = base.assumingMemoryBound(to: T.self) + start
            for j in 0..<n { out[j] = p[j] == 1 ? 1 : 0 }
        }
        @inline(__always) func threshold<T: BinaryFloatingPoint>(_ t: T.Type) {
            let p = base.assumingMemoryBound(to: T.self) + start
            let th = thresholds!.baseAddress!
            for j in 0..<n { out[j] = Double(p[j]) >= th[j] ? 1 : 0 }
        }
        switch m.elementType {
        case .bool, .uint8: out.update(from: base.assumingMemoryBound(to: UInt8.self) + start, count: n)
        case .int8: binary(Int8.self)
        case .uint16: binary(UInt16.self)
        case .int16: binary(Int16.self)
        case .uint32: binary(UInt32.self)
        case .int32: binary(Int32.self)
        case .uint64: binary(UInt64.self)
        case .int64: binary(Int64.self)
        case .float32: if thresholds != nil { threshold(Float.self) } else { binary(Float.self) }
        case .float64: if thresholds != nil { threshold(Double.self) } else { binary(Double.self) }
        }
    }

    /// Thresholds to apply to `prediction`, or nil when its values are 0/1 labels.
    /// (Checked matrices only: a float matrix that was checked as labels holds 0/1,
    /// and thresholding 0/1 at any threshold in (0, 1] gives the same answer.)
    mutating func countIntegers(truth: MatrixView, prediction: MatrixView) {
        let n = labelCount
        let thresholdsOrNil = prediction.elementType.isFloatingPoint ? thresholds : nil
        // Work on locals: the closures below must not hold `self` while mutating it.
        var counts = integerCounts, histogram = rowHistogram
        integerCounts = []; rowHistogram = [:]
        defer { integerCounts = counts; rowHistogram = histogram }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * n) { scratch in
            let t = scratch.baseAddress!, p = t + n
            counts.withUnsafeMutableBufferPointer { counts in
                let c = counts.baseAddress!
                func doRow(_ r: Int, _ th: UnsafeBufferPointer<Double>?) {
                    Self.decodeRow(truth, row: r, thresholds: nil, into: t)
                    Self.decodeRow(prediction, row: r, thresholds: th, into: p)
                    var rowTP = 0, rowFP = 0, rowFN = 0
                    for j in 0..<n {
                        let a = t[j], b = p[j]
                        let tp = a & b, fp = b & ~a, fn = a & ~b, tn = (a | b) ^ 1
                        c[4 &* j] &+= Int64(tp)
                        c[4 &* j &+ 1] &+= Int64(fp)
                        c[4 &* j &+ 2] &+= Int64(fn)
                        c[4 &* j &+ 3] &+= Int64(tn)
                        rowTP &+= Int(tp); rowFP &+= Int(fp); rowFN &+= Int(fn)
                    }
                    histogram[RowKey(tp: rowTP, fp: rowFP, fn: rowFN), default: RowTally()].add(RowTally(rows: 1, weight: 1))
                }
                if let th = thresholdsOrNil {
                    th.withUnsafeBufferPointer { thb in for r in 0..<truth.rows { doRow(r, thb) } }
                } else {
                    for r in 0..<truth.rows { doRow(r, nil) }
                }
            }
        }
    }

    mutating func countWeighted(truth: MatrixView, prediction: MatrixView, weights: UnsafeBufferPointer<Double>) {
        let n = labelCount
        let thresholdsOrNil = prediction.elementType.isFloatingPoint ? thresholds : nil
        // Work on locals: the closures below must not hold `self` while mutating it.
        var counts = weightedCounts, histogram = rowHistogram
        weightedCounts = []; rowHistogram = [:]
        defer { weightedCounts = counts; rowHistogram = histogram }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * n) { scratch in
            let t = scratch.baseAddress!, p = t + n
            counts.withUnsafeMutableBufferPointer { counts in
                let c = counts.baseAddress!
                func doRow(_ r: Int, _ th: UnsafeBufferPointer<Double>?) {
                    Self.decodeRow(truth, row: r, thresholds: nil, into: t)
                    Self.decodeRow(prediction, row: r, thresholds: th, into: p)
                    let w = weights[r]
                    var rowTP = 0, rowFP = 0, rowFN = 0
                    for j in 0..<n {
                        let a = t[j], b = p[j]
                        let tp = a & b, fp = b & ~a, fn = a & ~b
                        // Adding only where the indicator is set keeps the sums equal to
                        // scikit-learn's (which sums the weights of matching rows).
                        if tp != 0 { c[4 &* j] += w }
                        if fp != 0 { c[4 &* j &+ 1] += w }
                        if fn != 0 { c[4 &* j &+ 2] += w }
                        if (a | b) == 0 { c[4 &* j &+ 3] += w }
                        rowTP &+= Int(tp); rowFP &+= Int(fp); rowFN &+= Int(fn)
                    }
                    // scikit-learn scales a row's own counts by its weight, so a row of
                    // weight 0 has no true, no predicted labels: file it as (0, 0, 0).
                    let key = w == 0 ? RowKey(tp: 0, fp: 0, fn: 0) : RowKey(tp: rowTP, fp: rowFP, fn: rowFN)
                    histogram[key, default: RowTally()].add(RowTally(rows: 1, weight: w))
                }
                if let th = thresholdsOrNil {
                    th.withUnsafeBufferPointer { thb in for r in 0..<truth.rows { doRow(r, thb) } }
                } else {
                    for r in 0..<truth.rows { doRow(r, nil) }
                }
            }
        }
    }
}
