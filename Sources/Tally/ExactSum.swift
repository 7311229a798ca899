#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// Many exact sums of doubles filled in one pass over a batch, in fixed point: each
/// slot is an integer count of 2^-160 held as eight 32-bit digits in 64-bit words, so
/// an addition is three integer additions with no carry (the 32 spare bits of each
/// word take 2^31 additions before `normalize` must run). A double in [2^-108, 2^63)
/// lies on that grid and is added exactly; any other (tiny, huge, negative) goes to
/// the stored `ExactSum` at once, also exactly. `flush` adds each slot's total to its
/// `ExactSum` as at most eight exact doubles: the value, the exact sum rounded once,
/// is the one Shewchuk's partials give, at a fraction of their cost per addition (the
/// calibration sums' hot loop: 3× faster than adding each term to a slot's partials).
final class FixedSumScratch {
    static let digits = 8
    let slots: Int
    private let words: UnsafeMutablePointer<UInt64>
    private var additions = 0
    /// Additions between two carry passes: each adds < 2^32 to a word of 2^64, so at most
    /// 2^31 (smaller in tests, to exercise the pass).
    private let carryInterval: Int

    init(slots: Int, carryInterval: Int = 1 << 31) {
        precondition(carryInterval >= 1 && carryInterval <= 1 << 31, "carryInterval \(carryInterval) outside 1...2^31")
        self.carryInterval = carryInterval
        self.slots = slots
        // Zeroed by calloc: a large scratch (many bins) maps zero pages lazily, so an update
        // pays only for the slots it touches.
        guard let raw = calloc(max(1, slots) * Self.digits, MemoryLayout<UInt64>.stride) else {
            fatalError("FixedSumScratch: out of memory for \(slots) slots")
        }
        words = raw.bindMemory(to: UInt64.self, capacity: max(1, slots) * Self.digits)
    }

    deinit { free(words) }

    /// Adds `x` to slot `slot`; a value off the grid goes straight into `sums[slot]`.
    @inline(__always) func add(_ slot: Int, _ x: Double, spill sums: inout [ExactSum]) {
        assert(slot >= 0 && slot < slots, "slot \(slot) outside 0..<\(slots)")
        let bits = x.bitPattern
        let biased = Int(truncatingIfNeeded: bits >> 52)  // sign bit included: negative values fail the range
        guard biased >= 1023 - 108 && biased < 1023 + 63 else {
            if x != 0 { sums[slot].add(x) }
            return
        }
        let mantissa = (bits & 0x000F_FFFF_FFFF_FFFF) | 0x0010_0000_0000_0000
        // The mantissa's lowest bit sits at 2^(biased - 1075), i.e. `shift` steps of 2^-160 (0 ... 170).
        let shift = biased &- 1075 &+ 160
        let r = UInt64(truncatingIfNeeded: shift & 31)
        let low = mantissa &<< r, high = r == 0 ? 0 : mantissa &>> (64 &- r)
        let w = words + (slot &* Self.digits &+ shift &>> 5)
        w[0] &+= low & 0xFFFF_FFFF
        w[1] &+= low &>> 32
        w[2] &+= high
        additions &+= 1
        if additions == carryInterval { normalize() }
    }

    /// Propagates every slot's carries, so each word holds one 32-bit digit again.
    private func normalize() {
        for slot in 0..<slots { carry(slot) }
        additions = 0
    }

    @inline(__always) private func carry(_ slot: Int) {
        let w = words + slot &* Self.digits
        var carry: UInt64 = 0
        for i in 0..<Self.digits {
            let v = w[i] &+ carry
            w[i] = v & 0xFFFF_FFFF
            carry = v &>> 32
        }
        // Every value added is < 2^63 and at most 2^31 of them since the last pass:
        // the total stays below 2^94, inside the top digit (2^64 ... 2^96).
        assert(carry == 0, "fixed-point sum overflowed its digits")
    }

    /// Adds every slot into `sums[slot]` and clears the scratch. `touched`, when given,
    /// names every slot that may hold something (the others are skipped unread).
    func flush(into sums: inout [ExactSum], touched: ((Int) -> Bool)? = nil) {
        assert(sums.count >= slots, "\(sums.count) sums for \(slots) slots")
        for slot in 0..<slots where touched?(slot) ?? true {
            carry(slot)
            let w = words + slot &* Self.digits
            // From the top digit down, digits join one double while the join is exact (TwoSum's
            // error is 0): a total spanning fewer than 53 bits reaches the ExactSum as one
            // addition, which is what a small batch's flush costs.
            var pending = 0.0
            for i in stride(from: Self.digits - 1, through: 0, by: -1) where w[i] != 0 {
                // A 32-bit digit times a power of two in [2^-160, 2^64]: an exact double.
                let x = Double(w[i]) * Double(sign: .plus, exponent: 32 * i - 160, significand: 1)
                w[i] = 0
                let sum = pending + x, v = sum - pending
                if (pending - (sum - v)) + (x - v) == 0 {
                    pending = sum
                } else {
                    sums[slot].add(pending)
                    pending = x
                }
            }
            if pending != 0 { sums[slot].add(pending) }
        }
        additions = 0
    }
}
