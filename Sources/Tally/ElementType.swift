/// The element types Tally reads in place, named as numpy names them.
public enum ElementType: String, CaseIterable, Sendable {
    case bool, uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        }
    }

    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// The element type for a Python buffer-protocol (struct module) format string,
    /// or nil when Tally does not read that format. Native byte order only.
    public init?(bufferFormat: String) {
        var f = Substring(bufferFormat)
        if let first = f.first, first == "@" || first == "=" || first == "<" { f = f.dropFirst() }
        switch f {
        case "?": self = .bool
        case "B": self = .uint8
        case "b": self = .int8
        case "H": self = .uint16
        case "h": self = .int16
        case "I": self = .uint32
        case "i": self = .int32
        case "L", "Q": self = .uint64
        case "l", "q": self = .int64
        case "f": self = .float32
        case "d": self = .float64
        default: return nil
        }
    }
}
