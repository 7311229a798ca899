internal import TallyThreads
internal import TallyKernels

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
    /// Counts into local state first and commits only when the whole batch was
    /// valid: a call that throws leaves the counts unchanged.
    /// - Parameters:
    ///   - truth: (rows × labelCount) matrix of 0/1 labels (bool, integer or float dtype).
    ///   - prediction: matrix of the same shape: scores or 0/1 predictions.
    ///   - sampleWeight: one finite weight per row, or nil.
    ///   - kind: how to read `prediction`.
    /// - Complexity: O(rows × labelCount), one pass over each matrix.
    public mutating func update(truth: MatrixView, prediction: MatrixView,
                                sampleWeight: UnsafeBufferPointer<Double>? = nil,
                                kind: PredictionKind = .scores) throws {
        try checkShapes(truth: truth, prediction: prediction, sampleWeight: sampleWeight, finiteWeights: false)
        guard truth.rows > 0 else { return }
        if sampleWeight == nil, try updateSmallBatch(truth: truth, prediction: prediction, kind: kind) { return }
        let thresholdsOrNil = (kind == .scores && prediction.elementType.isFloatingPoint) ? thresholds : nil
        var batch = BatchCounts(labels: labelCount, weighted: sampleWeight != nil || isWeighted)
        let clean = thresholdsOrNil.withOptionalBuffer { th in
            batch.count(truth: truth, prediction: prediction, thresholds: th, weights: sampleWeight)
        }
        // The count's row-order total of the weights is finite exactly when every weight is (a
        // sum that meets inf or nan stays inf or nan), so the weights are read once; a total
        // that is not finite (or overflowed from finite weights) sends them to the check that
        // names the row.
        if let w = sampleWeight, !(batch.weightTotal ?? .nan).isFinite { try Self.checkFinite(w) }
        guard clean else {
            try describeBadValues(truth: truth, prediction: prediction, kind: kind)
            throw TallyError.invalidValue("Expected 0/1 labels and numeric scores, but the batch has other values")
        }
        commit(batch, rows: truth.rows)
    }

    /// Adds recorded arrays (`np.save` output, 2-D, or 1-D for one label) with optional
    /// per-row weights: how a Swift harness or command line scores a recorded run.
    public mutating func update(truth: NPYArray, prediction: NPYArray, sampleWeight: [Double]? = nil,
                                kind: PredictionKind = .scores) throws {
        try truth.withMatrixView { t in
            try prediction.withMatrixView { p in
                try sampleWeight.withOptionalBuffer { try update(truth: t, prediction: p, sampleWeight: $0, kind: kind) }
            }
        }
    }

    /// A small unweighted batch (a training step's) of bool/uint8 truth and bool/uint8
    /// predictions or float32 scores, up to 64 labels: one C kernel call into stack
    /// buffers, then the counts and row triples go straight into the state (no batch
    /// table: each row adds weight 1 to an integer weight, exactly as the batch table's
    /// sum would). False when it does not apply; throws, changing nothing, on a bad value.
    mutating func updateSmallBatch(truth: MatrixView, prediction: MatrixView, kind: PredictionKind) throws -> Bool {
        let n = labelCount, rows = truth.rows
        guard rows <= 1024, n <= 64, !isWeighted, !isElementWeighted,
              truth.elementType == .bool || truth.elementType == .uint8 else { return false }
        let isScores = kind == .scores && prediction.elementType.isFloatingPoint
        if isScores {
            guard prediction.elementType == .float32 else { return false }
        } else {
            guard prediction.elementType == .bool || prediction.elementType == .uint8 else { return false }
        }
        let stride = Self.stride &* n
        let clean = withUnsafeTemporaryAllocation(of: Int64.self, capacity: stride &+ rows) { buffer -> Bool in
            let sums = buffer.baseAddress!, keys = sums + stride
            sums.initialize(repeating: 0, count: stride)
            var out = tk_count_out(counts: sums, small: nil, large: keys, large_count: 0)
            let t = truth.base!.assumingMemoryBound(to: UInt8.self)
            let status = isScores
                ? float32Thresholds.withUnsafeBufferPointer {
                    tk_count_scores_f32(t, prediction.base!.assumingMemoryBound(to: Float.self), $0.baseAddress!, rows, n, &out)
                }
                : tk_count_bytes(t, prediction.base!.assumingMemoryBound(to: UInt8.self), rows, n, &out)
            guard status == 0 else { return false }
            integerCounts.withUnsafeMutableBufferPointer { c in
                for i in 0..<stride { c[i] &+= sums[i] }
            }
            rowHistogram.addUnitRows(UnsafePointer(keys), count: out.large_count)
            return true
        }
        guard clean else {
            try describeBadValues(truth: truth, prediction: prediction, kind: kind)
            throw TallyError.invalidValue("Expected 0/1 labels and numeric scores, but the batch has other values")
        }
        weightSum += Double(rows)
        rowCount &+= Int64(rows)
        return true
    }

    // MARK: Checks

    /// Shapes, the weights' count and (unless `finiteWeights` is false: the caller checks
    /// them itself) that every weight is finite, and that the rows fit the row count.
    func checkShapes(truth: MatrixView, prediction: MatrixView, sampleWeight: UnsafeBufferPointer<Double>?,
                     finiteWeights: Bool = true) throws {
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
            if finiteWeights { try Self.checkFinite(w) }
        }
        let (_, overflow) = rowCount.addingReportingOverflow(Int64(truth.rows))
        guard !overflow else { throw TallyError.overflow("Adding \(truth.rows) rows would overflow the Int64 row count") }
    }

    static func checkFinite(_ weights: UnsafeBufferPointer<Double>) throws {
        if let i = weights.firstIndex(where: { !$0.isFinite }) {
            throw TallyError.invalidValue("Expected `sample_weight` to hold finite numbers, but got \(weights[i]) at row \(i)")
        }
    }

    /// Throws the message for the first bad value (the slow path, after a batch failed).
    func describeBadValues(truth: MatrixView, prediction: MatrixView, kind: PredictionKind) throws {
        if let (r, c, v) = firstNonBinaryCell(truth) {
            throw TallyError.invalidValue("Expected `y_true` to hold only 0 and 1, but got \(v) at row \(r), column \(c)")
        }
        if kind == .labels || !prediction.elementType.isFloatingPoint {
            if let (r, c, v) = firstNonBinaryCell(prediction) {
                throw TallyError.invalidValue("Expected `y_pred` to hold only 0 and 1, but got \(v) at row \(r), column \(c)")
            }
        } else if let (r, c) = firstNaNCell(prediction) {
            throw TallyError.invalidValue("Expected `y_score` to hold numbers, but got nan at row \(r), column \(c)")
        }
    }

    // MARK: Committing

    mutating func commit(_ batch: BatchCounts, rows: Int) {
        if batch.weighted {
            if !isWeighted { promoteToWeighted() }
            weightedCounts.withUnsafeMutableBufferPointer { c in
                for i in 0..<c.count { c[i] += batch.weightedSums[i] }
            }
            let sum = batch.weightTotal ?? Double(rows)
            weightSum += sum
            // Earlier 2-D weights: this batch gives each label its whole weight.
            if isElementWeighted {
                for j in 0..<labelCount { labelWeightSums[j] += sum }
            }
        } else {
            integerCounts.withUnsafeMutableBufferPointer { c in
                for i in 0..<c.count { c[i] &+= batch.integerSums[i] }
            }
            weightSum += Double(rows)
        }
        rowCount &+= Int64(rows)
        rowHistogram.merge(batch.rowTable)
    }
}

