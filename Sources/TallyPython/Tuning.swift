import CPython
import Tally
import TallyPythonBridge
import TallyThreads

// Tuned thresholds: the exact store, the binned histogram and the result's
// JSON. Each declaration parses the objective through the core's parser, tunes
// without the GIL and hands back the core's JSON text (the one format the CLI
// writes too), which `tally.thresholds` reads.

/// The objective from (name, beta, min_precision, min_recall, rate) at `i`…`i + 4`.
func objective(_ args: Arguments, from i: Int) throws -> ThresholdObjective {
    try ThresholdObjective(parsing: try args.string(i, "objective"), beta: try optionalDouble(args, i + 1, "beta"),
                           minPrecision: try optionalDouble(args, i + 2, "min_precision"),
                           minRecall: try optionalDouble(args, i + 3, "min_recall"),
                           rate: try optionalDouble(args, i + 4, "rate"))
}

func threadCount(_ args: Arguments, _ i: Int) throws -> Int {
    args.optional(i) == nil ? coreProcessorCount() : max(1, try args.int(i, "threads"))
}

nonisolated(unsafe) let tuningFunctions: [Declaration] = [
    Declaration("scores_tune", 6...7,
                "scores_tune(handle, objective, beta, min_precision, min_recall, rate, threads=None) -> json") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let o = try objective(a, from: 1)
        let threads = try threadCount(a, 6)
        return try pyString(try withoutGIL { try s.tuneThresholds(o, threads: threads).json() })
    },
    Declaration("scores_tune_many", 2...3,
                "scores_tune_many(handle, ((objective, beta, min_precision, min_recall, rate), ...), threads=None) "
                    + "-> tuple of json: several objectives from one sorted pass per label") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        guard let list = a[1], PySequence_Check(list) != 0 else {
            throw PythonError.type("Expected `objectives` to be a sequence of tuples, but got \(typeName(a[1]))")
        }
        let count = PySequence_Size(list)
        if count < 0 { throw AlreadySet() }
        let objectives = try (0..<count).map { i -> ThresholdObjective in
            let element = try check(PySequence_GetItem(list, i))
            defer { Py_DecRef(element) }
            let item = try check(PySequence_Tuple(element))
            defer { Py_DecRef(item) }
            guard PyTuple_Size(item) == 5 else {
                throw PythonError.value("Expected each objective as (name, beta, min_precision, min_recall, rate), but got \(PyTuple_Size(item)) items")
            }
            let fields = (0..<5).map { PyTuple_GetItem(item, $0) }
            return try fields.withUnsafeBufferPointer { try objective(try Arguments($0.baseAddress, 5, function: "scores_tune_many", expected: 5...5), from: 0) }
        }
        let threads = try threadCount(a, 2)
        let results = try withoutGIL { try s.tuneThresholds(objectives, threads: threads) }
        return try tuple(try results.map { try pyString($0.json()) })
    },
    Declaration("scores_tune_out_of_fold", 8...9,
                "scores_tune_out_of_fold(handle, objective, beta, min_precision, min_recall, rate, folds, seed, threads=None) "
                    + "-> (json, fold_of_row, fold_thresholds, values, precision, recall, undefined, average)") { a in
        let s = try a.handle(0, as: ScoresBox.self, "scores").snapshot()
        let o = try objective(a, from: 1)
        let folds = try a.int(6, "folds")
        let seed = try a.int(7, "seed")
        guard seed >= 0 else { throw PythonError.value("Expected `seed` to be an int >= 0, but got \(seed)") }
        let threads = try threadCount(a, 8)
        let r = try withoutGIL { try s.tuneThresholdsOutOfFold(o, folds: folds, seed: UInt64(seed), threads: threads) }
        return try tuple([try pyString(r.tuned.json()), try bytesObject(r.foldOfRow.map(Int64.init)),
                          try doubles(r.foldThresholds.flatMap { $0 }), try doubles(r.values), try doubles(r.precision),
                          try doubles(r.recall), try bytesObject(r.undefined.map(Int64.init)), try pyFloat(r.average)])
    },
    Declaration("binned_tune", 6...6, "binned_tune(handle, objective, beta, min_precision, min_recall, rate) -> json") { a in
        let s = try a.handle(0, as: BinnedBox.self, "binned").snapshot()
        let o = try objective(a, from: 1)
        return try pyString(try withoutGIL { try s.tuneThresholds(o).json() })
    },
    Declaration("thresholds_parse", 1...1, "thresholds_parse(json) -> json: checked by the core, rewritten in its layout") { a in
        let text = try a.string(0, "json")
        return try pyString(try TunedThresholds(json: text).json())
    },
    Declaration("thresholds_table", 3...3, "thresholds_table(json, names, digits) -> str: the table `tally thresholds` prints") { a in
        let tuned = try TunedThresholds(json: try a.string(0, "json"))
        let names = try a.optional(1).map { try stringList($0, name: "target_names") }
        return try pyString(try tuned.table(names: names, digits: try a.int(2, "digits")))
    },
    Declaration("thresholds_npy", 1...1, "thresholds_npy(json) -> bytes of the thresholds as a float64 .npy") { a in
        try bytesObject(try TunedThresholds(json: try a.string(0, "json")).npyBytes())
    },
]
