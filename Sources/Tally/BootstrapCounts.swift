/// Poisson bootstrap replicates of the confusion counts, kept beside them.
///
/// Replicate b weighs row r by an independent Poisson(1) count `w(seed, id(r), b)`
/// (`PoissonDraws`) times the row's sample weight, and keeps the weighted counts
/// `ConfusionCounts` keeps — per label tp, predicted and actual, the total weight,
/// and the weight of each distinct row (tp, fp, fn) triple — so any counting
/// metric and any average can be scored on every replicate at the end. The state
/// merges by addition, like the counts.
///
/// Row ids: by default a row's id is its position in this accumulator's stream
/// (0, 1, 2, … over every batch), so one stream gives the same replicates however
/// it is batched. Accumulators that see different rows and are merged later
/// (shards, processes) must give their rows distinct ids — their global row
/// numbers, or the data set's own indices — via `rowIDs:`; merged they then
/// equal one accumulator over all rows with those ids.
///
/// Memory: 8 · replicates · (3 · labels + 1 + distinct row triples) bytes,
/// independent of the number of rows.
public struct BootstrapCounts: Sendable {
    public let labelCount: Int
    /// Number of replicates (B).
    public let replicates: Int
    public let thresholds: [Double]
    let draws: PoissonDraws
    public var seed: UInt64 { draws.seed }
    /// Rows seen (the next default row id).
    public internal(set) var rowCount: Int64 = 0
    /// Per label and slot (0 tp, 1 predicted, 2 actual), the replicates' sums:
    /// `counts[(3 · label + slot) · replicates + b]`.
    var counts: [Double]
    /// Per replicate, the sum of its row weights.
    var totals: [Double]
    /// The distinct row triples in order of first appearance, where each sits,
    /// and per triple the replicates' weights: `rowWeights[index · replicates + b]`.
    var rowKeys: [RowKey] = []
    var rowIndex: [Int: Int] = [:]
    var rowWeights: [Double] = []
    /// Once a 2-D (element) weight was seen: per label, the replicates' label totals
    /// `labelWeightSums[label · replicates + b]` (as `ConfusionCounts.labelWeightSums`); else empty.
    var labelWeightSums: [Double] = []
    /// Whether a row had a masked label next to an unmasked one (as the counts' flag).
    public internal(set) var hasPartlyMaskedRows = false

    /// Whether a 2-D (element-wise) weight has been seen.
    public var isElementWeighted: Bool { !labelWeightSums.isEmpty }

    /// The number of replicates `Tally(…, bootstrap=True)` keeps: percentiles at
    /// 95% move by about ±0.01 standard errors between seeds with 200.
    public static let defaultReplicates = 200

    /// Empty replicates.
    /// - Parameters:
    ///   - labelCount: the number of labels, at least 1.
    ///   - replicates: B, at least 1.
    ///   - seed: the seed of the Poisson draws.
    ///   - threshold: as the counts' (`score >= threshold` is positive).
    public init(labelCount: Int, replicates: Int = BootstrapCounts.defaultReplicates, seed: UInt64 = 0,
                threshold: Threshold = .scalar(0.5)) throws {
        // The counts' own checks of the label count and thresholds.
        let shape = try ConfusionCounts(labelCount: labelCount, threshold: threshold)
        guard replicates >= 1, replicates <= 1_000_000 else {
            throw TallyError.invalidValue("Expected `bootstrap` to be between 1 and 1000000 replicates, but got \(replicates)")
        }
        self.labelCount = labelCount
        self.replicates = replicates
        self.thresholds = shape.thresholds
        self.draws = PoissonDraws(seed: seed)
        counts = [Double](repeating: 0, count: 3 * labelCount * replicates)
        totals = [Double](repeating: 0, count: replicates)
    }

    /// Bytes held by the replicate sums.
    public var memoryBytes: Int {
        8 * (counts.count + totals.count + rowWeights.count + rowKeys.count + labelWeightSums.count)
    }

    /// Forgets every row; keeps labels, thresholds, replicates and seed.
    public mutating func reset() {
        self = try! BootstrapCounts(labelCount: labelCount, replicates: replicates, seed: seed,
                                    threshold: .perLabel(thresholds))
    }

    /// The column of replicate weights of a row triple, added when new.
    mutating func rowSlot(_ key: RowKey) -> Int {
        if let i = rowIndex[key.packed] { return i }
        let i = rowKeys.count
        rowKeys.append(key)
        rowIndex[key.packed] = i
        rowWeights.append(contentsOf: repeatElement(0, count: replicates))
        return i
    }

    // MARK: Updating

