/// Rows grouped by their (tp, fp, fn): an open-addressing hash table, cheaper per
/// row than a Dictionary. Equality ignores the slot order.
public struct RowTable: Equatable, Sendable {
    private var keys: [Int] = []
    private var tallies: [RowTally] = []
    private var shift = 64
    /// Number of distinct triples.
    public private(set) var count = 0

    @inline(__always)
    mutating func add(_ key: RowKey, _ tally: RowTally) {
        if count &* 2 >= keys.count { grow() }
        let mask = keys.count &- 1
        var i = Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key.packed)) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
        while true {
            let k = keys[i]
            if k == key.packed { tallies[i].add(tally); return }
            if k == -1 {
                keys[i] = key.packed
                tallies[i] = tally
                count &+= 1
                return
            }
            i = (i &+ 1) & mask
        }
    }

    /// Adds one row of weight 1 for each packed key (`RowKey.packed`): the kernels' list,
    /// in one pass over the table's storage (no per-row uniqueness checks).
    mutating func addUnitRows(_ packed: UnsafePointer<Int64>, count n: Int) {
        var start = 0
        while start < n {
            // Room for a chunk of new triples at most, so a long list of few triples
            // does not grow the table.
            let chunk = min(n &- start, 256)
            reserve(chunk)
            let shift = UInt64(self.shift)
            var added = 0
            keys.withUnsafeMutableBufferPointer { keys in
                tallies.withUnsafeMutableBufferPointer { tallies in
                    let mask = keys.count &- 1
                    for r in start..<(start &+ chunk) {
                        let key = Int(packed[r])
                        var i = Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key)) &* 0x9E37_79B9_7F4A_7C15) >> shift)
                        while true {
                            let k = keys[i]
                            if k == key { tallies[i].rows &+= 1; tallies[i].weight += 1; break }
                            if k == -1 {
                                keys[i] = key
                                tallies[i] = RowTally(rows: 1, weight: 1)
                                added &+= 1
                                break
                            }
                            i = (i &+ 1) & mask
                        }
                    }
                }
            }
            count &+= added
            start &+= chunk
        }
    }

    mutating func merge(_ other: RowTable) {
        reserve(other.count)  // one resize, not one per doubling on the way
        other.forEach { add($0, $1) }
    }

    /// An empty table with room for `capacity` / 2 triples before it grows.
    init(capacity: Int = 0) {
        if capacity > 0 { resize(to: Self.powerOfTwo(atLeast: capacity)) }
    }

    private mutating func grow() { resize(to: max(64, keys.count * 2)) }

    /// The table's sizes: powers of two (the hash keeps the top bits), `n` ≥ 1.
    private static func powerOfTwo(atLeast n: Int) -> Int { 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount) }

    /// Room for `n` more triples in one resize (the size doubling would reach, without the
    /// steps between: each a fresh zeroed allocation and a rehash of the table so far).
    mutating func reserve(_ n: Int) {
        let needed = (count &+ n) &* 2 &+ 1
        guard needed > keys.count else { return }
        resize(to: max(64, Self.powerOfTwo(atLeast: needed)))
    }

    private mutating func resize(to capacity: Int) {
        let (oldKeys, oldTallies) = (keys, tallies)
        keys = [Int](repeating: -1, count: capacity)
        tallies = [RowTally](repeating: RowTally(), count: capacity)
        shift = 64 - capacity.trailingZeroBitCount
        count = 0
        for i in 0..<oldKeys.count where oldKeys[i] != -1 { add(RowKey(packed: oldKeys[i]), oldTallies[i]) }
    }

    func forEach(_ body: (RowKey, RowTally) -> Void) {
        for i in 0..<keys.count where keys[i] != -1 { body(RowKey(packed: keys[i]), tallies[i]) }
    }

    /// The entries in increasing key order (a fixed order, so sums do not depend on hashing).
    var sortedEntries: [(key: RowKey, tally: RowTally)] {
        zip(keys, tallies).filter { $0.0 != -1 }.sorted { $0.0 < $1.0 }.map { (key: RowKey(packed: $0.0), tally: $0.1) }
    }

    public static func == (a: RowTable, b: RowTable) -> Bool {
        a.count == b.count && a.sortedEntries.elementsEqual(b.sortedEntries) { $0.key == $1.key && $0.tally == $1.tally }
    }
}
