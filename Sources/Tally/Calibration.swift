#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How well each label's scores read as probabilities, streamed: per label the
/// exact sums behind the Brier score and the log loss, and per label and
/// equal-width bin of [0, 1] the row count, weight, score sum and positive weight
/// behind the reliability diagram, ECE and MCE. Every sum is an `ExactSum`, so the
/// state merges by addition and the results do not depend on batching.
///
/// The rules are scikit-learn's, label by label (a column `y[:, j]`, `p[:, j]`):
/// - Brier score: `brier_score_loss(y, p)` = ½·mean((y − p)² + ((1 − y) − (1 − p))²).
/// - Log loss: `log_loss(y, p, labels=[0, 1])`: p and 1 − p clipped to
///   [eps, 1 − eps], eps the machine epsilon of the scores' dtype (float32 batches
///   clip and subtract in float32, as numpy does), then −log in float64.
/// - Bins: `calibration_curve(strategy="uniform")`'s: edges `i·(1/n)`, a score on an
///   inner edge belongs to the lower bin (`searchsorted` left).
///
///     var c = try CalibrationSums(labelCount: 2, bins: 10)
///     try c.update(truth: yTrue, scores: yProb)
///     let brier = try c.score(.brier, average: nil)    // one per label
///     let ece = try c.calibrationError(.expected, average: .macro)
public struct CalibrationSums: Equatable, Sendable {
    public let labelCount: Int
    public let bins: Int
    public internal(set) var rowCount: Int64 = 0
    public internal(set) var isWeighted = false
    /// Per label: Σ w·((y − p)² + ((1 − y) − (1 − p))²) and Σ w·(−log of the clipped probability of y).
    var brierSums: [ExactSum]
    var logLossSums: [ExactSum]
    /// Label-major, `bins` per label: rows, Σ w, Σ w·p, Σ w·y.
    var binCounts: [Int64]
    var binWeights: [ExactSum]
    var binScores: [ExactSum]
    var binPositives: [ExactSum]
    /// Over rows, for average="samples": Σ w, Σ w·(row's mean Brier term), Σ w·(row's mean log loss).
    var rowWeight = ExactSum()
    var rowBrier = ExactSum()
    var rowLogLoss = ExactSum()

    /// - Throws: when `labelCount < 1`, `bins` is not in [1, 2^20] or their product exceeds 2^22.
    public init(labelCount: Int, bins: Int = 15) throws {
        guard labelCount >= 1 else { throw TallyError.invalidValue("Expected `n_labels` to be at least 1, but got \(labelCount)") }
        guard bins >= 1, bins <= 1 << 20 else {
            throw TallyError.invalidValue("Expected `n_bins` to be an integer in [1, 1048576], but got \(bins)")
        }
        // The state holds four sums per label and bin: a bound keeps a typo from asking for terabytes.
        guard labelCount <= (1 << 22) / bins else {
            throw TallyError.invalidValue("Expected `n_labels` × `n_bins` to be at most 4194304, but got \(labelCount) × \(bins)")
        }
        (self.labelCount, self.bins) = (labelCount, bins)
        brierSums = Array(repeating: ExactSum(), count: labelCount)
        logLossSums = brierSums
        binCounts = Array(repeating: 0, count: labelCount * bins)
        binWeights = Array(repeating: ExactSum(), count: labelCount * bins)
        binScores = binWeights
        binPositives = binWeights
    }

    public mutating func reset() { self = try! CalibrationSums(labelCount: labelCount, bins: bins) }

    /// The bin edges, as `np.linspace(0, 1, bins + 1)`.
    public var edges: [Double] { uniformEdges(bins) }

    // MARK: Updating

