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
        return words.withUnsafeBytes { Array($0) }
    }

    /// Restores the sums from `serialized()` bytes.
    public init(serialized bytes: [UInt8]) throws {
        let fail = TallyError.invalidValue("Expected bytes from CalibrationSums.serialized(), but they do not parse")
        guard bytes.count % 8 == 0, bytes.count >= 40 else { throw fail }
        let words = bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / 8)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)) }
        }
        guard words[0] == Self.magic, words[1] >= 1, words[1] < 1 << 24, words[2] >= 1, words[2] <= 1 << 20, words[4] <= 1 else { throw fail }
        // Each sum takes at least one word: check the size before allocating anything.
        let (cells, o1) = words[1].multipliedReportingOverflow(by: words[2])
        guard !o1, cells <= UInt64(words.count), 5 + cells + 2 * words[1] + 3 * cells + 3 <= UInt64(words.count) else { throw fail }
        try self.init(labelCount: Int(words[1]), bins: Int(words[2]))
        rowCount = Int64(bitPattern: words[3])
        isWeighted = words[4] == 1
        var i = 5
        binCounts = words[i..<(i + labelCount * bins)].map { Int64(bitPattern: $0) }
        i += labelCount * bins
        func take(_ count: Int) throws -> [ExactSum] {
            try (0..<count).map { _ in
                guard i < words.count, words[i] <= 4096, UInt64(i + 1) + words[i] <= UInt64(words.count) else { throw fail }
                let n = Int(words[i])
                let partials = words[(i + 1)..<(i + 1 + n)].map { Double(bitPattern: $0) }
                i += 1 + n
                guard let sum = try? ExactSum(partials: partials), sum.value >= 0 else { throw fail }
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
        // Only states an update could reach: every row lands in one bin per label.
        guard i == words.count, rowCount >= 0, binCounts.allSatisfy({ $0 >= 0 }),
              (0..<labelCount).allSatisfy({ j in
                  var sum: Int64 = 0, overflow = false
                  for k in (j * bins)..<((j + 1) * bins) {
                      let (s, o) = sum.addingReportingOverflow(binCounts[k])
                      (sum, overflow) = (s, overflow || o)
                  }
                  return !overflow && sum == rowCount
              }) else { throw fail }
    }
}

extension CalibrationSums: ScoreAccumulator {}
