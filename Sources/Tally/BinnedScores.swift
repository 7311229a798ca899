/// ROC AUC and average precision in fixed memory: per label, a histogram of
/// positive and negative weight over `bins` equal-width score bins on
/// [low, high] (scores outside go to the end bins). Merging adds histograms.
///
/// Every score in one bin is treated as tied, so the result is the exact
/// scikit-learn value on the binned scores, and the distance to the exact value
/// on the raw scores is bounded: each result comes with `lower` and `upper`
/// between which the exact value is guaranteed to lie.
/// - ROC AUC: only (positive, negative) pairs sharing a bin can be misordered;
///   each counts ½ here and 0 or 1 exactly, so |error| ≤ ½ Σ_b P_b N_b / (P N).
/// - Average precision: a positive in bin b has, exactly, precision between
///   (A_b + 1) / (C_b + P_b + N_b) (A_b + 0 when weighted) and (A_b + P_b) / (C_b + P_b),
///   where A_b, C_b are the positive and total weight in higher bins.
public struct BinnedScores: Equatable, Sendable {
    public let labelCount: Int
    public let bins: Int
    public let low: Double
    public let high: Double
    public internal(set) var rowCount: Int64 = 0
    public internal(set) var isWeighted = false
    /// Label-major, `bins` per label: weight and count of positives and negatives.
    var positiveWeight: [Double]
    var negativeWeight: [Double]
    var positiveCount: [Int64]
    var negativeCount: [Int64]

    public init(labelCount: Int, bins: Int, low: Double = 0, high: Double = 1) throws {
        guard labelCount >= 1 else { throw TallyError.invalidValue("Expected `n_labels` to be at least 1, but got \(labelCount)") }
        guard bins >= 1, bins <= 1 << 24 else { throw TallyError.invalidValue("Expected `bins` in [1, 16777216], but got \(bins)") }
        guard low.isFinite, high.isFinite, low < high else {
            throw TallyError.invalidValue("Expected a finite score range with low < high, but got [\(low), \(high)]")
        }
        (self.labelCount, self.bins, self.low, self.high) = (labelCount, bins, low, high)
        positiveWeight = Array(repeating: 0, count: labelCount * bins)
        negativeWeight = positiveWeight
        positiveCount = Array(repeating: 0, count: labelCount * bins)
        negativeCount = positiveCount
    }

    public mutating func reset() { self = try! BinnedScores(labelCount: labelCount, bins: bins, low: low, high: high) }

    @inline(__always) func bin(_ s: Double) -> Int {
        let x = (s - low) / (high - low) * Double(bins)
        if !(x > 0) { return 0 }
        return x >= Double(bins) ? bins - 1 : Int(x)
    }

    /// Adds one batch (same checks as `ScoreStore.update`); a call that throws changes nothing.
    public mutating func update(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>? = nil) throws {
        try checkScoreBatch(truth: truth, scores: scores, sampleWeight: sampleWeight, labelCount: labelCount)
        let (rows, n) = (truth.rows, labelCount)
        guard rows > 0 else { return }
        let decoded = try decodeTruth(truth)
        let (total, overflow) = rowCount.addingReportingOverflow(Int64(rows))
        guard !overflow else { throw TallyError.overflow("Adding \(rows) rows would overflow the Int64 row count") }
        let values = readDoubles(scores)
        for r in 0..<rows {
            let w = sampleWeight?[r] ?? 1
            for j in 0..<n {
                let i = j &* bins &+ bin(values[r &* n &+ j])
                if decoded[r &* n &+ j] != 0 { positiveWeight[i] += w; positiveCount[i] &+= 1 }
                else { negativeWeight[i] += w; negativeCount[i] &+= 1 }
            }
        }
        if sampleWeight != nil { isWeighted = true }
        rowCount = total
    }

    public mutating func merge(_ other: BinnedScores) throws {
        guard other.labelCount == labelCount, other.bins == bins, other.low == low, other.high == high else {
            throw TallyError.invalidValue("Expected a binned histogram with \(labelCount) labels, \(bins) bins on [\(low), \(high)] to merge, but got \(other.labelCount) labels, \(other.bins) bins on [\(other.low), \(other.high)]")
        }
        let (rows, overflow) = rowCount.addingReportingOverflow(other.rowCount)
        guard !overflow else { throw TallyError.overflow("Merging would overflow the Int64 row count") }
        for i in positiveWeight.indices {
            positiveWeight[i] += other.positiveWeight[i]; negativeWeight[i] += other.negativeWeight[i]
            positiveCount[i] &+= other.positiveCount[i]; negativeCount[i] &+= other.negativeCount[i]
        }
        rowCount = rows
        isWeighted = isWeighted || other.isWeighted
    }

