// libFuzzer target for the accumulator: `ConfusionCounts.update` fed arbitrary
// shapes, element types and values, differentially against a plain reference
// count; `ConfusionCounts(serialized:)` fed corrupted states; and `merge`.
//
// Built by scripts/fuzz.sh together with Sources/Tally (one module) under
// -sanitize=fuzzer,address. A trap, an ASan report or a failed check is a finding.
//
// Input layout (missing bytes read as 0): a mode byte, then the fields below.
// Mode 0–2 fuzzes update/merge/round trip; mode 3 restores a corrupted state.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpdate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(Array(UnsafeBufferPointer(start: data, count: size)))
    if input.byte() % 4 == 3 {
        fuzzRestore(&input)
    } else {
        fuzzBatch(&input)
    }
    return 0
}

/// Values that sit on the edges: exact thresholds, signed zeros, infinities, nan,
/// subnormals, non-binary integers.
let edgeValues: [Double] = [0, 1, 0.5, -0.0, 2, -1, .nan, .infinity, -.infinity, 0.25, 0.75,
                            Double(Float(0.1)), 0.1, Double.leastNonzeroMagnitude, 255, 256, 65_536, -128]
let thresholdValues: [Double] = [0.5, 0, 1, -.infinity, .infinity, 0.25, 0.5.nextUp, 0.5.nextDown,
                                 0.1, -0.0, Double.leastNonzeroMagnitude, .nan]
let weightValues: [Double] = [1, 0, 0.5, 2, -1, 1e300, -1e300, 1e-300, 3, .nan, .infinity, 0.1]

/// A matrix of `type` filled from the input: mostly 0/1 (or scores in [0, 1]), with
/// edge values where a byte says so, stored as the element type's bytes.
func makeMatrix(_ input: inout FuzzInput, type: ElementType, rows: Int, columns: Int, scores: Bool) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(rows * columns * type.size)
    for _ in 0..<(rows * columns) {
        let b = input.byte()
        let v: Double
        if b >= 0xF0 {
            v = edgeValues[Int(b - 0xF0) % edgeValues.count]
        } else if scores && type.isFloatingPoint {
            v = Double(b & 0x3F) / 32  // 0…1.97 in 1/32 steps: many exactly on a threshold
        } else {
            v = Double(b & 1)
        }
        appendElement(v, as: type, to: &out)
    }
    return out
}

/// `v` converted to `type` (saturating, nan as 0 for integers: the value only
/// has to be some value of that type) and appended little-endian.
func appendElement(_ v: Double, as type: ElementType, to out: inout [UInt8]) {
    func integer<T: FixedWidthInteger>(_ t: T.Type) -> UInt64 {
        let x: T = v.isNaN ? 0 : (v >= Double(T.max) ? T.max : v <= Double(T.min) ? T.min : T(v))
        return UInt64(truncatingIfNeeded: x)
    }
    let bits: UInt64
    switch type {
    case .bool: bits = v == 0 ? 0 : (v == 1 ? 1 : 2)  // a bool byte that is not 0/1
    case .uint8: bits = integer(UInt8.self)
    case .int8: bits = integer(Int8.self)
    case .uint16: bits = integer(UInt16.self)
    case .int16: bits = integer(Int16.self)
    case .uint32: bits = integer(UInt32.self)
    case .int32: bits = integer(Int32.self)
    case .uint64: bits = integer(UInt64.self)
    case .int64: bits = integer(Int64.self)
    case .float32: bits = UInt64(Float(v).bitPattern)
    case .float64: bits = v.bitPattern
    }
    for i in 0..<type.size { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(8 * i))) }
}

/// Element `i` of a little-endian matrix as float64 (exact for every type but
/// the 64-bit integers, where only 0/1-ness matters).
func element(_ bytes: [UInt8], _ type: ElementType, _ i: Int) -> Double {
    var bits: UInt64 = 0
    for b in 0..<type.size { bits |= UInt64(bytes[i * type.size + b]) << UInt64(8 * b) }
    switch type {
    case .bool, .uint8, .uint16, .uint32: return Double(bits)
    case .uint64: return Double(bits)
    case .int8: return Double(Int8(truncatingIfNeeded: bits))
    case .int16: return Double(Int16(truncatingIfNeeded: bits))
    case .int32: return Double(Int32(truncatingIfNeeded: bits))
    case .int64: return Double(Int64(bitPattern: bits))
    case .float32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
    case .float64: return Double(bitPattern: bits)
    }
}

