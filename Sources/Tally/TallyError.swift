/// An error raised by Tally's public API when its arguments are not what it expects.
///
/// Each case carries a message that names what was expected and what came, e.g.
/// "Expected `y_pred` to have 39 columns, but got 40". The Python bridge maps
/// `invalidValue` to `ValueError`, `invalidType` to `TypeError` and `overflow`
/// to `OverflowError`; nothing else is thrown.
public enum TallyError: Error, Equatable, CustomStringConvertible {
    /// An argument has the right type but a value, shape or content that is not allowed.
    case invalidValue(String)
    /// An argument has a type (or dtype) that is not supported.
    case invalidType(String)
    /// A count would leave the range of its integer type.
    case overflow(String)

    public var message: String {
        switch self {
        case .invalidValue(let m), .invalidType(let m), .overflow(let m): return m
        }
    }

    public var description: String { message }
}
