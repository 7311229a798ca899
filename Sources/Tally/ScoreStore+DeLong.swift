/// DeLong's variance of ROC AUC from the exact score store, by the midrank
/// algorithm of Sun & Xu (2014, "Fast implementation of DeLong's algorithm for
/// comparing the areas under correlated receiver operating characteristic
/// curves"), and DeLong's paired test of two models scored on the same rows.
///
/// For a label with m positives X and n negatives Y, with midranks T_Z over all
/// its scores, T_X among the positives and T_Y among the negatives:
///
///     V10(x) = (T_Z(x) − T_X(x)) / n          (one per positive)
///     V01(y) = 1 − (T_Z(y) − T_Y(y)) / m      (one per negative)
///     var(AUC) = S10 / m + S01 / n,           S = sample variance (ddof 1)
///
/// The interval is AUC ± z·sqrt(var), clipped to [0, 1] (as pROC's `ci.auc`);
/// AUC is the store's exact `roc_auc_score`. DeLong's method has no rule for
/// sample weights, so weighted stores are refused; a mask of missing labels
/// (element weights of 0 and 1 only) is not a weight: each label's placements
/// are then those of its known rows.

/// One label's DeLong components.
struct DeLongPlacements {
    /// V10 at positive rows and V01 at negative rows, in row order.
    var placements: [Double]
    var truth: [Bool]
    var positives: Int
    var negatives: Int
}

/// The paired test of two models' per-label AUCs on the same rows.
public struct DeLongTest: Equatable, Sendable {
    public var aucA: [Double]
    public var aucB: [Double]
    /// var(AUC_A − AUC_B), from the 2 × 2 covariance of the placements.
    public var variance: [Double]
    /// (AUC_A − AUC_B) / sqrt(variance); nan when the variance is 0.
    public var z: [Double]
    /// The two-sided p-value, 2 · P(Z > |z|).
    public var pValue: [Double]
}

extension ScoreStore {
    func checkUnweightedForDeLong() throws {
        func zeroOrOne(_ w: [Double]) -> Bool { w.allSatisfy { $0 == 0 || $0 == 1 } }
        let maskOnly = isElementWeighted && zeroOrOne(weights) && cellWeights.allSatisfy(zeroOrOne)
        guard !isWeighted || maskOnly else {
            throw TallyError.invalidValue("Expected unweighted scores for DeLong's variance (it has no rule for sample weights), but the store holds a weighted batch")
        }
    }

    /// The rows where label `j` is known (all rows without a mask).
    func knownRows(label j: Int) -> [Int] {
        (0..<rowCount).filter { !isElementWeighted || cellWeights[j][$0] != 0 }
    }

    /// The label's placements over its known rows, from one sort of their order keys.
    func delongPlacements(label j: Int) -> DeLongPlacements {
        let rows = knownRows(label: j), count = rows.count
        let keys: [UInt64] = rows.map { isWide ? wideKeys[j][$0] : UInt64(narrowKeys[j][$0]) }
        let truth = rows.map { truthBit(j, $0) }
        let order = (0..<count).sorted { keys[$0] < keys[$1] }
        let m = truth.lazy.filter { $0 }.count, n = count - m
        var placements = [Double](repeating: 0, count: count)
        var start = 0, positivesBefore = 0, negativesBefore = 0
        while start < count {
            var end = start
            var positivesIn = 0
            while end < count && keys[order[end]] == keys[order[start]] {
                if truth[order[end]] { positivesIn += 1 }
                end += 1
            }
            let negativesIn = end - start - positivesIn
            // Midranks (1-based) of the tied group: overall, among positives, among negatives.
            let overall = Double(start + 1 + end) / 2
            let amongPositives = Double(positivesBefore) + Double(positivesIn + 1) / 2
            let amongNegatives = Double(negativesBefore) + Double(negativesIn + 1) / 2
            for i in start..<end {
                let r = order[i]
                placements[r] = truth[r] ? (overall - amongPositives) / Double(n)
                                         : 1 - (overall - amongNegatives) / Double(m)
            }
            positivesBefore += positivesIn
            negativesBefore += negativesIn
            start = end
        }
        return DeLongPlacements(placements: placements, truth: truth, positives: m, negatives: n)
    }

