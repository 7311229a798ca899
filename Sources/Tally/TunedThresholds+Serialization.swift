extension TunedThresholds {
    /// The result as one JSON object, numbers as Python's `json.dumps` writes
    /// them (shortest round-trip, `Infinity` and `NaN` for the non-finite):
    ///
    ///     {"objective": "f1", "beta": 1.0, "tie_rule": "highest",
    ///      "thresholds": [0.62, Infinity], "values": [0.8, NaN], "precision": […],
    ///      "recall": […], "support": […], "predicted": […], "undefined": [1]}
    ///
    /// Binned results add "lower_bound" and "upper_bound". `init(json:)` reads it back.
    public func json() -> String {
        func list(_ v: [Double]) -> String { "[" + v.map(jsonNumber).joined(separator: ", ") + "]" }
        var fields = ["\"objective\": \"\(objective.name)\""]
        if let p = objective.parameter { fields.append("\"\(p.name)\": \(jsonNumber(p.value))") }
        fields.append("\"tie_rule\": \"highest\"")
        for (name, v) in [("thresholds", thresholds), ("values", values), ("precision", precision),
                          ("recall", recall), ("support", support), ("predicted", predicted)] {
            fields.append("\"\(name)\": \(list(v))")
        }
        fields.append("\"undefined\": [" + undefined.map(String.init).joined(separator: ", ") + "]")
        if let lowerBound, let upperBound {
            fields.append("\"lower_bound\": \(list(lowerBound))")
            fields.append("\"upper_bound\": \(list(upperBound))")
        }
        return "{" + fields.joined(separator: ", ") + "}\n"
    }

    /// Reads `json()`'s text back.
    /// - Throws: `TallyError.invalidValue` naming the first field that is missing or malformed.
    public init(json text: String) throws {
        guard case .object(let fields) = try JSONValue(parsing: text) else {
            throw TallyError.invalidValue("Expected tuned thresholds as a JSON object, but got another JSON value")
        }
        func field(_ name: String) throws -> JSONValue {
            guard let v = fields[name] else { throw TallyError.invalidValue("Expected a \"\(name)\" field in the tuned thresholds, but it is missing") }
            return v
        }
        func numbers(_ name: String) throws -> [Double] {
            guard case .array(let items) = try field(name) else { throw TallyError.invalidValue("Expected \"\(name)\" to be a list of numbers") }
            return try items.map {
                guard case .number(let x) = $0 else { throw TallyError.invalidValue("Expected \"\(name)\" to be a list of numbers") }
                return x
            }
        }
        guard case .string(let name) = try field("objective") else { throw TallyError.invalidValue("Expected \"objective\" to be a string") }
        func parameter(_ key: String) -> Double? { if case .number(let x)? = fields[key] { return x } else { return nil } }
        let objective = try ThresholdObjective(parsing: name, beta: parameter("beta"), minPrecision: parameter("min_precision"),
                                               minRecall: parameter("min_recall"), rate: parameter("rate"))
        let thresholds = try numbers("thresholds")
        self.init(objective: objective, labelCount: thresholds.count)
        self.thresholds = thresholds
        values = try numbers("values"); precision = try numbers("precision"); recall = try numbers("recall")
        support = try numbers("support"); predicted = try numbers("predicted")
        undefined = try numbers("undefined").map { x in
            guard x >= 0, x < Double(thresholds.count), x == x.rounded() else {
                throw TallyError.invalidValue("Expected \"undefined\" to list label indices in [0, \(thresholds.count)), but got \(pythonRepr(x))")
            }
            return Int(x)
        }
        if fields["lower_bound"] != nil { lowerBound = try numbers("lower_bound"); upperBound = try numbers("upper_bound") }
        for (name, v) in [("values", values), ("precision", precision), ("recall", recall), ("support", support),
                          ("predicted", predicted), ("lower_bound", lowerBound ?? thresholds), ("upper_bound", upperBound ?? thresholds)]
        where v.count != thresholds.count {
            throw TallyError.invalidValue("Expected \"\(name)\" to have \(thresholds.count) values (one per label), but got \(v.count)")
        }
        if let i = thresholds.firstIndex(where: \.isNaN) {
            throw TallyError.invalidValue("Expected \"thresholds\" to hold numbers, but got NaN for label \(i)")
        }
    }

    /// The thresholds alone as a float64 `.npy` array of shape (labels,), the form
    /// `tally report --thresholds` and `np.load` read.
    public func npyBytes() -> [UInt8] {
        try! NPYArray(thresholds, shape: [thresholds.count]).npyBytes()
    }
}

