internal import TallyThreads

/// Every (score, truth) pair of every label, kept compactly so that ROC AUC,
/// average precision and their curves come out exactly as scikit-learn computes
/// them on the concatenated batches, ties included.
///
/// Per label and row: the score as a 32-bit order key (float32 scores; float64
/// scores that float32 holds exactly) and one truth bit — 4.125 bytes — plus one
/// float64 weight per row once a weighted batch was seen. A float64 score that
/// float32 cannot hold switches the store to 64-bit keys (8.125 bytes), because
/// rounding it would merge distinct scores into ties. Merging concatenates.
///
///     var store = try ScoreStore(labelCount: 2)
///     try store.update(truth: yTrue, scores: yScore)
///     let auc = try store.rocAUC(average: .macro)   // auc.values, auc.undefinedLabels
public struct ScoreStore: Equatable, Sendable {
    public let labelCount: Int
    public internal(set) var rowCount = 0
    /// Whether scores are kept as 64-bit keys.
    public internal(set) var isWide = false
    /// Per label, the order keys of its scores (row order).
    var narrowKeys: [[UInt32]]
    var wideKeys: [[UInt64]]
    /// Per label, the truth bits (row order, 64 per word).
    var truthBits: [[UInt64]]
    /// One weight per row once weighted (else empty); with element weights, the
    /// weight of the row's own score (`average: .samples`).
    var weights: [Double] = []
    /// Per label, one weight per row once element (2-D) weights were seen, else
    /// empty (see ScoreStore+ElementWeights.swift); 0 marks an unknown entry.
    var cellWeights: [[Double]] = []

    public init(labelCount: Int) throws {
        guard labelCount >= 1 else {
            throw TallyError.invalidValue("Expected `n_labels` to be at least 1, but got \(labelCount)")
        }
        self.labelCount = labelCount
        narrowKeys = Array(repeating: [], count: labelCount)
        wideKeys = []
        truthBits = Array(repeating: [], count: labelCount)
    }

    public var isWeighted: Bool { !weights.isEmpty }

    /// Bytes held by the scores, truth bits and weights.
    public var memoryBytes: Int {
        let keyBytes = isWide ? 8 : 4
        return labelCount * rowCount * keyBytes + labelCount * ((rowCount + 63) / 64) * 8 + weights.count * 8
            + cellWeights.count * rowCount * 8
    }

    /// Empties the store. The 32-bit key and bit arrays keep their capacity, so that the
    /// next epoch of a streaming metric stores its scores without asking the system for
    /// fresh memory (pages the kernel would fault in and clear again).
    public mutating func reset() {
        var keys = narrowKeys, bits = truthBits
        narrowKeys = []
        truthBits = []
        for j in 0..<labelCount {
            keys[j].removeAll(keepingCapacity: true)
            bits[j].removeAll(keepingCapacity: true)
        }
        self = try! ScoreStore(labelCount: labelCount)
        (narrowKeys, truthBits) = (keys, bits)
    }

    // MARK: Updating