/// The plain reference: per-label [tp, predicted, actual] and the row triples,
/// or nil when the batch must be rejected.
struct ReferenceCounts {
    var sums: [Double]
    /// (packed key, rows), in order of first appearance (an array: no hashing in the reference).
    var triples: [(key: Int, rows: Int64)] = []
    var weightSum = 0.0
}

func referenceCount(truth: [UInt8], truthType: ElementType, prediction: [UInt8], predictionType: ElementType,
                    rows: Int, labels: Int, thresholds: [Double], kind: PredictionKind,
                    weights: [Double]?) -> ReferenceCounts? {
    if let weights, weights.contains(where: { !$0.isFinite }) { return nil }
    let thresholded = kind == .scores && predictionType.isFloatingPoint
    var ref = ReferenceCounts(sums: Array(repeating: 0, count: 3 * labels))
    for r in 0..<rows {
        let w = weights?[r] ?? 1
        var tp = 0, predicted = 0, actual = 0
        for j in 0..<labels {
            let t = element(truth, truthType, r * labels + j)
            let s = element(prediction, predictionType, r * labels + j)
            guard t == 0 || t == 1 else { return nil }
            let p: Bool
            if thresholded {
                guard !s.isNaN else { return nil }
                p = s >= thresholds[j]
            } else {
                guard s == 0 || s == 1 else { return nil }
                p = s == 1
            }
            let a = t == 1
            if a && p { tp += 1; ref.sums[3 * j] += w }
            if p { predicted += 1; ref.sums[3 * j + 1] += w }
            if a { actual += 1; ref.sums[3 * j + 2] += w }
        }
        let key = weights != nil && w == 0 ? RowKey(tp: 0, fp: 0, fn: 0)
                                           : RowKey(tp: tp, fp: predicted - tp, fn: actual - tp)
        if let i = ref.triples.firstIndex(where: { $0.key == key.packed }) {
            ref.triples[i].rows += 1
        } else {
            ref.triples.append((key.packed, 1))
        }
        ref.weightSum += w
    }
    return ref
}