    /// Adds one batch. Validates everything first: a call that throws changes nothing.
    /// - Parameters:
    ///   - truth: (rows × labelCount) 0/1 labels.
    ///   - scores: (rows × labelCount) float32 or float64 probabilities in [0, 1].
    ///   - sampleWeight: one finite weight ≥ 0 per row, or nil.
    public mutating func update(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>? = nil) throws {
        try checkProbabilityBatch(truth: truth, scores: scores, sampleWeight: sampleWeight, labelCount: labelCount)
        let rows = truth.rows
        guard rows > 0 else { return }
        let decoded = try decodeTruth(truth)
        let total = try rowsAfter(rows, heaviest: sampleWeight?.max())
        let n = labelCount
        accumulate(rows: rows, isFloat32: scores.elementType == .float32, weighting: sampleWeight == nil ? .unit : .rows) {
            r0, count, values, bits, cellWeights, rowWeights in
            readDoubles(scores, fromRow: r0, rows: count, into: &values)
            for i in 0..<(count * n) { bits[i] = decoded[r0 &* n &+ i] }
            if let w = sampleWeight {
                for r in 0..<count {
                    rowWeights[r] = w[r0 &+ r]
                    for j in 0..<n { cellWeights[r &* n &+ j] = w[r0 &+ r] }
                }
            }
        }
        if sampleWeight != nil { isWeighted = true }
        rowCount = total
    }

    /// Adds one batch with a weight per (row, label), as `ScoreStore`'s element weights:
    /// an entry of weight 0 is unknown (a missing label) and is neither read nor
    /// counted; label j is scored on the rows where `W[:, j] != 0`, weighted by
    /// `W[:, j]`; average="samples" takes each row's mean over its known labels,
    /// weighted by the common value of its nonzero weights, and skips a row with none.
    /// - Parameters:
    ///   - elementWeights: float64 (rows × labelCount), finite and ≥ 0.
    public mutating func update(truth: MatrixView, scores: MatrixView, elementWeights: MatrixView) throws {
        let batch = try ElementWeightedBatch(truth: truth, scores: scores, elementWeights: elementWeights,
                                             labelCount: labelCount)
        let n = labelCount
        for i in 0..<batch.scores.count where batch.weights[i] != 0 {
            let p = batch.scores[i]
            guard p >= 0 && p <= 1 else {
                throw TallyError.invalidValue("Expected `y_prob` to hold probabilities in [0, 1] where `sample_weight` is not 0, but got \(p) at row \(i / n), column \(i % n)")
            }
        }
        guard batch.rows > 0 else { return }
        let total = try rowsAfter(batch.rows, heaviest: batch.weights.max())
        accumulate(rows: batch.rows, isFloat32: scores.elementType == .float32, weighting: .cells) {
            r0, count, values, bits, cellWeights, rowWeights in
            let (lo, hi) = (r0 &* n, (r0 &+ count) &* n)
            for i in lo..<hi {
                values[i &- lo] = batch.scores[i]
                bits[i &- lo] = batch.truth[i] != 0 ? 1 : 0
                cellWeights[i &- lo] = batch.weights[i]
            }
            for r in 0..<count { rowWeights[r] = batch.rowWeights[r0 &+ r] }
        }
        isWeighted = true
        rowCount = total
    }

    /// The row count after adding `rows` rows whose heaviest weight is `heaviest`, or an
    /// error. Each term is at most 2 (Brier) or 37 (log loss) times its weight: a bound on
    /// every sum after the batch, so that none can leave the finite doubles.
    private func rowsAfter(_ rows: Int, heaviest: Double?) throws -> Int64 {
        let (total, overflow) = rowCount.addingReportingOverflow(Int64(rows))
        guard !overflow else { throw TallyError.overflow("Adding \(rows) rows would overflow the Int64 row count") }
        if let heaviest, heaviest * 64 * Double(total) > Double.greatestFiniteMagnitude {
            throw TallyError.invalidValue("Expected `sample_weight` small enough for finite calibration sums (at most \(Double.greatestFiniteMagnitude / 64 / Double(total)) here), but got \(heaviest)")
        }
        return total
    }

    /// How a batch weighs its cells: all 1 (the bins count integers, added once per batch),
    /// one weight per row, or one per cell with 0 marking an unknown entry.
    private enum Weighting { case unit, rows, cells }

