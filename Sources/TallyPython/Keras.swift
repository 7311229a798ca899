import CPython
import Tally
import TallyPythonBridge

// The host function behind `tally.keras` metrics. A Keras metric keeps its state
// in backend variables (so Keras resets, sums across replicas and checkpoints it);
// once per batch the traced step calls out to the host (`jax.pure_callback`,
// `tf.numpy_function`) with the batch and the current state, and this function
// counts the batch with the core and returns the new state.
//
// Backend variables are float32 (JAX has no float64 unless x64 is enabled), which
// would lose integer counts above 2^24 and round every per-row sum. So each float64
// state value is stored as two float32 words, hi + lo (about 48 significant bits),
// and the addition is done here in float64.

/// What one Keras metric's host function needs: the label count, the thresholds
/// and the beta of the per-row F-score.
final class KerasSpec {
    let labelCount: Int
    let thresholds: [Double]
    let beta: Double

    init(labelCount: Int, thresholds: [Double], beta: Double) {
        (self.labelCount, self.thresholds, self.beta) = (labelCount, thresholds, beta)
    }

    /// The layout of the state vector, documented once for the Python side
    /// (`tally.keras` checks its offsets against `keras_state_size`):
    ///
    ///     [0, L)        tp per label          (sums of sample weights)
    ///     [L, 2L)       fp per label
    ///     [2L, 3L)      fn per label
    ///     3L            rows
    ///     3L + 1        weight sum (rows when unweighted)
    ///     3L + 2 + 4m   for m in (precision, recall, F-beta, Jaccard), over the rows
    ///                   where the row's own score is defined: [Σ w·score, Σ w, Σ score, rows]
    ///     3L + 18       Σ w over rows predicted exactly (subset accuracy)
    ///
    /// A row's own score uses scikit-learn's `average="samples"` arithmetic: a row of
    /// weight 0 has no true and no predicted labels, so its scores are undefined.
    var stateSize: Int { 3 * labelCount + 2 + 4 * 4 + 1 }
}

extension KerasSpec {
    /// The state contributions of one batch, in float64.
    func batchState(_ counts: ConfusionCounts) -> [Double] {
        let n = labelCount
        var state = [Double](repeating: 0, count: stateSize)
        let (tp, fp, fn) = (counts.truePositives, counts.falsePositives, counts.falseNegatives)
        state.withUnsafeMutableBufferPointer { s in
            for j in 0..<n {
                s[j] = tp[j]; s[n + j] = fp[j]; s[2 * n + j] = fn[j]
            }
            s[3 * n] = Double(counts.rowCount)
            s[3 * n + 1] = counts.weightSum
            let beta2 = beta * beta
            for t in counts.rowTriples {
                let (rowTP, predicted, actual) = (Double(t.tp), Double(t.tp + t.fp), Double(t.tp + t.fn))
                let union = Double(t.tp + t.fp + t.fn)
                let fDenominator: Double, fNumerator: Double
                if beta == .infinity {
                    (fNumerator, fDenominator) = (rowTP, actual)
                } else if beta == 0 {
                    (fNumerator, fDenominator) = (rowTP, predicted)
                } else {
                    (fNumerator, fDenominator) = ((1 + beta2) * rowTP, beta2 * actual + predicted)
                }
                let scores: [(Double, Double)] = [(rowTP, predicted), (rowTP, actual),
                                                  (fNumerator, fDenominator), (rowTP, union)]
                for (m, (numerator, denominator)) in scores.enumerated() where denominator > 0 {
                    let value = numerator / denominator
                    let base = 3 * n + 2 + 4 * m
                    s[base] += value * t.weight
                    s[base + 1] += t.weight
                    s[base + 2] += value * Double(t.rows)
                    s[base + 3] += Double(t.rows)
                }
                if t.fp == 0 && t.fn == 0 { s[3 * n + 18] += t.weight }
            }
        }
        return state
    }
}