/// Mode 0–2: one fuzzed batch into counts that already hold a valid batch.
func fuzzBatch(_ input: inout FuzzInput) {
    let labels = 1 + Int(input.byte()) % 70
    let sizeByte = input.byte()
    // Mostly small batches; sometimes long enough to pass the 255-row lane flush.
    let rows = sizeByte & 0x80 != 0 && labels <= 12 ? 250 + Int(sizeByte & 0x7F) * 3 : Int(sizeByte % 24)
    let truthType = input.pick(ElementType.allCases)
    let predictionType = input.pick(ElementType.allCases)
    let flags = input.byte()
    let kind: PredictionKind = flags & 1 != 0 ? .labels : .scores
    let weighted = flags & 2 != 0
    let perLabel = flags & 4 != 0
    let startWeighted = flags & 8 != 0
    let threshold: Threshold = perLabel ? .perLabel((0..<labels).map { _ in input.pick(thresholdValues) })
                                        : .scalar(input.pick(thresholdValues))
    let weights: [Double]? = weighted ? (0..<rows).map { _ in input.pick(weightValues) } : nil
    let cut = rows == 0 ? 0 : Int(input.byte()) % (rows + 1)
    let truth = makeMatrix(&input, type: truthType, rows: rows, columns: labels, scores: false)
    let prediction = makeMatrix(&input, type: predictionType, rows: rows, columns: labels, scores: true)

    guard var counts = try? ConfusionCounts(labelCount: labels, threshold: threshold) else {
        check(threshold.hasNaN, "a threshold without nan was refused")
        return
    }
    // A valid first batch, so that "unchanged" means something.
    let firstTruth = [UInt8]((0..<labels).map { UInt8($0 & 1) })
    let firstScore = [Double]((0..<labels).map { $0 % 3 == 0 ? 0.9 : 0.1 })
    let firstWeight: [Double] = [2.5]
    do {
        try firstTruth.withMatrixView(rows: 1, columns: labels) { t in
            try firstScore.withMatrixView(rows: 1, columns: labels) { s in
                if startWeighted {
                    try firstWeight.withUnsafeBufferPointer { try counts.update(truth: t, prediction: s, sampleWeight: $0) }
                } else {
                    try counts.update(truth: t, prediction: s)
                }
            }
        }
    } catch { check(false, "a valid first batch threw \(error)") }
    let before = counts
    let beforeBytes = counts.serialized()

    func apply(_ c: inout ConfusionCounts, rows range: Range<Int>) throws {
        let t = Array(truth[(range.lowerBound * labels * truthType.size)..<(range.upperBound * labels * truthType.size)])
        let p = Array(prediction[(range.lowerBound * labels * predictionType.size)..<(range.upperBound * labels * predictionType.size)])
        try t.withUnsafeBytes { tb in
            try p.withUnsafeBytes { pb in
                let tv = MatrixView(base: range.isEmpty ? nil : tb.baseAddress, elementType: truthType, rows: range.count, columns: labels)
                let pv = MatrixView(base: range.isEmpty ? nil : pb.baseAddress, elementType: predictionType, rows: range.count, columns: labels)
                if let weights {
                    let w = Array(weights[range])
                    try w.withUnsafeBufferPointer { try c.update(truth: tv, prediction: pv, sampleWeight: $0, kind: kind) }
                } else {
                    try c.update(truth: tv, prediction: pv, kind: kind)
                }
            }
        }
    }

    let reference = referenceCount(truth: truth, truthType: truthType, prediction: prediction,
                                   predictionType: predictionType, rows: rows, labels: labels,
                                   thresholds: counts.thresholds, kind: kind, weights: weights)
    do {
        try apply(&counts, rows: 0..<rows)
        check(reference != nil || rows == 0, "a batch the reference rejects was accepted")
    } catch let error as TallyError {
        check(reference == nil, "a valid batch threw \(error)")
        check(counts.serialized() == beforeBytes, "a batch that threw changed the counts")
        check(!error.message.isEmpty, "an error without a message")
        return
    } catch {
        check(false, "update threw a non-Tally error \(error)")
    }
    guard let reference else { return }

    // The batch's contribution equals the reference's.
    var fresh = try! ConfusionCounts(labelCount: labels, threshold: threshold)
    try! apply(&fresh, rows: 0..<rows)
    check(fresh.rowCount == Int64(rows), "row count \(fresh.rowCount), expected \(rows)")
    for j in 0..<labels {
        let got = [fresh.truePositivesAt(j), fresh.truePositivesAt(j) + fresh.falsePositivesAt(j),
                   fresh.truePositivesAt(j) + fresh.falseNegativesAt(j)]
        let want = Array(reference.sums[(3 * j)..<(3 * j + 3)])
        if weights == nil {
            check(got == want, "label \(j): counts \(got), reference \(want)")
        } else {
            // Sums of weights of mixed magnitude cancel (fp = predicted − tp, as scikit-learn
            // derives it): the error is relative to the largest weight mass, not to the result.
            let scale = weights!.reduce(0) { $0 + abs($1) }
            for (g, w) in zip(got, want) where w.isFinite && abs(w) < 1e250 && scale.isFinite {
                check(abs(g - w) <= 1e-9 * max(1, abs(w), scale), "label \(j): weighted sums \(got), reference \(want)")
            }
        }
    }
    let expectedTriples = reference.triples.sorted { $0.key < $1.key }
    let gotTriples = fresh.rowTriples.map { (RowKey(tp: $0.tp, fp: $0.fp, fn: $0.fn).packed, $0.rows) }.sorted { $0.0 < $1.0 }
    check(gotTriples.map(\.0) == expectedTriples.map(\.key) && gotTriples.map(\.1) == expectedTriples.map(\.rows),
          "row triples \(gotTriples), reference \(expectedTriples)")

    // Batching invariance: two updates, or two accumulators merged, equal one update.
    var split = before
    try! apply(&split, rows: 0..<cut)
    try! apply(&split, rows: cut..<rows)
    var left = before, right = try! ConfusionCounts(labelCount: labels, threshold: threshold)
    try! apply(&left, rows: 0..<cut)
    try! apply(&right, rows: cut..<rows)
    try! left.merge(right)
    if !counts.isWeighted {
        check(split == counts, "two updates differ from one")
        check(left == counts, "merged halves differ from one update")
    }

    // The state round-trips through bytes exactly.
    let bytes = counts.serialized()
    guard let restored = try? ConfusionCounts(serialized: bytes) else {
        check(false, "serialized counts could not be restored"); return
    }
    check(restored.serialized() == bytes, "the restored state serializes differently")
    scoreEverything(counts)
}

