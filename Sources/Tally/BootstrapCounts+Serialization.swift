/// A flat little-endian byte form of the replicates (pickling, checkpoints,
/// sending partial states between processes). Row triples are written in key
/// order, so equal states give equal bytes. Restoring checks every field.
extension BootstrapCounts {
    static let magic: UInt64 = 0x3153_5442_594C_4C41 // "ALLYBTS1" little-endian tag, format 1
    /// Format 2: format 1 followed by the 2-D weight state (only when there is one).
    static let elementWeightedMagic: UInt64 = 0x3253_5442_594C_4C41 // "ALLYBTS2"

    /// The replicates as bytes; `BootstrapCounts(serialized:)` restores them exactly.
    public func serialized() -> [UInt8] {
        var words: [UInt64] = [isElementWeighted ? Self.elementWeightedMagic : Self.magic, UInt64(labelCount), UInt64(replicates), seed, UInt64(bitPattern: rowCount)]
        words += thresholds.map(\.bitPattern)
        words += counts.map(\.bitPattern)
        words += totals.map(\.bitPattern)
        let rows = sortedRows
        words.append(UInt64(rows.count))
        for (key, weights) in rows {
            words.append(UInt64(key.packed))
            words += weights.map(\.bitPattern)
        }
        if isElementWeighted {
            words.append(hasPartlyMaskedRows ? 1 : 0)
            words += labelWeightSums.map(\.bitPattern)
        }
        return littleEndianBytes(words)
    }

    /// Restores replicates from `serialized()` bytes.
    public init(serialized bytes: [UInt8]) throws {
        var reader = try StateReader(bytes, source: "BootstrapCounts", headerWords: 5)
        let words = reader.words
        func fail(_ why: String) -> TallyError { reader.fail(why) }
        func take(_ n: Int) throws -> ArraySlice<UInt64> { try reader.take(n) }
        let elementWeighted = words[0] == Self.elementWeightedMagic
        guard words[0] == Self.magic || elementWeighted else { throw fail("the header does not match") }
        let labels = Int(truncatingIfNeeded: words[1]), replicates = Int(truncatingIfNeeded: words[2])
        guard labels >= 1, labels <= RowKey.maximumLabelCount else { throw fail("the label count is \(labels)") }
        guard replicates >= 1, replicates <= 1_000_000 else { throw fail("the replicate count is \(replicates)") }
        let rowCount = Int64(bitPattern: words[4])
        guard rowCount >= 0 else { throw fail("the row count is negative") }
        // The fixed part must be there before anything is allocated for it (a corrupt
        // count could otherwise ask for terabytes).
        let (sums, overflow) = (3 * labels).multipliedReportingOverflow(by: replicates)
        guard !overflow, sums <= words.count, sums + labels + replicates + 1 <= words.count - reader.index else {
            throw fail("it ends early")
        }
        let thresholds = try take(labels).map { Double(bitPattern: $0) }
        try self.init(labelCount: labels, replicates: replicates, seed: words[3], threshold: .perLabel(thresholds))
        self.rowCount = rowCount
        counts = try take(3 * labels * replicates).map { Double(bitPattern: $0) }
        totals = try take(replicates).map { Double(bitPattern: $0) }
        let entries = Int(truncatingIfNeeded: try take(1).first!)
        guard entries >= 0, entries <= (words.count - reader.index) / (replicates + 1) else {
            throw fail("the row triple count is wrong")
        }
        var previous = -1
        for _ in 0..<entries {
            let packed = Int(truncatingIfNeeded: try take(1).first!)
            let key = RowKey(packed: packed)
            guard packed > previous, key == RowKey(tp: key.tp, fp: key.fp, fn: key.fn),
                  key.tp + key.fp + key.fn <= labels else {
                throw fail("the row triples are not distinct valid keys in increasing order")
            }
            previous = packed
            _ = rowSlot(key)
            rowWeights.replaceSubrange((rowWeights.count - replicates)..., with: try take(replicates).map { Double(bitPattern: $0) })
        }
        if elementWeighted {
            let flag = try take(1).first!
            guard flag <= 1 else { throw fail("the masked-rows flag is \(flag)") }
            hasPartlyMaskedRows = flag == 1
            labelWeightSums = try take(labels * replicates).map { Double(bitPattern: $0) }
        }
        try reader.finish()
    }
}
