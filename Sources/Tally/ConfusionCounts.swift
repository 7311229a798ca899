/// Per-label confusion counts of a multi-label classifier, accumulated batch by batch.
///
/// The state is, for each label, integer counts (or float64 sums of sample weights
/// once a weighted batch was seen) of true positives, predicted positives and
/// actual positives — false positives, false negatives and true negatives follow
/// by subtraction, as scikit-learn derives them — plus a histogram of the rows' own (tp, fp, fn) triples,
/// which is what `average: .samples`, subset accuracy and the other row-wise
/// metrics need. The state merges by addition, so any split of the rows into
/// batches, threads or processes gives identical counts.
///
///     var counts = try ConfusionCounts(labelCount: 3)
///     try [1, 0, 1, 0, 1, 1].withMatrixView(rows: 2, columns: 3) { yTrue in
///         try [0.9, 0.2, 0.4, 0.1, 0.8, 0.7].withMatrixView(rows: 2, columns: 3) { yScore in
///             try counts.update(truth: yTrue, prediction: yScore)
///         }
///     }
///     counts.truePositives  // [1, 1, 1]
public struct ConfusionCounts: Equatable, Sendable {
    /// The number of labels (columns) every batch must have.
    public let labelCount: Int
    /// The per-label thresholds that turn scores into predictions (`score >= threshold`).
    public let thresholds: [Double]
    /// `float32Threshold` of each threshold: float32 scores compare against these.
    let float32Thresholds: [Float]

    /// Counts, label-major: `[tp, predicted, actual]` for label 0, then label 1, …
    /// Exact integers while no sample weight was seen.
    @usableFromInline var integerCounts: [Int64]
    /// The same layout in float64 once a weighted batch was seen (else empty).
    @usableFromInline var weightedCounts: [Double]
    /// Number of rows seen.
    public internal(set) var rowCount: Int64 = 0
    /// Sum of the sample weights (the row count while unweighted).
    public internal(set) var weightSum: Double = 0
    /// Histogram of per-row (tp, fp, fn): rows with each triple, and their weight sum.
    @usableFromInline var rowHistogram = RowTable()
    /// Per-label sums of the element weights once a 2-D (element-wise) weight was
    /// seen, else empty: with a mask, each label has its own total, so true
    /// negatives are this total − tp − fp − fn instead of `weightSum` − ….
    @usableFromInline var labelWeightSums: [Double] = []
    /// Whether some row had a masked label (weight 0) next to an unmasked one: such
    /// a row's true negatives are not `labelCount − tp − fp − fn`, which the
    /// row-wise specificity and NPV (`average: .samples`) would need.
    public internal(set) var hasPartlyMaskedRows = false

    /// Creates empty counts.
    /// - Parameters:
    ///   - labelCount: the number of labels, at least 1.
    ///   - threshold: `score >= threshold` is a positive prediction.
    public init(labelCount: Int, threshold: Threshold = .scalar(0.5)) throws {
        guard labelCount >= 1 else {
            throw TallyError.invalidValue("Expected `n_labels` to be at least 1, but got \(labelCount)")
        }
        guard labelCount <= RowKey.maximumLabelCount else {
            throw TallyError.invalidValue("Expected `n_labels` to be at most \(RowKey.maximumLabelCount), but got \(labelCount)")
        }
        self.labelCount = labelCount
        self.thresholds = try threshold.values(labelCount: labelCount)
        self.float32Thresholds = thresholds.map(float32Threshold)
        self.integerCounts = Array(repeating: 0, count: Self.stride * labelCount)
        self.weightedCounts = []
    }

    /// Slots per label in the count arrays: tp, predicted, actual.
    @usableFromInline static let stride = 3

    /// Whether a weighted batch has been seen (the counts are then float64 sums).
    public var isWeighted: Bool { !weightedCounts.isEmpty }

    /// Whether a 2-D (element-wise) weight has been seen: the labels then have
    /// their own totals (`labelWeights`).
    public var isElementWeighted: Bool { !labelWeightSums.isEmpty }

    /// Each label's total weight: the rows seen (unweighted), the sum of the row
    /// weights (1-D weights), or the sum of that label's element weights (2-D).
    public var labelWeights: [Double] { (0..<labelCount).map(labelWeightAt) }

    @inlinable func labelWeightAt(_ label: Int) -> Double {
        if isElementWeighted { return labelWeightSums[label] }
        return isWeighted ? weightSum : Double(rowCount)
    }

    /// Forgets every count; keeps the label count and thresholds.
    public mutating func reset() {
        integerCounts = Array(repeating: 0, count: Self.stride * labelCount)
        weightedCounts = []
        rowCount = 0
        weightSum = 0
        rowHistogram = RowTable()
        labelWeightSums = []
        hasPartlyMaskedRows = false
    }

    // MARK: Reading the counts