    /// DeLong intervals of per-label ROC AUC.
    /// - Parameters:
    ///   - level: the confidence level, in (0, 1).
    ///   - labels: the labels, nil for all.
    /// - Returns: the intervals and each label's variance; nan where a label has
    ///   one class only (AUC undefined) or fewer than two rows of a class (variance undefined).
    /// - Complexity: O(rows log rows) per label.
    public func delongIntervals(level: Double = 0.95, labels: [Int]? = nil) throws -> (intervals: ConfidenceIntervals, variance: [Double]) {
        try checkLevel(level)
        try checkUnweightedForDeLong()
        let selected = try checkedLabels(labels)
        let auc = try rocAUC(average: nil, labels: selected, threads: 1).values
        let z = -Distributions.normalQuantile((1 - level) / 2)
        var result = ConfidenceIntervals(lower: [], upper: [], point: auc)
        var variances: [Double] = []
        for (i, j) in selected.enumerated() {
            let d = delongPlacements(label: j)
            let v = covariance(d, d, d)
            variances.append(v)
            let half = z * v.squareRoot()
            // Swift's max and min drop a nan: keep it, it means "undefined".
            let (lower, upper) = (auc[i] - half, auc[i] + half)
            result.lower.append(lower.isNaN ? .nan : max(0, lower))
            result.upper.append(upper.isNaN ? .nan : min(1, upper))
        }
        return (result, variances)
    }
}

/// S10 / m + S01 / n of two placement sets on the same rows (the variance when
/// both are the same model).
func covariance(_ a: DeLongPlacements, _ b: DeLongPlacements, _ rows: DeLongPlacements) -> Double {
    let (m, n) = (rows.positives, rows.negatives)
    guard m >= 2, n >= 2 else { return .nan }
    func classCovariance(_ positive: Bool, _ count: Int) -> Double {
        var sumA = 0.0, sumB = 0.0
        for r in rows.truth.indices where rows.truth[r] == positive { sumA += a.placements[r]; sumB += b.placements[r] }
        let (meanA, meanB) = (sumA / Double(count), sumB / Double(count))
        var s = 0.0
        for r in rows.truth.indices where rows.truth[r] == positive {
            s += (a.placements[r] - meanA) * (b.placements[r] - meanB)
        }
        return s / Double(count - 1)
    }
    return classCovariance(true, m) / Double(m) + classCovariance(false, n) / Double(n)
}

/// DeLong's paired test of two models' per-label ROC AUC on the same rows.
///
/// - Parameters:
///   - a: the first model's scores.
///   - b: the second model's scores on the same rows in the same order (the truth must match).
///   - labels: the labels, nil for all.
/// - Throws: when the stores differ in labels, rows or truth, or are weighted.
public func delongTest(_ a: ScoreStore, _ b: ScoreStore, labels: [Int]? = nil) throws -> DeLongTest {
    try a.checkUnweightedForDeLong()
    try b.checkUnweightedForDeLong()
    guard a.labelCount == b.labelCount, a.rowCount == b.rowCount else {
        throw TallyError.invalidValue("Expected two score stores of the same rows, but got (\(a.rowCount) rows, \(a.labelCount) labels) and (\(b.rowCount) rows, \(b.labelCount) labels)")
    }
    let selected = try a.checkedLabels(labels)
    for j in selected where a.truthBits[j] != b.truthBits[j] {
        throw TallyError.invalidValue("Expected two score stores of the same rows, but label \(j)'s y_true differs between them")
    }
    for j in selected where a.knownRows(label: j) != b.knownRows(label: j) {
        throw TallyError.invalidValue("Expected two score stores of the same rows, but label \(j)'s known rows differ between them")
    }
    let aucA = try a.rocAUC(average: nil, labels: selected, threads: 1).values
    let aucB = try b.rocAUC(average: nil, labels: selected, threads: 1).values
    var result = DeLongTest(aucA: aucA, aucB: aucB, variance: [], z: [], pValue: [])
    for (i, j) in selected.enumerated() {
        let (pa, pb) = (a.delongPlacements(label: j), b.delongPlacements(label: j))
        let variance = covariance(pa, pa, pa) + covariance(pb, pb, pa) - 2 * covariance(pa, pb, pa)
        let z = variance > 0 ? (aucA[i] - aucB[i]) / variance.squareRoot() : .nan
        result.variance.append(variance)
        result.z.append(z)
        result.pValue.append(2 * Distributions.normalSurvival(abs(z)))
    }
    return result
}
