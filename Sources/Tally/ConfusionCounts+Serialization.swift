/// A flat little-endian byte form of the counts, for pickling, checkpoints and
/// sending partial states between processes. Restoring checks every field.
extension ConfusionCounts {
    static let magic: UInt64 = 0x3253_5443_594C_4C41 // "ALLYCTS2" little-endian tag, format 2
    /// Format 3: format 2 followed by the 2-D weight state (written only when there is one,
    /// so states without 2-D weights keep their format-2 bytes).
    static let elementWeightedMagic: UInt64 = 0x3353_5443_594C_4C41 // "ALLYCTS3"

    /// The counts as bytes; `ConfusionCounts(serialized:)` restores them exactly.
    public func serialized() -> [UInt8] {
        var words: [UInt64] = [isElementWeighted ? Self.elementWeightedMagic : Self.magic, UInt64(labelCount), isWeighted ? 1 : 0,
                               UInt64(bitPattern: rowCount), weightSum.bitPattern]
        words += thresholds.map(\.bitPattern)
        if isWeighted {
            words += weightedCounts.map(\.bitPattern)
        } else {
            words += integerCounts.map { UInt64(bitPattern: $0) }
        }
        let triples = sortedRowTriples
        words.append(UInt64(triples.count))
        for (key, tally) in triples {
            words += [UInt64(key.packed), UInt64(bitPattern: tally.rows), tally.weight.bitPattern]
        }
        if isElementWeighted {
            words.append(hasPartlyMaskedRows ? 1 : 0)
            words += labelWeightSums.map(\.bitPattern)
        }
        return littleEndianBytes(words)
    }

    /// Restores counts from `serialized()` bytes.
    public init(serialized bytes: [UInt8]) throws {
        var reader = try StateReader(bytes, source: "ConfusionCounts", headerWords: 5)
        let words = reader.words
        func fail(_ why: String) -> TallyError { reader.fail(why) }
        func take(_ n: Int) throws -> ArraySlice<UInt64> { try reader.take(n) }
        let elementWeighted = words[0] == Self.elementWeightedMagic
        guard words[0] == Self.magic || elementWeighted else { throw fail("the header does not match") }
        let labels = Int(truncatingIfNeeded: words[1])
        guard labels >= 1, labels <= RowKey.maximumLabelCount else { throw fail("the label count is \(labels)") }
        guard words[2] <= 1 else { throw fail("the weighted flag is \(words[2])") }
        let weighted = words[2] == 1
        let thresholds = try take(labels).map { Double(bitPattern: $0) }
        try self.init(labelCount: labels, threshold: .perLabel(thresholds))
        let counts = try take(ConfusionCounts.stride * labels)
        if weighted {
            weightedCounts = counts.map { Double(bitPattern: $0) }
        } else {
            integerCounts = counts.map { Int64(bitPattern: $0) }
            guard integerCounts.allSatisfy({ $0 >= 0 }) else { throw fail("a count is negative") }
        }
        rowCount = Int64(bitPattern: words[3])
        weightSum = Double(bitPattern: words[4])
        guard rowCount >= 0 else { throw fail("the row count is negative") }
        // Only states that updates can reach: merging anything else could wrap a
        // count around or give a negative tn.
        if !weighted {
            for j in 0..<labels {
                let i = ConfusionCounts.stride * j
                let (tp, predicted, actual) = (integerCounts[i], integerCounts[i + 1], integerCounts[i + 2])
                guard tp <= predicted, tp <= actual, predicted <= rowCount, actual <= rowCount,
                      predicted - tp <= rowCount - actual else {
                    throw fail("label \(j) has tp \(tp), predicted \(predicted), actual \(actual) in \(rowCount) rows")
                }
            }
        }
        let entries = Int(truncatingIfNeeded: try take(1).first!)
        guard entries >= 0, entries <= (words.count - reader.index) / 3 else { throw fail("the row histogram size is wrong") }
        var histogramRows: Int64 = 0, previousKey = -1
        for _ in 0..<entries {
            let e = try take(3)
            let key = RowKey(packed: Int(truncatingIfNeeded: e[e.startIndex]))
            // serialized() writes each triple once, in increasing key order, and
            // only keys that RowKey(tp:fp:fn:) makes (no stray high bits).
            guard key.packed > previousKey, key == RowKey(tp: key.tp, fp: key.fp, fn: key.fn) else {
                throw fail("the row triples are not distinct keys in increasing order")
            }
            previousKey = key.packed
            guard key.tp + key.fp + key.fn <= labels else { throw fail("a row triple exceeds the label count") }
            let rows = Int64(bitPattern: e[e.startIndex + 1])
            guard rows >= 1 else { throw fail("a row triple has \(rows) rows") }
            let (sum, overflow) = histogramRows.addingReportingOverflow(rows)
            guard !overflow, sum <= rowCount else { throw fail("the row triples hold more rows than the \(rowCount) counted") }
            histogramRows = sum
            rowHistogram.add(key, RowTally(rows: rows, weight: Double(bitPattern: e[e.startIndex + 2])))
        }
        guard histogramRows == rowCount else {
            throw fail("the row triples hold \(histogramRows) rows, but the counts \(rowCount)")
        }
        if elementWeighted {
            guard weighted else { throw fail("2-D weights without weighted counts") }
            let flag = try take(1).first!
            guard flag <= 1 else { throw fail("the masked-rows flag is \(flag)") }
            hasPartlyMaskedRows = flag == 1
            labelWeightSums = try take(labels).map { Double(bitPattern: $0) }
        }
        try reader.finish()
    }
}