extension TunedThresholds {
    /// Writes the whole result as JSON to a `.json` path, or the thresholds alone to a `.npy` path.
    public func write(to path: String) throws {
        if path.hasSuffix(".json") { try writeFile(path, Array(json().utf8)) }
        else if path.hasSuffix(".npy") { try writeFile(path, npyBytes()) }
        else { throw TallyError.invalidValue("Expected a path ending in .json or .npy, but got '\(path)'") }
    }

    /// Reads a result written as JSON.
    public init(contentsOf path: String) throws {
        try self.init(json: String(decoding: try readFile(path), as: UTF8.self))
    }

    /// One threshold per label from a `.json` result or a float `.npy` array (what
    /// `tally report --thresholds` reads).
    public static func thresholds(contentsOf path: String) throws -> [Double] {
        if path.hasSuffix(".json") { return try TunedThresholds(contentsOf: path).thresholds }
        return try NPYArray(contentsOf: path).doubles()
    }
}

/// A float64 as Python's `json.dumps` writes it.
func jsonNumber(_ x: Double) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x < 0 ? "-Infinity" : "Infinity" }
    return pythonRepr(x)
}

/// A parsed JSON value (with Python's `Infinity`, `-Infinity` and `NaN`).
indirect enum JSONValue: Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(parsing text: String) throws {
        var p = JSONParser(bytes: Array(text.utf8))
        self = try p.value()
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.failure("the end of the text") }
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    func failure(_ expected: String) -> TallyError {
        .invalidValue("Expected \(expected) in the JSON text at byte \(i), but got \(i < bytes.count ? "'\(Character(Unicode.Scalar(bytes[i])))'" : "its end")")
    }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
    }

    mutating func literal(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { return false }
        i += w.count
        return true
    }

    mutating func value() throws -> JSONValue {
        skipSpace()
        guard i < bytes.count else { throw failure("a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var fields: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
            while true {
                skipSpace()
                guard case .string(let key) = try value() else { throw failure("a string key") }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw failure("':'") }
                i += 1
                fields[key] = try value()
                skipSpace()
                guard i < bytes.count else { throw failure("',' or '}'") }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
                guard bytes[i] == UInt8(ascii: ",") else { throw failure("',' or '}'") }
                i += 1
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value())
                skipSpace()
                guard i < bytes.count else { throw failure("',' or ']'") }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                guard bytes[i] == UInt8(ascii: ",") else { throw failure("',' or ']'") }
                i += 1
            }
        case UInt8(ascii: "\""):
            i += 1
            var scalars: [UInt8] = []
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") {
                    i += 1
                    guard i < bytes.count else { throw failure("an escaped character") }
                    switch bytes[i] {
                    case UInt8(ascii: "n"): scalars.append(0x0A)
                    case UInt8(ascii: "t"): scalars.append(0x09)
                    case UInt8(ascii: "r"): scalars.append(0x0D)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(bytes[i])
                    default: throw failure("one of the escapes \\n \\t \\r \\\" \\\\ \\/")
                    }
                } else {
                    scalars.append(bytes[i])
                }
                i += 1
            }
            guard i < bytes.count else { throw failure("a closing '\"'") }
            i += 1
            return .string(String(decoding: scalars, as: UTF8.self))
        default:
            if literal("true") { return .bool(true) }
            if literal("false") { return .bool(false) }
            if literal("null") { return .null }
            if literal("NaN") { return .number(.nan) }
            if literal("Infinity") { return .number(.infinity) }
            if literal("-Infinity") { return .number(-.infinity) }
            let start = i
            while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            guard i > start, let x = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else {
                i = start
                throw failure("a value")
            }
            return .number(x)
        }
    }
}
