// `tally calibration --true y_true.npy --score y_prob.npy [--bins N]`: per-label Brier
// score, log loss, ECE and MCE of recorded arrays, printed as the core's table (the
// Python console script prints the same bytes).

import Tally

#if canImport(Glibc)
import Glibc
#endif

let calibrationUsage = """
usage: tally calibration --true Y_TRUE.npy --score Y_PROB.npy [--bins N] [--weights W.npy]
                         [--labels NAMES.txt] [--digits N]

Per label: the Brier score and log loss (scikit-learn's brier_score_loss and log_loss,
column by column), ECE and MCE over N equal-width bins of [0, 1] (default 15), and
their micro, macro, weighted and samples averages. Y_PROB holds probabilities in [0, 1].
"""

func runCalibration(_ arguments: [String]) throws {
    var truePath: String?, scorePath: String?, weightsPath: String?, labelsPath: String?
    var bins = 15, digits = 2
    let flags = Flags(arguments)
    flags.forEach { flag in
        switch flag {
        case "--true": truePath = flags.value(flag)
        case "--score": scorePath = flags.value(flag)
        case "--weights": weightsPath = flags.value(flag)
        case "--labels": labelsPath = flags.value(flag)
        case "--bins": bins = flags.integer(flag, 1...(1 << 20))
        case "--digits": digits = flags.integer(flag, 0...15)
        case "-h", "--help": print(calibrationUsage); exit(0)
        default: fail("unknown option '\(flag)'\n\(calibrationUsage)")
        }
    }
    guard let truePath, let scorePath else { fail("--true and --score are required\n\(calibrationUsage)") }
    let truth = try NPYArray(contentsOf: truePath)
    let scores = try NPYArray(contentsOf: scorePath)
    guard truth.shape.count == 2 else {
        throw TallyError.invalidValue("Expected y_true to be 2-D (n, labels), but got shape \(truth.shape)")
    }
    var sums = try CalibrationSums(labelCount: truth.shape[1], bins: bins)
    let weights = try weightsPath.map { try NPYArray(contentsOf: $0).doubles() }
    try truth.withMatrixView { t in
        try scores.withMatrixView { s in
            try weights.withOptionalBuffer { try sums.update(truth: t, scores: s, sampleWeight: $0) }
        }
    }
    print(try sums.table(names: try labelsPath.map(readLines), digits: digits), terminator: "")
}
