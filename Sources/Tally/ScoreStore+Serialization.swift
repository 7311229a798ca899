/// A flat little-endian byte form of the score store (pickle, checkpoints,
/// partial states sent between processes). Restoring checks every size.
extension ScoreStore {
    static let magic: UInt64 = 0x3153_4552_4F43_5354 // "TSCORES1"

    /// The store as bytes; `ScoreStore(serialized:)` restores it exactly.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(40 + memoryBytes)
        func put<T>(_ values: [T]) { values.withUnsafeBytes { out.append(contentsOf: $0) } }
        // Weighting: 0 none, 1 row weights, 2 row weights then element weights (label by label).
        put([Self.magic, UInt64(labelCount), UInt64(rowCount), isWide ? 1 : 0, isElementWeighted ? 2 : (isWeighted ? 1 : 0)] as [UInt64])
        for j in 0..<labelCount {
            if isWide { put(wideKeys[j]) } else { put(narrowKeys[j]) }
            put(truthBits[j])
        }
        put(weights)
        for w in cellWeights { put(w) }
        return out
    }

    /// Restores a store from `serialized()` bytes.
    public init(serialized bytes: [UInt8]) throws {
        let fail = TallyError.invalidValue("Expected bytes from ScoreStore.serialized(), but they do not parse")
        var offset = 0
        func take<T: FixedWidthInteger>(_ count: Int, as: T.Type) throws -> [T] {
            let size = count * MemoryLayout<T>.size
            guard count >= 0, offset + size <= bytes.count else { throw fail }
            defer { offset += size }
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: offset + $0 * MemoryLayout<T>.size, as: T.self)) }
            }
        }
        let header = try take(5, as: UInt64.self)
        guard header[0] == Self.magic, header[1] >= 1, header[1] < 1 << 31, header[2] < UInt64(UInt32.max),
              header[3] <= 1, header[4] <= 2 else { throw fail }
        let rows = Int(header[2])
        let wide = header[3] == 1, weighted = header[4] >= 1, elementWeighted = header[4] == 2
        // The size the header implies, checked before allocating anything: a short
        // header must not ask for gigabytes. An empty store of more than 2^24
        // labels is refused too (its bytes say nothing about its size).
        let perLabel = rows * (wide ? 8 : 4) + (rows + 63) / 64 * 8
        let (labelBytes, overflow) = Int(header[1]).multipliedReportingOverflow(by: perLabel)
        let (cellBytes, cellOverflow) = Int(header[1]).multipliedReportingOverflow(by: elementWeighted ? 8 * rows : 0)
        guard !overflow, !cellOverflow, labelBytes <= bytes.count, cellBytes <= bytes.count,
              40 + labelBytes + (weighted ? 8 * rows : 0) + cellBytes == bytes.count,
              rows > 0 || header[1] <= 1 << 24,
              // An empty store has no weights (`isWeighted` is "weights not empty"), so
              // `serialized()` never writes a weighting for one. Restored, such a state
              // was element-weighted with no row weights, and its next update trapped.
              rows > 0 || header[4] == 0 else { throw fail }
        try self.init(labelCount: Int(header[1]))
        if wide { isWide = true; wideKeys = Array(repeating: [], count: labelCount) }
        for j in 0..<labelCount {
            if wide { wideKeys[j] = try take(rows, as: UInt64.self) } else { narrowKeys[j] = try take(rows, as: UInt32.self) }
            truthBits[j] = try take((rows + 63) / 64, as: UInt64.self)
        }
        if weighted {
            weights = try take(rows, as: UInt64.self).map { Double(bitPattern: $0) }
            guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw fail }
        }
        if elementWeighted {
            cellWeights = try (0..<labelCount).map { _ in try take(rows, as: UInt64.self).map { Double(bitPattern: $0) } }
            guard cellWeights.allSatisfy({ $0.allSatisfy { $0.isFinite && $0 >= 0 } }) else { throw fail }
        }
        guard offset == bytes.count else { throw fail }
        rowCount = rows
    }
}