    /// Adds one batch to every replicate.
    ///
    /// Decodes and checks the whole batch first (with the counts' checks and
    /// messages): a call that throws changes nothing.
    /// - Parameters:
    ///   - truth: (rows × labelCount) 0/1 labels.
    ///   - prediction: scores or 0/1 predictions of the same shape.
    ///   - sampleWeight: one finite weight per row, or nil.
    ///   - rowIDs: one id per row, or nil for `rowCount`, `rowCount + 1`, ….
    ///   - kind: how to read `prediction`.
    /// - Complexity: O(rows × replicates × (1 + the row's positive and predicted labels)).
    public mutating func update(truth: MatrixView, prediction: MatrixView, sampleWeight: UnsafeBufferPointer<Double>? = nil,
                                rowIDs: [UInt64]? = nil, kind: PredictionKind = .scores) throws {
        var shape = try ConfusionCounts(labelCount: labelCount, threshold: .perLabel(thresholds))
        shape.rowCount = rowCount
        try shape.checkShapes(truth: truth, prediction: prediction, sampleWeight: sampleWeight)
        let rows = truth.rows, n = labelCount, B = replicates
        if let rowIDs, rowIDs.count != rows {
            throw TallyError.invalidValue("Expected `row_ids` to have \(rows) values (one per row), but got \(rowIDs.count)")
        }
        guard rows > 0 else { return }
        // Decode every row to 0/1 bytes first.
        let scores = kind == .scores && prediction.elementType.isFloatingPoint
        var t = [UInt8](repeating: 0, count: rows * n), p = [UInt8](repeating: 0, count: rows * n)
        var bad: UInt64 = 0, sawNaN = false
        let float32Thresholds = thresholds.map(float32Threshold)
        t.withUnsafeMutableBufferPointer { tb in
            p.withUnsafeMutableBufferPointer { pb in
                thresholds.withUnsafeBufferPointer { th in
                    float32Thresholds.withUnsafeBufferPointer { f32 in
                        for r in 0..<rows {
                            bad |= decodeBinary(truth, row: r, into: tb.baseAddress! + r * n)
                            if scores {
                                sawNaN = decodeScores(prediction, row: r, thresholds: th, float32Thresholds: f32.baseAddress!,
                                                      into: pb.baseAddress! + r * n) || sawNaN
                            } else {
                                bad |= decodeBinary(prediction, row: r, into: pb.baseAddress! + r * n)
                            }
                        }
                    }
                }
            }
        }
        if bad != 0 || sawNaN {
            try shape.describeBadValues(truth: truth, prediction: prediction, kind: kind)
            throw TallyError.invalidValue("Expected 0/1 labels and numeric scores, but the batch has other values")
        }
        // Commit: nothing below throws.
        // The row triples' slots first (this may grow the triple table), then one
        // pass that draws each row's weights once and adds them everywhere.
        var slots = [Int](repeating: 0, count: rows)
        for r in 0..<rows {
            var rowTP = 0, rowPredicted = 0, rowActual = 0
            for j in 0..<n {
                let a = Int(t[r &* n &+ j]), b = Int(p[r &* n &+ j])
                rowTP &+= a & b; rowPredicted &+= b; rowActual &+= a
            }
            // As the counts file a row of weight 0: no true, no predicted labels.
            let key = sampleWeight?[r] == 0 ? RowKey(tp: 0, fp: 0, fn: 0)
                                            : RowKey(tp: rowTP, fp: rowPredicted - rowTP, fn: rowActual - rowTP)
            slots[r] = rowSlot(key)
        }
        var w = [Double](repeating: 0, count: B)
        w.withUnsafeMutableBufferPointer { wb in
        t.withUnsafeBufferPointer { tb in
        p.withUnsafeBufferPointer { pb in
        totals.withUnsafeMutableBufferPointer { tot in
        rowWeights.withUnsafeMutableBufferPointer { rw in
        labelWeightSums.withUnsafeMutableBufferPointer { lwb in
        counts.withUnsafeMutableBufferPointer { c in
            let weights = wb.baseAddress!, base = c.baseAddress!
            for r in 0..<rows {
                let id = rowIDs?[r] ?? UInt64(rowCount) &+ UInt64(r)
                draws.weights(row: id, into: weights, count: B)
                if let sampleWeight, sampleWeight[r] != 1 {
                    let s = sampleWeight[r]
                    for b in 0..<B { weights[b] *= s }
                }
                add(weights, to: tot.baseAddress!, B)
                add(weights, to: rw.baseAddress! + slots[r] &* B, B)
                // Earlier 2-D weights: a 1-D row gives every label its whole weight.
                // (An empty array's buffer may still have an address: test the count.)
                if lwb.count > 0 {
                    for j in 0..<n { add(weights, to: lwb.baseAddress! + j &* B, B) }
                }
                let tr = tb.baseAddress! + r &* n, pr = pb.baseAddress! + r &* n
                for j in 0..<n where tr[j] | pr[j] != 0 {
                    let a = tr[j], b = pr[j]
                    if a & b != 0 { add(weights, to: base + (3 &* j) &* B, B) }
                    if b != 0 { add(weights, to: base + (3 &* j &+ 1) &* B, B) }
                    if a != 0 { add(weights, to: base + (3 &* j &+ 2) &* B, B) }
                }
            }
        }
        }
        }
        }
        }
        }
        }
        rowCount += Int64(rows)
    }

