/// The metrics that follow from the per-label confusion counts and the row
/// histogram alone: confusion matrices, subset and per-label accuracy, Hamming
/// and zero-one loss, Jaccard, specificity, negative predictive value and
/// Matthews correlation. Each equals scikit-learn's function of the same name on
/// the concatenated batches (the ones scikit-learn lacks are defined through it
/// in their doc comments).

/// A score per label (or one averaged score) and the undefined-score warnings
/// that `zero_division: .warn` produced, in scikit-learn's order.
public struct LabelScores: Equatable, Sendable {
    public var values: [Double]
    public var warnings: [MetricWarning]
}

/// One label's confusion counts (float64: exact integers while unweighted).
public struct Confusion: Equatable, Sendable {
    public var trueNegatives: Double
    public var falsePositives: Double
    public var falseNegatives: Double
    public var truePositives: Double
}

extension ConfusionCounts {
    /// `[[tn, fp], [fn, tp]]` per selected label, as scikit-learn's
    /// `multilabel_confusion_matrix(..., labels=labels)`.
    public func confusionMatrices(labels: [Int]? = nil) throws -> [Confusion] {
        try selectedLabels(labels).map { j in
            Confusion(trueNegatives: trueNegativesAt(j), falsePositives: falsePositivesAt(j),
                      falseNegatives: falseNegativesAt(j), truePositives: truePositivesAt(j))
        }
    }

    /// The weight (row count while unweighted) of the rows whose predicted label
    /// set equals the true one: `accuracy_score` on multi-label targets.
    /// - Parameter normalize: divide by the total weight (scikit-learn's default).
    public func subsetAccuracy(normalize: Bool = true) -> Double {
        var correct = 0.0
        for (key, tally) in sortedRowTriples where key.fp == 0 && key.fn == 0 {
            correct += isWeighted ? tally.weight : Double(tally.rows)
        }
        guard normalize else { return correct }
        return correct / (isWeighted ? weightSum : Double(rowCount))
    }

    /// `zero_one_loss`: 1 − subset accuracy, or the weight of the wrong rows.
    public func zeroOneLoss(normalize: Bool = true) -> Double {
        let accuracy = subsetAccuracy(normalize: normalize)
        if normalize { return 1 - accuracy }
        return (isWeighted ? weightSum : Double(rowCount)) - accuracy
    }

    /// `hamming_loss` on multi-label targets: the weighted fraction of wrong
    /// (row, label) cells. Computed in scikit-learn's order:
    /// differences / (rows · labels · mean weight).
    public func hammingLoss() -> Double {
        var differences = 0.0
        for j in 0..<labelCount { differences += falsePositivesAt(j) + falseNegativesAt(j) }
        if isElementWeighted {
            // 2-D weights: wrong unmasked cells over all unmasked cells, both weighted.
            return differences / labelWeightSums.reduce(0, +)
        }
        let meanWeight = isWeighted ? weightSum / Double(rowCount) : 1
        return differences / (Double(rowCount &* Int64(labelCount)) * meanWeight)
    }

    /// Per label (tp + tn) / n, weighted by sample weight: scikit-learn's
    /// `accuracy_score(y_true[:, j], y_pred[:, j])` (Keras's `BinaryAccuracy` per label).
    /// With `average: .macro` their mean (equal to 1 − Hamming loss).
    public func labelAccuracy(labels: [Int]? = nil, average: Average? = nil) throws -> [Double] {
        guard average == nil || average == .macro else {
            throw TallyError.invalidValue("Expected `average` to be None or 'macro' for label accuracy, but got '\(average!.rawValue)'")
        }
        let values = try selectedLabels(labels).map { j in (truePositivesAt(j) + trueNegativesAt(j)) / labelWeightAt(j) }
        return average == nil ? values : [values.reduce(0, +) / Double(values.count)]
    }