extension Optional where Wrapped == [Double] {
    /// Calls `body` with the array's buffer, or with nil when there is no array.
    public func withOptionalBuffer<R>(_ body: (UnsafeBufferPointer<Double>?) throws -> R) rethrows -> R {
        switch self {
        case .some(let a): return try a.withUnsafeBufferPointer { try body($0) }
        case .none: return try body(nil)
        }
    }
}

extension ConfusionCounts {
    /// The batch sizes (rows × labels) from which counting takes every core (unweighted) or
    /// two threads (weighted). Below, starting the threads costs more than they save
    /// (medians, 2-core Zen 4, 39 labels: unweighted bool 20000 rows 100-146 µs on one thread,
    /// 180-250 on two, even at 50000 rows, ahead from 100000; weighted 7000 rows 95-145 µs on
    /// one, 190-220 on two, even at 20000).
    static let splitValues = 1 << 21, weightedSplitValues = 1 << 20
}

/// One batch's counts, built apart from the state so that a bad value found
/// half-way leaves the state untouched.
struct BatchCounts {
    let labels: Int
    let weighted: Bool
    /// `[tp, predicted, actual]` per label (see `ConfusionCounts.integerCounts`).
    var integerSums: [Int64]
    var weightedSums: [Double]
    var rowTable = RowTable(capacity: 64)
    /// The batch's weights summed in row order (every count path takes it); nil unweighted.
    var weightTotal: Double?