    /// Adds recorded arrays (`np.save` output) with optional per-row weights.
    public mutating func update(truth: NPYArray, prediction: NPYArray, sampleWeight: [Double]? = nil,
                                rowIDs: [UInt64]? = nil, kind: PredictionKind = .scores) throws {
        try truth.withMatrixView { t in
            try prediction.withMatrixView { p in
                try sampleWeight.withOptionalBuffer {
                    try update(truth: t, prediction: p, sampleWeight: $0, rowIDs: rowIDs, kind: kind)
                }
            }
        }
    }

    // MARK: Merging

    /// Adds `other`'s replicates: same labels, thresholds, replicates and seed.
    public mutating func merge(_ other: BootstrapCounts) throws {
        guard other.labelCount == labelCount, other.thresholds == thresholds else {
            throw TallyError.invalidValue("Expected bootstrap replicates with \(labelCount) labels and the same thresholds to merge, but got \(other.labelCount) labels")
        }
        guard other.replicates == replicates, other.seed == seed else {
            throw TallyError.invalidValue("Expected bootstrap replicates with bootstrap=\(replicates) and seed=\(seed) to merge, but got bootstrap=\(other.replicates) and seed=\(other.seed)")
        }
        let B = replicates
        counts.withUnsafeMutableBufferPointer { c in
            other.counts.withUnsafeBufferPointer { add($0.baseAddress!, to: c.baseAddress!, c.count) }
        }
        totals.withUnsafeMutableBufferPointer { c in
            other.totals.withUnsafeBufferPointer { add($0.baseAddress!, to: c.baseAddress!, B) }
        }
        if isElementWeighted || other.isElementWeighted {
            // A side without 2-D weights gave every label its replicate total.
            let (mine, theirs) = (labelTotals(), other.labelTotals())
            labelWeightSums = zip(mine, theirs).map { $0 + $1 }
        }
        hasPartlyMaskedRows = hasPartlyMaskedRows || other.hasPartlyMaskedRows
        for (i, key) in other.rowKeys.enumerated() {
            let slot = rowSlot(key)
            rowWeights.withUnsafeMutableBufferPointer { rw in
                other.rowWeights.withUnsafeBufferPointer { add($0.baseAddress! + i * B, to: rw.baseAddress! + slot * B, B) }
            }
        }
        rowCount += other.rowCount
    }

    /// Per label and replicate, the label's total weight (`labelWeightSums` layout).
    func labelTotals() -> [Double] {
        isElementWeighted ? labelWeightSums : Array((0..<labelCount).map { _ in totals }.joined())
    }

    /// The row triples in increasing key order with their replicate weights (a
    /// fixed order, so that merged and unmerged states compare and serialize alike).
    var sortedRows: [(key: RowKey, weights: ArraySlice<Double>)] {
        rowKeys.indices.sorted { rowKeys[$0].packed < rowKeys[$1].packed }.map { i in
            (rowKeys[i], rowWeights[(i * replicates)..<((i + 1) * replicates)])
        }
    }
}

extension BootstrapCounts: Equatable {
    public static func == (a: BootstrapCounts, b: BootstrapCounts) -> Bool {
        guard a.labelCount == b.labelCount, a.replicates == b.replicates, a.seed == b.seed,
              a.thresholds == b.thresholds, a.rowCount == b.rowCount, a.counts == b.counts, a.totals == b.totals,
              a.labelWeightSums == b.labelWeightSums, a.hasPartlyMaskedRows == b.hasPartlyMaskedRows else {
            return false
        }
        return a.sortedRows.elementsEqual(b.sortedRows) { $0.key == $1.key && $0.weights.elementsEqual($1.weights) }
    }
}

/// target[0..<count] += source[0..<count].
@inline(__always) func add(_ source: UnsafePointer<Double>, to target: UnsafeMutablePointer<Double>, _ count: Int) {
    for i in 0..<count { target[i] += source[i] }
}

@inline(__always) func add(_ source: UnsafeMutablePointer<Double>, to target: UnsafeMutablePointer<Double>, _ count: Int) {
    add(UnsafePointer(source), to: target, count)
}
