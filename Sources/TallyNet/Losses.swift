#if canImport(Glibc)
import Glibc
#endif

/// Binary cross-entropy from logits, summed over `count` values:
/// `Σ w_r · (max(z, 0) - z·y + log(1 + exp(-|z|)))` (stable for any z), where `w_r` is
/// the weight of the value's row (rows of `width` values; 1 without `sampleWeights`), or
/// the value's own weight with `elementWeights` (0 for a missing label: the value then
/// adds nothing to the loss or the gradient, as if its entry were not there).
///
/// - Parameters:
///   - probabilities: receives `sigmoid(z)` when not nil.
///   - gradient: receives `gradientScale · w · (sigmoid(z) - y)` when not nil.
///   - sampleWeights: one weight per row of `width` values, or nil (all 1).
///   - elementWeights: one weight per value (takes the place of `sampleWeights`), or nil.
///   - labelSmoothing: `s`: the targets are `y · (1 - s) + 0.5 · s` (Keras's, in float32;
///     `s = 0` leaves them exactly as given). Targets may be soft (any value in [0, 1]).
/// - Returns: the weighted sum (divide by rows × labels for Keras's `sum_over_batch_size`).
func binaryCrossentropyFromLogits(logits z: UnsafePointer<Float>, targets y: UnsafePointer<Float>, count: Int,
                                  probabilities: UnsafeMutablePointer<Float>?,
                                  gradient: UnsafeMutablePointer<Float>?, gradientScale: Float,
                                  sampleWeights: UnsafePointer<Float>? = nil, width: Int = 1,
                                  labelSmoothing: Float = 0, elementWeights: UnsafePointer<Float>? = nil) -> Double {
    var total = 0.0
    let width = max(width, 1)
    let keep = 1 - labelSmoothing, shift = 0.5 * labelSmoothing
    var i = 0
    for r in 0..<(count + width - 1) / width {
        // A weight of 1 leaves every operation below exact: unweighted results are unchanged.
        let rowWeight = sampleWeights?[r] ?? 1
        let end = min(i &+ width, count)
        while i < end {
            let w = elementWeights?[i] ?? rowWeight
            let zi = z[i], yi = y[i] * keep + shift
            let value = Double(max(zi, 0) - zi * yi + log1pf(expf(-abs(zi))))
            total += sampleWeights == nil && elementWeights == nil ? value : Double(w) * value
            let p = stableSigmoid(zi)
            probabilities?[i] = p
            gradient?[i] = (gradientScale * w) * (p - yi)
            i &+= 1
        }
    }
    return total
}

/// Categorical cross-entropy from logits over `rows` rows of `width` classes, summed
/// over rows: `Σ_r w_r · Σ_j y_rj · (logsumexp(z_r) - z_rj)`.
///
/// - Parameters:
///   - probabilities: receives `softmax(z)` when not nil.
///   - gradient: receives `gradientScale · w_r · (softmax(z) · Σ_j y_rj - y)` when not nil.
///   - sampleWeights: one weight per row, or nil (all 1).
///   - labelSmoothing: `s`: the targets are `y · (1 - s) + s / width` (Keras's, in float32).
/// - Returns: the weighted sum over rows (divide by rows for Keras's `sum_over_batch_size`).
func categoricalCrossentropyFromLogits(logits z: UnsafePointer<Float>, targets y: UnsafePointer<Float>,
                                       rows: Int, width: Int,
                                       probabilities: UnsafeMutablePointer<Float>?,
                                       gradient: UnsafeMutablePointer<Float>?, gradientScale: Float,
                                       sampleWeights: UnsafePointer<Float>? = nil, labelSmoothing: Float = 0) -> Double {
    var total = 0.0
    let keep = 1 - labelSmoothing, shift = labelSmoothing / Float(max(width, 1))
    @inline(__always) func target(_ i: Int) -> Float { y[i] * keep + shift }
    for r in 0..<rows {
        let o = r &* width
        var m = -Float.infinity
        for j in 0..<width { m = max(m, z[o &+ j]) }
        var s: Double = 0
        for j in 0..<width { s += Double(expf(z[o &+ j] - m)) }
        let lse = Double(m) + log(s)
        var ySum: Float = 0
        var rowTotal = 0.0
        for j in 0..<width {
            ySum += target(o &+ j)
            rowTotal += Double(target(o &+ j)) * (lse - Double(z[o &+ j]))
        }
        let w = sampleWeights?[r] ?? 1
        total += sampleWeights == nil ? rowTotal : Double(w) * rowTotal
        let scale = gradientScale * w
        for j in 0..<width {
            let p = Float(exp(Double(z[o &+ j]) - lse))
            probabilities?[o &+ j] = p
            gradient?[o &+ j] = scale * (p * ySum - target(o &+ j))
        }
    }
    return total
}
