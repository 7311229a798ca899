/// SplitMix64: a tiny, fast, seedable generator (Steele, Lea & Flood 2014).
///
/// Every random choice in TallyNet (initialisation, shuffling, dropout masks)
/// comes from one of these, seeded from the user's seed, so runs repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The increment of the state per output.
    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= SplitMix64.gamma
        return SplitMix64.output(state)
    }

    /// The output for a state: the k-th `next()` of a generator seeded with s is
    /// `output(s &+ k &* gamma)`, so a stream can be computed in any order.
    @inline(__always)
    static func output(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed derived from several values, for independent streams.
    static func mix(_ values: UInt64...) -> UInt64 {
        var g = SplitMix64(seed: 0x5EED_7A11)
        var h: UInt64 = 0
        for v in values {
            g.state ^= v &+ h
            h = g.next()
        }
        return h
    }

    /// Uniform in [0, 1) with 24 random bits, as a float32.
    @inline(__always)
    mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
}
