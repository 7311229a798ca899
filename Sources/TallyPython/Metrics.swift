import CPython
import Tally
import TallyPythonBridge
import TallyThreads

// The metric suite's module functions: counting metrics over a `_tally.Counts`,
// per-row confusion from arrays, the exact score store (ROC AUC, average
// precision, curves), the binned score histogram and the ranking sums. Each
// validates, converts, calls the core without the GIL, and converts back.

/// A Swift value behind a `_tally.Handle`, with the lock that makes it safe to
/// update from several Python threads.
final class Locked<Value>: @unchecked Sendable {
    var value: Value
    let mutex = Mutex()
    init(_ value: Value) { self.value = value }
    /// A consistent copy, read under the lock.
    func snapshot() -> Value { withoutGIL { mutex.locked { value } } }
    func mutate<R>(_ body: (inout Value) throws -> R) throws -> R {
        try withoutGIL { try mutex.locked { try body(&value) } }
    }
}

typealias ScoresBox = Locked<ScoreStore>
typealias RankingBox = Locked<RankingSums>
typealias BinnedBox = Locked<BinnedScores>

func doubles(_ values: [Double]) throws -> PyPtr { try bytesObject(values) }


func rankedResult(_ r: RankedScores) throws -> PyPtr {
    try tuple([try doubles(r.values), try bytesObject(r.undefined.map(Int64.init)), try warningsList(r.warnings)])
}

func labelScores(_ r: LabelScores) throws -> PyPtr {
    try tuple([try doubles(r.values), try warningsList(r.warnings)])
}

/// Two matrices and optional weights, held for the call: 1-D (one per row) or
/// 2-D (one per element, 0 marking an unknown entry).
struct ScoreBatch {
    let truth: HeldBuffer, scores: HeldBuffer, weights: HeldBuffer?
    init(_ args: Arguments, from i: Int, scoresName: String = "y_score") throws {
        truth = try HeldBuffer(args[i]!, name: "y_true", dimensions: 2...2)
        scores = try HeldBuffer(args[i + 1]!, name: scoresName, dimensions: 2...2)
        weights = try args.optional(i + 2).map { try HeldBuffer($0, name: "sample_weight", dimensions: 1...2) }
    }

    /// Adds the batch to the accumulator behind `target`, through its element-weight
    /// update when the weights are 2-D.
    func add<A: ElementWeightedScoreAccumulator>(to target: Locked<A>) throws {
        let (t, s) = (truth.matrix, scores.matrix)
        if let weights, weights.shape.count == 2 {
            _ = try weights.float64Elements(name: "sample_weight")
            let w = weights.matrix
            try target.mutate { try $0.update(truth: t, scores: s, elementWeights: w) }
        } else {
            let w = try weights?.float64Elements(name: "sample_weight")
            try target.mutate { try $0.update(truth: t, scores: s, sampleWeight: w) }
        }
    }
}

func optionalDouble(_ args: Arguments, _ i: Int, _ name: String) throws -> Double? {
    args.optional(i) == nil ? nil : try args.double(i, name)
}

func labelIndex(_ args: Arguments, _ i: Int, count: Int) throws -> Int {
    let j = try args.int(i, "label")
    guard j >= 0 && j < count else { throw PythonError.value("Expected `label` in [0, \(count)), but got \(j)") }
    return j
}

func bytesArgument(_ args: Arguments, _ i: Int) throws -> [UInt8] {
    guard let o = args[i], tally_bytes_check(o) != 0 else {
        throw PythonError.type("Expected `state` to be bytes, but got \(typeName(args[i]))")
    }
    guard let p = PyBytes_AsString(o) else { throw AlreadySet() }
    return Array(UnsafeRawBufferPointer(start: p, count: PyBytes_Size(o)))
}

func int64Array(_ args: Arguments, _ i: Int, _ name: String) throws -> [Int] {
    try HeldBuffer(args[i]!, name: name, dimensions: 1...1).int64Elements(name: name)
}

