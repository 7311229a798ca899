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
        guard let t = bufferFormat.utf8CString.withUnsafeBufferPointer({ ElementType(bufferFormat: $0.baseAddress!) }) else { return nil }
        self = t
    }

    /// The same, reading a NUL-terminated C string in place (the bridge's hot path).
    public init?(bufferFormat format: UnsafePointer<CChar>) {
        var p = format
        if p[0] == 0x40 || p[0] == 0x3D || p[0] == 0x3C { p += 1 }  // '@', '=', '<'
        guard p[0] != 0, p[1] == 0 else { return nil }
        switch UInt8(bitPattern: p[0]) {
        case UInt8(ascii: "?"): self = .bool
        case UInt8(ascii: "B"): self = .uint8
        case UInt8(ascii: "b"): self = .int8
        case UInt8(ascii: "H"): self = .uint16
        case UInt8(ascii: "h"): self = .int16
        case UInt8(ascii: "I"): self = .uint32
        case UInt8(ascii: "i"): self = .int32
        case UInt8(ascii: "L"), UInt8(ascii: "Q"): self = .uint64
        case UInt8(ascii: "l"), UInt8(ascii: "q"): self = .int64
        case UInt8(ascii: "f"): self = .float32
        case UInt8(ascii: "d"): self = .float64
        default: return nil
        }
    }
}