    /// The one accumulation loop of every update, over blocks of rows whose scores (as
    /// float64) stay in cache. `fill(r0, count, values, bits, cellWeights, rowWeights)`
    /// writes the block's scores, 0/1 truth and (unless `.unit`) weights, row-major;
    /// every input is valid by then, so the loop adds straight into the state.
    private mutating func accumulate(
        rows: Int, isFloat32: Bool, weighting: Weighting,
        fill: (Int, Int, inout [Double], UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Double>,
               UnsafeMutablePointer<Double>) -> Void
    ) {
        let (n, bins) = (labelCount, self.bins)
        let innerEdges = Array(uniformEdges(bins).dropFirst().dropLast())
        let weighted = weighting != .unit, masked = weighting == .cells
        // Every term is ≥ 0 and almost all lie on the fixed-point grid (FixedSumScratch).
        let brierScratch = FixedSumScratch(slots: n), logScratch = FixedSumScratch(slots: n)
        let scoreScratch = FixedSumScratch(slots: n * bins)
        let weightScratch = weighted ? FixedSumScratch(slots: n * bins) : nil
        let positiveScratch = weighted ? FixedSumScratch(slots: n * bins) : nil
        let rowScratch = FixedSumScratch(slots: 3)
        var rowSums = [rowWeight, rowBrier, rowLogLoss]
        var binRows = [Int64](repeating: 0, count: n * bins), binPositiveRows = binRows
        let block = max(1, 4096 / n)
        var values = [Double](repeating: 0, count: block * n)
        let bits = UnsafeMutablePointer<UInt8>.allocate(capacity: block * n)
        let cellWeights = UnsafeMutablePointer<Double>.allocate(capacity: block * n)
        let rowWeights = UnsafeMutablePointer<Double>.allocate(capacity: block)
        defer { bits.deallocate(); cellWeights.deallocate(); rowWeights.deallocate() }
        innerEdges.withUnsafeBufferPointer { edges in
            for r0 in stride(from: 0, to: rows, by: block) {
                let count = min(block, rows - r0)
                fill(r0, count, &values, bits, cellWeights, rowWeights)
                for r in 0..<count {
                    var rowBrierSum = 0.0, rowLogSum = 0.0, known = 0
                    for j in 0..<n {
                        let c = r &* n &+ j
                        let w = weighted ? cellWeights[c] : 1
                        if masked && w == 0 { continue }
                        known &+= 1
                        let p = values[c], positive = bits[c] != 0
                        // scikit-learn's two-column Brier terms, in float64 for both dtypes.
                        let a = (positive ? 1 : 0) - p, b = (positive ? 0 : 1) - (1 - p)
                        let brier = a * a + b * b
                        let loss = -log(clippedProbability(p, of: positive, float32: isFloat32))
                        rowBrierSum += brier
                        rowLogSum += loss
                        let k = j &* bins &+ uniformBin(p, bins: bins, innerEdges: edges)
                        brierScratch.add(j, w * brier, spill: &brierSums)
                        logScratch.add(j, w * loss, spill: &logLossSums)
                        scoreScratch.add(k, w * p, spill: &binScores)
                        binRows[k] &+= 1
                        if positive { binPositiveRows[k] &+= 1 }
                        if let weightScratch, let positiveScratch {
                            weightScratch.add(k, w, spill: &binWeights)
                            if positive { positiveScratch.add(k, w, spill: &binPositives) }
                        }
                    }
                    // The row's means over its (known) labels (average="samples"), the same
                    // bits in any batching; a row with no known label is skipped.
                    guard known > 0 else { continue }
                    let w = weighted ? rowWeights[r] : 1
                    rowScratch.add(0, w, spill: &rowSums)
                    rowScratch.add(1, w * (rowBrierSum / Double(known)), spill: &rowSums)
                    rowScratch.add(2, w * (rowLogSum / Double(known)), spill: &rowSums)
                }
            }
        }
        brierScratch.flush(into: &brierSums)
        logScratch.flush(into: &logLossSums)
        // A bin's scratch holds something only if a cell landed in it: with many bins, the
        // flush reads only those (binRows counts every cell added).
        let landed: (Int) -> Bool = { binRows[$0] > 0 }
        scoreScratch.flush(into: &binScores, touched: landed)
        rowScratch.flush(into: &rowSums)
        (rowWeight, rowBrier, rowLogLoss) = (rowSums[0], rowSums[1], rowSums[2])
        if let weightScratch, let positiveScratch {
            weightScratch.flush(into: &binWeights, touched: landed)
            positiveScratch.flush(into: &binPositives, touched: landed)
        } else {
            // Unit weights: the bins' integer counts, added once per batch.
            for k in 0..<(n * bins) where binRows[k] > 0 {
                binWeights[k].add(Double(binRows[k]))
                if binPositiveRows[k] > 0 { binPositives[k].add(Double(binPositiveRows[k])) }
            }
        }
        for k in 0..<(n * bins) { binCounts[k] &+= binRows[k] }
    }

