/// A read-only view of a C-ordered (rows × columns) matrix of one `ElementType`.
///
/// This is the one handle through which Tally reads caller memory: numpy arrays
/// (through the buffer protocol), `.npy` files, or Swift arrays. It owns nothing;
/// the caller keeps the memory alive while the view is used.
public struct MatrixView: @unchecked Sendable {
    public let base: UnsafeRawPointer?
    public let elementType: ElementType
    public let rows: Int
    public let columns: Int

    /// - Precondition: `base` points to at least `rows * columns` elements of
    ///   `elementType` (it may be nil when the matrix is empty).
    public init(base: UnsafeRawPointer?, elementType: ElementType, rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "negative matrix shape")
        precondition(base != nil || rows * columns == 0, "nil base for a non-empty matrix")
        self.base = base
        self.elementType = elementType
        self.rows = rows
        self.columns = columns
    }

    public var count: Int { rows * columns }
}

/// Element types that can back a `MatrixView` built from a Swift array.
public protocol MatrixElement { static var elementType: ElementType { get } }
extension Bool: MatrixElement { public static var elementType: ElementType { .bool } }
extension UInt8: MatrixElement { public static var elementType: ElementType { .uint8 } }
extension Int8: MatrixElement { public static var elementType: ElementType { .int8 } }
extension UInt16: MatrixElement { public static var elementType: ElementType { .uint16 } }
extension Int16: MatrixElement { public static var elementType: ElementType { .int16 } }
extension UInt32: MatrixElement { public static var elementType: ElementType { .uint32 } }
extension Int32: MatrixElement { public static var elementType: ElementType { .int32 } }
extension UInt64: MatrixElement { public static var elementType: ElementType { .uint64 } }
extension Int64: MatrixElement { public static var elementType: ElementType { .int64 } }
extension Int: MatrixElement { public static var elementType: ElementType { .int64 } }
extension Float: MatrixElement { public static var elementType: ElementType { .float32 } }
extension Double: MatrixElement { public static var elementType: ElementType { .float64 } }

extension Array where Element: MatrixElement {
    /// Calls `body` with a view of this array as a C-ordered (rows × columns) matrix.
    /// - Precondition: `count == rows * columns`.
    public func withMatrixView<R>(rows: Int, columns: Int, _ body: (MatrixView) throws -> R) rethrows -> R {
        precondition(count == rows * columns, "array of \(count) elements viewed as \(rows)×\(columns)")
        return try withUnsafeBytes {
            try body(MatrixView(base: $0.baseAddress, elementType: Element.elementType, rows: rows, columns: columns))
        }
    }
}
