#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An array in numpy's `.npy` format, as written by `np.save`: bool, uint8, int8,
/// int16/32/64, uint16/32/64, float32 and float64, little-endian, C order,
/// format versions 1.0, 2.0 and 3.0. Anything else is a `TallyError`.
///
///     let yTrue = try NPYArray(contentsOf: "y_true.npy")
///     try yTrue.withMatrixView { truth in … }
public struct NPYArray: Equatable, Sendable {
    public let elementType: ElementType
    public let shape: [Int]
    /// The raw little-endian element bytes, C order.
    public let bytes: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    /// An array from raw element bytes.
    public init(elementType: ElementType, shape: [Int], bytes: [UInt8]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw TallyError.invalidValue("Expected a shape of non-negative sizes, but got \(shape)")
        }
        let (n, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
        }
        guard !overflow, bytes.count == n * elementType.size else {
            throw TallyError.invalidValue("Expected \(shape) × \(elementType.size) bytes of data, but got \(bytes.count)")
        }
        self.elementType = elementType
        self.shape = shape
        self.bytes = bytes
    }

    /// An array holding `values`.
    public init<T: MatrixElement>(_ values: [T], shape: [Int]) throws {
        let raw = values.withUnsafeBytes { Array($0) }
        try self.init(elementType: T.elementType, shape: shape, bytes: raw)
    }

    /// Parses the bytes of a `.npy` file.
    public init(npyBytes data: [UInt8]) throws {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard data.count >= 10, Array(data[0..<6]) == magic else {
            throw TallyError.invalidValue("Expected a .npy file (magic \\x93NUMPY), but the data starts otherwise")
        }
        let major = data[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(data[8]) | Int(data[9]) << 8
            headerStart = 10
        case 2, 3:
            guard data.count >= 12 else { throw TallyError.invalidValue("Expected a .npy header, but the file ends after 12 bytes") }
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
            headerStart = 12
        default:
            throw TallyError.invalidValue("Expected .npy format version 1, 2 or 3, but got \(major)")
        }
        guard headerStart + headerLength <= data.count else {
            throw TallyError.invalidValue("Expected a .npy header of \(headerLength) bytes, but the file has \(data.count - headerStart)")
        }
        let header = String(decoding: data[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let fields = try NPYHeader(parsing: header)
        let body = Array(data[(headerStart + headerLength)...])
        let (n, overflow) = fields.shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
        }
        let (size, overflow2) = n.multipliedReportingOverflow(by: fields.elementType.size)
        guard !overflow, !overflow2, body.count >= size else {
            throw TallyError.invalidValue("Expected \(fields.shape) elements of \(fields.elementType) in the .npy data, but it holds \(body.count) bytes")
        }
        try self.init(elementType: fields.elementType, shape: fields.shape, bytes: Array(body[0..<size]))
    }

    /// Reads a `.npy` file.
    public init(contentsOf path: String) throws {
        try self.init(npyBytes: try readFile(path))
    }

    /// The `.npy` (version 1.0) encoding of this array.
    public func npyBytes() -> [UInt8] {
        let descr: String
        switch elementType {
        case .bool: descr = "|b1"
        case .uint8: descr = "|u1"
        case .int8: descr = "|i1"
        case .uint16: descr = "<u2"
        case .int16: descr = "<i2"
        case .uint32: descr = "<u4"
        case .int32: descr = "<i4"
        case .uint64: descr = "<u8"
        case .int64: descr = "<i8"
        case .float32: descr = "<f4"
        case .float64: descr = "<f8"
        }
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Version 1.0 stores the header length in 2 bytes; a longer header (a shape
        // of thousands of dimensions) needs 2.0 and 4 bytes, as numpy writes it.
        let version: UInt8 = 10 + header.utf8.count + 1 + 63 > 0xFFFF ? 2 : 1
        let preamble = version == 1 ? 10 : 12
        // Pad so that the data starts on a 64-byte boundary, ending in a newline.
        let unpadded = preamble + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        let length = header.utf8.count
        for i in 0..<(preamble - 8) { out.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
        out.append(contentsOf: header.utf8)
        out.append(contentsOf: bytes)
        return out
    }

    /// Writes this array as a `.npy` file.
    public func write(to path: String) throws {
        try writeFile(path, npyBytes())
    }

    /// Calls `body` with this array as a matrix: 2-D arrays as they are, 1-D as one column.
    public func withMatrixView<R>(_ body: (MatrixView) throws -> R) throws -> R {
        let rows: Int, columns: Int
        switch shape.count {
        case 1: (rows, columns) = (shape[0], 1)
        case 2: (rows, columns) = (shape[0], shape[1])
        default: throw TallyError.invalidValue("Expected a 1-D or 2-D array, but got \(shape.count)-D shape \(shape)")
        }
        return try bytes.withUnsafeBytes {
            try body(MatrixView(base: $0.baseAddress, elementType: elementType, rows: rows, columns: columns))
        }
    }

    /// The elements converted to float64.
    public func doubles() -> [Double] {
        bytes.withUnsafeBytes { raw -> [Double] in
            func convert<T>(_ t: T.Type, _ f: (T) -> Double) -> [Double] {
                let p = raw.bindMemory(to: T.self)
                return (0..<count).map { f(p[$0]) }
            }
            switch elementType {
            case .bool, .uint8: return convert(UInt8.self) { Double($0) }
            case .int8: return convert(Int8.self) { Double($0) }
            case .uint16: return convert(UInt16.self) { Double($0) }
            case .int16: return convert(Int16.self) { Double($0) }
            case .uint32: return convert(UInt32.self) { Double($0) }
            case .int32: return convert(Int32.self) { Double($0) }
            case .uint64: return convert(UInt64.self) { Double($0) }
            case .int64: return convert(Int64.self) { Double($0) }
            case .float32: return convert(Float.self) { Double($0) }
            case .float64: return convert(Double.self) { $0 }
            }
        }
    }
}

/// The three fields of a `.npy` header dictionary.
struct NPYHeader {
    let elementType: ElementType
    let shape: [Int]

    init(parsing header: String) throws {
        func value(of key: String) throws -> Substring {
            let text = Substring(header)
            guard let keyRange = text.firstRange(of: "'\(key)'") else {
                throw TallyError.invalidValue("Expected the .npy header to have '\(key)', but got \(header)")
            }
            var rest = text[keyRange.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { throw TallyError.invalidValue("Expected ':' after '\(key)' in the .npy header \(header)") }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        let descrValue = try value(of: "descr")
        guard descrValue.first == "'" || descrValue.first == "\"" else {
            throw TallyError.invalidType("Expected a simple dtype in the .npy header, but got \(descrValue.prefix(40))")
        }
        let quote = descrValue.first!
        let descr = descrValue.dropFirst().prefix { $0 != quote }
        switch descr {
        case "|b1": elementType = .bool
        case "|u1", "<u1": elementType = .uint8
        case "|i1", "<i1": elementType = .int8
        case "<u2": elementType = .uint16
        case "<i2": elementType = .int16
        case "<u4": elementType = .uint32
        case "<i4": elementType = .int32
        case "<u8": elementType = .uint64
        case "<i8": elementType = .int64
        case "<f4": elementType = .float32
        case "<f8": elementType = .float64
        default:
            throw TallyError.invalidType("Expected a .npy dtype of bool, (u)int8/16/32/64 or float32/64 in little-endian order, but got '\(descr)'")
        }
        let fortran = try value(of: "fortran_order")
        if fortran.hasPrefix("True") {
            throw TallyError.invalidValue("Expected a C-ordered .npy array, but got fortran_order True")
        }
        guard fortran.hasPrefix("False") else { throw TallyError.invalidValue("Expected fortran_order False in the .npy header \(header)") }
        let shapeValue = try value(of: "shape")
        guard shapeValue.first == "(", let close = shapeValue.firstIndex(of: ")") else {
            throw TallyError.invalidValue("Expected a shape tuple in the .npy header, but got \(shapeValue.prefix(40))")
        }
        var dims: [Int] = []
        for part in shapeValue[shapeValue.index(after: shapeValue.startIndex)..<close].split(separator: ",") {
            let digits = part.filter { $0 != " " && $0 != "L" }
            if digits.isEmpty { continue }
            guard let d = Int(digits), d >= 0 else {
                throw TallyError.invalidValue("Expected non-negative integer sizes in the .npy shape, but got \(part)")
            }
            dims.append(d)
        }
        shape = dims
    }
}

/// Reads a whole file with the C library (the core does not use Foundation).
func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        throw TallyError.invalidValue("Expected a readable file at \(path), but it could not be opened")
    }
    defer { fclose(file) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n > 0 { out.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count { break }
    }
    guard ferror(file) == 0 else { throw TallyError.invalidValue("Reading \(path) failed") }
    return out
}

/// Writes a whole file with the C library.
func writeFile(_ path: String, _ data: [UInt8]) throws {
    guard let file = fopen(path, "wb") else {
        throw TallyError.invalidValue("Expected a writable path at \(path), but it could not be opened")
    }
    defer { fclose(file) }
    let n = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    guard n == data.count else { throw TallyError.invalidValue("Writing \(path) failed after \(n) of \(data.count) bytes") }
}