extension Threshold {
    var hasNaN: Bool {
        switch self {
        case .scalar(let t): return t.isNaN
        case .perLabel(let ts): return ts.contains { $0.isNaN }
        }
    }
}

/// Every score of every average: must not trap, whatever the state.
func scoreEverything(_ counts: ConfusionCounts) {
    for average in [nil] + Average.allCases.map(Optional.some) {
        for beta in [0, 1, 2, .infinity] as [Double] {
            _ = try? counts.precisionRecallFScore(beta: beta, average: average, zeroDivision: .warn)
        }
    }
    _ = counts.integerConfusion
    _ = counts.trueNegatives
    _ = counts.rowTriples
}

/// Mode 3: a valid state's bytes with some words replaced by edge values, restored.
/// A state that restores must be consistent (what a real accumulator can hold) and
/// merging it must either work or throw, never wrap around silently.
func fuzzRestore(_ input: inout FuzzInput) {
    let labels = 1 + Int(input.byte()) % 10
    let rows = Int(input.byte()) % 8
    let weighted = input.byte() & 1 != 0
    var counts = try! ConfusionCounts(labelCount: labels)
    let truth = (0..<(rows * labels)).map { _ in input.byte() & 1 }
    let scores = (0..<(rows * labels)).map { _ in Double(input.byte() & 1) }
    let weights = (0..<rows).map { _ in Double(input.byte() % 4) }
    try! truth.withMatrixView(rows: rows, columns: labels) { t in
        try scores.withMatrixView(rows: rows, columns: labels) { s in
            if weighted {
                try weights.withUnsafeBufferPointer { try counts.update(truth: t, prediction: s, sampleWeight: $0) }
            } else {
                try counts.update(truth: t, prediction: s)
            }
        }
    }
    var bytes = counts.serialized()
    let edits = Int(input.byte()) % 4
    let interesting: [UInt64] = [0, 1, 2, UInt64(labels), UInt64(labels + 1), UInt64(bitPattern: -1),
                                 UInt64(Int64.max), 1 << 63, 1 << 62, (1 << 63) | 1, 0x7FF8_0000_0000_0000,
                                 0x7FF0_0000_0000_0000, (1.0).bitPattern, UInt64(rows), UInt64(rows + 1)]
    for _ in 0..<edits {
        let word = Int(input.byte()) % (bytes.count / 8)
        let b = input.byte()
        let value = b & 0x80 != 0 ? input.word() : interesting[Int(b) % interesting.count]
        for i in 0..<8 { bytes[8 * word + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
    if input.byte() & 1 != 0 { bytes.removeLast(8 * (Int(input.byte()) % 3)) }
    dumpForRegression(bytes)
    guard let restored = try? ConfusionCounts(serialized: bytes) else { return }
    checkConsistent(restored)
    scoreEverything(restored)
    // Merging a restored state (into itself, a fresh one, or the original) either
    // works, giving a consistent state, or throws and changes nothing.
    for var target in [restored, counts, try! ConfusionCounts(labelCount: labels, threshold: .perLabel(restored.thresholds))] {
        let before = target.serialized()
        do {
            try target.merge(restored)
            checkConsistent(target)
        } catch {
            check(target.serialized() == before, "a merge that threw changed the counts")
        }
    }
}

/// What every reachable integer state satisfies: 0 <= tp <= predicted, actual <= rows,
/// tn >= 0; row triples that add up to the row count.
func checkConsistent(_ c: ConfusionCounts) {
    check(c.rowCount >= 0, "negative row count \(c.rowCount)")
    if let confusion = c.integerConfusion {
        for (j, row) in confusion.enumerated() {
            check(row.allSatisfy { $0 >= 0 && $0 <= c.rowCount },
                  "label \(j): [tp, fp, fn, tn] = \(row) with \(c.rowCount) rows")
        }
        var rows: Int64 = 0
        for t in c.rowTriples {
            check(t.rows >= 0, "a row triple with \(t.rows) rows")
            rows = rows.addingReportingOverflow(t.rows).partialValue
        }
        check(rows == c.rowCount, "row triples hold \(rows) rows, the counts \(c.rowCount)")
    }
}
