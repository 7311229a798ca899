import CPython
import Tally
import TallyPythonBridge

// The `_tally` extension module: a list of declarations. Each entry validates and
// converts its arguments, calls the core with the GIL released, and converts
// the result. The Python package `tally` is the public face; `_tally` is internal.

/// The Swift state behind one `_tally.Counts` instance.
final class CountsBox {
    var counts: ConfusionCounts
    let mutex = Mutex()
    init(_ counts: ConfusionCounts) { self.counts = counts }

    /// A consistent copy of the state, read under the lock.
    func snapshot() -> ConfusionCounts { withoutGIL { mutex.locked { counts } } }
}

nonisolated(unsafe) var countsType: OpaquePointer?

func box(_ object: PyPtr?) throws -> CountsBox {
    guard let object, tally_type_check(object, countsType) != 0, let raw = boxSlot(object).pointee else {
        throw PythonError.type("Expected a _tally.Counts object, but got \(typeName(object))")
    }
    return Unmanaged<CountsBox>.fromOpaque(raw).takeUnretainedValue()
}

func makeCounts(_ counts: ConfusionCounts) throws -> PyPtr {
    let object = try check(PyType_GenericAlloc(countsType, 0))
    boxSlot(object).pointee = Unmanaged.passRetained(CountsBox(counts)).toOpaque()
    return object
}

// MARK: Module functions

/// counts_new(n_labels, threshold) — threshold is a float or a float64 array (one per label).
func countsNew(_ args: Arguments) throws -> PyPtr? {
    let labels = try args.int(0, "n_labels")
    let threshold: Threshold
    if let t = args[1], tally_float_check(t) != 0 || tally_long_check(t) != 0 {
        threshold = .scalar(try args.double(1, "threshold"))
    } else if let t = args[1] {
        let buffer = try HeldBuffer(t, name: "threshold", dimensions: 1...1)
        threshold = .perLabel(Array(try buffer.float64Elements(name: "threshold")))
    } else {
        threshold = .scalar(0.5)
    }
    return try makeCounts(try ConfusionCounts(labelCount: labels, threshold: threshold))
}

/// counts_from_bytes(data) — the inverse of Counts.serialize().
func countsFromBytes(_ args: Arguments) throws -> PyPtr? {
    guard let o = args[0], tally_bytes_check(o) != 0 else {
        throw PythonError.type("Expected `state` to be bytes, but got \(typeName(args[0]))")
    }
    let n = PyBytes_Size(o)
    guard let p = PyBytes_AsString(o) else { throw AlreadySet() }
    let bytes = Array(UnsafeRawBufferPointer(start: p, count: n))
    return try makeCounts(try withoutGIL { try ConfusionCounts(serialized: bytes) })
}

// MARK: Counts methods

/// update(y_true, y_pred, sample_weight=None, labels=False); sample_weight 1-D or 2-D.
func countsUpdate(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    // A training step's batch: two contiguous matrices, no weights, read in place with
    // nothing allocated. Small batches are counted without dropping the GIL when the
    // counts' lock is free (never waiting for it with the GIL held).
    if args.optional(2) == nil {
        let kind: PredictionKind = args.bool(3) ? .labels : .scores
        let done = try withMatrixBuffers(args[0]!, args[1]!) { t, p -> Bool in
            if t.rows &* t.columns <= 1 << 14,
               try target.mutex.lockedIfFree({ try target.counts.update(truth: t, prediction: p, kind: kind) }) != nil {
                return true
            }
            try withoutGIL { try target.mutex.locked { try target.counts.update(truth: t, prediction: p, kind: kind) } }
            return true
        }
        if done != nil { return tally_none() }
    }
    let truth = try HeldBuffer(args[0]!, name: "y_true", dimensions: 2...2)
    let prediction = try HeldBuffer(args[1]!, name: "y_pred", dimensions: 2...2)
    // 1-D: one weight per row (scikit-learn); 2-D: one per element (a mask for missing labels).
    let weights = try args.optional(2).map { try HeldBuffer($0, name: "sample_weight", dimensions: 1...2) }
    let kind: PredictionKind = args.bool(3) ? .labels : .scores
    let (t, p) = (truth.matrix, prediction.matrix)
    if let weights, weights.shape.count == 2 {
        _ = try weights.float64Elements(name: "sample_weight")
        let w = weights.matrix
        try withoutGIL {
            try target.mutex.locked {
                try target.counts.update(truth: t, prediction: p, elementWeights: w, kind: kind)
            }
        }
        return tally_none()
    }
    let weightValues = try weights?.float64Elements(name: "sample_weight")
    try withoutGIL {
        try target.mutex.locked {
            try target.counts.update(truth: t, prediction: p, sampleWeight: weightValues, kind: kind)
        }
    }
    return tally_none()
}

