#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few distribution functions the intervals need, in float64, without
/// Foundation: the standard normal's CDF and quantile, and the beta
/// distribution's regularized CDF and quantile (Clopper–Pearson). Each is checked
/// against SciPy's values in `DistributionTests`.
public enum Distributions {
    /// P(Z ≤ x) for a standard normal Z.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// P(Z > x): computed from the upper tail, so small p-values keep their digits.
    public static func normalSurvival(_ x: Double) -> Double { 0.5 * erfc(x / 2.0.squareRoot()) }

    /// The x with P(Z ≤ x) = p: Wichura's algorithm AS 241 (PPND16), about 16 digits.
    /// Returns nan outside [0, 1] and ∓∞ at 0 and 1.
    public static func normalQuantile(_ p: Double) -> Double {
        guard p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        let q = p - 0.5
        if abs(q) <= 0.425 {
            let r = 0.180625 - q * q
            let num = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
                + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
                + 133.14166789178437745) * r + 3.387132872796366608)
            let den = (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
                + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
                + 42.313330701600911252) * r + 1.0)
            return q * num / den
        }
        var r = q < 0 ? p : 1 - p
        r = (-log(r)).squareRoot()
        var value: Double
        if r <= 5 {
            r -= 1.6
            let num = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                + 4.6303378461565452959) * r + 1.42343711074968357734)
            let den = (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                + 2.05319162663775882187) * r + 1.0)
            value = num / den
        } else {
            r -= 5
            let num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                + 5.4637849111641143699) * r + 6.6579046435011037772)
            let den = (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                + 0.59983220655588793769) * r + 1.0)
            value = num / den
        }
        return q < 0 ? -value : value
    }

    /// log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b), arranged as R's `lbeta`
    /// (Stirling's series for the large arguments): the plain difference of
    /// log-gammas loses about 7 digits when one argument is near 10⁹.
    static func logBeta(_ a: Double, _ b: Double) -> Double {
        let p = min(a, b), q = max(a, b)
        if p >= 10 {
            let correction = stirlingCorrection(p) + stirlingCorrection(q) - stirlingCorrection(p + q)
            return -0.5 * log(q) + 0.918938533204672741780329736406 + correction
                + (p - 0.5) * log(p / (p + q)) + q * log1p(-p / (p + q))
        }
        if q >= 10 {
            let correction = stirlingCorrection(q) - stirlingCorrection(p + q)
            return lgamma(p) + correction + p - p * log(p + q) + (q - 0.5) * log1p(-p / (p + q))
        }
        return lgamma(p) + lgamma(q) - lgamma(p + q)
    }

    /// log Γ(x) − ((x − ½) log x − x + ½ log 2π) for x ≥ 10: Stirling's series,
    /// whose eighth term is below 1e-16 there.
    static func stirlingCorrection(_ x: Double) -> Double {
        let numerators: [Double] = [1, -1, 1, -1, 1, -691, 1, -3617]
        let denominators: [Double] = [12, 360, 1260, 1680, 1188, 360360, 156, 122400]
        let x2 = 1 / (x * x)
        var sum = 0.0, power = 1 / x
        for (n, d) in zip(numerators, denominators) {
            sum += n / d * power
            power *= x2
        }
        return sum
    }

    /// The regularized incomplete beta function I_x(a, b) (the Beta(a, b) CDF at x).
    public static func betaCDF(_ x: Double, _ a: Double, _ b: Double) -> Double { betaTail(x, a, b, upper: false) }

    /// 1 − I_x(a, b), computed as a tail of its own (SciPy's `beta.sf`), so that
    /// values near 0 keep their digits.
    public static func betaSurvival(_ x: Double, _ a: Double, _ b: Double) -> Double { betaTail(x, a, b, upper: true) }

    /// Either tail, from x itself: the continued fraction (modified Lentz) runs on
    /// the side of the mean where it converges fast, and the other tail is 1 minus it.
    static func betaTail(_ x: Double, _ a: Double, _ b: Double, upper: Bool) -> Double {
        guard a > 0, b > 0, !x.isNaN else { return .nan }
        if x <= 0 { return upper ? 1 : 0 }
        if x >= 1 { return upper ? 0 : 1 }
        let front = exp(a * log(x) + b * log1p(-x) - logBeta(a, b))
        // The swapped fraction takes 1 − x, which costs the digits of a tiny x
        // (about 8 at x ≈ 1e-8, i.e. a few successes in 10⁹ trials); elsewhere
        // the quantiles agree with SciPy's to 1e-11 (DistributionTests).
        if x < (a + 1) / (a + b + 2) {
            let lower = front * betaContinuedFraction(x, a, b) / a
            return upper ? 1 - lower : lower
        }
        let tail = front * betaContinuedFraction(1 - x, b, a) / b
        return upper ? tail : 1 - tail
    }

    /// The Beta(a, b) density at x.
    static func betaDensity(_ x: Double, _ a: Double, _ b: Double) -> Double {
        exp((a - 1) * log(x) + (b - 1) * log1p(-x) - logBeta(a, b))
    }

    static func betaContinuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-16
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0, d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...100_000 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) <= epsilon { break }
        }
        return h
    }

    /// The x with I_x(a, b) = p (SciPy's `beta.ppf(p, a, b)`), or with
    /// 1 − I_x(a, b) = p when `upper` (SciPy's `beta.isf(p, a, b)`): Newton steps
    /// kept inside a bracket that shrinks with every evaluation, halving when a
    /// step leaves it, until x stops moving (relative 1e-15).
    public static func betaQuantile(_ p: Double, _ a: Double, _ b: Double, upper: Bool = false) -> Double {
        guard a > 0, b > 0, p >= 0, p <= 1 else { return .nan }
        if p == 0 { return upper ? 1 : 0 }
        if p == 1 { return upper ? 0 : 1 }
        // f(x) = tail(x) − p grows with x for the lower tail and falls for the upper one.
        let sign: Double = upper ? -1 : 1
        var low = 0.0, high = 1.0
        var x = a / (a + b)  // start at the mean; the bracket does the rest
        for _ in 0..<400 {
            let f = betaTail(x, a, b, upper: upper) - p
            if f == 0 { return x }
            if sign * f < 0 { low = x } else { high = x }
            let slope = sign * betaDensity(x, a, b)
            var next = slope != 0 && slope.isFinite ? x - f / slope : .nan
            if !(next > low && next < high) {
                // Bisect; geometrically near 0 and 1, where the root may be tiny.
                if low == 0 { next = high * 0.5 }
                else if high == 1 { next = 1 - (1 - low) * 0.5 }
                else { next = 0.5 * (low + high) }
            }
            if abs(next - x) <= 1e-15 * max(abs(x), 1e-300) || next == low || next == high {
                return next
            }
            x = next
        }
        return x
    }
}
