import CPython
import Tally
import TallyPythonBridge

// The core's rules as the bridge reaches them: the parsers of arguments that name
// a rule (zero_division, average, a metric or layout name, labels), which call the
// core's parsers and map nothing themselves; the one converter of the core's
// warnings; and module functions that let Python check an argument, or a copy of
// a rule in backend ops (tally.keras), against the core.

/// scikit-learn's `zero_division` as users pass it ("warn", 0, 1 or nan; numbers
/// as Python floats or ints): the core parses it and refuses anything else.
func zeroDivision(_ args: Arguments, _ i: Int) throws -> ZeroDivision {
    guard let o = args[i] else { throw PythonError.type("Expected a `zero_division` argument") }
    if tally_unicode_check(o) != 0 { return try ZeroDivision(keyword: try args.string(i, "zero_division")) }
    if tally_bool_check(o) == 0, tally_float_check(o) != 0 || tally_long_check(o) != 0 {
        return try ZeroDivision(number: try args.double(i, "zero_division"))
    }
    throw PythonError.value("\(ZeroDivision.expected), but got \(typeName(o))")
}

/// scikit-learn's `average`: None or a name the core knows.
func average(_ args: Arguments, _ i: Int, allowed: [Average] = Average.allCases) throws -> Average? {
    try Average(parsingOptional: args.optional(i) == nil ? nil : try args.string(i, "average"), allowed: allowed)
}

/// A name the core parses (`NamedOption`), as a Python str.
func option<Option: NamedOption>(_ args: Arguments, _ i: Int, as _: Option.Type) throws -> Option {
    try Option(parsing: try args.string(i, Option.parameterName))
}

func labels(_ args: Arguments, _ i: Int) throws -> [Int]? {
    guard let o = args.optional(i) else { return nil }
    return try HeldBuffer(o, name: "labels", dimensions: 1...1).int64Elements(name: "labels")
}

/// The one converter of the core's warnings: ((category, metric or None, message), ...).
func warningsList(_ warnings: [MetricWarning]) throws -> PyPtr {
    try tuple(try warnings.map {
        try tuple([try pyString($0.category.rawValue), try $0.metric.map { try pyString($0.rawValue) } ?? tally_none(),
                   try pyString($0.message)])
    })
}

/// check_zero_division(value, jaccard=False) -> "warn" or float: the core's parse,
/// for checking an argument before any counts exist (with the Jaccard score's rule).
func checkZeroDivision(_ args: Arguments) throws -> PyPtr? {
    var zd = try zeroDivision(args, 0)
    if args.bool(1) { zd = try zd.checkedForJaccard() }
    return zd == .warn ? try pyString("warn") : try pyFloat(zd.replacement)
}

/// check_beta(beta) -> float: the core's F-beta check (a number >= 0; inf allowed).
func checkBeta(_ args: Arguments) throws -> PyPtr? {
    guard let o = args[0], tally_bool_check(o) == 0, tally_float_check(o) != 0 || tally_long_check(o) != 0 else {
        throw PythonError.value("Expected `beta` to be a number >= 0, but got \(typeName(args[0]))")
    }
    return try pyFloat(try FBeta(beta: try args.double(0, "beta")).beta)
}

/// check_labels(columns int64, n_labels) -> None: the core's check of a label selection.
func checkLabels(_ args: Arguments) throws -> PyPtr? {
    _ = try selectLabels(try labels(args, 0), labelCount: try args.int(1, "n_labels"))
    return tally_none()
}

/// zero_division_value(value) -> float: what an undefined score becomes (0 for
/// "warn": where no warning can be raised, as in a compiled Keras step).
func zeroDivisionValue(_ args: Arguments) throws -> PyPtr? {
    try pyFloat(try zeroDivision(args, 0).replacement)
}

/// check_average(average, allowed=None, allow_none=True) -> None: the core's parse
/// of `average` (None or a name), limited to the names in `allowed` when given.
func checkAverage(_ args: Arguments) throws -> PyPtr? {
    var allowed = Average.allCases
    if let o = args.optional(1) {
        allowed = try stringList(o, name: "allowed").map { try Average(parsing: $0) }
    }
    if args.optional(0) == nil, args.count > 2, !args.bool(2) {
        let names = allowed.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        throw PythonError.value("Expected `average` to be one of \(names), but got None")
    }
    _ = try average(args, 0, allowed: allowed)
    return tally_none()
}