    /// A value (per label or averaged) with the interval that holds the exact one.
    public struct Result: Equatable, Sendable {
        public var values: [Double]
        public var lower: [Double]
        public var upper: [Double]
        public var undefined: [Int]
        public var warnings: [MetricWarning]
    }

    /// The pooled histogram of `labels` (one label, or all for micro).
    func histogram(_ labels: [Int]) -> (pw: [Double], nw: [Double], pc: [Int64], nc: [Int64]) {
        var pw = [Double](repeating: 0, count: bins), nw = pw
        var pc = [Int64](repeating: 0, count: bins), nc = pc
        for j in labels {
            for b in 0..<bins {
                pw[b] += positiveWeight[j * bins + b]; nw[b] += negativeWeight[j * bins + b]
                // Saturating: only whether a bin holds any row is read, and pooling the
                // labels of a state near Int64.max rows must not trap.
                pc[b] = saturatingAdd(pc[b], positiveCount[j * bins + b]); nc[b] = saturatingAdd(nc[b], negativeCount[j * bins + b])
            }
        }
        return (pw, nw, pc, nc)
    }

    func curve(_ h: (pw: [Double], nw: [Double], pc: [Int64], nc: [Int64])) -> ThresholdCurve {
        var c = ThresholdCurve()
        c.hasPositive = h.pc.contains { $0 > 0 }
        c.hasNegative = h.nc.contains { $0 > 0 }
        var tp = 0.0, fp = 0.0
        for b in stride(from: bins - 1, through: 0, by: -1) where h.pw[b] != 0 || h.nw[b] != 0 {
            tp += h.pw[b]; fp += h.nw[b]
            c.close(threshold: low + (high - low) * Double(b) / Double(bins), positives: tp, negatives: fp)
        }
        return c
    }

    func scored(_ average: Average?, _ one: ([Int]) -> (Double, Double, Double, [MetricWarning])) throws -> Result {
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row of scores, but got none") }
        if average == .samples {
            throw TallyError.invalidValue("Expected `average` in None, 'micro', 'macro', 'weighted' for binned scores (rows are not kept), but got 'samples'")
        }
        if average == .micro {
            let (v, lo, hi, w) = one(Array(0..<labelCount))
            return Result(values: [v], lower: [lo], upper: [hi], undefined: v.isNaN ? [0] : [], warnings: w)
        }
        var weights: [Double] = []
        if average == .weighted {
            weights = (0..<labelCount).map { j in (0..<bins).reduce(0.0) { $0 + positiveWeight[j * bins + $1] } }
            if binaryScoreWeightsVanish(weights) { return Result(values: [0], lower: [0], upper: [0], undefined: [], warnings: []) }
        }
        var r = Result(values: [], lower: [], upper: [], undefined: [], warnings: [])
        for j in 0..<labelCount {
            let (v, lo, hi, w) = one([j])
            r.values.append(v); r.lower.append(lo); r.upper.append(hi); r.warnings += w
            if v.isNaN { r.undefined.append(j) }
        }
        guard let average else { return r }
        func mean(_ v: [Double]) -> Double {
            averageScores(v, weights: average == .weighted ? weights : nil, nan: .zeroWeightIsZero)
        }
        return Result(values: [mean(r.values)], lower: [mean(r.lower)], upper: [mean(r.upper)],
                      undefined: r.undefined, warnings: r.warnings)
    }

    /// ROC AUC of the binned scores with its guaranteed interval.
    public func rocAUC(average: Average? = .macro) throws -> Result {
        try scored(average) { labels in
            let h = histogram(labels)
            var warnings: [MetricWarning] = []
            let value = curve(h).rocAUC(warnings: &warnings)
            guard !value.isNaN else { return (value, .nan, .nan, warnings) }
            let p = h.pw.reduce(0, +), n = h.nw.reduce(0, +)
            var tied = 0.0
            for b in 0..<bins { tied += h.pw[b] * h.nw[b] }
            let bound = 0.5 * tied / (p * n)
            return (value, max(0, value - bound), min(1, value + bound), warnings)
        }
    }

