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
/// and the F-beta of the per-row score. The state is the core's `SummedCounts`.
final class KerasSpec {
    let labelCount: Int
    let thresholds: [Double]
    let fBeta: FBeta
    var stateSize: Int { SummedCounts.Layout(labelCount: labelCount).size }

    init(labelCount: Int, thresholds: [Double], fBeta: FBeta) {
        (self.labelCount, self.thresholds, self.fBeta) = (labelCount, thresholds, fBeta)
    }
}

// MARK: Module functions

/// keras_spec(n_labels, thresholds float64 array, beta) -> Handle
func kerasSpecNew(_ args: Arguments) throws -> PyPtr? {
    let labels = try args.int(0, "n_labels")
    let buffer = try HeldBuffer(args[1]!, name: "threshold", dimensions: 1...1)
    let thresholds = try Threshold.perLabel(Array(try buffer.float64Elements(name: "threshold"))).values(labelCount: labels)
    let fBeta = try FBeta(beta: try args.double(2, "beta"))
    _ = try ConfusionCounts(labelCount: labels, threshold: .perLabel(thresholds))  // checks the label count
    return try makeHandle(KerasSpec(labelCount: labels, thresholds: thresholds, fBeta: fBeta))
}

/// keras_accumulate(spec, y_true, y_score, sample_weight, hi, lo) -> bytearray of
/// float32 [new hi, new lo]: the state plus the batch's counts, in float64.
func kerasAccumulate(_ args: Arguments) throws -> PyPtr? {
    let spec = try args.handle(0, as: KerasSpec.self, "spec")
    let truth = try HeldBuffer(args[1]!, name: "y_true", dimensions: 2...2)
    let prediction = try HeldBuffer(args[2]!, name: "y_pred", dimensions: 2...2)
    // 1-D: one weight per row; 2-D: one per element, 0 marking an unknown label.
    let weights = try args.optional(3).map { try HeldBuffer($0, name: "sample_weight", dimensions: 1...2) }
    let weightValues = try weights?.float64Elements(name: "sample_weight")
    let elementWeights = weights?.shape.count == 2 ? weights?.matrix : nil
    let hi = try HeldBuffer(args[4]!, name: "state_hi", dimensions: 1...1)
    let lo = try HeldBuffer(args[5]!, name: "state_lo", dimensions: 1...1)
    let size = spec.stateSize
    for (name, b) in [("state_hi", hi), ("state_lo", lo)] {
        guard b.elementType == .float32, b.shape[0] == size else {
            throw PythonError.value("Expected `\(name)` to be float32 of shape (\(size),), but got \(b.elementType.rawValue) of shape \(b.shape)")
        }
    }
    let (t, p) = (truth.matrix, prediction.matrix)
    let hiWords = UnsafeBufferPointer(start: hi.view.buf!.assumingMemoryBound(to: Float.self), count: size)
    let loWords = UnsafeBufferPointer(start: lo.view.buf!.assumingMemoryBound(to: Float.self), count: size)
    let next: [Float] = try withoutGIL {
        var counts = try ConfusionCounts(labelCount: spec.labelCount, threshold: .perLabel(spec.thresholds))
        if let elementWeights {
            try counts.update(truth: t, prediction: p, elementWeights: elementWeights, kind: .scores)
        } else {
            try counts.update(truth: t, prediction: p, sampleWeight: weightValues, kind: .scores)
        }
        return SummedCounts.addSplit(hi: hiWords, lo: loWords, SummedCounts.contributions(of: counts, fBeta: spec.fBeta))
    }
    return try next.withUnsafeBytes { raw in
        try check(PyByteArray_FromStringAndSize(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count))
    }
}

/// summed_layout(n_labels) -> dict of offsets into the summed state (the core's layout).
func summedLayout(_ args: Arguments) throws -> PyPtr? {
    let labels = try args.int(0, "n_labels")
    guard labels >= 1 else { throw PythonError.value("Expected `n_labels` to be at least 1, but got \(labels)") }
    let dict = try check(PyDict_New())
    for (name, offset) in SummedCounts.Layout(labelCount: labels).offsets {
        let value = try pyInt(offset)
        defer { Py_DecRef(value) }
        guard PyDict_SetItemString(dict, name, value) == 0 else { Py_DecRef(dict); throw AlreadySet() }
    }
    return dict
}

/// summed_samples_average(state float64, n_labels, metric, zero_division) -> float
func summedSamplesAverage(_ args: Arguments) throws -> PyPtr? {
    let state = Array(try HeldBuffer(args[0]!, name: "state", dimensions: 1...1).float64Elements(name: "state"))
    let labels = try args.int(1, "n_labels")
    let score = try SummedCounts.RowScore(parsing: try args.string(2, "metric"))
    let zd = try zeroDivision(args, 3)
    return try pyFloat(try SummedCounts.samplesAverage(state, labelCount: labels, score: score, zeroDivision: zd))
}

nonisolated(unsafe) let kerasFunctions: [Declaration] = [
    Declaration("keras_spec", 3...3, "keras_spec(n_labels, thresholds, beta) -> Handle (internal; tally.keras)", kerasSpecNew),
    Declaration("keras_accumulate", 6...6,
                "keras_accumulate(spec, y_true, y_score, sample_weight, hi, lo) -> bytearray of float32 [hi', lo']",
                kerasAccumulate),
    Declaration("summed_layout", 1...1, "summed_layout(n_labels) -> {name: offset} of the summed state", summedLayout),
    Declaration("summed_samples_average", 4...4,
                "summed_samples_average(state, n_labels, 'precision'|'recall'|'fbeta'|'jaccard', zero_division) -> float",
                summedSamplesAverage),
]
