import CPython
import Tally
import TallyPythonBridge

// Confidence intervals: the bootstrap replicates' handle, the counts' intervals
// (Wilson, Clopper–Pearson, bootstrap: the core picks by name), DeLong's from the
// score store, and the core's Poisson draws (so tests can reproduce them).

typealias BootstrapBox = Locked<BootstrapCounts>

func intervalsResult(_ r: ConfidenceIntervals) throws -> PyPtr {
    try tuple([try doubles(r.lower), try doubles(r.upper), try doubles(r.point)])
}

/// Row ids as UInt64: an int64 array of ids ≥ 0, or nil.
func rowIDs(_ args: Arguments, _ i: Int) throws -> [UInt64]? {
    guard args.optional(i) != nil else { return nil }
    let ids = try int64Array(args, i, "row_ids")
    if let bad = ids.firstIndex(where: { $0 < 0 }) {
        throw PythonError.value("Expected `row_ids` to be ints >= 0, but got \(ids[bad]) at position \(bad)")
    }
    return ids.map { UInt64($0) }
}

func seedArgument(_ args: Arguments, _ i: Int) throws -> UInt64 {
    let seed = try args.int(i, "seed")
    guard seed >= 0 else { throw PythonError.value("Expected `seed` to be an int >= 0, but got \(seed)") }
    return UInt64(seed)
}

