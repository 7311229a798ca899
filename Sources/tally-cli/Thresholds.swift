// `tally thresholds --true y_true.npy --score y_score.npy --objective f1 [--out t.json]`:
// one tuned threshold per label of recorded arrays, printed as the core's table
// (the Python console script prints the same bytes) and written as JSON or .npy.

import Tally

#if canImport(Glibc)
import Glibc
#endif

let thresholdsUsage = """
usage: tally thresholds --true Y_TRUE.npy --score Y_SCORE.npy [--objective NAME] [--beta B]
                        [--min-precision P] [--min-recall R] [--rate R] [--weights W.npy]
                        [--labels NAMES.txt] [--digits N] [--out T.json|T.npy] [--folds K [--seed S]]

Tunes one threshold per label (predict score >= threshold) over every distinct score, exactly.
NAME is f1 (default), fbeta (needs --beta), recall_at_precision (--min-precision),
precision_at_recall (--min-recall), youden or rate (--rate). Among equal optima the highest
threshold wins; a label where the objective is undefined gets +inf. --out writes the result
as JSON (the whole result) or .npy (the thresholds), for `tally report --thresholds`.
--folds K adds an honest estimate: the rows are shuffled (seed S, default 0) into K folds,
each fold is scored at thresholds tuned on the other K-1, and the pooled held-out values
are printed after the table (the thresholds written are still those tuned on all rows).
"""

struct ThresholdOptions {
    var truePath: String?, scorePath: String?, weightsPath: String?, labelsPath: String?, outPath: String?
    var objective = "f1"
    var beta: Double?, minPrecision: Double?, minRecall: Double?, rate: Double?
    var digits = 2
    var folds: Int?, seed = 0
    var ignoreValue: Double?
}

func parseThresholds(_ arguments: [String]) -> ThresholdOptions {
    var o = ThresholdOptions()
    let flags = Flags(arguments)
    flags.forEach { flag in
        switch flag {
        case "--true": o.truePath = flags.value(flag)
        case "--score": o.scorePath = flags.value(flag)
        case "--weights": o.weightsPath = flags.value(flag)
        case "--ignore-value": o.ignoreValue = flags.number(flag, allowingNaN: true)
        case "--labels": o.labelsPath = flags.value(flag)
        case "--out": o.outPath = flags.value(flag)
        case "--objective": o.objective = flags.value(flag)
        case "--beta": o.beta = flags.number(flag)
        case "--min-precision": o.minPrecision = flags.number(flag)
        case "--min-recall": o.minRecall = flags.number(flag)
        case "--rate": o.rate = flags.number(flag)
        case "--digits": o.digits = flags.integer(flag, 0...15)
        case "--folds": o.folds = flags.parsed(flag, expects: "an integer") { Int($0) }
        case "--seed": o.seed = flags.parsed(flag, expects: "an integer >= 0") { Int($0).flatMap { $0 >= 0 ? $0 : nil } }
        case "-h", "--help": print(thresholdsUsage); exit(0)
        default: fail("unknown option '\(flag)'\n\(thresholdsUsage)")
        }
    }
    return o
}

func runThresholds(_ arguments: [String]) throws {
    let o = parseThresholds(arguments)
    guard let truePath = o.truePath, let scorePath = o.scorePath else { fail("--true and --score are required\n\(thresholdsUsage)") }
    if let out = o.outPath, !out.hasSuffix(".json") && !out.hasSuffix(".npy") {
        throw TallyError.invalidValue("Expected --out to end in .json or .npy, but got '\(out)'")
    }
    let objective = try ThresholdObjective(parsing: o.objective, beta: o.beta, minPrecision: o.minPrecision,
                                           minRecall: o.minRecall, rate: o.rate)
    let batch = try RecordedBatch(truePath: truePath, scorePath: scorePath, weightsPath: o.weightsPath,
                                  ignoreValue: o.ignoreValue)
    var store = try ScoreStore(labelCount: batch.labelCount)
    try batch.add(to: &store)
    let names = try o.labelsPath.map(readLines)
    var tuned: TunedThresholds, estimate = ""
    if let folds = o.folds {
        let r = try store.tuneThresholdsOutOfFold(objective, folds: folds, seed: UInt64(o.seed))
        tuned = r.tuned
        estimate = "\n" + (try r.table(names: names, digits: o.digits))
    } else {
        tuned = try store.tuneThresholds(objective)
    }
    let table = try tuned.table(names: names, digits: o.digits) + estimate
    if let out = o.outPath { try tuned.write(to: out) }
    print(table, terminator: "")
}
