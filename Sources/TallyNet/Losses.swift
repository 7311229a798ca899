#if canImport(Glibc)
import Glibc
#endif

/// Binary cross-entropy from logits, summed over `count` values:
/// `Σ max(z, 0) - z·y + log(1 + exp(-|z|))` (stable for any z).
///
/// - Parameters:
///   - probabilities: receives `sigmoid(z)` when not nil.
///   - gradient: receives `gradientScale · (sigmoid(z) - y)` when not nil.
/// - Returns: the sum (divide by rows × labels for Keras's mean).
func binaryCrossentropyFromLogits(logits z: UnsafePointer<Float>, targets y: UnsafePointer<Float>, count: Int,
                                  probabilities: UnsafeMutablePointer<Float>?,
                                  gradient: UnsafeMutablePointer<Float>?, gradientScale: Float) -> Double {
    var total = 0.0
    for i in 0..<count {
        let zi = z[i], yi = y[i]
        total += Double(max(zi, 0) - zi * yi + log1pf(expf(-abs(zi))))
        let p = stableSigmoid(zi)
        probabilities?[i] = p
        gradient?[i] = gradientScale * (p - yi)
    }
    return total
}

/// Categorical cross-entropy from logits over `rows` rows of `width` classes, summed
/// over rows: `Σ_r Σ_j y_rj · (logsumexp(z_r) - z_rj)`.
///
/// - Parameters:
///   - probabilities: receives `softmax(z)` when not nil.
///   - gradient: receives `gradientScale · (softmax(z) · Σ_j y_rj - y)` when not nil.
/// - Returns: the sum over rows (divide by rows for Keras's mean).
func categoricalCrossentropyFromLogits(logits z: UnsafePointer<Float>, targets y: UnsafePointer<Float>,
                                       rows: Int, width: Int,
                                       probabilities: UnsafeMutablePointer<Float>?,
                                       gradient: UnsafeMutablePointer<Float>?, gradientScale: Float) -> Double {
    var total = 0.0
    for r in 0..<rows {
        let o = r &* width
        var m = -Float.infinity
        for j in 0..<width { m = max(m, z[o &+ j]) }
        var s: Double = 0
        for j in 0..<width { s += Double(expf(z[o &+ j] - m)) }
        let lse = Double(m) + log(s)
        var ySum: Float = 0
        for j in 0..<width {
            ySum += y[o &+ j]
            total += Double(y[o &+ j]) * (lse - Double(z[o &+ j]))
        }
        for j in 0..<width {
            let p = Float(exp(Double(z[o &+ j]) - lse))
            probabilities?[o &+ j] = p
            gradient?[o &+ j] = gradientScale * (p * ySum - y[o &+ j])
        }
    }
    return total
}
