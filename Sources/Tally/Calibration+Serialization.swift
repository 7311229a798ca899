/// A flat little-endian byte form of the calibration sums (pickle, checkpoints,
/// partial states sent between processes). Restoring checks every size and
/// refuses states no update could reach.
extension CalibrationSums {
    static let magic: UInt64 = 0x3142_494C_4143_5354 // "TSCALIB1"

    /// The sums in the order they are written.
    var allSums: [ExactSum] {
        brierSums + logLossSums + binWeights + binScores + binPositives + [rowWeight, rowBrier, rowLogLoss]
    }

    /// The state as bytes; `CalibrationSums(serialized:)` restores it exactly.
    public func serialized() -> [UInt8] {
        var words: [UInt64] = [Self.magic, UInt64(labelCount), UInt64(bins), UInt64(bitPattern: rowCount), isWeighted ? 1 : 0]
        words += binCounts.map { UInt64(bitPattern: $0) }
        for s in allSums { words.append(UInt64(s.partials.count)); words += s.partials.map(\.bitPattern) }
        return littleEndianBytes(words)
    }

    /// Restores the sums from `serialized()` bytes.
    public init(serialized bytes: [UInt8]) throws {
        var reader = try StateReader(bytes, source: "CalibrationSums", headerWords: 5)
        let h = reader.words
        guard h[0] == Self.magic, h[1] >= 1, h[1] < 1 << 24, h[2] >= 1, h[2] <= 1 << 20, h[4] <= 1 else {
            throw reader.fail("its header does not parse")
        }
        // Each sum takes at least one word: check the size before allocating anything.
        let (cells, o1) = h[1].multipliedReportingOverflow(by: h[2])
        guard !o1, cells <= 1 << 22, 5 + 4 * cells + 2 * h[1] + 3 <= UInt64(h.count) else {
            throw reader.fail("it is shorter than its header says")
        }
        try self.init(labelCount: Int(h[1]), bins: Int(h[2]))
        rowCount = Int64(bitPattern: h[3])
        isWeighted = h[4] == 1
        binCounts = try reader.take(labelCount * bins).map { Int64(bitPattern: $0) }
        func take(_ count: Int) throws -> [ExactSum] {
            try (0..<count).map { _ in
                let n = try reader.take(1).first!
                guard n <= 4096 else { throw reader.fail("a sum has \(n) partials") }
                let partials = try reader.take(Int(n)).map { Double(bitPattern: $0) }
                guard let sum = try? ExactSum(partials: partials), sum.value >= 0 else {
                    throw reader.fail("a sum is negative or not finite")
                }
                return sum
            }
        }
        brierSums = try take(labelCount)
        logLossSums = try take(labelCount)
        binWeights = try take(labelCount * bins)
        binScores = try take(labelCount * bins)
        binPositives = try take(labelCount * bins)
        let rows = try take(3)
        (rowWeight, rowBrier, rowLogLoss) = (rows[0], rows[1], rows[2])
        try reader.finish()
        // Only states an update could reach: every row lands in one bin per label.
        guard rowCount >= 0, binCounts.allSatisfy({ $0 >= 0 }),
              (0..<labelCount).allSatisfy({ j in
                  var sum: Int64 = 0, overflow = false
                  for k in (j * bins)..<((j + 1) * bins) {
                      let (s, o) = sum.addingReportingOverflow(binCounts[k])
                      (sum, overflow) = (s, overflow || o)
                  }
                  // Element weights leave unknown entries uncounted: a label then counts at most every row.
                  return !overflow && (isWeighted ? sum <= rowCount : sum == rowCount)
              }) else { throw reader.fail("its bin counts do not add up to its rows") }
    }
}

extension CalibrationSums: ElementWeightedScoreAccumulator {}
