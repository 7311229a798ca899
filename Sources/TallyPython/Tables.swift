import CPython
import Tally
import TallyPythonBridge

// Per-label tables the progress callbacks and the CLI print, and the binned
// histogram's edges and parts for tally.keras's binned ROC AUC / AP metrics.
// Each converts its arguments and calls the core.

func float64List(_ args: Arguments, _ i: Int, _ name: String) throws -> [Double] {
    Array(try HeldBuffer(args[i]!, name: name, dimensions: 1...1).float64Elements(name: name))
}

func int64List(_ args: Arguments, _ i: Int, _ name: String) throws -> [Int64] {
    try int64Array(args, i, name).map(Int64.init)
}

nonisolated(unsafe) let tableFunctions: [Declaration] = [
    Declaration("label_table", 4...4,
                "label_table(columns, labels, values float64 (labels × columns), digits) -> str: a per-label table of logged values") { a in
        let columns = try stringList(a[0]!, name: "columns")
        let labels = try stringList(a[1]!, name: "labels")
        return try pyString(try labelTable(columns: columns, labels: labels, values: try float64List(a, 2, "values"),
                                           digits: try a.int(3, "digits")))
    },
    Declaration("thresholds_oof_table", 8...8,
                "thresholds_oof_table(json, folds, seed, values, precision, recall, names, digits) -> str: "
                    + "the out-of-fold section `tally thresholds --folds` prints") { a in
        let tuned = try TunedThresholds(json: try a.string(0, "json"))
        let seed = try a.int(2, "seed")
        guard seed >= 0 else { throw PythonError.value("Expected `seed` to be an int >= 0, but got \(seed)") }
        let oof = try OutOfFoldThresholds(folds: try a.int(1, "folds"), seed: UInt64(seed), tuned: tuned,
                                          values: try float64List(a, 3, "values"),
                                          precision: try float64List(a, 4, "precision"),
                                          recall: try float64List(a, 5, "recall"))
        let names = try a.optional(6).map { try stringList($0, name: "target_names") }
        return try pyString(try oof.table(names: names, digits: try a.int(7, "digits")))
    },
    Declaration("binned_edges", 3...3, "binned_edges(bins, low, high) -> float64 bytes: the lowest score of bins 1..<bins") { a in
        let b = try BinnedScores(labelCount: 1, bins: try a.int(0, "bins"), low: try a.double(1, "low"), high: try a.double(2, "high"))
        return try doubles(b.edges)
    },
    Declaration("binned_from_histograms", 9...9,
                "binned_from_histograms(n_labels, bins, low, high, positive_weight, negative_weight, positive_count, "
                    + "negative_count, weighted) -> handle") { a in
        let b = try BinnedScores(labelCount: try a.int(0, "n_labels"), bins: try a.int(1, "bins"), low: try a.double(2, "low"),
                                 high: try a.double(3, "high"), positiveWeight: try float64List(a, 4, "positive_weight"),
                                 negativeWeight: try float64List(a, 5, "negative_weight"),
                                 positiveCount: try int64List(a, 6, "positive_count"),
                                 negativeCount: try int64List(a, 7, "negative_count"), isWeighted: a.bool(8))
        return try makeHandle(BinnedBox(b))
    },
]
