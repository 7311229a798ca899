/// The counts as one flat float64 vector that merges by elementwise addition:
/// what a framework can keep in variables that it resets, checkpoints and sums
/// across replicas (the Keras metrics keep exactly this). It holds the per-label
/// tp, fp and fn and, for `average="samples"`, the sums over rows of each row's
/// own precision, recall, F-beta and Jaccard.
///
///     let layout = SummedCounts.Layout(labelCount: 3)
///     var state = [Double](repeating: 0, count: layout.size)
///     let batch = SummedCounts.contributions(of: counts, fBeta: try FBeta(beta: 1))
///     for i in state.indices { state[i] += batch[i] }
public enum SummedCounts {
    /// A row's own score, summed over rows for the samples average.
    public enum RowScore: String, NamedOption {
        case precision, recall, fBeta = "fbeta", jaccard
        public static var parameterName: String { "metric" }
    }

    /// Where each value sits in the vector (L labels):
    ///
    ///     [0, L)        tp per label          (sums of sample weights)
    ///     [L, 2L)       fp per label
    ///     [2L, 3L)      fn per label
    ///     3L            rows
    ///     3L + 1        weight sum (rows when unweighted)
    ///     3L + 2 + 4m   for m in RowScore (precision, recall, F-beta, Jaccard), over the
    ///                   rows where the row's own score is defined: [Σ w·score, Σ w, Σ score, rows]
    ///     3L + 18       Σ w over rows predicted exactly (subset accuracy)
    ///     [3L + 19, 4L + 19)  Σ w over the rows where each label is known: the weight sum
    ///                   for every label, or under element weights each label's own
    ///                   (label accuracy and Hamming loss with missing labels)
    public struct Layout: Equatable, Sendable {
        public let labelCount: Int
        public init(labelCount: Int) { self.labelCount = labelCount }

        public var truePositives: Int { 0 }
        public var falsePositives: Int { labelCount }
        public var falseNegatives: Int { 2 * labelCount }
        public var rows: Int { 3 * labelCount }
        public var weightSum: Int { 3 * labelCount + 1 }
        /// The first of the four row sums of `score`.
        public func rowSums(_ score: RowScore) -> Int {
            3 * labelCount + 2 + 4 * RowScore.allCases.firstIndex(of: score)!
        }
        public var exactMatchWeight: Int { 3 * labelCount + 2 + 4 * RowScore.allCases.count }
        /// The first of the per-label known-row weights.
        public var labelWeights: Int { exactMatchWeight + 1 }
        public var size: Int { labelWeights + labelCount }

        /// Every offset by name, for layers that read the vector (the Python package).
        public var offsets: [(name: String, offset: Int)] {
            [("true_positives", truePositives), ("false_positives", falsePositives),
             ("false_negatives", falseNegatives), ("rows", rows), ("weight_sum", weightSum)]
                + RowScore.allCases.map { ($0.rawValue, rowSums($0)) }
                + [("exact_match_weight", exactMatchWeight), ("label_weight", labelWeights), ("size", size)]
        }
    }

    /// One batch's state, in float64: its counts and its rows' own scores.
    ///
    /// A row's own score uses scikit-learn's `average="samples"` arithmetic: a row of
    /// weight 0 has no true and no predicted labels, so its scores are undefined.
    /// - Complexity: O(labelCount + distinct row triples).
    public static func contributions(of counts: ConfusionCounts, fBeta: FBeta) -> [Double] {
        let layout = Layout(labelCount: counts.labelCount)
        let n = layout.labelCount
        var state = [Double](repeating: 0, count: layout.size)
        let (tp, fp, fn) = (counts.truePositives, counts.falsePositives, counts.falseNegatives)
        let bases = RowScore.allCases.map(layout.rowSums)
        state.withUnsafeMutableBufferPointer { s in
            for j in 0..<n {
                s[layout.truePositives + j] = tp[j]
                s[layout.falsePositives + j] = fp[j]
                s[layout.falseNegatives + j] = fn[j]
                s[layout.labelWeights + j] = counts.labelWeightAt(j)
            }
            s[layout.rows] = Double(counts.rowCount)
            s[layout.weightSum] = counts.weightSum
            for t in counts.rowTriples {
                let (rowTP, predicted, actual) = (Double(t.tp), Double(t.tp + t.fp), Double(t.tp + t.fn))
                let f = fBeta.fraction(truePositives: rowTP, predicted: predicted, actual: actual)
                let scores: [(Double, Double)] = [(rowTP, predicted), (rowTP, actual), f, (rowTP, Double(t.tp + t.fp + t.fn))]
                for (m, (numerator, denominator)) in scores.enumerated() where denominator > 0 {
                    let value = numerator / denominator
                    s[bases[m]] += value * t.weight
                    s[bases[m] + 1] += t.weight
                    s[bases[m] + 2] += value * Double(t.rows)
                    s[bases[m] + 3] += Double(t.rows)
                }
                if t.fp == 0 && t.fn == 0 { s[layout.exactMatchWeight] += t.weight }
            }
        }
        return state
    }

    /// scikit-learn's `average="samples"` of `score` from a summed state: the mean over
    /// rows of each row's score, `zeroDivision` for rows where it is undefined,
    /// weighted by sample weight unless every weight is 0 (`_nanaverage`).
    /// The Keras metrics compute the same in backend ops; this is its reference.
    public static func samplesAverage(_ state: [Double], labelCount: Int, score: RowScore,
                                      zeroDivision: ZeroDivision) throws -> Double {
        let layout = Layout(labelCount: labelCount)
        guard state.count == layout.size else {
            throw TallyError.invalidValue("Expected a summed state of \(layout.size) values for \(labelCount) labels, but got \(state.count)")
        }
        let base = layout.rowSums(score)
        let (weightedSum, definedWeight, plainSum, definedRows) = (state[base], state[base + 1], state[base + 2], state[base + 3])
        let (rows, weight) = (state[layout.rows], state[layout.weightSum])
        let zd = zeroDivision.replacement
        if !zd.isNaN {
            // Undefined rows count as zd.
            if weight != 0 { return (weightedSum + zd * (weight - definedWeight)) / weight }
            return (plainSum + zd * (rows - definedRows)) / rows
        }
        // nan: undefined rows are left out.
        if definedWeight != 0 { return weightedSum / definedWeight }
        return plainSum / definedRows
    }

    /// `hi + lo + batch` per value, split again into two float32 words (the float32
    /// nearest to the sum, and the rest): a float64 value kept in float32 variables
    /// with about 48 significant bits, so counts stay exact far beyond 2^24.
    /// - Returns: the new hi words followed by the new lo words.
    public static func addSplit(hi: UnsafeBufferPointer<Float>, lo: UnsafeBufferPointer<Float>, _ batch: [Double]) -> [Float] {
        let size = batch.count
        precondition(hi.count == size && lo.count == size, "addSplit: hi, lo and batch differ in length")
        var out = [Float](repeating: 0, count: 2 * size)
        for i in 0..<size {
            let sum = Double(hi[i]) + Double(lo[i]) + batch[i]
            let high = Float(sum)
            out[i] = high
            out[size + i] = Float(sum - Double(high))
        }
        return out
    }
}
