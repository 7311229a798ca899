/// A per-label table of logged values: one row per label, one column per metric,
/// numbers right-aligned with `digits` decimals (`formatFixed`, so Swift and
/// Python print the same), the label column right-aligned as in
/// `ClassificationReport`. What a progress callback prints every few epochs
/// instead of one scalar per label in its progress line:
///
///            precision  recall    f1
///       cat       0.50    1.00  0.67
///      newt        nan    0.00  0.00
///
/// - Parameters:
///   - columns: the metric names (headers).
///   - labels: the label names (rows).
///   - values: row-major, `labels.count × columns.count`.
///   - labelHeader: the label column's header (default none, as `ClassificationReport`).
/// - Throws: `TallyError.invalidValue` when the sizes disagree or `digits` is outside 0...15.
public func labelTable(columns: [String], labels: [String], values: [Double], digits: Int = 2,
                       labelHeader: String = "") throws -> String {
    guard (0...15).contains(digits) else {
        throw TallyError.invalidValue("Expected `digits` to be between 0 and 15, but got \(digits)")
    }
    guard values.count == columns.count * labels.count else {
        throw TallyError.invalidValue("Expected \(labels.count) × \(columns.count) values (labels × columns), but got \(values.count)")
    }
    let cells = (0..<labels.count).map { r in
        [labels[r]] + (0..<columns.count).map { c in formatFixed(values[r * columns.count + c], digits: digits) }
    }
    let headers = [labelHeader] + columns
    let widths = headers.indices.map { c in cells.reduce(headers[c].count) { max($0, $1[c].count) } }
    func line(_ row: [String]) -> String {
        row.indices.map { c in String(repeating: " ", count: widths[c] - row[c].count) + row[c] }
            .joined(separator: "  ") + "\n"
    }
    return line(headers) + cells.map(line).joined()
}