// MARK: Module functions

/// keras_spec(n_labels, thresholds float64 array, beta) -> Handle
func kerasSpecNew(_ args: Arguments) throws -> PyPtr? {
    let labels = try args.int(0, "n_labels")
    let buffer = try HeldBuffer(args[1]!, name: "threshold", dimensions: 1...1)
    let thresholds = try Threshold.perLabel(Array(try buffer.float64Elements(name: "threshold"))).values(labelCount: labels)
    let beta = try args.double(2, "beta")
    guard beta >= 0 else { throw PythonError.value("Expected `beta` to be a number >= 0, but got \(beta)") }
    _ = try ConfusionCounts(labelCount: labels, threshold: .perLabel(thresholds))  // checks the label count
    return try makeHandle(KerasSpec(labelCount: labels, thresholds: thresholds, beta: beta))
}

/// keras_state_size(spec) -> int
func kerasStateSize(_ args: Arguments) throws -> PyPtr? {
    let spec = try args.handle(0, as: KerasSpec.self, "spec")
    return try check(PyLong_FromLongLong(Int64(spec.stateSize)))
}

/// keras_accumulate(spec, y_true, y_score, sample_weight, hi, lo) -> bytearray of
/// float32 [new hi, new lo]: the state plus the batch's counts, in float64.
func kerasAccumulate(_ args: Arguments) throws -> PyPtr? {
    let spec = try args.handle(0, as: KerasSpec.self, "spec")
    let truth = try HeldBuffer(args[1]!, name: "y_true", dimensions: 2...2)
    let prediction = try HeldBuffer(args[2]!, name: "y_pred", dimensions: 2...2)
    let weights = try args.optional(3).map { try HeldBuffer($0, name: "sample_weight", dimensions: 1...1) }
    let weightValues = try weights?.float64Elements(name: "sample_weight")
    let hi = try HeldBuffer(args[4]!, name: "state_hi", dimensions: 1...1)
    let lo = try HeldBuffer(args[5]!, name: "state_lo", dimensions: 1...1)
    let size = spec.stateSize
    for (name, b) in [("state_hi", hi), ("state_lo", lo)] {
        guard b.elementType == .float32, b.shape[0] == size else {
            throw PythonError.value("Expected `\(name)` to be float32 of shape (\(size),), but got \(b.elementType.rawValue) of shape \(b.shape)")
        }
    }
    let (t, p) = (truth.matrix, prediction.matrix)
    let hiPointer = hi.view.buf!.assumingMemoryBound(to: Float.self)
    let loPointer = lo.view.buf!.assumingMemoryBound(to: Float.self)
    let next: [Float] = try withoutGIL {
        var counts = try ConfusionCounts(labelCount: spec.labelCount, threshold: .perLabel(spec.thresholds))
        try counts.update(truth: t, prediction: p, sampleWeight: weightValues, kind: .scores)
        let batch = spec.batchState(counts)
        var out = [Float](repeating: 0, count: 2 * size)
        for i in 0..<size {
            let sum = Double(hiPointer[i]) + Double(loPointer[i]) + batch[i]
            let high = Float(sum)
            out[i] = high
            out[size + i] = Float(sum - Double(high))
        }
        return out
    }
    return try next.withUnsafeBytes { raw in
        try check(PyByteArray_FromStringAndSize(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count))
    }
}

nonisolated(unsafe) let kerasFunctions: [Declaration] = [
    Declaration("keras_spec", 3...3, "keras_spec(n_labels, thresholds, beta) -> Handle (internal; tally.keras)", kerasSpecNew),
    Declaration("keras_state_size", 1...1, "keras_state_size(spec) -> int", kerasStateSize),
    Declaration("keras_accumulate", 6...6,
                "keras_accumulate(spec, y_true, y_score, sample_weight, hi, lo) -> bytearray of float32 [hi', lo']",
                kerasAccumulate),
]
