/// A binary ranking problem summarised at its distinct score thresholds, highest
/// first: the weight of positives and of negatives scoring at or above each one
/// (scikit-learn's `confusion_matrix_at_thresholds`: `tps`, `fps`). Rows of
/// weight 0 add no threshold, as scikit-learn drops them before sorting.
public struct ThresholdCurve: Equatable, Sendable {
    /// Distinct scores, decreasing.
    public var thresholds: [Double] = []
    /// Cumulative positive weight at or above each threshold.
    public var truePositives: [Double] = []
    /// Cumulative negative weight at or above each threshold.
    public var falsePositives: [Double] = []
    /// Whether any row (zero-weight rows included) is positive, and negative:
    /// scikit-learn's `len(np.unique(y_true)) != 2` test for ROC AUC.
    public var hasPositive = false
    public var hasNegative = false

    public init() {}

    /// Appends one group of tied scores.
    @inline(__always)
    mutating func close(threshold: Double, positives: Double, negatives: Double) {
        thresholds.append(threshold)
        truePositives.append(positives)
        falsePositives.append(negatives)
    }
}

/// Receives the groups of tied scores of a sorted label, highest first.
protocol GroupSink {
    /// `key` is the group's order key (64-bit when `wide`), `tp` and `fp` the
    /// cumulative positive and negative weight at or above it.
    mutating func group(key: UInt64, wide: Bool, tp: Double, fp: Double)
    /// Whether the sink reads groups without positives (false: it may be handed only the
    /// groups that hold a positive, with their cumulative counts).
    static var readsGroupsWithoutPositives: Bool { get }
}

extension GroupSink {
    static var readsGroupsWithoutPositives: Bool { true }
}

extension ThresholdCurve: GroupSink {
    mutating func group(key: UInt64, wide: Bool, tp: Double, fp: Double) {
        close(threshold: wide ? scoreFromKey64(key) : Double(scoreFromKey32(UInt32(truncatingIfNeeded: key))),
              positives: tp, negatives: fp)
    }
}

/// The ROC area accumulated group by group, without keeping the curve (the
/// common case: both classes present, no partial AUC).
struct AreaSink: GroupSink {
    /// Whether every cumulative count is an integer and twice the whole area stays
    /// below 2^53 (unweighted, under 2^26 cells): then each term and each partial sum
    /// is exact in float64, so a plain sum gives the compensated sum's value bit for
    /// bit, at a fraction of its cost.
    let countsAreExact: Bool
    var area = CompensatedSum()       // Σ Δfp · (tp + tp₋₁) / 2, unnormalised
    var twiceArea = 0.0               // Σ Δfp · (tp + tp₋₁), when the counts are exact
    var tp = 0.0, fp = 0.0
    init(countsAreExact: Bool = false) { self.countsAreExact = countsAreExact }
    @inline(__always)
    mutating func group(key: UInt64, wide: Bool, tp newTP: Double, fp newFP: Double) {
        if countsAreExact {
            twiceArea += (newFP - fp) * (newTP + tp)
        } else {
            area.add((newFP - fp) * (newTP + tp) / 2)
        }
        (tp, fp) = (newTP, newFP)
    }
    /// The unnormalised area.
    var value: Double { countsAreExact ? twiceArea / 2 : area.value }
}

/// Average precision accumulated group by group, without keeping the curve.
struct PrecisionSumSink: GroupSink {
    var precisionSum = CompensatedSum()  // Σ Δtp · precision, unnormalised
    var tp = 0.0, fp = 0.0
    static var readsGroupsWithoutPositives: Bool { false }
    @inline(__always)
    mutating func group(key: UInt64, wide: Bool, tp newTP: Double, fp newFP: Double) {
        // A group without positives adds +0, which leaves a compensated sum as it is.
        if newTP != tp {
            let predicted = newTP + newFP
            precisionSum.add((newTP - tp) * (predicted != 0 ? newTP / predicted : 0))
        }
        (tp, fp) = (newTP, newFP)
    }
}

/// A curve as scikit-learn's `roc_curve` or `precision_recall_curve` returns it.
public struct Curve: Equatable, Sendable {
    /// fpr (ROC) or precision (PR).
    public var x: [Double]
    /// tpr (ROC) or recall (PR).
    public var y: [Double]
    public var thresholds: [Double]
    public var warnings: [MetricWarning]
}

