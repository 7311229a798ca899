import CPython
import Tally
import TallyPythonBridge

// Calibration: the streamed sums (Brier score, log loss, equal-width bins) and
// the equal-mass bins of the exact score store. Each declaration validates,
// converts, calls the core without the GIL and converts back.

typealias CalibrationBox = Locked<CalibrationSums>

/// (edges, counts int64, weights, mean scores, fractions positive) as bytes.
func reliabilityTuple(_ r: ReliabilityBins) throws -> PyPtr {
    try tuple([try doubles(r.edges), try bytesObject(r.counts), try doubles(r.weights),
               try doubles(r.meanScores), try doubles(r.fractionsPositive)])
}

nonisolated(unsafe) let calibrationFunctions: [Declaration] = [
    Declaration("calibration_new", 2...2, "calibration_new(n_labels, n_bins) -> handle") { a in
        try makeHandle(CalibrationBox(try CalibrationSums(labelCount: try a.int(0, "n_labels"), bins: try a.int(1, "n_bins"))))
    },
    Declaration("calibration_from_bytes", 1...1, "calibration_from_bytes(state) -> handle") { a in
        let bytes = try bytesArgument(a, 0)
        return try makeHandle(CalibrationBox(try withoutGIL { try CalibrationSums(serialized: bytes) }))
    },
    Declaration("calibration_update", 3...4, "calibration_update(handle, y_true, y_prob, sample_weight=None (1-D or 2-D))") { a in
        try ScoreBatch(a, from: 1, scoresName: "y_prob").add(to: try a.handle(0, as: CalibrationBox.self, "calibration"))
        return tally_none()
    },
    Declaration("calibration_merge", 2...2, "calibration_merge(handle, other)") { a in
        let target = try a.handle(0, as: CalibrationBox.self, "calibration")
        let other = try a.handle(1, as: CalibrationBox.self, "other").snapshot()
        try target.mutate { try $0.merge(other) }
        return tally_none()
    },
    Declaration("calibration_reset", 1...1, "calibration_reset(handle)") { a in
        try a.handle(0, as: CalibrationBox.self, "calibration").mutate { $0.reset() }
        return tally_none()
    },
    Declaration("calibration_copy", 1...1, "calibration_copy(handle) -> handle") { a in
        try makeHandle(CalibrationBox(try a.handle(0, as: CalibrationBox.self, "calibration").snapshot()))
    },
    Declaration("calibration_serialize", 1...1, "calibration_serialize(handle) -> bytes") { a in
        let s = try a.handle(0, as: CalibrationBox.self, "calibration").snapshot()
        return try bytesObject(withoutGIL { s.serialized() })
    },
    Declaration("calibration_info", 1...1, "calibration_info(handle) -> (n_labels, n_bins, rows, is_weighted)") { a in
        let s = try a.handle(0, as: CalibrationBox.self, "calibration").snapshot()
        return try tuple([try pyInt(s.labelCount), try pyInt(s.bins), try pyInt(Int(s.rowCount)), pyBool(s.isWeighted)])
    },
    Declaration("calibration_score", 4...4, "calibration_score(handle, 'brier'|'log_loss', average, labels) -> bytes") { a in
        let s = try a.handle(0, as: CalibrationBox.self, "calibration").snapshot()
        let (loss, avg, sel) = (try option(a, 1, as: CalibrationLoss.self), try average(a, 2), try labels(a, 3))
        return try doubles(try withoutGIL { try s.score(loss, average: avg, labels: sel) })
    },
    Declaration("calibration_error", 4...4, "calibration_error(handle, 'ece'|'mce', average, labels) -> bytes") { a in
        let s = try a.handle(0, as: CalibrationBox.self, "calibration").snapshot()
        let (metric, avg, sel) = (try option(a, 1, as: CalibrationError.self), try average(a, 2), try labels(a, 3))
        return try doubles(try withoutGIL { try s.calibrationError(metric, average: avg, labels: sel) })
    },
    Declaration("calibration_reliability", 2...2, "calibration_reliability(handle, label) -> (edges, counts, weights, mean_score, fraction_positive)") { a in
        let s = try a.handle(0, as: CalibrationBox.self, "calibration").snapshot()
        let label = try labelIndex(a, 1, count: s.labelCount)
        return try reliabilityTuple(try s.reliability(label: label))
    },
    Declaration("calibration_table", 3...3, "calibration_table(handle, names | None, digits) -> str") { a in
        let s = try a.handle(0, as: CalibrationBox.self, "calibration").snapshot()
        let names = try a.optional(1).map { try stringList($0, name: "label_names") }
        let digits = try a.int(2, "digits")
        return try pyString(try withoutGIL { try s.table(names: names, digits: digits) })
    },
    // Equal-mass bins from the exact score store.
    Declaration("scores_reliability", 3...3, "scores_reliability(handle, label, n_bins) -> (edges, counts, weights, mean_score, fraction_positive)") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let label = try labelIndex(a, 1, count: s.labelCount)
        let bins = try a.int(2, "n_bins")
        return try reliabilityTuple(try withoutGIL { try s.reliability(label: label, bins: bins) })
    },
    Declaration("scores_calibration_error", 5...5, "scores_calibration_error(handle, 'ece'|'mce', n_bins, average, labels) -> bytes") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let metric = try option(a, 1, as: CalibrationError.self)
        let (bins, avg, sel) = (try a.int(2, "n_bins"), try average(a, 3), try labels(a, 4))
        return try doubles(try withoutGIL { try s.calibrationError(metric, bins: bins, average: avg, labels: sel) })
    },
]