nonisolated(unsafe) let intervalFunctions: [Declaration] = [
    // MARK: Bootstrap replicates
    Declaration("bootstrap_new", 4...4,
                "bootstrap_new(n_labels, replicates | None (the core's default), seed, thresholds float64) -> handle") { a in
        let thresholds = Array(try HeldBuffer(a[3]!, name: "threshold", dimensions: 1...1).float64Elements(name: "threshold"))
        let replicates = a.optional(1) == nil ? BootstrapCounts.defaultReplicates : try a.int(1, "bootstrap")
        return try makeHandle(BootstrapBox(try BootstrapCounts(labelCount: try a.int(0, "n_labels"),
                                                               replicates: replicates,
                                                               seed: try seedArgument(a, 2), threshold: .perLabel(thresholds))))
    },
    Declaration("bootstrap_from_bytes", 1...1, "bootstrap_from_bytes(state) -> handle") { a in
        let bytes = try bytesArgument(a, 0)
        return try makeHandle(BootstrapBox(try withoutGIL { try BootstrapCounts(serialized: bytes) }))
    },
    Declaration("bootstrap_update", 3...5,
                "bootstrap_update(handle, y_true, y_pred, sample_weight=None (1-D or 2-D), row_ids=None)") { a in
        let target = try a.handle(0, as: BootstrapBox.self, "bootstrap")
        let truth = try HeldBuffer(a[1]!, name: "y_true", dimensions: 2...2)
        let prediction = try HeldBuffer(a[2]!, name: "y_pred", dimensions: 2...2)
        let weights = try a.optional(3).map { try HeldBuffer($0, name: "sample_weight", dimensions: 1...2) }
        let ids = try rowIDs(a, 4)
        let (t, p) = (truth.matrix, prediction.matrix)
        if let weights, weights.shape.count == 2 {
            _ = try weights.float64Elements(name: "sample_weight")
            let w = weights.matrix
            try target.mutate { try $0.update(truth: t, prediction: p, elementWeights: w, rowIDs: ids) }
            return tally_none()
        }
        let w = try weights?.float64Elements(name: "sample_weight")
        try target.mutate { try $0.update(truth: t, prediction: p, sampleWeight: w, rowIDs: ids) }
        return tally_none()
    },
    Declaration("bootstrap_merge", 2...2, "bootstrap_merge(handle, other)") { a in
        let target = try a.handle(0, as: BootstrapBox.self, "bootstrap")
        let other = try a.handle(1, as: BootstrapBox.self, "other").snapshot()
        try target.mutate { try $0.merge(other) }
        return tally_none()
    },
    Declaration("bootstrap_reset", 1...1, "bootstrap_reset(handle)") { a in
        try a.handle(0, as: BootstrapBox.self, "bootstrap").mutate { $0.reset() }
        return tally_none()
    },
    Declaration("bootstrap_copy", 1...1, "bootstrap_copy(handle) -> handle") { a in
        try makeHandle(BootstrapBox(try a.handle(0, as: BootstrapBox.self, "bootstrap").snapshot()))
    },
    Declaration("bootstrap_serialize", 1...1, "bootstrap_serialize(handle) -> bytes") { a in
        let s = try a.handle(0, as: BootstrapBox.self, "bootstrap").snapshot()
        return try bytesObject(withoutGIL { s.serialized() })
    },
    Declaration("bootstrap_info", 1...1, "bootstrap_info(handle) -> (n_labels, replicates, seed, rows, memory_bytes, thresholds)") { a in
        let s = try a.handle(0, as: BootstrapBox.self, "bootstrap").snapshot()
        return try tuple([try pyInt(s.labelCount), try pyInt(s.replicates), try pyInt(Int(s.seed)),
                          try pyInt(Int(s.rowCount)), try pyInt(s.memoryBytes), try bytesObject(s.thresholds)])
    },
    Declaration("bootstrap_distribution", 6...6,
                "bootstrap_distribution(handle, metric, beta, average, zero_division, labels) -> bytes (replicates × values)") { a in
        let s = try a.handle(0, as: BootstrapBox.self, "bootstrap").snapshot()
        let metric = try option(a, 1, as: IntervalMetric.self)
        let (beta, avg, zd, sel) = (try a.double(2, "beta"), try average(a, 3), try zeroDivision(a, 4), try labels(a, 5))
        let values = try withoutGIL { try s.distribution(metric, beta: beta, average: avg, zeroDivision: zd, labels: sel) }
        return try doubles(values.flatMap { $0 })
    },
    Declaration("poisson_weights", 3...3, "poisson_weights(seed, row_ids int64, replicates) -> bytes (rows × replicates)") { a in
        let draws = PoissonDraws(seed: try seedArgument(a, 0))
        let ids = try rowIDs(a, 1) ?? []
        let replicates = try a.int(2, "replicates")
        guard replicates >= 1 else { throw PythonError.value("Expected `replicates` to be at least 1, but got \(replicates)") }
        return try doubles(draws.weights(rows: ids, replicates: replicates))
    },

    // MARK: Intervals
    Declaration("counts_interval", 9...9,
                "counts_interval(counts, bootstrap | None, metric, method, beta, average, zero_division, labels, level) -> (lower, upper, point)") { a in
        let c = try box(a[0]).snapshot()
        let replicates = try a.optional(1).map { _ in try a.handle(1, as: BootstrapBox.self, "bootstrap").snapshot() }
        let metric = try option(a, 2, as: IntervalMetric.self)
        let method = try option(a, 3, as: IntervalMethod.self)
        let (beta, avg, zd, sel) = (try a.double(4, "beta"), try average(a, 5), try zeroDivision(a, 6), try labels(a, 7))
        let level = try a.double(8, "level")
        return try intervalsResult(try withoutGIL {
            try c.confidenceIntervals(metric, method: method, replicates: replicates, beta: beta, average: avg,
                                      zeroDivision: zd, labels: sel, level: level)
        })
    },
    Declaration("proportion_interval", 4...4,
                "proportion_interval(successes float64, trials float64, level, method) -> (lower, upper)") { a in
        let successes = try HeldBuffer(a[0]!, name: "successes", dimensions: 1...1).float64Elements(name: "successes")
        let trials = try HeldBuffer(a[1]!, name: "trials", dimensions: 1...1).float64Elements(name: "trials")
        guard successes.count == trials.count else {
            throw PythonError.value("Expected `trials` to have \(successes.count) values like `successes`, but got \(trials.count)")
        }
        let level = try a.double(2, "level")
        try checkLevel(level)
        let method = try option(a, 3, as: IntervalMethod.self)
        guard method == .wilson || method == .clopperPearson else {
            throw PythonError.value("Expected `method` to be 'wilson' or 'clopper_pearson' for a proportion, but got '\(method.rawValue)'")
        }
        let bounds = (0..<successes.count).map {
            proportionInterval(successes: successes[$0], trials: trials[$0], level: level, method: method)
        }
        return try tuple([try doubles(bounds.map(\.lower)), try doubles(bounds.map(\.upper))])
    },
    Declaration("scores_delong", 3...3, "scores_delong(handle, level, labels) -> (lower, upper, auc, variance)") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let (level, sel) = (try a.double(1, "level"), try labels(a, 2))
        let r = try withoutGIL { try s.delongIntervals(level: level, labels: sel) }
        return try tuple([try doubles(r.intervals.lower), try doubles(r.intervals.upper), try doubles(r.intervals.point),
                          try doubles(r.variance)])
    },
    Declaration("scores_delong_test", 3...3, "scores_delong_test(a, b, labels) -> (auc_a, auc_b, variance, z, p_value)") { a in
        let first = try a.handle(0, as: ScoresBox.self, "a").snapshot()
        let second = try a.handle(1, as: ScoresBox.self, "b").snapshot()
        let sel = try labels(a, 2)
        let r = try withoutGIL { try delongTest(first, second, labels: sel) }
        return try tuple([try doubles(r.aucA), try doubles(r.aucB), try doubles(r.variance), try doubles(r.z),
                          try doubles(r.pValue)])
    },
]