    /// Appends one batch. Validates everything first: a call that throws changes nothing.
    /// - Parameters:
    ///   - truth: (rows × labelCount) 0/1 labels.
    ///   - scores: (rows × labelCount) float32 or float64 finite scores.
    ///   - sampleWeight: one finite weight ≥ 0 per row, or nil.
    public mutating func update(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>? = nil) throws {
        try checkScoreShapes(truth: truth, scores: scores, sampleWeight: sampleWeight, labelCount: labelCount)
        let rows = truth.rows
        guard rows > 0 else { return }
        let inPlace = truth.elementType == .bool || truth.elementType == .uint8
        // 32-bit keys: the C kernel checks the scores (finite) and the truth bytes (0/1)
        // while it stores them, and the batch is taken back when one is bad.
        if !isWide && labelCount <= 1024 && (scores.elementType == .float32 || fitsFloat32(scores)) {
            var decoded: [UInt8] = []
            if !inPlace {
                do { decoded = try decodeTruth(truth) } catch {
                    try checkFiniteScores(scores)  // a bad score is reported first, as below
                    throw error
                }
            }
            guard rowCount + rows < Int(UInt32.max) else {
                throw TallyError.overflow("Expected at most \(UInt32.max - 1) rows in a score store, but adding \(rows) to \(rowCount) exceeds it")
            }
            let status = decoded.withUnsafeBufferPointer { d in
                appendNarrow(truth: inPlace ? truth.base!.assumingMemoryBound(to: UInt8.self) : d.baseAddress!, scores: scores)
            }
            if status & 1 != 0 { try checkFiniteScores(scores) }
            if status != 0 { _ = try decodeTruth(truth); throw TallyError.invalidValue("Expected `y_true` to hold only 0 and 1") }
        } else {
            try checkFiniteScores(scores)
            guard rowCount + rows < Int(UInt32.max) else {
                throw TallyError.overflow("Expected at most \(UInt32.max - 1) rows in a score store, but adding \(rows) to \(rowCount) exceeds it")
            }
            // Truth first, as checked 0/1 bytes: a bad value found here leaves the store
            // untouched. Bool and uint8 truth is read in place.
            let n = labelCount
            let decoded = inPlace ? try checkBinaryBytes(truth) : try decodeTruth(truth)
            if !isWide && scores.elementType == .float64 && !fitsFloat32(scores) { widen() }
            let start = rowCount
            let newWords = (start + rows + 63) / 64
            for j in 0..<n {
                truthBits[j].append(contentsOf: repeatElement(0, count: newWords - truthBits[j].count))
                if isWide { wideKeys[j].append(contentsOf: repeatElement(0, count: rows)) }
                else { narrowKeys[j].append(contentsOf: repeatElement(0, count: rows)) }
            }
            decoded.withUnsafeBufferPointer { d in
                let t = inPlace ? truth.base!.assumingMemoryBound(to: UInt8.self) : d.baseAddress!
                if isWide {
                    fillWide(truth: t, scores: scores, start: start)
                } else {
                    fillNarrow(truth: t, scores: scores, start: start)
                }
            }
        }
        let start = rowCount
        if let w = sampleWeight {
            if weights.isEmpty { weights = Array(repeating: 1, count: start) }
            weights.append(contentsOf: w)
        } else if isWeighted {
            weights.append(contentsOf: repeatElement(1, count: rows))
        }
        appendRowWeightsToCells(sampleWeight, rows: rows)
        rowCount += rows
    }

    /// Switches to 64-bit keys.
    mutating func widen() {
        guard !isWide else { return }
        wideKeys = narrowKeys.map { $0.map { orderKey64(Double(scoreFromKey32($0))) } }
        narrowKeys = Array(repeating: [], count: labelCount)
        isWide = true
    }

    /// Appends `other`'s rows after these.
    public mutating func merge(_ other: ScoreStore) throws {
        guard other.labelCount == labelCount else {
            throw TallyError.invalidValue("Expected a score store with \(labelCount) labels to merge, but got \(other.labelCount)")
        }
        guard rowCount + other.rowCount < Int(UInt32.max) else {
            throw TallyError.overflow("Expected at most \(UInt32.max - 1) rows in a score store, but the merge would hold \(rowCount + other.rowCount)")
        }
        var other = other
        if other.isWide { widen() }
        if isWide { other.widen() }
        for j in 0..<labelCount {
            if isWide { wideKeys[j] += other.wideKeys[j] } else { narrowKeys[j] += other.narrowKeys[j] }
            truthBits[j] = appendBits(truthBits[j], count: rowCount, other.truthBits[j], count: other.rowCount)
        }
        if isWeighted || other.isWeighted {
            let mine = isWeighted ? weights : Array(repeating: 1, count: rowCount)
            let theirs = other.isWeighted ? other.weights : Array(repeating: 1, count: other.rowCount)
            weights = mine + theirs
        }
        mergeCellWeights(other)
        rowCount += other.rowCount
    }