extension ThresholdCurve {
    /// scikit-learn's `_binary_roc_auc_score`: the area under the ROC curve, or the
    /// McClish-standardised partial area up to `maxFPR`; nan (with its warning)
    /// when the rows hold one class only.
    public func rocAUC(maxFPR: Double? = nil, warnings: inout [MetricWarning]) -> Double {
        guard hasPositive && hasNegative else {
            warnings.append(.oneClass)
            return .nan
        }
        let roc = rocCurve(dropIntermediate: false)
        warnings += roc.warnings
        let (fpr, tpr) = (roc.x, roc.y)
        if maxFPR == nil || maxFPR == 1 { return Self.trapezoid(x: fpr, y: tpr) }
        let maxFPR = maxFPR!
        // np.searchsorted(fpr, max_fpr, "right"), then one interpolated point.
        var stop = 0
        while stop < fpr.count && fpr[stop] <= maxFPR { stop += 1 }
        guard stop > 0, stop < fpr.count else { return .nan }  // only with nan rates
        let (x0, x1, y0, y1) = (fpr[stop - 1], fpr[stop], tpr[stop - 1], tpr[stop])
        // np.interp's arithmetic: slope · (x − x0) + y0.
        let yAtMax = x1 == x0 ? y1 : (y1 - y0) / (x1 - x0) * (maxFPR - x0) + y0
        let partial = Self.trapezoid(x: Array(fpr[..<stop]) + [maxFPR], y: Array(tpr[..<stop]) + [yAtMax])
        let minArea = 0.5 * maxFPR * maxFPR
        let maxArea = maxFPR
        return 0.5 * (1 + (partial - minArea) / (maxArea - minArea))
    }

    /// scikit-learn's `average_precision_score` for one binary problem:
    /// Σ (Rₙ − Rₙ₋₁) Pₙ over thresholds, at least 0. With no positive weight it
    /// warns as `precision_recall_curve` does and is 0.
    public func averagePrecision(warnings: inout [MetricWarning]) -> Double {
        let positives = truePositives.last ?? 0
        if positives == 0 {
            warnings.append(.noPositiveClass)
            return 0
        }
        var sum = 0.0, previousRecall = 0.0
        for i in thresholds.indices {
            let predicted = truePositives[i] + falsePositives[i]
            let precision = predicted != 0 ? truePositives[i] / predicted : 0
            let recall = truePositives[i] / positives
            sum += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return max(0, sum)
    }

    /// scikit-learn's `roc_curve`: (fpr, tpr, thresholds) from (0, 0) at +inf,
    /// collinear points dropped when `dropIntermediate`.
    public func rocCurve(dropIntermediate: Bool = true) -> Curve {
        var keep = Array(thresholds.indices)
        if dropIntermediate && thresholds.count > 2 {
            // Keep the ends and every point where either rate bends (np.diff(x, 2) != 0).
            keep = [0]
            for i in 1..<(thresholds.count - 1) {
                let f = (falsePositives[i + 1] - falsePositives[i]) - (falsePositives[i] - falsePositives[i - 1])
                let t = (truePositives[i + 1] - truePositives[i]) - (truePositives[i] - truePositives[i - 1])
                if f != 0 || t != 0 { keep.append(i) }
            }
            keep.append(thresholds.count - 1)
        }
        let fps = [0.0] + keep.map { falsePositives[$0] }
        let tps = [0.0] + keep.map { truePositives[$0] }
        var warnings: [MetricWarning] = []
        let fpr: [Double], tpr: [Double]
        if fps.last! <= 0 {
            warnings.append(.noNegatives)
            fpr = Array(repeating: .nan, count: fps.count)
        } else {
            fpr = fps.map { $0 / fps.last! }
        }
        if tps.last! <= 0 {
            warnings.append(.noPositives)
            tpr = Array(repeating: .nan, count: tps.count)
        } else {
            tpr = tps.map { $0 / tps.last! }
        }
        return Curve(x: fpr, y: tpr, thresholds: [.infinity] + keep.map { thresholds[$0] }, warnings: warnings)
    }

    /// scikit-learn's `precision_recall_curve`: (precision, recall, thresholds),
    /// increasing thresholds, ending at (1, 0) with no threshold.
    public func precisionRecallCurve(dropIntermediate: Bool = false) -> Curve {
        var keep = Array(thresholds.indices)
        if dropIntermediate && thresholds.count > 2 {
            keep = [0]
            for i in 1..<(thresholds.count - 1)
            where truePositives[i] - truePositives[i - 1] != 0 || truePositives[i + 1] - truePositives[i] != 0 {
                keep.append(i)
            }
            keep.append(thresholds.count - 1)
        }
        let tps = keep.map { truePositives[$0] }, fps = keep.map { falsePositives[$0] }
        let precision = zip(tps, fps).map { $0 + $1 != 0 ? $0 / ($0 + $1) : 0 }
        var warnings: [MetricWarning] = []
        let recall: [Double]
        if (tps.last ?? 0) == 0 {
            warnings.append(.noPositiveClass)
            recall = Array(repeating: 1, count: tps.count)
        } else {
            recall = tps.map { $0 / tps.last! }
        }
        return Curve(x: precision.reversed() + [1], y: recall.reversed() + [0],
                     thresholds: keep.map { thresholds[$0] }.reversed(), warnings: warnings)
    }

    /// The trapezoid rule, as `scipy.integrate.trapezoid(y, x)`.
    static func trapezoid(x: [Double], y: [Double]) -> Double {
        var area = 0.0
        for i in 1..<max(x.count, 1) { area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2 }
        return area
    }
}