    init(labels: Int, weighted: Bool) {
        self.labels = labels
        self.weighted = weighted
        integerSums = weighted ? [] : [Int64](repeating: 0, count: ConfusionCounts.stride * labels)
        weightedSums = weighted ? [Double](repeating: 0, count: ConfusionCounts.stride * labels) : []
    }

    /// Counts every row; false when a value is not 0/1 (truth, predictions) or is
    /// nan (scores). Integer path: byte lanes of 64-bit words (8 labels per add),
    /// flushed to 64-bit counters every 255 rows, before a lane could overflow.
    mutating func count(truth: MatrixView, prediction: MatrixView, thresholds: UnsafeBufferPointer<Double>?,
                        weights: UnsafeBufferPointer<Double>?) -> Bool {
        if weights == nil, let clean = countWithKernel(truth: truth, prediction: prediction, thresholds: thresholds) {
            return clean
        }
        if let weights, let clean = countWeightedWithKernel(truth: truth, prediction: prediction, thresholds: thresholds,
                                                            weights: weights) {
            return clean
        }
        let n = labels
        let words = (n + 7) / 8
        let truthIsBytes = truth.elementType.size == 1 && truth.elementType != .int8
        let predictionIsBytes = prediction.elementType.size == 1 && prediction.elementType != .int8 && thresholds == nil
        var bad: UInt64 = 0
        var sawNaN = false
        var total = 0.0
        var unweightedSums = [Int64](repeating: 0, count: weights == nil ? ConfusionCounts.stride * n : 0)
        let float32Thresholds = (thresholds ?? UnsafeBufferPointer(start: nil, count: 0)).map(float32Threshold)
        return float32Thresholds.withUnsafeBufferPointer { f32Buffer in
        // Scratch: decoded rows (padded to whole words) and the byte-lane accumulators.
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 5 * words) { scratch -> Bool in
            let s = scratch.baseAddress!
            s.initialize(repeating: 0, count: 5 * words)
            let truthRow = UnsafeMutableRawPointer(s), predictionRow = UnsafeMutableRawPointer(s + words)
            let laneTP = s + 2 * words, lanePredicted = s + 3 * words, laneActual = s + 4 * words
            var pending = 0
            let tBase = UnsafeRawPointer(truth.base!), pBase = UnsafeRawPointer(prediction.base!)
            let tStride = n * truth.elementType.size, pStride = n * prediction.elementType.size

            func flush(_ sums: UnsafeMutablePointer<Int64>) {
                for w in 0..<words {
                    let (a, b, c) = (laneTP[w], lanePredicted[w], laneActual[w])
                    for lane in 0..<min(8, n - 8 * w) {
                        let j = 8 * w + lane, shift = UInt64(8 * lane)
                        sums[3 &* j] &+= Int64((a >> shift) & 0xFF)
                        sums[3 &* j &+ 1] &+= Int64((b >> shift) & 0xFF)
                        sums[3 &* j &+ 2] &+= Int64((c >> shift) & 0xFF)
                    }
                    laneTP[w] = 0; lanePredicted[w] = 0; laneActual[w] = 0
                }
            }

            let f32 = f32Buffer.baseAddress ?? UnsafePointer(bitPattern: 8)!  // unused when nil
            for r in 0..<truth.rows {
                // The row as 0/1 bytes: in place when the input already is bytes.
                let t: UnsafeRawPointer
                if truthIsBytes {
                    t = tBase + r &* tStride
                } else {
                    bad |= decodeBinary(truth, row: r, into: truthRow.assumingMemoryBound(to: UInt8.self))
                    t = UnsafeRawPointer(truthRow)
                }
                let p: UnsafeRawPointer
                if predictionIsBytes {
                    p = pBase + r &* pStride
                } else if let th = thresholds {
                    sawNaN = decodeScores(prediction, row: r, thresholds: th, float32Thresholds: f32,
                                          into: predictionRow.assumingMemoryBound(to: UInt8.self)) || sawNaN
                    p = UnsafeRawPointer(predictionRow)
                } else {
                    bad |= decodeBinary(prediction, row: r, into: predictionRow.assumingMemoryBound(to: UInt8.self))
                    p = UnsafeRawPointer(predictionRow)
                }
                var rowTP = 0, rowPredicted = 0, rowActual = 0
                if let weights {
                    let w = weights[r]
                    total += w
                    weightedSums.withUnsafeMutableBufferPointer { sums in
                        let c = sums.baseAddress!
                        let tb = t.assumingMemoryBound(to: UInt8.self), pb = p.assumingMemoryBound(to: UInt8.self)
                        for j in 0..<n {
                            let a = tb[j], b = pb[j]
                            bad |= UInt64((a | b) & 0xFE)
                            c[3 &* j] += w * Double(a & b)
                            c[3 &* j &+ 1] += w * Double(b)
                            c[3 &* j &+ 2] += w * Double(a)
                            rowTP &+= Int(a & b); rowPredicted &+= Int(b); rowActual &+= Int(a)
                        }
                    }
                    // scikit-learn scales a row's own counts by its weight, so a row of
                    // weight 0 has no true, no predicted labels: file it as (0, 0, 0).
                    let key = w == 0 ? RowKey(tp: 0, fp: 0, fn: 0)
                                     : RowKey(tp: rowTP, fp: rowPredicted - rowTP, fn: rowActual - rowTP)
                    rowTable.add(key, RowTally(rows: 1, weight: w))
                    continue
                }
                for w in 0..<words {
                    let a: UInt64, b: UInt64
                    if 8 &* w &+ 8 <= n {
                        a = t.loadUnaligned(fromByteOffset: 8 &* w, as: UInt64.self)
                        b = p.loadUnaligned(fromByteOffset: 8 &* w, as: UInt64.self)
                    } else {
                        (a, b) = (tailWord(t, n), tailWord(p, n))
                    }
                    bad |= (a | b) & 0xFEFE_FEFE_FEFE_FEFE
                    let x = a & b
                    laneTP[w] &+= x; lanePredicted[w] &+= b; laneActual[w] &+= a
                    rowTP &+= x.nonzeroBitCount; rowPredicted &+= b.nonzeroBitCount; rowActual &+= a.nonzeroBitCount
                }
                pending &+= 1
                if pending == 255 {
                    // Into the integer sums of this batch, also when it joins weighted counts
                    // (the batch then has no integer sums of its own).
                    unweightedSums.withUnsafeMutableBufferPointer { flush($0.baseAddress!) }
                    pending = 0
                }
                // Unweighted rows (also when added to weighted counts) weigh 1 each.
                rowTable.add(RowKey(tp: rowTP, fp: rowPredicted - rowTP, fn: rowActual - rowTP), RowTally(rows: 1, weight: 1))
            }
            if weights == nil {
                unweightedSums.withUnsafeMutableBufferPointer { flush($0.baseAddress!) }
                if weighted { weightedSums = unweightedSums.map(Double.init) } else { integerSums = unweightedSums }
            } else {
                weightTotal = total
            }
            return bad == 0 && !sawNaN
        }
        }
    }

    /// Whether the C counting kernels read these matrices: bool/uint8 truth, and
    /// bool/uint8 predictions or (`isScores`) float32 scores.
    @inline(__always) func kernelReads(truth: MatrixView, prediction: MatrixView, isScores: Bool) -> Bool {
        @inline(__always) func isBytes(_ t: ElementType) -> Bool { t == .bool || t == .uint8 }
        return isBytes(truth.elementType) && (isScores ? prediction.elementType == .float32 : isBytes(prediction.elementType))
    }

    /// Unweighted rows of bool/uint8 truth and bool/uint8 predictions or float32 scores
    /// through the C kernel of the CPU's level (`tk_count_*`), on every core for large
    /// batches: each slice of rows counts apart and the integer results are added, so
    /// the counts and row triples equal the row-by-row loop's. Nil when it does not apply.
    mutating func countWithKernel(truth: MatrixView, prediction: MatrixView, thresholds: UnsafeBufferPointer<Double>?) -> Bool? {
        let n = labels, rows = truth.rows
        let isScores = thresholds != nil
        guard n <= 1024, kernelReads(truth: truth, prediction: prediction, isScores: isScores) else { return nil }
        let f32 = (thresholds ?? UnsafeBufferPointer(start: nil, count: 0)).map(float32Threshold)
        let slices = rows &* n >= ConfusionCounts.splitValues ? min(coreProcessorCount(), max(1, rows / 4096)) : 1
        let stride = ConfusionCounts.stride * n
        // Small batches list every row's key (no table to clear); large ones count the
        // rows' triples in a table per slice: for up to 64 labels one slot per possible
        // triple (every row), above that the common small triples (the rest listed).
        let tableSlots = tk_row_slots(n)
        let smallSlots = rows >= 2048 && (n > 64 || rows &* 4 >= tableSlots) ? tableSlots : 0
        let listsRows = smallSlots == 0 || n > 64
        var counts = [Int64](repeating: 0, count: stride * slices)
        var small = [Int64](repeating: 0, count: smallSlots * slices)
        let large = UnsafeMutablePointer<Int64>.allocate(capacity: listsRows ? rows : 1)  // written before read
        defer { large.deallocate() }
        // Rows are handed out in blocks from a shared counter: a thread that gets its core
        // late (a shared machine) delays the batch by one block, not by its half.
        let blockRows = slices > 1 ? max(4096, rows / (slices &* 8)) : rows
        let blocks = (rows &+ blockRows &- 1) / blockRows
        var largeCounts = [Int](repeating: 0, count: blocks)
        var status = [Int32](repeating: 0, count: blocks)
        let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        next.initialize(to: 0)
        defer { next.deallocate() }
        let t = truth.base!.assumingMemoryBound(to: UInt8.self)
        f32.withUnsafeBufferPointer { th in
            counts.withUnsafeMutableBufferPointer { cb in
                small.withUnsafeMutableBufferPointer { sb in
                    largeCounts.withUnsafeMutableBufferPointer { lc in
                        status.withUnsafeMutableBufferPointer { st in
                            let (cb, sb, lc, st) = (cb, sb, lc, st)
                            forkJoin(slices) { slice in
                                while true {
                                    let block = tk_claim(next)
                                    guard block < blocks else { break }
                                    let range = (block &* blockRows)..<min(rows, (block &+ 1) &* blockRows)
                                    var out = tk_count_out(counts: cb.baseAddress! + stride &* slice,
                                                           small: smallSlots == 0 ? nil : sb.baseAddress! + smallSlots &* slice,
                                                           large: listsRows ? large + range.lowerBound : large, large_count: 0)
                                    let first = range.lowerBound &* n
                                    if isScores {
                                        let s = prediction.base!.assumingMemoryBound(to: Float.self)
                                        st[block] = tk_count_scores_f32(t + first, s + first, th.baseAddress!, range.count, n, &out)
                                    } else {
                                        let p = prediction.base!.assumingMemoryBound(to: UInt8.self)
                                        st[block] = tk_count_bytes(t + first, p + first, range.count, n, &out)
                                    }
                                    lc[block] = out.large_count
                                }
                            }
                        }
                    }
                }
            }
        }
        guard !status.contains(where: { $0 != 0 }) else { return false }
        var sums = [Int64](repeating: 0, count: stride)
        sums.withUnsafeMutableBufferPointer { sums in
            counts.withUnsafeBufferPointer { counts in
                for slice in 0..<slices {
                    for i in 0..<stride { sums[i] &+= counts[slice &* stride &+ i] }
                }
            }
        }
        if smallSlots > 0 {
            withUnsafeTemporaryAllocation(of: Int64.self, capacity: 2 &* smallSlots) { entries in
                let keys = entries.baseAddress!, tallies = keys + smallSlots
                let found = small.withUnsafeMutableBufferPointer { tk_row_entries(n, $0.baseAddress!, slices, keys, tallies) }
                // c rows of weight 1: their weight sum is exactly c.
                rowTable.reserve(found)
                for i in 0..<found { rowTable.add(RowKey(packed: Int(keys[i])), RowTally(rows: tallies[i], weight: Double(tallies[i]))) }
            }
        }
        if listsRows {
            for block in 0..<blocks { rowTable.addUnitRows(UnsafePointer(large + block &* blockRows), count: largeCounts[block]) }
        }
        if weighted { weightedSums = sums.map(Double.init) } else { integerSums = sums }
        return true
    }

    /// Weighted rows of up to 64 labels, bool/uint8 truth and bool/uint8 predictions or
    /// float32 scores, through the C kernel, every float64 sum (per label, per row triple,
    /// the weight total) adding the same weights in the same order as the row-by-row loop.
    /// Row order pins each sum to one thread, so large batches split the work instead: one
    /// thread takes the label sums over every row, the other the row table, the weight
    /// total and the check of every value (about the same time on Zen 4), both reading the
    /// same rows at once. Nil when it does not apply.
    mutating func countWeightedWithKernel(truth: MatrixView, prediction: MatrixView, thresholds: UnsafeBufferPointer<Double>?,
                                          weights: UnsafeBufferPointer<Double>) -> Bool? {
        let n = labels, rows = truth.rows
        let isScores = thresholds != nil
        guard n <= 64, weighted, kernelReads(truth: truth, prediction: prediction, isScores: isScores) else { return nil }
        let f32 = (thresholds ?? UnsafeBufferPointer(start: nil, count: 0)).map(float32Threshold)
        let parts = rows &* n >= ConfusionCounts.weightedSplitValues && coreProcessorCount() > 1 ? 2 : 1
        let slots = tk_row_slots(n)
        var rowSlots = [Int64](repeating: 0, count: slots)
        var weightSlots = [Double](repeating: -0.0, count: slots)
        var total = 0.0
        var status: [Int32] = [0, 0]
        let t = truth.base!.assumingMemoryBound(to: UInt8.self)
        f32.withUnsafeBufferPointer { th in
            weightedSums.withUnsafeMutableBufferPointer { sums in
                rowSlots.withUnsafeMutableBufferPointer { rs in
                    weightSlots.withUnsafeMutableBufferPointer { ws in
                        withUnsafeMutablePointer(to: &total) { total in
                            status.withUnsafeMutableBufferPointer { st in
                                let (sums, rs, ws, st) = (sums, rs, ws, st)
                                forkJoin(parts) { part in
                                    // Two parts: 0 the label sums, 1 the rest; one: both.
                                    var out = tk_weighted_out(sums: parts == 2 && part == 1 ? nil : sums.baseAddress!,
                                                              row_table: parts == 2 && part == 0 ? nil : rs.baseAddress!,
                                                              weight_table: ws.baseAddress!, weight_sum: total)
                                    st[part] = isScores
                                        ? tk_count_scores_f32_weighted(t, prediction.base!.assumingMemoryBound(to: Float.self),
                                                                       th.baseAddress!, weights.baseAddress!, rows, n, &out)
                                        : tk_count_bytes_weighted(t, prediction.base!.assumingMemoryBound(to: UInt8.self),
                                                                  weights.baseAddress!, rows, n, &out)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard status == [0, 0] else { return false }
        weightTotal = total
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: 2 &* slots) { entries in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: slots) { entryWeights in
                let keys = entries.baseAddress!, counts = keys + slots, w = entryWeights.baseAddress!
                let found = tk_row_entries_weighted(n, rowSlots, weightSlots, keys, counts, w)
                rowTable.reserve(found)
                for i in 0..<found { rowTable.add(RowKey(packed: Int(keys[i])), RowTally(rows: counts[i], weight: w[i])) }
            }
        }
        return true
    }

    /// The last `n % 8` bytes of a row in the low lanes of a word, without reading
    /// past the row: an overlapping load shifted right when the row has 8 bytes or
    /// more, byte by byte otherwise.
    @inline(__always)
    func tailWord(_ row: UnsafeRawPointer, _ n: Int) -> UInt64 {
        let tail = n & 7
        if n >= 8 {
            return row.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) >> UInt64(8 * (8 - tail))
        }
        var word: UInt64 = 0
        for i in 0..<tail { word |= UInt64(row.load(fromByteOffset: i, as: UInt8.self)) << UInt64(8 * i) }
        return word
    }
}

/// Decodes row `r` of a 0/1 matrix into bytes; returns nonzero when a value is not 0/1.
@inline(__always)
func decodeBinary(_ m: MatrixView, row r: Int, into out: UnsafeMutablePointer<UInt8>) -> UInt64 {
    let n = m.columns
    let base = m.base!
    @inline(__always) func binary<T: Numeric>(_ t: T.Type) -> UInt64 {
        let p = base.assumingMemoryBound(to: T.self) + r &* n
        var bad: UInt8 = 0
        for j in 0..<n {
            let v = p[j]
            let one: UInt8 = v == 1 ? 1 : 0
            out[j] = one
            bad |= (v != 0 ? 1 : 0) & (one ^ 1)
        }
        return UInt64(bad)
    }
    switch m.elementType {
    case .bool, .uint8:
        let p = base.assumingMemoryBound(to: UInt8.self) + r &* n
        var acc: UInt8 = 0
        for j in 0..<n { out[j] = p[j]; acc |= p[j] }
        return UInt64(acc & 0xFE)
    case .int8: return binary(Int8.self)
    case .uint16: return binary(UInt16.self)
    case .int16: return binary(Int16.self)
    case .uint32: return binary(UInt32.self)
    case .int32: return binary(Int32.self)
    case .uint64: return binary(UInt64.self)
    case .int64: return binary(Int64.self)
    case .float32: return binary(Float.self)
    case .float64: return binary(Double.self)
    }
}

/// Thresholds row `r` of a float matrix into 0/1 bytes (`Double(score) >= threshold`,
/// exact); returns true when the row holds a nan. Float32 scores compare against
/// `float32Thresholds`, the smallest float32 at or above each threshold, which
/// gives the same answers and lets the loop run 16 lanes wide.
@inline(__always)
func decodeScores(_ m: MatrixView, row r: Int, thresholds: UnsafeBufferPointer<Double>,
                  float32Thresholds: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt8>) -> Bool {
    let n = m.columns
    var nan: UInt8 = 0
    if m.elementType == .float32 {
        let p = m.base!.assumingMemoryBound(to: Float.self) + r &* n
        for j in 0..<n {
            let v = p[j]
            out[j] = v >= float32Thresholds[j] ? 1 : 0
            nan |= v != v ? 1 : 0
        }
    } else {
        let p = m.base!.assumingMemoryBound(to: Double.self) + r &* n
        let th = thresholds.baseAddress!
        for j in 0..<n {
            let v = p[j]
            out[j] = v >= th[j] ? 1 : 0
            nan |= v != v ? 1 : 0
        }
    }
    return nan != 0
}

/// The smallest float32 `f` with `Double(f) >= t`: `score >= f` in float32 equals
/// `Double(score) >= t` for every float32 score.
func float32Threshold(_ t: Double) -> Float {
    // Rounding to nearest lands on it or on the float just below it.
    let f = Float(t)
    return Double(f) < t ? f.nextUp : f
}

/// The first value that is neither 0 nor 1, with its position; nil when all are.
func firstNonBinaryCell(_ m: MatrixView) -> (Int, Int, String)? {
    guard let base = m.base, m.count > 0 else { return nil }
    func scan<T: Numeric & Comparable>(_ type: T.Type) -> (Int, Int, String)? {
        let p = base.assumingMemoryBound(to: T.self)
        for i in 0..<m.count where p[i] != 0 && p[i] != 1 {
            return (i / m.columns, i % m.columns, "\(p[i])")
        }
        return nil
    }
    switch m.elementType {
    case .bool, .uint8: return scan(UInt8.self)
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
func firstNaNCell(_ m: MatrixView) -> (Int, Int)? {
    guard let base = m.base, m.count > 0 else { return nil }
    func scan<T: BinaryFloatingPoint>(_ type: T.Type) -> (Int, Int)? {
        let p = base.assumingMemoryBound(to: T.self)
        for i in 0..<m.count where p[i].isNaN { return (i / m.columns, i % m.columns) }
        return nil
    }
    switch m.elementType {
    case .float32: return scan(Float.self)
    case .float64: return scan(Double.self)
    default: return nil
    }
}