func countsMerge(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    let other = try box(args[0]).snapshot()
    try withoutGIL { try target.mutex.locked { try target.counts.merge(other) } }
    return tally_none()
}

func countsReset(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    withoutGIL { target.mutex.locked { target.counts.reset() } }
    return tally_none()
}

func countsCopy(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    try makeCounts(target.snapshot())
}

func countsSerialize(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    let snapshot = target.snapshot()
    return try bytesObject(withoutGIL { snapshot.serialized() })
}

/// info() -> (n_labels, rows, weight_sum, is_weighted, thresholds bytes)
func countsInfo(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    let c = target.snapshot()
    return try tuple([try check(PyLong_FromLongLong(Int64(c.labelCount))),
                      try check(PyLong_FromLongLong(c.rowCount)),
                      try check(PyFloat_FromDouble(c.weightSum)),
                      c.isWeighted ? tally_true() : tally_false(),
                      try bytesObject(c.thresholds)])
}

/// confusion() -> (bytes of [tp, fp, fn, tn] per label, is_weighted): int64 or float64.
func countsConfusion(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    let c = target.snapshot()
    if let integers = c.integerConfusion {
        return try tuple([try bytesObject(integers.flatMap { $0 }), tally_false()])
    }
    let flat = (0..<c.labelCount).flatMap { [c.truePositives[$0], c.falsePositives[$0], c.falseNegatives[$0], c.trueNegatives[$0]] }
    return try tuple([try bytesObject(flat), tally_true()])
}

/// row_triples() -> (bytes of int64 [tp, fp, fn, rows] per distinct row, bytes of float64 weights)
func countsRowTriples(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    let triples = target.snapshot().rowTriples.sorted { ($0.tp, $0.fp, $0.fn) < ($1.tp, $1.fp, $1.fn) }
    let ints = triples.flatMap { [Int64($0.tp), Int64($0.fp), Int64($0.fn), $0.rows] }
    return try tuple([try bytesObject(ints), try bytesObject(triples.map(\.weight))])
}

/// prfs(beta, average, zero_division, labels) -> (precision, recall, f, support | None, warnings)
func countsPRFS(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    let beta = try args.double(0, "beta")
    let avg = try average(args, 1)
    let zd = try zeroDivision(args, 2)
    let selected = try labels(args, 3)
    let snapshot = target.snapshot()
    let r = try withoutGIL {
        try snapshot.precisionRecallFScore(beta: beta, average: avg, zeroDivision: zd, labels: selected)
    }
    return try tuple([try bytesObject(r.precision), try bytesObject(r.recall), try bytesObject(r.fScore),
                      try r.support.map { try bytesObject($0) } ?? tally_none(),
                      try warningsList(r.warnings)])
}

/// A Python sequence of str as Swift strings (names for reports).
func stringList(_ object: PyPtr, name: String) throws -> [String] {
    guard PySequence_Check(object) != 0, tally_unicode_check(object) == 0 else {
        throw PythonError.type("Expected `\(name)` to be a sequence of str, but got \(typeName(object))")
    }
    let n = PySequence_Size(object)
    if n < 0 { throw AlreadySet() }
    return try (0..<n).map { i in
        let item = try check(PySequence_GetItem(object, i))
        defer { Py_DecRef(item) }
        guard tally_unicode_check(item) != 0, let utf8 = PyUnicode_AsUTF8AndSize(item, nil) else {
            throw PythonError.type("Expected `\(name)[\(i)]` to be a str, but got \(typeName(item))")
        }
        return String(cString: utf8)
    }
}

/// report(format, digits, zero_division, names, labels, caption=None, ci=None, level=0.95, bootstrap=None)
/// -> (text, warnings): `ci` names an interval method (the core's parse).
func countsReport(_ target: CountsBox, _ args: Arguments) throws -> PyPtr? {
    let format = try option(args, 0, as: ReportFormat.self)
    let digits = try args.int(1, "digits")
    guard (0...15).contains(digits) else {
        throw PythonError.value("Expected `digits` to be between 0 and 15, but got \(digits)")
    }
    let zd = try zeroDivision(args, 2)
    let names = try args.optional(3).map { try stringList($0, name: "target_names") }
    let selected = try labels(args, 4)
    let snapshot = target.snapshot()
    let caption = args.optional(5) == nil ? nil : try args.string(5, "caption")
    let method = args.optional(6) == nil ? nil : try option(args, 6, as: IntervalMethod.self)
    let level = args.optional(7) == nil ? 0.95 : try args.double(7, "level")
    let replicates = try args.optional(8).map { _ in try args.handle(8, as: BootstrapBox.self, "bootstrap").snapshot() }
    let report = try withoutGIL {
        try ClassificationReport(snapshot, names: names, labels: selected, zeroDivision: zd, intervalMethod: method,
                                 level: level, replicates: replicates)
    }
    let text = report.formatted(format, digits: digits, caption: caption)
    return try tuple([try pyString(text), try warningsList(report.warnings)])
}