    /// `jaccard_score`: tp / (tp + fp + fn) per label, over the micro sums, or per
    /// row for `.samples`; its own zero-division rule (undefined when a label is
    /// neither true nor predicted) and, unlike precision, plain means (`np.average`).
    /// `zeroDivision` is `.warn`, `.zero` or `.one`, as scikit-learn's (not `.nan`).
    public func jaccard(average: Average? = nil, zeroDivision: ZeroDivision = .warn,
                        labels: [Int]? = nil) throws -> LabelScores {
        let zeroDivision = try zeroDivision.checkedForJaccard()
        let selected = try selectedLabels(labels)
        var warnings: [MetricWarning] = []
        if average == .samples {
            guard selected == Array(0..<labelCount) else {
                throw TallyError.invalidValue("Expected `labels` to be all labels in order with average='samples', but got a subset; build the counts on the columns you want")
            }
            let triples = sortedRowTriples
            let values = divide(triples.map { Double($0.key.tp) },
                                triples.map { Double($0.key.tp + $0.key.fp + $0.key.fn) },
                                metric: .jaccard, modifier: "true or predicted", average: .samples,
                                zeroDivision: zeroDivision, resultSize: Int(rowCount), warnings: &warnings)
            // np.average over rows: weighted by sample weight when given, nan propagates.
            let value = averageScores(values, weights: isWeighted ? triples.map { $0.tally.weight } : nil,
                                      multiplicity: triples.map { Double($0.tally.rows) }, nan: .propagate)
            return LabelScores(values: [value], warnings: warnings)
        }
        var numerator = selected.map { truePositivesAt($0) }
        var denominator = selected.map { truePositivesAt($0) + falsePositivesAt($0) + falseNegativesAt($0) }
        if average == .micro {
            numerator = [numerator.reduce(0, +)]
            denominator = [denominator.reduce(0, +)]
        }
        let values = divide(numerator, denominator, metric: .jaccard, modifier: "true or predicted",
                            average: average, zeroDivision: zeroDivision, resultSize: numerator.count,
                            warnings: &warnings)
        guard let average, average != .micro else { return LabelScores(values: values, warnings: warnings) }
        var weights: [Double]? = nil
        if average == .weighted {
            let support = selected.map { truePositivesAt($0) + falseNegativesAt($0) }
            // No support at all: scikit-learn falls back to the unweighted mean.
            if support.contains(where: { $0 != 0 }) { weights = support }
        }
        return LabelScores(values: [averageScores(values, weights: weights, nan: .propagate)], warnings: warnings)
    }

    /// Specificity, tn / (tn + fp): the recall of the negative class, defined as
    /// scikit-learn's `recall_score(1 - y_true, 1 - y_pred)` with the same
    /// `average` and `zero_division` (weighted by each label's negatives).
    /// Warnings say "Specificity is ill-defined … no negative samples".
    public func specificity(average: Average? = nil, zeroDivision: ZeroDivision = .warn,
                            labels: [Int]? = nil) throws -> LabelScores {
        try negativeClassScore(average: average, zeroDivision: zeroDivision, labels: labels, recall: true)
    }

    /// Negative predictive value, tn / (tn + fn): the precision of the negative
    /// class, scikit-learn's `precision_score(1 - y_true, 1 - y_pred)` with the same
    /// `average` and `zero_division` (weighted by each label's negatives).
    public func negativePredictiveValue(average: Average? = nil, zeroDivision: ZeroDivision = .warn,
                                        labels: [Int]? = nil) throws -> LabelScores {
        try negativeClassScore(average: average, zeroDivision: zeroDivision, labels: labels, recall: false)
    }

    func negativeClassScore(average: Average?, zeroDivision: ZeroDivision, labels: [Int]?,
                            recall: Bool) throws -> LabelScores {
        let selected = try selectedLabels(labels)
        let (metric, modifier) = recall ? ("specificity", "negative") : ("negative predictive value", "predicted negative")
        var tn: [Double], predictedNegative: [Double], actualNegative: [Double]
        var rows: [Double] = [], weights: [Double]? = nil
        if average == .samples {
            guard selected == Array(0..<labelCount) else {
                throw TallyError.invalidValue("Expected `labels` to be all labels in order with average='samples', but got a subset; build the counts on the columns you want")
            }
            // A row's true negatives are labelCount − tp − fp − fn only when none of its labels was masked.
            guard !hasPartlyMaskedRows else {
                throw TallyError.invalidValue("Expected no partly masked rows for \(metric) with average='samples', but a 2-D `sample_weight` masked some labels of a row (its own true negatives are not kept); use another average")
            }
            let triples = sortedRowTriples
            tn = triples.map { Double(labelCount - $0.key.tp - $0.key.fp - $0.key.fn) }
            predictedNegative = triples.map { Double(labelCount - $0.key.tp - $0.key.fp) }
            actualNegative = triples.map { Double(labelCount - $0.key.tp - $0.key.fn) }
            rows = triples.map { Double($0.tally.rows) }
            weights = isWeighted ? triples.map { $0.tally.weight } : nil
        } else {
            tn = selected.map { trueNegativesAt($0) }
            predictedNegative = selected.map { trueNegativesAt($0) + falseNegativesAt($0) }
            actualNegative = selected.map { trueNegativesAt($0) + falsePositivesAt($0) }
            if average == .micro {
                tn = [tn.reduce(0, +)]
                predictedNegative = [predictedNegative.reduce(0, +)]
                actualNegative = [actualNegative.reduce(0, +)]
            }
        }
        let denominator = recall ? actualNegative : predictedNegative
        var warnings: [MetricWarning] = []
        let values = divide(tn, denominator, metric: recall ? .specificity : .negativePredictiveValue, modifier: modifier,
                            average: average, zeroDivision: zeroDivision,
                            resultSize: average == .samples ? Int(rowCount) : tn.count, warnings: &warnings)
        switch average {
        case nil, .micro?:
            return LabelScores(values: values, warnings: warnings)
        case .samples?:
            return LabelScores(values: [averageScores(values, weights: weights, multiplicity: rows, nan: .skip)], warnings: warnings)
        case .macro?:
            return LabelScores(values: [averageScores(values, nan: .skip)], warnings: warnings)
        case .weighted?:
            return LabelScores(values: [averageScores(values, weights: actualNegative, nan: .skip)], warnings: warnings)
        }
    }

