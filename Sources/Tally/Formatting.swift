#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `x` with `digits` decimals, rounded as Python's `format(x, ".{digits}f")` rounds:
/// half to even on the exact binary value (so 2.675 gives "2.67", like Python).
/// Reports print through this so that Swift and Python reports are identical.
public func formatFixed(_ x: Double, digits: Int) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    precondition(digits >= 0 && digits <= 15, "formatFixed supports 0...15 decimals")
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }  // exact: 10^15 < 2^53
    let a = abs(x)
    let p = a * scale
    guard p < 4_503_599_627_370_496 else {  // 2^52: exact big-number arithmetic below
        return (x.sign == .minus ? "-" : "") + largeFixed(a, digits: digits)
    }
    // a·scale = p + err exactly; the rounding decision needs only signs.
    let err = fma(a, scale, -p)
    var q = p.rounded(.down)
    let d = (p - q) - 0.5
    if d > 0 || (d == 0 && err > 0) {
        q += 1
    } else if d == 0 && err == 0 && q.truncatingRemainder(dividingBy: 2) == 1 {
        q += 1  // an exact tie: to even
    }
    let n = UInt64(q)
    if digits == 0 { return (x.sign == .minus ? "-" : "") + String(n) }
    var whole = String(n / UInt64(scale))
    var fraction = String(n % UInt64(scale))
    fraction = String(repeating: "0", count: digits - fraction.count) + fraction
    if x.sign == .minus { whole = "-" + whole }
    return whole + "." + fraction
}

/// `a` (finite, > 0, a·10^digits ≥ 2^52) with `digits` decimals, exactly as Python
/// prints it: `a` = m·2^e with m < 2^53 is an integer when e ≥ 0 (its decimal digits
/// via base-10^9 limbs), else m·10^digits < 2^103 is rounded half to even by 2^-e.
func largeFixed(_ a: Double, digits: Int) -> String {
    let e = Int(a.exponent) - 52
    let m = UInt64(a.significandBitPattern) | (a.isNormal ? 1 << 52 : 0)
    var scale: UInt128 = 1
    for _ in 0..<digits { scale *= 10 }
    guard e < 0 else {
        var limbs: [UInt64] = [m % 1_000_000_000, m / 1_000_000_000 % 1_000_000_000, m / 1_000_000_000_000_000_000]
        for _ in 0..<e {
            var carry: UInt64 = 0
            for i in limbs.indices {
                let v = limbs[i] * 2 + carry
                limbs[i] = v % 1_000_000_000
                carry = v / 1_000_000_000
            }
            if carry > 0 { limbs.append(carry) }
        }
        while limbs.count > 1 && limbs.last == 0 { limbs.removeLast() }
        var text = String(limbs.last!)
        for limb in limbs.dropLast().reversed() {
            let part = String(limb)
            text += String(repeating: "0", count: 9 - part.count) + part
        }
        return text + (digits > 0 ? "." + String(repeating: "0", count: digits) : "")
    }
    let n = UInt128(m) * scale, shift = UInt128(-e)
    var q = n >> shift
    let r = n - (q << shift), half = UInt128(1) << (shift - 1)
    if r > half || (r == half && q & 1 == 1) { q += 1 }
    if digits == 0 { return String(q) }
    let fraction = String(q % scale)
    return String(q / scale) + "." + String(repeating: "0", count: digits - fraction.count) + fraction
}

/// Python's `repr(float)`: the shortest string that round-trips, in fixed notation
/// for decimal exponents -4 < e < 16 and scientific notation outside, e.g. "0.5",
/// "1e-05", "1e+16", "nan", "inf".
public func pythonRepr(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description is also shortest round-trip; only the layout differs.
    var s = abs(x).description
    var exponent = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(s[s.index(after: e)...].filter { $0 != "+" })!
        s = String(s[..<e])
    }
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    let intPart = String(parts[0]), fracPart = parts.count > 1 ? String(parts[1]) : ""
    var digits = intPart + fracPart
    var decimalPoint = intPart.count + exponent  // value = 0.digits × 10^decimalPoint
    while digits.first == "0" { digits.removeFirst(); decimalPoint -= 1 }
    while digits.count > 1 && digits.last == "0" { digits.removeLast() }
    let sign = x < 0 ? "-" : ""
    if decimalPoint > 16 || decimalPoint <= -4 {
        let e = decimalPoint - 1
        let mantissa = digits.count > 1 ? String(digits.first!) + "." + digits.dropFirst() : String(digits)
        let exponentText = (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        return sign + mantissa + "e" + exponentText
    }
    if decimalPoint <= 0 {
        return sign + "0." + String(repeating: "0", count: -decimalPoint) + digits
    }
    if decimalPoint >= digits.count {
        return sign + digits + String(repeating: "0", count: decimalPoint - digits.count) + ".0"
    }
    let i = digits.index(digits.startIndex, offsetBy: decimalPoint)
    return sign + digits[..<i] + "." + digits[i...]
}

/// The sum of `values` in numpy's order (pairwise, eight accumulators per block of
/// up to 128), so that a sum printed in a report matches numpy's to the last bit.
public func numpySum(_ values: ArraySlice<Double>) -> Double {
    let n = values.count
    let start = values.startIndex
    if n < 8 {
        var s = -0.0  // numpy starts from -0.0 so that a sum of -0.0 stays -0.0
        for v in values { s += v }
        return n == 0 ? 0 : s
    }
    if n <= 128 {
        var r = (0..<8).map { values[start + $0] }
        var i = 8
        while i < n - (n % 8) {
            for k in 0..<8 { r[k] += values[start + i + k] }
            i += 8
        }
        var s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n { s += values[start + i]; i += 1 }
        return s
    }
    var half = n / 2
    half -= half % 8
    return numpySum(values[start..<(start + half)]) + numpySum(values[(start + half)...])
}

/// The options of a per-label table (`tally thresholds`, `tally calibration`): `digits`
/// in 0...15 and, when names are given, one per label.
func checkTableOptions(names: [String]?, labelCount: Int, digits: Int) throws {
    guard (0...15).contains(digits) else {
        throw TallyError.invalidValue("Expected `digits` to be between 0 and 15, but got \(digits)")
    }
    if let names, names.count != labelCount {
        throw TallyError.invalidValue("Expected \(labelCount) label names (one per label), but got \(names.count)")
    }
}

/// A summed weight in a table: an integer when it is one (unweighted counts), else `digits` decimals.
func formatWeight(_ x: Double, digits: Int) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : formatFixed(x, digits: digits)
}
