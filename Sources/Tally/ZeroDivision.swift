/// What a score is when its denominator is zero (scikit-learn's `zero_division`):
/// exactly one of "warn", 0, 1 and nan. Users' spellings go through
/// `init(parsing:)` or `init(number:)`, which refuse anything else.
public enum ZeroDivision: Equatable, Sendable, CustomStringConvertible {
    /// 0.0, and an `UndefinedMetricWarning` is reported (where a warning can be
    /// reported: a compiled Keras step cannot, and scores 0 silently).
    case warn
    /// 0.0, silently.
    case zero
    /// 1.0, silently.
    case one
    /// nan, silently: the score is left out of `_nanaverage` means.
    case nan

    /// The value that replaces an undefined score.
    public var replacement: Double {
        switch self {
        case .warn, .zero: return 0
        case .one: return 1
        case .nan: return .nan
        }
    }

    /// "warn", "0", "1" or "nan", as scikit-learn prints them.
    public var description: String {
        switch self {
        case .warn: return "warn"
        case .zero: return "0"
        case .one: return "1"
        case .nan: return "nan"
        }
    }

    /// Parses the spellings of a command line or a config: "warn", "0", "1", "nan"
    /// ("0.0", "1.0" and "NaN" too).
    /// - Throws: `TallyError.invalidValue` with `ZeroDivision.expected`.
    public init(parsing text: String) throws {
        switch text {
        case "warn": self = .warn
        case "0", "0.0": self = .zero
        case "1", "1.0": self = .one
        case "nan", "NaN": self = .nan
        default: throw TallyError.invalidValue("\(ZeroDivision.expected), but got '\(text)'")
        }
    }

    /// The one string scikit-learn's Python API accepts: "warn".
    /// - Throws: `TallyError.invalidValue` with `ZeroDivision.expected` for any other.
    public init(keyword: String) throws {
        guard keyword == "warn" else { throw TallyError.invalidValue("\(ZeroDivision.expected), but got '\(keyword)'") }
        self = .warn
    }

    /// A number: 0, 1 or nan.
    /// - Throws: `TallyError.invalidValue` for any other number, e.g.
    ///   "Expected `zero_division` to be \"warn\", 0, 1 or nan, but got 0.5".
    public init(number: Double) throws {
        if number == 0 { self = .zero }
        else if number == 1 { self = .one }
        else if number.isNaN { self = .nan }
        else { throw TallyError.invalidValue("\(ZeroDivision.expected), but got \(pythonRepr(number))") }
    }

    /// This value where the Jaccard score is computed: scikit-learn's `jaccard_score`
    /// takes "warn", 0 or 1, not nan.
    /// - Throws: `TallyError.invalidValue` for `.nan`.
    public func checkedForJaccard() throws -> ZeroDivision {
        guard self != .nan else {
            throw TallyError.invalidValue("Expected `zero_division` to be \"warn\", 0 or 1 for the Jaccard score (as scikit-learn), but got nan")
        }
        return self
    }

    /// The start of every refusal, for layers that refuse a value of the wrong type.
    public static let expected = "Expected `zero_division` to be \"warn\", 0, 1 or nan"
}