    /// Per label, scikit-learn's `matthews_corrcoef(y_true[:, j], y_pred[:, j])`
    /// in its arithmetic (0 when a marginal is constant); `.macro` gives their mean.
    public func matthewsCorrelation(labels: [Int]? = nil, average: Average? = nil) throws -> [Double] {
        guard average == nil || average == .macro else {
            throw TallyError.invalidValue("Expected `average` to be None or 'macro' for the Matthews correlation, but got '\(average!.rawValue)'")
        }
        let values = try selectedLabels(labels).map { j -> Double in
            let (tn, fp, fn, tp) = (trueNegativesAt(j), falsePositivesAt(j), falseNegativesAt(j), truePositivesAt(j))
            // C = [[tn, fp], [fn, tp]]: t_sum = C.sum(axis=1), p_sum = C.sum(axis=0).
            let (t0, t1, p0, p1) = (tn + fp, fn + tp, tn + fn, fp + tp)
            let correct = tn + tp
            let n = p0 + p1
            let covTP = correct * n - (t0 * p0 + t1 * p1)
            let covPP = n * n - (p0 * p0 + p1 * p1)
            let covTT = n * n - (t0 * t0 + t1 * t1)
            let product = covPP * covTT
            return product == 0 ? 0 : covTP / product.squareRoot()
        }
        return average == nil ? values : [values.reduce(0, +) / Double(values.count)]
    }
}

/// Per-row confusion counts: scikit-learn's `multilabel_confusion_matrix(...,
/// samplewise=True)`, which needs each row, so it is computed from the arrays.
public enum RowConfusion: Equatable, Sendable {
    /// `[tn, fp, fn, tp]` per row.
    case integers([Int64])
    /// The same scaled by each row's weight (tn = w · labels − tp − fp − fn), float64.
    case weighted([Double])

    /// Counts each row of `truth` against `prediction` (0/1 labels, or scores
    /// thresholded at `thresholds` when `kind` is `.scores`).
    public init(truth: MatrixView, prediction: MatrixView, sampleWeight: UnsafeBufferPointer<Double>? = nil,
                threshold: Threshold = .scalar(0.5), kind: PredictionKind = .labels) throws {
        let counts = try ConfusionCounts(labelCount: max(truth.columns, 1), threshold: threshold)
        try counts.checkShapes(truth: truth, prediction: prediction, sampleWeight: sampleWeight)
        let (rows, n) = (truth.rows, truth.columns)
        let scores = kind == .scores && prediction.elementType.isFloatingPoint
        var triples = [Int64](repeating: 0, count: 3 * rows)
        var bad: UInt64 = 0, sawNaN = false
        let float32Thresholds = counts.thresholds.map(float32Threshold)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * max(n, 1)) { scratch in
            let t = scratch.baseAddress!, p = t + max(n, 1)
            counts.thresholds.withUnsafeBufferPointer { th in
                float32Thresholds.withUnsafeBufferPointer { f32 in
                    for r in 0..<rows {
                        bad |= decodeBinary(truth, row: r, into: t)
                        if scores {
                            sawNaN = decodeScores(prediction, row: r, thresholds: th, float32Thresholds: f32.baseAddress!, into: p) || sawNaN
                        } else {
                            bad |= decodeBinary(prediction, row: r, into: p)
                        }
                        var tp: Int64 = 0, predicted: Int64 = 0, actual: Int64 = 0
                        for j in 0..<n {
                            tp &+= Int64(t[j] & p[j]); predicted &+= Int64(p[j]); actual &+= Int64(t[j])
                        }
                        triples[3 * r] = tp
                        triples[3 * r + 1] = predicted - tp
                        triples[3 * r + 2] = actual - tp
                    }
                }
            }
        }
        if bad != 0 || sawNaN {
            try counts.describeBadValues(truth: truth, prediction: prediction, kind: kind)
            throw TallyError.invalidValue("Expected 0/1 labels and numeric scores, but the arrays have other values")
        }
        if let w = sampleWeight {
            var out = [Double](repeating: 0, count: 4 * rows)
            for r in 0..<rows {
                // scikit-learn: tp = count · w, and tn = w · n_labels − tp − fp − fn.
                let tp = Double(triples[3 * r]) * w[r], fp = Double(triples[3 * r + 1]) * w[r]
                let fn = Double(triples[3 * r + 2]) * w[r]
                out[4 * r] = w[r] * Double(n) - tp - fp - fn
                (out[4 * r + 1], out[4 * r + 2], out[4 * r + 3]) = (fp, fn, tp)
            }
            self = .weighted(out)
        } else {
            var out = [Int64](repeating: 0, count: 4 * rows)
            for r in 0..<rows {
                let (tp, fp, fn) = (triples[3 * r], triples[3 * r + 1], triples[3 * r + 2])
                (out[4 * r], out[4 * r + 1], out[4 * r + 2], out[4 * r + 3]) = (Int64(n) - tp - fp - fn, fp, fn, tp)
            }
            self = .integers(out)
        }
    }
}
