/// When a score counts as a positive prediction: `score >= threshold`.
///
/// One number for every label, or one per label. The comparison is exact: a
/// float32 score is widened to float64 (losslessly) and compared with the
/// float64 threshold.
public enum Threshold: Equatable, Sendable {
    case scalar(Double)
    case perLabel([Double])

    /// The threshold of every label, checked against `labelCount`.
    public func values(labelCount: Int) throws -> [Double] {
        switch self {
        case .scalar(let t):
            guard !t.isNaN else { throw TallyError.invalidValue("Expected `threshold` to be a number, but got nan") }
            return Array(repeating: t, count: labelCount)
        case .perLabel(let ts):
            guard ts.count == labelCount else {
                throw TallyError.invalidValue("Expected `threshold` to have \(labelCount) values (one per label), but got \(ts.count)")
            }
            if let i = ts.firstIndex(where: { $0.isNaN }) {
                throw TallyError.invalidValue("Expected `threshold` to hold numbers, but got nan for label \(i)")
            }
            return ts
        }
    }
}