    /// Average precision of the binned scores with its guaranteed interval.
    public func averagePrecision(average: Average? = .macro) throws -> Result {
        try scored(average) { labels in
            let h = histogram(labels)
            var warnings: [MetricWarning] = []
            let value = curve(h).averagePrecision(warnings: &warnings)
            let p = h.pw.reduce(0, +)
            guard p > 0 else { return (value, value, value, warnings) }
            var above = 0.0, positivesAbove = 0.0, lower = 0.0, upper = 0.0
            for b in stride(from: bins - 1, through: 0, by: -1) where h.pw[b] != 0 || h.nw[b] != 0 {
                let (pb, nb) = (h.pw[b], h.nw[b])
                if pb > 0 {
                    let own = isWeighted ? 0 : 1.0
                    lower += pb / p * ((positivesAbove + own) / (above + pb + nb))
                    upper += pb / p * ((positivesAbove + pb) / (above + pb))
                }
                above += pb + nb; positivesAbove += pb
            }
            return (value, min(lower, value), max(upper, value), warnings)
        }
    }

    // MARK: Serialization

    public func serialized() -> [UInt8] {
        var words: [UInt64] = [0x3153_4E49_4253_5454, UInt64(labelCount), UInt64(bins), low.bitPattern, high.bitPattern,
                               UInt64(bitPattern: rowCount), isWeighted ? 1 : 0]
        words += positiveWeight.map(\.bitPattern) + negativeWeight.map(\.bitPattern)
        words += positiveCount.map { UInt64(bitPattern: $0) } + negativeCount.map { UInt64(bitPattern: $0) }
        return words.withUnsafeBytes { Array($0) }
    }

    public init(serialized bytes: [UInt8]) throws {
        let fail = TallyError.invalidValue("Expected bytes from BinnedScores.serialized(), but they do not parse")
        guard bytes.count % 8 == 0, bytes.count >= 56 else { throw fail }
        let words = bytes.withUnsafeBytes { raw in (0..<(bytes.count / 8)).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) } }
        guard words[0] == 0x3153_4E49_4253_5454, words[1] >= 1, words[2] >= 1, words[1] < 1 << 24, words[2] <= 1 << 24 else { throw fail }
        // The size the header implies, checked before the histograms are allocated.
        guard UInt64(words.count) == 7 + 4 * words[1] * words[2] else { throw fail }
        try self.init(labelCount: Int(words[1]), bins: Int(words[2]), low: Double(bitPattern: words[3]), high: Double(bitPattern: words[4]))
        let size = labelCount * bins
        guard words.count == 7 + 4 * size else { throw fail }
        rowCount = Int64(bitPattern: words[5]); isWeighted = words[6] == 1
        var i = 7
        positiveWeight = words[i..<(i + size)].map { Double(bitPattern: $0) }; i += size
        negativeWeight = words[i..<(i + size)].map { Double(bitPattern: $0) }; i += size
        positiveCount = words[i..<(i + size)].map { Int64(bitPattern: $0) }; i += size
        negativeCount = words[i..<(i + size)].map { Int64(bitPattern: $0) }
        // Only states an update could reach: every row lands in one bin per label (at most
        // one under element weights, which leave unknown entries out and set the weighted flag).
        guard rowCount >= 0, words[6] <= 1,
              positiveCount.allSatisfy({ $0 >= 0 }), negativeCount.allSatisfy({ $0 >= 0 }),
              (0..<labelCount).allSatisfy({ j in
                  var sum: Int64 = 0, overflow = false
                  for b in (j * bins)..<((j + 1) * bins) {
                      let (a, o1) = sum.addingReportingOverflow(positiveCount[b])
                      let (c, o2) = a.addingReportingOverflow(negativeCount[b])
                      (sum, overflow) = (c, overflow || o1 || o2)
                  }
                  return !overflow && (isWeighted ? sum <= rowCount : sum == rowCount)
              }) else { throw fail }
    }
}

/// a + b for counts ≥ 0, Int64.max where that overflows.
@inline(__always) func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
}
