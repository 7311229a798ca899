/// A sum of doubles kept exactly, as non-overlapping partials (Shewchuk's
/// algorithm, the one behind Python's `math.fsum`). `value` is the exact sum
/// rounded once, so it does not depend on the order of the additions: batches,
/// threads and merges in any order give the same bits.
///
///     var s = ExactSum()
///     for x in [1e16, 1, -1e16] { s.add(x) }
///     s.value   // 1.0 (a float64 running sum gives 0.0)
///
/// Calibration sums use it so that a streamed Brier score, log loss or bin mean is
/// one number whatever the batching, within the rounding of scikit-learn's own
/// (pairwise) sums of the same terms.
public struct ExactSum: Equatable, Sendable {
    /// Non-overlapping, increasing in magnitude; their exact sum is the value.
    public private(set) var partials: [Double] = []

    public init() {}

    /// Restores a sum from its partials (serialized states).
    /// - Throws: when a partial is not finite.
    public init(partials: [Double]) throws {
        guard partials.allSatisfy(\.isFinite) else {
            throw TallyError.invalidValue("Expected finite partial sums, but got \(partials)")
        }
        self.partials = []
        for p in partials { add(p) }
    }

    public mutating func add(_ x: Double) {
        var count = partials.count
        partials.append(0)
        partials.withUnsafeMutableBufferPointer { p in exactAdd(x, into: p.baseAddress!, count: &count) }
        partials.removeLast(partials.count - count)
    }

    public mutating func add(_ other: ExactSum) {
        for x in other.partials { add(x) }
    }

    /// The exact sum, rounded to nearest (ties to even) once.
    public var value: Double {
        partials.withUnsafeBufferPointer { roundedSum($0.baseAddress, count: $0.count) }
    }

    /// Whether the exact sum is 0.
    public var isZero: Bool { partials.allSatisfy { $0 == 0 } }
}

/// Adds `x` to the `count` partials at `p` (which has room for `count + 1`).
/// Two-sum of each partial with the running value; the zero remainders drop out.
@inline(__always) func exactAdd(_ x: Double, into p: UnsafeMutablePointer<Double>, count: inout Int) {
    var x = x, kept = 0
    for i in 0..<count {
        var y = p[i]
        if abs(x) < abs(y) { swap(&x, &y) }
        let hi = x + y
        let lo = y - (hi - x)
        if lo != 0 { p[kept] = lo; kept &+= 1 }
        x = hi
    }
    p[kept] = x
    count = kept &+ 1
}

/// The exact sum of the partials rounded once (the last step of `math.fsum`).
func roundedSum(_ p: UnsafePointer<Double>?, count: Int) -> Double {
    guard let p, count > 0 else { return 0 }
    var n = count - 1
    var hi = p[n], lo = 0.0
    while n > 0 {
        let x = hi
        n -= 1
        let y = p[n]
        hi = x + y
        lo = y - (hi - x)
        if lo != 0 { break }
    }
    // Round half to even correctly: the partials below may tip a tie.
    if n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0)) {
        let y = lo * 2
        let x = hi + y
        if y == x - hi { hi = x }
    }
    return hi
}

/// Many exact sums filled in one pass over a batch, in scratch memory that the hot
/// loop reaches through one pointer; `flush` adds them to stored `ExactSum`s. A slot
/// whose partials fill its room spills into the stored sum early, so any input is exact.
/// The one small handle over raw memory in the calibration code: it asserts its
/// bounds in debug builds.
final class ExactSumScratch {
    static let room = 32
    let slots: Int
    private let partials: UnsafeMutablePointer<Double>
    private let counts: UnsafeMutablePointer<Int>

    init(slots: Int) {
        self.slots = slots
        // Partials are read only below each slot's count: only the counts need zeroing.
        partials = .allocate(capacity: max(1, slots * Self.room))
        counts = .allocate(capacity: max(1, slots))
        counts.initialize(repeating: 0, count: max(1, slots))
    }

    deinit {
        partials.deallocate()
        counts.deallocate()
    }

    /// Adds `x` to slot `slot`; a full slot first spills into `sums[slot]`.
    @inline(__always) func add(_ slot: Int, _ x: Double, spill sums: inout [ExactSum]) {
        assert(slot >= 0 && slot < slots, "slot \(slot) outside 0..<\(slots)")
        let start = partials + slot &* Self.room
        if counts[slot] == Self.room - 1 {
            // Rare: sums of non-negative terms keep one to three partials.
            for i in 0..<counts[slot] { sums[slot].add(start[i]) }
            counts[slot] = 0
        }
        exactAdd(x, into: start, count: &counts[slot])
    }

    /// Adds every slot into `sums[slot]` and clears the scratch.
    func flush(into sums: inout [ExactSum]) {
        assert(sums.count >= slots, "\(sums.count) sums for \(slots) slots")
        for slot in 0..<slots where counts[slot] > 0 {
            let start = partials + slot &* Self.room
            for i in 0..<counts[slot] where start[i] != 0 { sums[slot].add(start[i]) }
            counts[slot] = 0
        }
    }
}
