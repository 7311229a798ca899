// `tally calibration --true y_true.npy --score y_prob.npy [--bins N]`: per-label Brier
// score, log loss, ECE and MCE of recorded arrays, printed as the core's table (the
// Python console script prints the same bytes).

import Tally

#if canImport(Glibc)
import Glibc
#endif

let calibrationUsage = """
usage: tally calibration --true Y_TRUE.npy --score Y_PROB.npy [--bins N] [--weights W.npy]
                         [--ignore-value V] [--labels NAMES.txt] [--digits N]

Per label: the Brier score and log loss (scikit-learn's brier_score_loss and log_loss,
column by column), ECE and MCE over N equal-width bins of [0, 1] (default 15), and
their micro, macro, weighted and samples averages. Y_PROB holds probabilities in [0, 1].
--ignore-value V marks the entries of Y_TRUE equal to V (and nan) unknown: each label is
scored on the rows where it is known.
"""

func runCalibration(_ arguments: [String]) throws {
    var truePath: String?, scorePath: String?, weightsPath: String?, labelsPath: String?
    var bins = 15, digits = 2, ignoreValue: Double?
    let flags = Flags(arguments)
    flags.forEach { flag in
        switch flag {
        case "--true": truePath = flags.value(flag)
        case "--score": scorePath = flags.value(flag)
        case "--weights": weightsPath = flags.value(flag)
        case "--labels": labelsPath = flags.value(flag)
        case "--ignore-value": ignoreValue = flags.number(flag, allowingNaN: true)
        case "--bins": bins = flags.integer(flag, 1...(1 << 20))
        case "--digits": digits = flags.integer(flag, 0...15)
        case "-h", "--help": print(calibrationUsage); exit(0)
        default: fail("unknown option '\(flag)'\n\(calibrationUsage)")
        }
    }
    guard let truePath, let scorePath else { fail("--true and --score are required\n\(calibrationUsage)") }
    let batch = try RecordedBatch(truePath: truePath, scorePath: scorePath, weightsPath: weightsPath,
                                  ignoreValue: ignoreValue)
    var sums = try CalibrationSums(labelCount: batch.labelCount, bins: bins)
    try batch.add(to: &sums)
    print(try sums.table(names: try labelsPath.map(readLines), digits: digits), terminator: "")
}