    // MARK: Reading

    @inline(__always) func truthBit(_ label: Int, _ row: Int) -> Bool {
        truthBits[label][row >> 6] >> UInt64(row & 63) & 1 == 1
    }

    /// Number of positive rows of `label` (zero-weight rows included).
    func positiveCount(_ label: Int) -> Int {
        truthBits[label].reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// The label's scores as float64, in row order.
    public func scores(label: Int) -> [Double] {
        isWide ? wideKeys[label].map(scoreFromKey64) : narrowKeys[label].map { Double(scoreFromKey32($0)) }
    }

    /// The label's truth as 0/1, in row order.
    public func truth(label: Int) -> [UInt8] {
        (0..<rowCount).map { truthBit(label, $0) ? 1 : 0 }
    }

    /// The row weights (all 1 while unweighted).
    public var rowWeights: [Double] { isWeighted ? weights : Array(repeating: 1, count: rowCount) }

    /// The label's distinct thresholds with cumulative positive and negative weight.
    public func curve(label: Int) -> ThresholdCurve {
        curve(labels: [label])
    }

    /// The curve of the labels' cells pooled into one binary problem (micro average).
    func curve(labels: [Int]) -> ThresholdCurve {
        var c = ThresholdCurve()
        (c.hasPositive, c.hasNegative) = walk(labels: labels, into: &c)
        return c
    }

    /// Sorts the labels' cells by score and hands `sink` each group of tied scores,
    /// highest first, with the cumulative positive and negative weight; returns
    /// whether any cell (weight 0 included) is positive, and negative.
    /// - Parameter threads: the sort of a large pool of cells (micro) may use this many.
    /// - Parameter buffers: the sort's buffers, reused from walk to walk by one thread.
    func walk<Sink: GroupSink>(labels: [Int], into c: inout Sink, threads: Int = 1, buffers: RankBuffers? = nil) -> (Bool, Bool) {
        let classes = classPresence(labels)
        let total = labels.count * rowCount
        guard total > 0 else { return classes }
        if !isWide && !isWeighted {
            walkNarrowUnweighted(labels: labels, into: &c, threads: threads, buffers: buffers)
            return classes
        }
        // Weighted or wide: sort (key, cell) and look truth and weight up by cell,
        // skipping rows of weight 0 as scikit-learn does.
        let w = rowWeights
        var tp = 0.0, fp = 0.0
        if !isWide {
            var packed = [UInt64](repeating: 0, count: total)
            packed.withUnsafeMutableBufferPointer { p in
                var o = 0
                for (li, j) in labels.enumerated() {
                    narrowKeys[j].withUnsafeBufferPointer { keys in
                        for r in 0..<rowCount { p[o + r] = UInt64(keys[r]) << 32 | UInt64(li * rowCount + r) }
                    }
                    o += rowCount
                }
                radixSort(p, shifts: [32, 40, 48, 56])
                var i = total - 1
                while i >= 0 {
                    let key = p[i] >> 32
                    var any = false
                    while i >= 0 && p[i] >> 32 == key {
                        let cell = Int(p[i] & 0xFFFF_FFFF)
                        let (li, r) = cell.quotientAndRemainder(dividingBy: rowCount)
                        let weight = isElementWeighted ? cellWeights[labels[li]][r] : w[r]
                        if weight != 0 {
                            any = true
                            if truthBit(labels[li], r) { tp += weight } else { fp += weight }
                        }
                        i -= 1
                    }
                    if any { c.group(key: key, wide: false, tp: tp, fp: fp) }
                }
            }
            return classes
        }
        var pairs: [(key: UInt64, cell: UInt32)] = []
        pairs.reserveCapacity(total)
        for (li, j) in labels.enumerated() {
            for r in 0..<rowCount { pairs.append((wideKeys[j][r], UInt32(li * rowCount + r))) }
        }
        pairs.sort { $0.key > $1.key }
        var i = 0
        while i < total {
            let key = pairs[i].key
            var any = false
            while i < total && pairs[i].key == key {
                let (li, r) = Int(pairs[i].cell).quotientAndRemainder(dividingBy: rowCount)
                let weight = isElementWeighted ? cellWeights[labels[li]][r] : w[r]
                if weight != 0 {
                    any = true
                    if truthBit(labels[li], r) { tp += weight } else { fp += weight }
                }
                i += 1
            }
            if any { c.group(key: key, wide: true, tp: tp, fp: fp) }
        }
        return classes
    }

    /// The curve of one row over its labels (the samples average scores rows unweighted).
    func rowCurve(_ r: Int, scratch: inout [(key: UInt64, truth: Bool)]) -> ThresholdCurve {
        scratch.removeAll(keepingCapacity: true)
        for j in 0..<labelCount where !isElementWeighted || cellWeights[j][r] != 0 {
            scratch.append((isWide ? wideKeys[j][r] : UInt64(narrowKeys[j][r]), truthBit(j, r)))
        }
        scratch.sort { $0.key > $1.key }
        var c = ThresholdCurve()
        var tp = 0.0, fp = 0.0, i = 0
        while i < scratch.count {
            let key = scratch[i].key
            while i < scratch.count && scratch[i].key == key {
                if scratch[i].truth { tp += 1; c.hasPositive = true } else { fp += 1; c.hasNegative = true }
                i += 1
            }
            c.close(threshold: isWide ? scoreFromKey64(key) : Double(scoreFromKey32(UInt32(key))), positives: tp, negatives: fp)
        }
        return c
    }
}

// MARK: Averaged scores

/// Per-label (or averaged) values of a score-based metric, the labels whose
/// value is undefined (nan: one class only), and scikit-learn's warnings.
public struct RankedScores: Equatable, Sendable {
    public var values: [Double]
    /// Selected-label positions (or rows, for `.samples`) whose score was undefined.
    public var undefined: [Int]
    public var warnings: [MetricWarning]
}

extension ScoreStore {
    /// `roc_auc_score` on multi-label targets (per label when `average` is nil).
    /// - Parameters:
    ///   - maxFPR: standardised partial AUC up to this false positive rate, in (0, 1].
    ///   - threads: labels are sorted in parallel on this many threads.
    public func rocAUC(average: Average? = .macro, maxFPR: Double? = nil, labels: [Int]? = nil,
                       threads: Int = coreProcessorCount()) throws -> RankedScores {
        if let m = maxFPR, !(m > 0 && m <= 1) {
            throw TallyError.invalidValue("Expected `max_fpr` in range (0, 1], but got \(m)")
        }
        let partial = maxFPR != nil && maxFPR != 1
        return try averaged(average: average, labels: labels, threads: threads, pooled: { cells, sortThreads, buffers, warnings in
            if !partial {
                // One pass over the sorted cells; the curve is built only for the
                // degenerate cases, whose warnings it reproduces.
                var sink = AreaSink(countsAreExact: !isWeighted && cells.count * rowCount <= 1 << 26)
                let (hasPositive, hasNegative) = walk(labels: cells, into: &sink, threads: sortThreads, buffers: buffers)
                if hasPositive && hasNegative && sink.tp > 0 && sink.fp > 0 { return sink.value / (sink.tp * sink.fp) }
            }
            return curve(labels: cells).rocAUC(maxFPR: maxFPR, warnings: &warnings)
        }) { curve, warnings in
            curve.rocAUC(maxFPR: maxFPR, warnings: &warnings)
        }
    }

