#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Poisson(1) weight of one row in one bootstrap replicate, as a pure
/// function of (seed, row id, replicate): no generator state, so any split of
/// the rows into batches, threads or processes draws the same weights, and
/// replicate counts merge by addition.
///
/// The rule (numpy reproduces it in `python/tests/test_intervals.py`):
///
///     mix(z)     = splitmix64's finalizer: z ^= z >> 30; z *= 0xBF58476D1CE4E5B9;
///                  z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31   (mod 2⁶⁴)
///     row        = mix(mix(seed) ^ (id · 0x9E3779B97F4A7C15))
///     u          = (mix(row + (b + 1) · 0xD1B54A32D192ED03) >> 11) · 2⁻⁵³      in [0, 1)
///     weight     = the smallest k with u < F(k), F the Poisson(1) CDF (k ≤ 20),
///
/// where F(0) = exp(−1) and F(k) = F(k − 1) + exp(−1) / k! by the running
/// product term(k) = term(k − 1) / k, in float64.
public struct PoissonDraws: Sendable {
    public let seed: UInt64
    let seedMix: UInt64
    /// F(0) … F(19); u beyond F(19) draws 20.
    let cdf: [Double]
    /// ⌈F(k) · 2⁵³⌉ for k < 4: u >= F(k) exactly when u · 2⁵³ reaches it.
    let steps: [Int64]

    public init(seed: UInt64) {
        self.seed = seed
        seedMix = mix64(seed)
        var term = exp(-1.0), sum = term
        var table = [sum]
        for k in 1..<20 {
            term /= Double(k)
            sum += term
            table.append(sum)
        }
        cdf = table
        steps = table.prefix(4).map { Int64(($0 * 0x1p53).rounded(.up)) }
    }

    /// The stream key of one row.
    @inline(__always) func rowKey(_ id: UInt64) -> UInt64 { mix64(seedMix ^ (id &* 0x9E37_79B9_7F4A_7C15)) }

    /// Writes the row's weights for replicates 0..<count.
    @inline(__always) func weights(row id: UInt64, into out: UnsafeMutablePointer<Double>, count: Int) {
        let key = rowKey(id)
        // u >= F(k) with u = m · 2⁻⁵³ is m >= F(k) · 2⁵³ (exact: a power of two), so
        // the first four steps compare integers, branch-free by the sign of a
        // difference (the compiler turns float compares into unpredictable branches).
        cdf.withUnsafeBufferPointer { f in
            let (t0, t1, t2, t3) = (steps[0], steps[1], steps[2], steps[3])
            for b in 0..<count {
                let bits = mix64(key &+ UInt64(b &+ 1) &* 0xD1B5_4A32_D192_ED03)
                let m = Int64(bitPattern: bits >> 11)
                // (t − 1 − m) >> 63 is −1 when m >= t, else 0 (both below 2⁵³).
                let below0: Int64 = (t0 &- 1 &- m) >> 63, below1: Int64 = (t1 &- 1 &- m) >> 63
                let below2: Int64 = (t2 &- 1 &- m) >> 63, below3: Int64 = (t3 &- 1 &- m) >> 63
                var k: Int64 = 0 &- below0 &- below1 &- below2 &- below3
                if k == 4 {
                    let u = Double(m) * 0x1p-53
                    while k < 20 && u >= f[Int(k)] { k &+= 1 }
                }
                out[b] = Double(k)
            }
        }
    }

    /// The weights of `ids` in replicates 0..<replicates, row-major (rows × replicates).
    public func weights(rows ids: [UInt64], replicates: Int) -> [Double] {
        var out = [Double](repeating: 0, count: ids.count * replicates)
        out.withUnsafeMutableBufferPointer { o in
            for (i, id) in ids.enumerated() { weights(row: id, into: o.baseAddress! + i * replicates, count: replicates) }
        }
        return out
    }
}

/// splitmix64's output function: a bijection of UInt64 that mixes every bit.
@inline(__always) func mix64(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