nonisolated(unsafe) let metricsFunctions: [Declaration] = [
    Declaration("kernel_level", 0...0, "kernel_level() -> str: the core's C kernels in use ('avx512', 'avx2', 'neon', 'baseline')") { _ in
        try pyString(Tally.kernelLevel)
    },
    // MARK: Counting metrics over Counts
    Declaration("counts_jaccard", 4...4, "counts_jaccard(counts, average, zero_division, labels) -> (values, warnings)") { a in
        let c = try box(a[0]).snapshot()
        let (avg, zd, sel) = (try average(a, 1), try zeroDivision(a, 2), try labels(a, 3))
        return try labelScores(try withoutGIL { try c.jaccard(average: avg, zeroDivision: zd, labels: sel) })
    },
    Declaration("counts_negative_class", 5...5,
                "counts_negative_class(counts, 'specificity'|'npv', average, zero_division, labels) -> (values, warnings)") { a in
        let c = try box(a[0]).snapshot()
        let which = try option(a, 1, as: NegativeClassMetric.self)
        let (avg, zd, sel) = (try average(a, 2), try zeroDivision(a, 3), try labels(a, 4))
        let r = try withoutGIL { try c.negativeClassScore(which, average: avg, zeroDivision: zd, labels: sel) }
        return try labelScores(r)
    },
    Declaration("counts_subset_accuracy", 2...2, "counts_subset_accuracy(counts, normalize) -> float") { a in
        try pyFloat(try box(a[0]).snapshot().subsetAccuracy(normalize: a.bool(1)))
    },
    Declaration("counts_zero_one_loss", 2...2, "counts_zero_one_loss(counts, normalize) -> float") { a in
        try pyFloat(try box(a[0]).snapshot().zeroOneLoss(normalize: a.bool(1)))
    },
    Declaration("counts_hamming_loss", 1...1, "counts_hamming_loss(counts) -> float") { a in
        try pyFloat(try box(a[0]).snapshot().hammingLoss())
    },
    Declaration("counts_label_accuracy", 3...3, "counts_label_accuracy(counts, labels, average) -> bytes") { a in
        let c = try box(a[0]).snapshot()
        return try doubles(try c.labelAccuracy(labels: try labels(a, 1), average: try average(a, 2)))
    },
    Declaration("counts_matthews", 3...3, "counts_matthews(counts, labels, average) -> bytes") { a in
        let c = try box(a[0]).snapshot()
        return try doubles(try c.matthewsCorrelation(labels: try labels(a, 1), average: try average(a, 2)))
    },
    Declaration("row_confusion", 3...5,
                "row_confusion(y_true, y_pred, sample_weight=None, threshold=0.5, labels=True) -> (bytes, is_weighted)") { a in
        let truth = try HeldBuffer(a[0]!, name: "y_true", dimensions: 2...2)
        let prediction = try HeldBuffer(a[1]!, name: "y_pred", dimensions: 2...2)
        let weights = try a.optional(2).map { try HeldBuffer($0, name: "sample_weight", dimensions: 1...1) }
        let w = try weights?.float64Elements(name: "sample_weight")
        let threshold = a.optional(3) == nil ? 0.5 : try a.double(3, "threshold")
        let kind: PredictionKind = a.count > 4 && !a.bool(4) ? .scores : .labels
        let (t, p) = (truth.matrix, prediction.matrix)
        let r = try withoutGIL { try RowConfusion(truth: t, prediction: p, sampleWeight: w, threshold: .scalar(threshold), kind: kind) }
        switch r {
        case .integers(let v): return try tuple([try bytesObject(v), tally_false()])
        case .weighted(let v): return try tuple([try bytesObject(v), tally_true()])
        }
    },

    // MARK: Missing labels
    Declaration("missing_weights", 2...3,
                "missing_weights(y_true, ignore_value, sample_weight=None (1-D or 2-D)) -> float64 bytes or None") { a in
        let missing = try MissingLabels(ignoreValue: try a.double(1, "ignore_value"))
        let truth = try HeldBuffer(a[0]!, name: "y_true", dimensions: 2...2)
        let weights = try a.optional(2).map { try HeldBuffer($0, name: "sample_weight", dimensions: 1...2) }
        let t = truth.matrix
        let result: [Double]?
        if let weights, weights.shape.count == 2 {
            _ = try weights.float64Elements(name: "sample_weight")
            let w = weights.matrix
            result = try withoutGIL { try missing.elementWeights(truth: t, elementWeights: w) }
        } else {
            let w = try weights?.float64Elements(name: "sample_weight")
            result = try withoutGIL { try missing.elementWeights(truth: t, sampleWeight: w) }
        }
        return try result.map(doubles) ?? tally_none()
    },

    // MARK: Exact score store
    Declaration("scores_new", 1...1, "scores_new(n_labels) -> handle") { a in
        try makeHandle(ScoresBox(try ScoreStore(labelCount: try a.int(0, "n_labels"))))
    },
    Declaration("scores_from_bytes", 1...1, "scores_from_bytes(state) -> handle") { a in
        let bytes = try bytesArgument(a, 0)
        return try makeHandle(ScoresBox(try withoutGIL { try ScoreStore(serialized: bytes) }))
    },
    Declaration("scores_update", 3...4, "scores_update(handle, y_true, y_score, sample_weight=None (1-D or 2-D))") { a in
        try ScoreBatch(a, from: 1).add(to: try a.handle(0, as: ScoresBox.self, "scores"))
        return tally_none()
    },
    Declaration("scores_merge", 2...2, "scores_merge(handle, other)") { a in
        let target = try a.handle(0, as: ScoresBox.self, "scores")
        let other = try a.handle(1, as: ScoresBox.self, "other").snapshot()
        try target.mutate { try $0.merge(other) }
        return tally_none()
    },
    Declaration("scores_reset", 1...1, "scores_reset(handle)") { a in
        try a.handle(0, as: ScoresBox.self, "scores").mutate { $0.reset() }
        return tally_none()
    },
    Declaration("scores_copy", 1...1, "scores_copy(handle) -> handle") { a in
        try makeHandle(ScoresBox(try a.handle(0, as: ScoresBox.self, "scores").snapshot()))
    },
    Declaration("scores_serialize", 1...1, "scores_serialize(handle) -> bytes") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        return try bytesObject(withoutGIL { s.serialized() })
    },
    Declaration("scores_info", 1...1, "scores_info(handle) -> (n_labels, rows, is_weighted, is_wide, memory_bytes)") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        return try tuple([try pyInt(s.labelCount), try pyInt(s.rowCount), pyBool(s.isWeighted), pyBool(s.isWide),
                          try pyInt(s.memoryBytes)])
    },
    Declaration("scores_roc_auc", 4...5, "scores_roc_auc(handle, average, max_fpr, labels, threads=0) -> (values, undefined, warnings)") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let (avg, maxFPR, sel) = (try average(a, 1), try optionalDouble(a, 2, "max_fpr"), try labels(a, 3))
        let threads = a.optional(4) == nil ? coreProcessorCount() : max(1, try a.int(4, "threads"))
        return try rankedResult(try withoutGIL { try s.rocAUC(average: avg, maxFPR: maxFPR, labels: sel, threads: threads) })
    },
    Declaration("scores_average_precision", 3...4, "scores_average_precision(handle, average, labels, threads=0) -> (values, undefined, warnings)") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let (avg, sel) = (try average(a, 1), try labels(a, 2))
        let threads = a.optional(3) == nil ? coreProcessorCount() : max(1, try a.int(3, "threads"))
        return try rankedResult(try withoutGIL { try s.averagePrecision(average: avg, labels: sel, threads: threads) })
    },
    Declaration("scores_curve", 4...4, "scores_curve(handle, 'roc'|'pr', label, drop_intermediate) -> (x, y, thresholds, warnings)") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let kind = try option(a, 1, as: CurveKind.self)
        let label = try labelIndex(a, 2, count: s.labelCount)
        let drop = a.bool(3)
        guard s.rowCount > 0 else { throw PythonError.value("Expected at least one row of scores, but got none") }
        let c = withoutGIL { () -> Curve in
            let curve = s.curve(label: label)
            return curve.curve(kind, dropIntermediate: drop)
        }
        return try tuple([try doubles(c.x), try doubles(c.y), try doubles(c.thresholds), try warningsList(c.warnings)])
    },

    // MARK: Binned score histogram
    Declaration("binned_new", 4...4, "binned_new(n_labels, bins, low, high) -> handle") { a in
        try makeHandle(BinnedBox(try BinnedScores(labelCount: try a.int(0, "n_labels"), bins: try a.int(1, "bins"),
                                                  low: try a.double(2, "low"), high: try a.double(3, "high"))))
    },
    Declaration("binned_from_bytes", 1...1, "binned_from_bytes(state) -> handle") { a in
        let bytes = try bytesArgument(a, 0)
        return try makeHandle(BinnedBox(try withoutGIL { try BinnedScores(serialized: bytes) }))
    },
    Declaration("binned_update", 3...4, "binned_update(handle, y_true, y_score, sample_weight=None)") { a in
        try ScoreBatch(a, from: 1).add(to: try a.handle(0, as: BinnedBox.self, "binned"))
        return tally_none()
    },
    Declaration("binned_merge", 2...2, "binned_merge(handle, other)") { a in
        let target = try a.handle(0, as: BinnedBox.self, "binned")
        let other = try a.handle(1, as: BinnedBox.self, "other").snapshot()
        try target.mutate { try $0.merge(other) }
        return tally_none()
    },
    Declaration("binned_reset", 1...1, "binned_reset(handle)") { a in
        try a.handle(0, as: BinnedBox.self, "binned").mutate { $0.reset() }
        return tally_none()
    },
    Declaration("binned_copy", 1...1, "binned_copy(handle) -> handle") { a in
        try makeHandle(BinnedBox(try a.handle(0, as: BinnedBox.self, "binned").snapshot()))
    },
    Declaration("binned_serialize", 1...1, "binned_serialize(handle) -> bytes") { a in
        let s = try a.handle(0, as: BinnedBox.self, "binned").snapshot()
        return try bytesObject(withoutGIL { s.serialized() })
    },
    Declaration("binned_info", 1...1, "binned_info(handle) -> (n_labels, bins, low, high, rows)") { a in
        let s = try a.handle(0, as: BinnedBox.self, "binned").snapshot()
        return try tuple([try pyInt(s.labelCount), try pyInt(s.bins), try pyFloat(s.low), try pyFloat(s.high),
                          try pyInt(Int(s.rowCount))])
    },
    Declaration("binned_score", 3...3,
                "binned_score(handle, 'roc_auc'|'average_precision', average) -> (values, lower, upper, undefined, warnings)") { a in
        let s = try a.handle(0, as: BinnedBox.self, "binned").snapshot()
        let metric = try option(a, 1, as: RankingScore.self)
        let avg = try average(a, 2)
        let r = try withoutGIL { try s.score(metric, average: avg) }
        return try tuple([try doubles(r.values), try doubles(r.lower), try doubles(r.upper),
                          try bytesObject(r.undefined.map(Int64.init)), try warningsList(r.warnings)])
    },

    // MARK: Ranking sums
    Declaration("ranking_new", 3...4, "ranking_new(n_labels, k, top_k, metrics_bits=None) -> handle") { a in
        let k = a.optional(1) == nil ? nil : try a.int(1, "k")
        let topK = try int64Array(a, 2, "top_k")
        let metrics = a.optional(3) == nil ? RankingSums.Metrics.all
                                           : RankingSums.Metrics(rawValue: UInt64(truncatingIfNeeded: try a.int(3, "metrics")))
        return try makeHandle(RankingBox(try RankingSums(labelCount: try a.int(0, "n_labels"), ndcgK: k, topK: topK,
                                                         metrics: metrics)))
    },
    Declaration("ranking_from_bytes", 1...1, "ranking_from_bytes(state) -> handle") { a in
        let bytes = try bytesArgument(a, 0)
        return try makeHandle(RankingBox(try withoutGIL { try RankingSums(serialized: bytes) }))
    },
    Declaration("ranking_update", 3...4, "ranking_update(handle, y_true, y_score, sample_weight=None)") { a in
        try ScoreBatch(a, from: 1).add(to: try a.handle(0, as: RankingBox.self, "ranking"))
        return tally_none()
    },
    Declaration("ranking_merge", 2...2, "ranking_merge(handle, other)") { a in
        let target = try a.handle(0, as: RankingBox.self, "ranking")
        let other = try a.handle(1, as: RankingBox.self, "other").snapshot()
        try target.mutate { try $0.merge(other) }
        return tally_none()
    },
    Declaration("ranking_reset", 1...1, "ranking_reset(handle)") { a in
        try a.handle(0, as: RankingBox.self, "ranking").mutate { $0.reset() }
        return tally_none()
    },
    Declaration("ranking_copy", 1...1, "ranking_copy(handle) -> handle") { a in
        try makeHandle(RankingBox(try a.handle(0, as: RankingBox.self, "ranking").snapshot()))
    },
    Declaration("ranking_serialize", 1...1, "ranking_serialize(handle) -> bytes") { a in
        try bytesObject(try a.handle(0, as: RankingBox.self, "ranking").snapshot().serialized())
    },
    Declaration("ranking_info", 1...1, "ranking_info(handle) -> (n_labels, k, top_k bytes, rows, is_binary)") { a in
        let s = try a.handle(0, as: RankingBox.self, "ranking").snapshot()
        return try tuple([try pyInt(s.labelCount), try s.ndcgK.map(pyInt) ?? tally_none(),
                          try bytesObject(s.topK.map(Int64.init)), try pyInt(Int(s.rowCount)), pyBool(s.isBinary)])
    },
    Declaration("ranking_value", 2...2, "ranking_value(handle, name) -> float or bytes") { a in
        let s = try a.handle(0, as: RankingBox.self, "ranking").snapshot()
        switch try option(a, 1, as: RankingMetric.self) {
        case .lrap: return try pyFloat(try s.labelRankingAveragePrecision())
        case .coverage: return try pyFloat(try s.coverageError())
        case .rankingLoss: return try pyFloat(try s.labelRankingLoss())
        case .ndcg: return try pyFloat(try s.ndcgScore())
        case .precisionAtK: return try doubles(try s.precisionAtTopK())
        case .recallAtK: return try doubles(try s.recallAtTopK())
        }
    },
]