    /// `average_precision_score` on multi-label targets.
    public func averagePrecision(average: Average? = .macro, labels: [Int]? = nil,
                                 threads: Int = coreProcessorCount()) throws -> RankedScores {
        try averaged(average: average, labels: labels, threads: threads, pooled: { cells, sortThreads, buffers, warnings in
            var sink = PrecisionSumSink()
            _ = walk(labels: cells, into: &sink, threads: sortThreads, buffers: buffers)
            if sink.tp > 0 { return max(0, sink.precisionSum.value / sink.tp) }
            return curve(labels: cells).averagePrecision(warnings: &warnings)
        }) { curve, warnings in
            curve.averagePrecision(warnings: &warnings)
        }
    }

    /// scikit-learn's `_average_binary_score` over this store's labels.
    /// - Parameters:
    ///   - pooled: the metric of the cells of some labels pooled into one binary problem,
    ///     sorted on the given number of threads, with the calling thread's sort buffers.
    ///   - metric: the metric of one row's curve (`.samples`).
    func averaged(average: Average?, labels: [Int]?, threads: Int,
                  pooled: ([Int], Int, RankBuffers?, inout [MetricWarning]) -> Double,
                  _ metric: (ThresholdCurve, inout [MetricWarning]) -> Double) throws -> RankedScores {
        guard rowCount > 0 else {
            throw TallyError.invalidValue("Expected at least one row of scores, but got none")
        }
        let selected = try checkedLabels(labels)
        if average == .micro {
            guard selected.count * rowCount < Int(UInt32.max) else {
                throw TallyError.invalidValue("Expected fewer than 2^32 cells for average='micro', but got \(selected.count * rowCount)")
            }
            var warnings: [MetricWarning] = []
            let value = pooled(selected, threads, nil, &warnings)
            return RankedScores(values: [value], undefined: value.isNaN ? [0] : [], warnings: warnings)
        }
        if average == .samples {
            guard selected == Array(0..<labelCount) else {
                throw TallyError.invalidValue("Expected `labels` to be all labels in order with average='samples', but got a subset")
            }
            var values = [Double](repeating: 0, count: rowCount)
            var warnings: [MetricWarning] = []
            var scratch: [(key: UInt64, truth: Bool)] = []
            for r in 0..<rowCount {
                // A row with no known label (element weights) is skipped: weight 0, no warning.
                if isElementWeighted && weights[r] == 0 { continue }
                values[r] = metric(rowCurve(r, scratch: &scratch), &warnings)
            }
            let undefined = values.indices.filter { values[$0].isNaN }
            // Rows of weight 0 count as 0, so their nan does not spread.
            let value = averageScores(values, weights: isWeighted ? weights : nil, nan: .zeroWeightIsZero)
            return RankedScores(values: [value], undefined: undefined, warnings: warnings)
        }
        // .weighted: by each label's positive weight. scikit-learn returns 0 before
        // scoring anything (so without warnings) when no label has any.
        var support: [Double] = []
        if average == .weighted {
            let w = rowWeights
            support = selected.map { j -> Double in
                var s = 0.0
                for r in 0..<rowCount where truthBit(j, r) { s += isElementWeighted ? cellWeights[j][r] : w[r] }
                return s
            }
            if binaryScoreWeightsVanish(support) { return RankedScores(values: [0], undefined: [], warnings: []) }
        }
        // One curve per label, sorted in parallel; warnings kept in label order.
        var perLabel = [Double](repeating: 0, count: selected.count)
        var perLabelWarnings = [[MetricWarning]](repeating: [], count: selected.count)
        perLabel.withUnsafeMutableBufferPointer { values in
            perLabelWarnings.withUnsafeMutableBufferPointer { found in
                let (v, f) = (values, found)
                // Each thread takes the next label when done, with its own sort buffers.
                let t = min(max(threads, 1), selected.count)
                let buffers = (0..<t).map { _ in RankBuffers() }
                forEachTaken(selected.count, threads: t) { thread, i in
                    v[i] = pooled([selected[i]], 1, buffers[thread], &f[i])
                }
            }
        }
        let warnings = perLabelWarnings.flatMap { $0 }
        let undefined = perLabel.indices.filter { perLabel[$0].isNaN }
        guard let average else { return RankedScores(values: perLabel, undefined: undefined, warnings: warnings) }
        // Labels of weight 0 count as 0, so their nan does not spread.
        let value = averageScores(perLabel, weights: average == .weighted ? support : nil, nan: .zeroWeightIsZero)
        return RankedScores(values: [value], undefined: undefined, warnings: warnings)
    }