    public var truePositives: [Double] { (0..<labelCount).map(truePositivesAt) }
    public var falsePositives: [Double] { (0..<labelCount).map(falsePositivesAt) }
    public var falseNegatives: [Double] { (0..<labelCount).map(falseNegativesAt) }
    public var trueNegatives: [Double] { (0..<labelCount).map(trueNegativesAt) }

    /// Slot `offset` (0 tp, 1 predicted, 2 actual) of `label`, as float64.
    @inlinable func sum(_ label: Int, _ offset: Int) -> Double {
        isWeighted ? weightedCounts[Self.stride &* label &+ offset]
                   : Double(integerCounts[Self.stride &* label &+ offset])
    }
    // The derived counts use scikit-learn's arithmetic (fp = predicted − tp,
    // tn = total − tp − fp − fn), so weighted sums round as they round there.
    @inlinable func truePositivesAt(_ label: Int) -> Double { sum(label, 0) }
    @inlinable func falsePositivesAt(_ label: Int) -> Double { sum(label, 1) - sum(label, 0) }
    @inlinable func falseNegativesAt(_ label: Int) -> Double { sum(label, 2) - sum(label, 0) }
    @inlinable func trueNegativesAt(_ label: Int) -> Double {
        if !isWeighted {
            let i = Self.stride &* label
            return Double(rowCount - integerCounts[i + 1] - integerCounts[i + 2] + integerCounts[i])
        }
        return labelWeightAt(label) - truePositivesAt(label) - falsePositivesAt(label) - falseNegativesAt(label)
    }

    /// The exact integer counts `[tp, fp, fn, tn]` per label, or nil once weighted.
    public var integerConfusion: [[Int64]]? {
        if isWeighted { return nil }
        return (0..<labelCount).map { j in
            let i = Self.stride * j
            let (tp, predicted, actual) = (integerCounts[i], integerCounts[i + 1], integerCounts[i + 2])
            return [tp, predicted - tp, actual - tp, rowCount - predicted - actual + tp]
        }
    }

    /// Rows grouped by their own (tp, fp, fn) counts, with the number of rows and
    /// their weight sum; the order is unspecified.
    public var rowTriples: [(tp: Int, fp: Int, fn: Int, rows: Int64, weight: Double)] {
        rowHistogram.sortedEntries.map { (key, tally) in (key.tp, key.fp, key.fn, tally.rows, tally.weight) }
    }

    // MARK: Merging

    /// Adds `other`'s counts to these. Both must have the same labels and thresholds.
    public mutating func merge(_ other: ConfusionCounts) throws {
        guard other.labelCount == labelCount else {
            throw TallyError.invalidValue("Expected counts with \(labelCount) labels to merge, but got \(other.labelCount)")
        }
        guard other.thresholds == thresholds else {
            throw TallyError.invalidValue("Expected counts with the same thresholds to merge, but they differ")
        }
        let (rows, overflow) = rowCount.addingReportingOverflow(other.rowCount)
        guard !overflow else { throw TallyError.overflow("Merging would overflow the Int64 row count") }
        if other.isWeighted && !isWeighted { promoteToWeighted() }
        if isWeighted {
            let theirs = other.isWeighted ? other.weightedCounts : other.integerCounts.map(Double.init)
            weightedCounts.withUnsafeMutableBufferPointer { mine in
                for i in 0..<mine.count { mine[i] += theirs[i] }
            }
        } else {
            integerCounts.withUnsafeMutableBufferPointer { mine in
                for i in 0..<mine.count { mine[i] &+= other.integerCounts[i] }
            }
        }
        if isElementWeighted || other.isElementWeighted {
            // A side without 2-D weights gave every label its whole weight.
            let mine = labelWeights, theirs = other.labelWeights
            labelWeightSums = zip(mine, theirs).map { $0 + $1 }
        }
        hasPartlyMaskedRows = hasPartlyMaskedRows || other.hasPartlyMaskedRows
        rowCount = rows
        weightSum += other.weightSum
        rowHistogram.merge(other.rowHistogram)
    }

    /// Switches the storage to float64 sums (exact for counts below 2^53).
    @usableFromInline mutating func promoteToWeighted() {
        weightedCounts = integerCounts.map(Double.init)
    }
}

/// A row's (tp, fp, fn), packed into one integer: 21 bits each.
public struct RowKey: Hashable, Sendable {
    public static let maximumLabelCount = (1 << 21) - 1
    @usableFromInline let packed: Int

    @inlinable init(tp: Int, fp: Int, fn: Int) { packed = tp | (fp << 21) | (fn << 42) }
    init(packed: Int) { self.packed = packed }

    public var tp: Int { packed & 0x1F_FFFF }
    public var fp: Int { (packed >> 21) & 0x1F_FFFF }
    public var fn: Int { (packed >> 42) & 0x1F_FFFF }
}

/// How many rows share one `RowKey`, and their summed sample weight.
public struct RowTally: Equatable, Sendable {
    public var rows: Int64 = 0
    public var weight: Double = 0

    @inlinable mutating func add(_ other: RowTally) {
        rows &+= other.rows
        weight += other.weight
    }
}
