/// How per-label scores combine into one number (scikit-learn's `average`).
public enum Average: String, CaseIterable, Sendable {
    /// Sum tp, fp and fn over labels first, then score.
    case micro
    /// The unweighted mean of the labels' scores (labels whose score is nan are left out).
    case macro
    /// The mean of the labels' scores weighted by support.
    case weighted
    /// Score each row over its labels, then average the rows (weighted by sample weight).
    case samples

    /// Parses scikit-learn's spelling; nil for `"binary"` and anything unknown.
    public init?(name: String) { self.init(rawValue: name) }
}

/// What a score is when its denominator is zero (scikit-learn's `zero_division`).
public enum ZeroDivision: Equatable, Sendable {
    /// 0.0, and an `UndefinedMetricWarning` is reported.
    case warn
    /// This value (0, 1 or nan), silently.
    case value(Double)

    /// The value that replaces an undefined score.
    public var replacement: Double {
        switch self {
        case .warn: return 0
        case .value(let v): return v
        }
    }

    /// Parses scikit-learn's spellings: "warn", 0, 1, nan.
    public init(parsing text: String) throws {
        switch text {
        case "warn": self = .warn
        case "0", "0.0": self = .value(0)
        case "1", "1.0": self = .value(1)
        case "nan", "NaN": self = .value(.nan)
        default:
            throw TallyError.invalidValue("Expected `zero_division` to be \"warn\", 0, 1 or nan, but got \(text)")
        }
    }
}

/// Which metric an undefined-score warning is about (for scikit-learn's `warn_for`).
public enum ScoreName: String, Sendable {
    case precision, recall, fScore = "f-score", jaccard
    case specificity, negativePredictiveValue = "negative predictive value"
}

/// An undefined score that was replaced under `zero_division: .warn`, with
/// scikit-learn's exact message.
public struct UndefinedMetricWarning: Equatable, Sendable, CustomStringConvertible {
    public let metric: ScoreName
    public let message: String
    public var description: String { message }
}

/// Means that skip nan, as scikit-learn's `_nanaverage`.
enum NanAverage {
    /// The mean of the non-nan values weighted by `weights`; the unweighted mean of
    /// the non-nan values when their weights sum to zero; nan when all are nan.
    static func mean(_ values: [Double], weights: [Double]? = nil) -> Double {
        var sum = 0.0, count = 0.0, weightedSum = 0.0, weightTotal = 0.0
        for (i, v) in values.enumerated() where !v.isNaN {
            sum += v
            count += 1
            if let w = weights {
                weightedSum += v * w[i]
                weightTotal += w[i]
            }
        }
        guard count > 0 else { return .nan }
        if weights != nil, weightTotal != 0 { return weightedSum / weightTotal }
        return sum / count
    }
}