    /// Adds another state with the same labels and bins.
    public mutating func merge(_ other: CalibrationSums) throws {
        guard other.labelCount == labelCount, other.bins == bins else {
            throw TallyError.invalidValue("Expected calibration sums with \(labelCount) labels and \(bins) bins to merge, but got \(other.labelCount) labels and \(other.bins) bins")
        }
        let (rows, overflow) = rowCount.addingReportingOverflow(other.rowCount)
        guard !overflow else { throw TallyError.overflow("Merging would overflow the Int64 row count") }
        var merged = self
        merged.add(other)
        guard merged.allSums.allSatisfy({ $0.value.isFinite }) else {
            throw TallyError.overflow("Merging would make a calibration sum leave the finite doubles")
        }
        self = merged
        rowCount = rows
        isWeighted = isWeighted || other.isWeighted
    }

    mutating func add(_ other: CalibrationSums) {
        for j in 0..<labelCount {
            brierSums[j].add(other.brierSums[j]); logLossSums[j].add(other.logLossSums[j])
        }
        for k in binCounts.indices {
            binCounts[k] &+= other.binCounts[k]
            binWeights[k].add(other.binWeights[k]); binScores[k].add(other.binScores[k])
            binPositives[k].add(other.binPositives[k])
        }
        rowWeight.add(other.rowWeight); rowBrier.add(other.rowBrier); rowLogLoss.add(other.rowLogLoss)
    }
}

/// The probability the scores give the truth, clipped as scikit-learn's `log_loss`:
/// to [eps, 1 − eps] with eps the dtype's machine epsilon; 1 − p in the dtype.
@inline(__always) func clippedProbability(_ p: Double, of positive: Bool, float32: Bool) -> Double {
    if float32 {
        let q = positive ? Float(p) : 1 - Float(p)
        return Double(min(max(q, Float.ulpOfOne), 1 - Float.ulpOfOne))
    }
    let q = positive ? p : 1 - p
    return min(max(q, Double.ulpOfOne), 1 - Double.ulpOfOne)
}

/// `np.linspace(0, 1, bins + 1)`: `i * (1 / bins)`, the last edge exactly 1.
func uniformEdges(_ bins: Int) -> [Double] {
    let step = 1 / Double(bins)
    return (0...bins).map { $0 == bins ? 1 : Double($0) * step }
}

/// `np.searchsorted(inner_edges, p)` (side left): the number of inner edges below p.
@inline(__always) func uniformBin(_ p: Double, bins: Int, innerEdges: UnsafeBufferPointer<Double>) -> Int {
    // A guess from p·bins, then corrected against the edges themselves.
    var b = min(max(Int(p * Double(bins)), 0), bins - 1)
    while b > 0 && innerEdges[b - 1] >= p { b -= 1 }
    while b < bins - 1 && innerEdges[b] < p { b += 1 }
    return b
}

/// A batch of probabilities: the score checks, and every score in [0, 1].
func checkProbabilityBatch(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>?,
                           labelCount: Int) throws {
    try checkScoreBatch(truth: truth, scores: scores, sampleWeight: sampleWeight, labelCount: labelCount)
    guard scores.count > 0, let base = scores.base else { return }
    func firstOutside<T: BinaryFloatingPoint>(_: T.Type) -> Int? {
        let p = base.assumingMemoryBound(to: T.self)
        var inside = true
        for i in 0..<scores.count { inside = inside && p[i] >= 0 && p[i] <= 1 }
        return inside ? nil : (0..<scores.count).first { !(p[$0] >= 0 && p[$0] <= 1) }
    }
    let isFloat32 = scores.elementType == .float32
    if let i = isFloat32 ? firstOutside(Float.self) : firstOutside(Double.self) {
        let v = isFloat32 ? Double(base.assumingMemoryBound(to: Float.self)[i]) : base.assumingMemoryBound(to: Double.self)[i]
        throw TallyError.invalidValue("Expected `y_prob` to hold probabilities in [0, 1], but got \(v) at row \(i / scores.columns), column \(i % scores.columns)")
    }
}