    func checkedLabels(_ labels: [Int]?) throws -> [Int] {
        try selectLabels(labels, labelCount: labelCount)
    }
}

// MARK: Keys and checks

/// A float32 score as an unsigned key with the same order (−0 and +0 equal).
@inline(__always) func orderKey32(_ f: Float) -> UInt32 {
    let bits = (f == 0 ? Float(0) : f).bitPattern
    return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
}
@inline(__always) func scoreFromKey32(_ k: UInt32) -> Float {
    Float(bitPattern: k & 0x8000_0000 != 0 ? k & 0x7FFF_FFFF : ~k)
}
@inline(__always) func orderKey64(_ d: Double) -> UInt64 {
    let bits = (d == 0 ? 0.0 : d).bitPattern
    return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
}
@inline(__always) func scoreFromKey64(_ k: UInt64) -> Double {
    Double(bitPattern: k & (1 << 63) != 0 ? k & ~(1 << 63) : ~k)
}

@inline(__always) func narrowKey(_ m: MatrixView, row: Int, column: Int) -> UInt32 {
    let i = row &* m.columns &+ column
    if m.elementType == .float32 { return orderKey32(m.base!.assumingMemoryBound(to: Float.self)[i]) }
    return orderKey32(Float(m.base!.assumingMemoryBound(to: Double.self)[i]))
}
@inline(__always) func wideKey(_ m: MatrixView, row: Int, column: Int) -> UInt64 {
    let i = row &* m.columns &+ column
    if m.elementType == .float32 { return orderKey64(Double(m.base!.assumingMemoryBound(to: Float.self)[i])) }
    return orderKey64(m.base!.assumingMemoryBound(to: Double.self)[i])
}

/// Whether every float64 value survives a round trip through float32.
func fitsFloat32(_ m: MatrixView) -> Bool {
    guard m.count > 0 else { return true }
    let p = m.base!.assumingMemoryBound(to: Double.self)
    var exact = true
    for i in 0..<m.count { exact = exact && Double(Float(p[i])) == p[i] }
    return exact
}

/// A checked 0/1 truth matrix as bytes, row-major; throws naming the first bad cell.
func decodeTruth(_ truth: MatrixView) throws -> [UInt8] {
    let (rows, n) = (truth.rows, truth.columns)
    var decoded = [UInt8](repeating: 0, count: rows * n)
    let bad = decoded.withUnsafeMutableBufferPointer { d in
        var bad: UInt64 = 0
        for r in 0..<rows { bad |= decodeBinary(truth, row: r, into: d.baseAddress! + r * n) }
        return bad
    }
    if bad != 0 {
        if let (r, c, v) = firstNonBinaryCell(truth) {
            throw TallyError.invalidValue("Expected `y_true` to hold only 0 and 1, but got \(v) at row \(r), column \(c)")
        }
        throw TallyError.invalidValue("Expected `y_true` to hold only 0 and 1")
    }
    return decoded
}

func checkScoreShapes(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>?,
                      labelCount: Int) throws {
    guard truth.columns == labelCount else {
        throw TallyError.invalidValue("Expected `y_true` to have \(labelCount) columns, but got \(truth.columns)")
    }
    guard scores.rows == truth.rows, scores.columns == truth.columns else {
        throw TallyError.invalidValue(
            "Expected `y_score` to have shape (\(truth.rows), \(truth.columns)) like `y_true`, but got (\(scores.rows), \(scores.columns))")
    }
    guard scores.elementType.isFloatingPoint else {
        throw TallyError.invalidType("Expected `y_score` to have dtype float32 or float64, but got \(scores.elementType.rawValue)")
    }
    if let w = sampleWeight {
        guard w.count == truth.rows else {
            throw TallyError.invalidValue("Expected `sample_weight` to have \(truth.rows) values (one per row), but got \(w.count)")
        }
        if let i = w.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw TallyError.invalidValue("Expected `sample_weight` to hold finite numbers >= 0, but got \(w[i]) at row \(i)")
        }
    }
}

