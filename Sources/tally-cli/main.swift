// `tally report --true y_true.npy --score y_score.npy [options]`: a per-label report
// of recorded arrays. The Python console script `tally` prints the same bytes (both
// format through the core's ClassificationReport).

import Tally

#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage: tally report --true Y_TRUE.npy --score Y_SCORE.npy [--threshold T | --thresholds T.npy|T.json]
                    [--labels NAMES.txt] [--format text|json|markdown|html] [--digits N]
                    [--zero-division warn|0|1|nan] [--weights W.npy] [--ignore-value V]
                    [--ci wilson|clopper_pearson|bootstrap [--level L] [--bootstrap B] [--seed S]]

Scores every label of recorded arrays exactly as scikit-learn's classification_report on
(y_true, y_score >= threshold). Y_TRUE is (n, labels) of 0/1; Y_SCORE the same shape of
scores (or 0/1 predictions); NAMES.txt has one label name per line. T.json is written by
`tally thresholds` (see `tally thresholds --help`). --ci adds interval columns at level L
(0.95): Wilson or Clopper-Pearson for precision and recall (labels, micro average), or a
Poisson bootstrap of B replicates (200) seeded with S (0) for precision, recall and F1.
--ignore-value V marks the entries of Y_TRUE equal to V (and nan) unknown: each label is
scored on the rows where it is known, and a row on its known labels.
"""

func printError(_ text: String) { _ = text.withCString { write(2, $0, strlen($0)) } }

func fail(_ message: String) -> Never {
    printError("tally: error: \(message)\n")
    exit(2)
}

struct Options {
    var truePath: String?
    var scorePath: String?
    var threshold = 0.5
    var thresholdsPath: String?
    var labelsPath: String?
    var weightsPath: String?
    var format = ReportFormat.text
    var digits = 2
    var zeroDivision = ZeroDivision.warn
    var intervalMethod: IntervalMethod?
    var level = 0.95
    var replicates = BootstrapCounts.defaultReplicates
    var seed: UInt64 = 0
    var ignoreValue: Double?
}

func parse(_ arguments: [String]) throws -> Options {
    guard let command = arguments.first else { fail("missing command\n\(usage)") }
    if command == "-h" || command == "--help" { print(usage); exit(0) }
    guard command == "report" else { fail("unknown command '\(command)' (expected 'report', 'thresholds' or 'calibration')") }
    var o = Options()
    let flags = Flags(arguments)
    try flags.forEach { flag in
        switch flag {
        case "--true": o.truePath = flags.value(flag)
        case "--score": o.scorePath = flags.value(flag)
        case "--threshold": o.threshold = flags.number(flag)
        case "--thresholds": o.thresholdsPath = flags.value(flag)
        case "--labels": o.labelsPath = flags.value(flag)
        case "--weights": o.weightsPath = flags.value(flag)
        case "--ignore-value": o.ignoreValue = flags.number(flag, allowingNaN: true)
        case "--format": o.format = try ReportFormat(parsing: flags.value(flag))
        case "--digits": o.digits = flags.integer(flag, 0...15)
        case "--zero-division": o.zeroDivision = try ZeroDivision(parsing: flags.value(flag))
        case "--ci": o.intervalMethod = try IntervalMethod(parsing: flags.value(flag))
        // nan passes here and is refused by the interval code, as in the Python script.
        case "--level": o.level = flags.number(flag, allowingNaN: true)
        case "--bootstrap": o.replicates = flags.parsed(flag, expects: "a number of replicates") { Int($0) }
        case "--seed": o.seed = flags.parsed(flag, expects: "an int >= 0") { UInt64($0) }
        case "-h", "--help": print(usage); exit(0)
        default: fail("unknown option '\(flag)'\n\(usage)")
        }
    }
    return o
}

func readLines(_ path: String) throws -> [String] {
    guard let file = fopen(path, "r") else { throw TallyError.invalidValue("Expected a readable file at \(path), but it could not be opened") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    while true {
        let c = fgetc(file)
        if c == EOF { break }
        bytes.append(UInt8(c))
    }
    var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    return lines
}

func run() throws {
    if CommandLine.arguments.dropFirst().first == "thresholds" {
        return try runThresholds(Array(CommandLine.arguments.dropFirst()))
    }
    if CommandLine.arguments.dropFirst().first == "calibration" {
        return try runCalibration(Array(CommandLine.arguments.dropFirst()))
    }
    let o = try parse(Array(CommandLine.arguments.dropFirst()))
    guard let truePath = o.truePath, let scorePath = o.scorePath else { fail("--true and --score are required\n\(usage)") }
    let batch = try RecordedBatch(truePath: truePath, scorePath: scorePath, weightsPath: o.weightsPath,
                                  ignoreValue: o.ignoreValue)
    let labelCount = batch.labelCount
    var threshold = Threshold.scalar(o.threshold)
    if let path = o.thresholdsPath { threshold = .perLabel(try TunedThresholds.thresholds(contentsOf: path)) }
    let names = try o.labelsPath.map(readLines)
    var counts = try ConfusionCounts(labelCount: labelCount, threshold: threshold)
    var replicates: BootstrapCounts?
    if o.intervalMethod == .bootstrap {
        var r = try BootstrapCounts(labelCount: labelCount, replicates: o.replicates, seed: o.seed, threshold: threshold)
        try batch.apply(rows: { try r.update(truth: $0, prediction: $1, sampleWeight: $2) },
                        elements: { try r.update(truth: $0, prediction: $1, elementWeights: $2) })
        replicates = r
    }
    try batch.apply(rows: { try counts.update(truth: $0, prediction: $1, sampleWeight: $2) },
                    elements: { try counts.update(truth: $0, prediction: $1, elementWeights: $2) })
    let report = try ClassificationReport(counts, names: names, zeroDivision: o.zeroDivision,
                                          intervalMethod: o.intervalMethod, level: o.level, replicates: replicates)
    for warning in report.warnings { printError("tally: warning: \(warning.message)\n") }
    print(report.formatted(o.format, digits: o.digits), terminator: "")
}

do {
    try run()
} catch let error as TallyError {
    fail(error.message)
} catch {
    fail("\(error)")
}
