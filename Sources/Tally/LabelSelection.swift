/// Checks a selection of labels (column indices, as scikit-learn's `labels=` for
/// multi-label targets) and returns it, or every label in order when nil: the one
/// rule behind every `labels:` argument of the counts and the score store.
///
///     try selectLabels([2, 0], labelCount: 3)   // [2, 0]
///     try selectLabels(nil, labelCount: 2)      // [0, 1]
///
/// - Throws: `TallyError.invalidValue` for an empty selection or an index outside
///   [0, labelCount), with scikit-learn's message ("All labels must be in [0, n labels)
///   for multilabel targets. Got 3 > 2").
public func selectLabels(_ labels: [Int]?, labelCount: Int) throws -> [Int] {
    guard let labels else { return Array(0..<labelCount) }
    guard !labels.isEmpty else { throw TallyError.invalidValue("Expected `labels` to name at least one label, but got none") }
    if let high = labels.max(), high >= labelCount {
        throw TallyError.invalidValue("All labels must be in [0, n labels) for multilabel targets. Got \(high) > \(labelCount - 1)")
    }
    if let low = labels.min(), low < 0 {
        throw TallyError.invalidValue("All labels must be in [0, n labels) for multilabel targets. Got \(low) < 0")
    }
    return labels
}