// MARK: Declarations

typealias Method = (CountsBox, Arguments) throws -> PyPtr?
typealias Function = (Arguments) throws -> PyPtr?

/// Methods of `_tally.Counts`: name, arity, implementation, doc.
nonisolated(unsafe) let countsMethods: [(String, ClosedRange<Int>, Method, String)] = [
    ("update", 2...4, countsUpdate, "update(y_true, y_pred, sample_weight=None, labels=False)"),
    ("merge", 1...1, countsMerge, "merge(other): add another Counts' state"),
    ("reset", 0...0, countsReset, "reset(): forget all counts"),
    ("copy", 0...0, countsCopy, "copy(): an independent copy"),
    ("serialize", 0...0, countsSerialize, "serialize() -> bytes"),
    ("info", 0...0, countsInfo, "info() -> (n_labels, rows, weight_sum, is_weighted, thresholds)"),
    ("confusion", 0...0, countsConfusion, "confusion() -> (bytes, is_weighted)"),
    ("row_triples", 0...0, countsRowTriples, "row_triples() -> (int64 bytes, float64 bytes)"),
    ("prfs", 4...4, countsPRFS, "prfs(beta, average, zero_division, labels)"),
    ("report", 5...9, countsReport,
     "report(format, digits, zero_division, names, labels, caption=None, ci=None, level=0.95, bootstrap=None) -> (str, warnings)"),
]

/// The core's module functions; other files add their own lists in `PyInit__tally`.
nonisolated(unsafe) let coreFunctions: [Declaration] = ruleFunctions + [
    Declaration("counts_new", 1...2, "counts_new(n_labels, threshold=0.5) -> Counts", countsNew),
    Declaration("counts_from_bytes", 1...1, "counts_from_bytes(state) -> Counts", countsFromBytes),
]

// C cannot call Swift closures with captures, so each table entry is reached
// through a fixed trampoline indexed at compile time.
func methodTrampoline(_ index: Int) -> FastMethod {
    let trampolines: [FastMethod] = [
        { s, a, n in dispatchMethod(0, s, a, n) }, { s, a, n in dispatchMethod(1, s, a, n) },
        { s, a, n in dispatchMethod(2, s, a, n) }, { s, a, n in dispatchMethod(3, s, a, n) },
        { s, a, n in dispatchMethod(4, s, a, n) }, { s, a, n in dispatchMethod(5, s, a, n) },
        { s, a, n in dispatchMethod(6, s, a, n) }, { s, a, n in dispatchMethod(7, s, a, n) },
        { s, a, n in dispatchMethod(8, s, a, n) }, { s, a, n in dispatchMethod(9, s, a, n) },
        { s, a, n in dispatchMethod(10, s, a, n) }, { s, a, n in dispatchMethod(11, s, a, n) },
    ]
    return trampolines[index]
}

func dispatchMethod(_ index: Int, _ object: PyPtr?, _ args: UnsafePointer<PyPtr?>?, _ count: Py_ssize_t) -> PyPtr? {
    let (name, arity, method, _) = countsMethods[index]
    return bridged {
        let target = try box(object)
        return try method(target, try Arguments(args, count, function: name, expected: arity))
    }
}

func makeCountsType() -> OpaquePointer? {
    let methods = methodTable(countsMethods.enumerated().map { (i, m) in (m.0, m.3, methodTrampoline(i)) })
    return makeBoxType(name: "_tally.Counts", doc: "Per-label confusion counts (internal; use tally.Tally).",
                       methods: methods, dealloc: handleDealloc)
}

@_cdecl("PyInit__tally")
public func PyInit__tally() -> UnsafeMutablePointer<PyObject>? {
    guard let counts = makeCountsType() else { return nil }
    countsType = counts
    // Each feature file contributes one list of declarations.
    return makeModule("_tally", doc: "Tally's Swift core (internal; use the `tally` package).",
                      types: [("Counts", counts)], declarations: coreFunctions + extraDeclarations())
}