/// The checks every score batch passes before anything is stored: shapes, dtype,
/// 0/1 truth, finite scores, finite non-negative weights.
func checkScoreBatch(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>?,
                     labelCount: Int) throws {
    try checkScoreShapes(truth: truth, scores: scores, sampleWeight: sampleWeight, labelCount: labelCount)
    try checkFiniteScores(scores)
}

/// Throws naming the first score (row-major) that is nan or infinite.
func checkFiniteScores(_ scores: MatrixView) throws {
    let n = scores.count
    guard n > 0 else { return }
    func firstBad<T: BinaryFloatingPoint>(_: T.Type) -> Int? {
        let p = scores.base!.assumingMemoryBound(to: T.self)
        var ok = true
        for i in 0..<n { ok = ok && p[i].isFinite }
        return ok ? nil : (0..<n).first { !p[$0].isFinite }
    }
    let bad = scores.elementType == .float32 ? firstBad(Float.self) : firstBad(Double.self)
    if let i = bad {
        let v: Double = scores.elementType == .float32 ? Double(scores.base!.assumingMemoryBound(to: Float.self)[i])
                                                       : scores.base!.assumingMemoryBound(to: Double.self)[i]
        throw TallyError.invalidValue("Expected `y_score` to hold finite numbers, but got \(v) at row \(i / scores.columns), column \(i % scores.columns)")
    }
}