/// average_scores(values float64, weights float64 | None, nan_rule) -> float: the
/// core's averaging kernel, for checking the backend-op copy (tally.keras) against it.
func averageScoresDeclaration(_ args: Arguments) throws -> PyPtr? {
    let values = Array(try HeldBuffer(args[0]!, name: "values", dimensions: 1...1).float64Elements(name: "values"))
    let weights = try args.optional(1).map {
        Array(try HeldBuffer($0, name: "weights", dimensions: 1...1).float64Elements(name: "weights"))
    }
    if let weights, weights.count != values.count {
        throw PythonError.value("Expected `weights` to have \(values.count) values like `values`, but got \(weights.count)")
    }
    let rule = try option(args, 2, as: NanRule.self)
    return try pyFloat(averageScores(values, weights: weights, nan: rule))
}

/// fbeta_fraction(beta, tp, predicted, actual) -> (numerator, denominator): the core's
/// F-beta, for checking the backend-op copy (tally.keras) against it.
func fBetaFraction(_ args: Arguments) throws -> PyPtr? {
    let f = try FBeta(beta: try args.double(0, "beta"))
    let (n, d) = f.fraction(truePositives: try args.double(1, "tp"), predicted: try args.double(2, "predicted"),
                            actual: try args.double(3, "actual"))
    return try tuple([try pyFloat(n), try pyFloat(d)])
}

/// format_report(format, digits, names, per_label float64 (n, 4), average_names,
/// averages float64 (m, 4), weighted, caption) -> str: the core's layouts for
/// scores computed elsewhere. An average named "accuracy" is scikit-learn's
/// accuracy line.
func formatReport(_ args: Arguments) throws -> PyPtr? {
    let format = try option(args, 0, as: ReportFormat.self)
    let digits = try args.int(1, "digits")
    guard (0...15).contains(digits) else {
        throw PythonError.value("Expected `digits` to be between 0 and 15, but got \(digits)")
    }
    func rows(_ namesIndex: Int, _ valuesIndex: Int, what: String) throws -> [ClassificationReport.Row] {
        let names = try stringList(args[namesIndex]!, name: what)
        let buffer = try HeldBuffer(args[valuesIndex]!, name: "\(what) values", dimensions: 2...2)
        let values = try buffer.float64Elements(name: "\(what) values")
        guard buffer.shape == [names.count, 4] else {
            throw PythonError.value("Expected `\(what) values` of shape (\(names.count), 4), but got \(buffer.shape)")
        }
        return names.indices.map { i in
            ClassificationReport.Row(name: names[i], precision: values[4 * i], recall: values[4 * i + 1],
                                     f1: values[4 * i + 2], support: values[4 * i + 3], isAccuracy: names[i] == "accuracy")
        }
    }
    let report = ClassificationReport(labels: try rows(2, 3, what: "names"), averages: try rows(4, 5, what: "average_names"),
                                      weighted: args.bool(6))
    let caption = args.optional(7) == nil ? nil : try args.string(7, "caption")
    return try pyString(report.formatted(format, digits: digits, caption: caption))
}

/// Module functions over the core's rules (argument checks, kernels, report layouts).
nonisolated(unsafe) let ruleFunctions: [Declaration] = [
    Declaration("check_zero_division", 1...2,
                "check_zero_division(value, jaccard=False) -> 'warn' or float; ValueError otherwise",
                checkZeroDivision),
    Declaration("check_beta", 1...1, "check_beta(beta) -> float; ValueError unless a number >= 0", checkBeta),
    Declaration("check_labels", 2...2, "check_labels(columns int64, n_labels); ValueError outside [0, n_labels)",
                checkLabels),
    Declaration("zero_division_value", 1...1, "zero_division_value(value) -> float (0 for 'warn')", zeroDivisionValue),
    Declaration("check_average", 1...3,
                "check_average(average, allowed=None, allow_none=True); ValueError for an unknown average",
                checkAverage),
    Declaration("average_scores", 3...3,
                "average_scores(values, weights | None, 'skip'|'propagate'|'zero_weight_is_zero') -> float",
                averageScoresDeclaration),
    Declaration("fbeta_fraction", 4...4, "fbeta_fraction(beta, tp, predicted, actual) -> (numerator, denominator)",
                fBetaFraction),
    Declaration("format_report", 8...8,
                "format_report(format, digits, names, values (n, 4), average_names, averages (m, 4), weighted, caption) -> str",
                formatReport),
]
