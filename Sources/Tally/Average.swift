/// How per-label scores combine into one number (scikit-learn's `average`).
/// Parse users' spellings with `init(parsing:)` or `init(parsingOptional:allowed:)`.
public enum Average: String, NamedOption {
    /// Sum tp, fp and fn over labels first, then score.
    case micro
    /// The unweighted mean of the labels' scores (labels whose score is nan are left out).
    case macro
    /// The mean of the labels' scores weighted by support.
    case weighted
    /// Score each row over its labels, then average the rows (weighted by sample weight).
    case samples

    public static var parameterName: String { "average" }

    /// scikit-learn's `average`, where nil (Python's None) means per label.
    /// - Parameters:
    ///   - name: the name, or nil for None.
    ///   - allowed: the averages this metric supports (all by default).
    /// - Throws: `TallyError.invalidValue`, e.g. "Expected `average` to be one of None,
    ///   'micro', 'macro', 'weighted', 'samples', but got 'mean'".
    public init?(parsingOptional name: String?, allowed: [Average] = Average.allCases) throws {
        guard let name else { return nil }
        guard let average = Average(rawValue: name), allowed.contains(average) else {
            let names = ["None"] + allowed.map { "'\($0.rawValue)'" }
            throw TallyError.invalidValue("Expected `average` to be one of \(names.joined(separator: ", ")), but got '\(name)'")
        }
        self = average
    }
}