/// `a` (holding `countA` bits) followed by `b` (`countB` bits).
func appendBits(_ a: [UInt64], count countA: Int, _ b: [UInt64], count countB: Int) -> [UInt64] {
    var out = Array(a.prefix((countA + 63) / 64))
    out.append(contentsOf: repeatElement(0, count: (countA + countB + 63) / 64 - out.count))
    for i in 0..<countB where b[i >> 6] >> UInt64(i & 63) & 1 == 1 {
        let k = countA + i
        out[k >> 6] |= 1 << UInt64(k & 63)
    }
    return out
}

/// LSD radix sort of `p` (ascending) on the bytes at `shifts`; passes whose byte
/// is the same in every element are skipped.
func radixSort(_ p: UnsafeMutableBufferPointer<UInt64>, shifts: [UInt64]) {
    let n = p.count
    guard n > 1 else { return }
    var scratch = [UInt64](repeating: 0, count: n)
    scratch.withUnsafeMutableBufferPointer { s in
        var source = p.baseAddress!, target = s.baseAddress!
        var counts = [Int](repeating: 0, count: 256)
        counts.withUnsafeMutableBufferPointer { c in
            for shift in shifts {
                for b in 0..<256 { c[b] = 0 }
                for i in 0..<n { c[Int(truncatingIfNeeded: (source[i] >> shift) & 0xFF)] &+= 1 }
                if c.contains(n) { continue }
                var sum = 0
                for b in 0..<256 { let x = c[b]; c[b] = sum; sum &+= x }
                for i in 0..<n {
                    let v = source[i]
                    let b = Int(truncatingIfNeeded: (v >> shift) & 0xFF)
                    target[c[b]] = v
                    c[b] &+= 1
                }
                swap(&source, &target)
            }
        }
        if source != p.baseAddress! { p.baseAddress!.update(from: source, count: n) }
    }
}

/// The first cell of a matrix that is neither 0 nor 1, for the error message.
