/// Unknown entries of `y_true`, realised as element weights of 0.
///
/// A multi-label data set often leaves some (row, label) entries unknown. Tally
/// scores each label on the rows where that label is known, which is exactly what
/// a 2-D (element-wise) sample weight of 0 means (see
/// `ConfusionCounts.update(truth:prediction:elementWeights:)`): a mask and a
/// weight are one concept, and every accumulator takes element weights.
///
/// An entry is unknown when it is nan, or equal to `ignoreValue` (for example
/// -1, as torchmetrics's `ignore_index`). `ignoreValue` may not be 0 or 1, the
/// labels themselves. Marking is opt-in: without a `MissingLabels`, nan in
/// `y_true` is refused as before, so that a nan that arrives by accident never
/// shrinks the rows a label is scored on without anyone noticing.
///
///     let missing = try MissingLabels(ignoreValue: -1)
///     let w = try missing.elementWeights(truth: yTrue)   // nil: nothing unknown
///     if let w { try w.withMatrixView(rows: r, columns: c) { try counts.update(truth: yTrue, prediction: yScore, elementWeights: $0) } }
public struct MissingLabels: Equatable, Sendable {
    /// The value that marks an unknown entry (nan: only nan marks one).
    public let ignoreValue: Double

    /// - Parameter ignoreValue: any number but 0 and 1; nan means nan only.
    public init(ignoreValue: Double = .nan) throws {
        guard ignoreValue != 0 && ignoreValue != 1 else {
            throw TallyError.invalidValue("Expected `ignore_value` to differ from the labels 0 and 1, but got \(pythonRepr(ignoreValue))")
        }
        self.ignoreValue = ignoreValue
    }

    /// Whether a truth value marks an unknown entry.
    @inline(__always) func isUnknown(_ x: Double) -> Bool { x.isNaN || x == ignoreValue }

    /// The element weights that score `truth` on its known entries: the given weight
    /// (1, the row's `sampleWeight`, or the element's `elementWeights`) where the entry
    /// is known, 0 where it is unknown; row-major, `truth.rows × truth.columns`.
    ///
    /// Returns nil when no entry is unknown and no element weights were given: the
    /// caller then takes the unmasked path, so a fully known batch gives the unmasked
    /// result exactly. Values other than 0, 1 and the marks are left for the
    /// accumulator to refuse with its own message.
    /// - Parameters:
    ///   - sampleWeight: one weight per row, or nil.
    ///   - elementWeights: a float64 (rows × columns) weight per element, or nil.
    /// - Complexity: O(rows × columns).
    public func elementWeights(truth: MatrixView, sampleWeight: UnsafeBufferPointer<Double>? = nil,
                               elementWeights: MatrixView? = nil) throws -> [Double]? {
        let (rows, n) = (truth.rows, truth.columns)
        if let w = sampleWeight, w.count != rows {
            throw TallyError.invalidValue("Expected `sample_weight` to have \(rows) values (one per row), but got \(w.count)")
        }
        if let e = elementWeights {
            guard e.elementType == .float64 else {
                throw TallyError.invalidType("Expected `sample_weight` to have dtype float64, but got \(e.elementType.rawValue)")
            }
            guard e.rows == rows, e.columns == n else {
                throw TallyError.invalidValue(
                    "Expected a 2-D `sample_weight` to have shape (\(rows), \(n)) like `y_true`, but got (\(e.rows), \(e.columns))")
            }
        }
        var unknown = [Bool](repeating: false, count: rows * n)
        var anyUnknown = false
        if truth.elementType.isFloatingPoint || !(ignoreValue.isNaN || ignoreValue != ignoreValue.rounded()) {
            // Integer dtypes hold no nan, and no fractional mark: skip the read then.
            var chunk = [Double](repeating: 0, count: min(rows, max(1, 65_536 / max(n, 1))) * n)
            let chunkRows = max(1, chunk.count / max(n, 1))
            for first in stride(from: 0, to: rows, by: chunkRows) {
                let count = min(chunkRows, rows - first)
                readDoubles(truth, fromRow: first, rows: count, into: &chunk)
                for i in 0..<(count * n) where isUnknown(chunk[i]) {
                    unknown[first * n + i] = true
                    anyUnknown = true
                }
            }
        }
        guard anyUnknown || elementWeights != nil else { return nil }
        var out = [Double](repeating: 0, count: rows * n)
        let given = elementWeights.map {
            UnsafeBufferPointer(start: $0.base?.assumingMemoryBound(to: Double.self), count: rows * n)
        }
        for r in 0..<rows {
            let rowWeight = sampleWeight?[r] ?? 1
            for j in 0..<n {
                let i = r &* n &+ j
                out[i] = unknown[i] ? 0 : (given?[i] ?? rowWeight)
            }
        }
        return out
    }
}
