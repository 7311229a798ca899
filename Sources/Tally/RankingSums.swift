#if canImport(Glibc)
import Glibc
#endif

/// The row-wise ranking metrics, streamed: each row's value is computed when the
/// row arrives and only weighted sums are kept, so memory is constant and any
/// split into batches, threads or processes gives the same totals.
///
/// Kept per accumulator: scikit-learn's `label_ranking_average_precision_score`,
/// `coverage_error`, `label_ranking_loss` and `ndcg_score(k=ndcgK)`, and
/// precision@k / recall@k for each k in `topK` (defined in `RankingSums.topK`).
/// Every value is Σ wᵣ·valueᵣ / Σ wᵣ over rows, the sums compensated (Neumaier)
/// so that batch order changes only the last bits.
public struct RankingSums: Equatable, Sendable {
    /// Which metrics an accumulator keeps: a one-shot function asks for its own
    /// only, so no row pays for the others (coverage alone needs no sort at all).
    public struct Metrics: OptionSet, Equatable, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let labelRankingAveragePrecision = Metrics(rawValue: 1)
        public static let coverageError = Metrics(rawValue: 2)
        public static let labelRankingLoss = Metrics(rawValue: 4)
        public static let ndcg = Metrics(rawValue: 8)
        /// precision@k and recall@k.
        public static let topK = Metrics(rawValue: 16)
        public static let all: Metrics = [.labelRankingAveragePrecision, .coverageError, .labelRankingLoss, .ndcg, .topK]
        /// Python-side names, for messages.
        var names: [String] {
            [(Metrics.labelRankingAveragePrecision, "lrap"), (.coverageError, "coverage"), (.labelRankingLoss, "ranking_loss"),
             (.ndcg, "ndcg"), (.topK, "top_k")].filter { contains($0.0) }.map(\.1)
        }
    }

    public let labelCount: Int
    /// The metrics kept; asking for another throws.
    public let metrics: Metrics
    /// NDCG cut-off (nil: all labels), as scikit-learn's `k`.
    public let ndcgK: Int?
    /// The k of precision@k and recall@k. With ties at the k-th score, a row counts
    /// the expected hits under a uniformly random order of the tied labels (as NDCG
    /// averages ties); k larger than the label count means all labels.
    public let topK: [Int]
    public internal(set) var rowCount: Int64 = 0
    /// Whether every relevance seen was 0 or 1 (needed by all but NDCG).
    public internal(set) var isBinary = true
    public internal(set) var isWeighted = false

    var weightSum = CompensatedSum()
    var lrap = CompensatedSum()
    var coverage = CompensatedSum()
    var rankingLoss = CompensatedSum()
    var ndcg = CompensatedSum()
    var precisionAtK: [CompensatedSum]
    var recallAtK: [CompensatedSum]
    /// Weight of the rows with at least one relevant label (recall@k's denominator).
    var relevantRowWeight = CompensatedSum()

    public init(labelCount: Int, ndcgK: Int? = nil, topK: [Int] = [1, 3, 5], metrics: Metrics = .all) throws {
        guard labelCount >= 1 else {
            throw TallyError.invalidValue("Expected `n_labels` to be at least 1, but got \(labelCount)")
        }
        if let k = ndcgK, k < 1 { throw TallyError.invalidValue("Expected `k` to be at least 1, but got \(k)") }
        if let k = topK.first(where: { $0 < 1 }) {
            throw TallyError.invalidValue("Expected every `top_k` to be at least 1, but got \(k)")
        }
        guard !metrics.isEmpty, Metrics.all.isSuperset(of: metrics) else {
            throw TallyError.invalidValue("Expected `metrics` to name at least one ranking metric, but got the bit set \(metrics.rawValue)")
        }
        self.labelCount = labelCount
        self.metrics = metrics
        self.ndcgK = ndcgK
        self.topK = topK
        precisionAtK = Array(repeating: CompensatedSum(), count: topK.count)
        recallAtK = Array(repeating: CompensatedSum(), count: topK.count)
    }

    public mutating func reset() { self = try! RankingSums(labelCount: labelCount, ndcgK: ndcgK, topK: topK, metrics: metrics) }

    /// Adds one batch: `truth` holds relevances (0/1 for every metric but NDCG,
    /// which also takes graded relevances ≥ 0), `scores` float32/float64.
    /// A call that throws changes nothing.
    public mutating func update(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>? = nil) throws {
        try checkScoreShapes(truth: truth, scores: scores, sampleWeight: sampleWeight, labelCount: labelCount)
        let rows = truth.rows, n = labelCount
        guard rows > 0 else { return }
        guard !rowCount.addingReportingOverflow(Int64(rows)).overflow else {
            throw TallyError.overflow("Adding \(rows) rows would overflow the Int64 row count")
        }
        // 0/1 bytes of truth and few labels: the sort-free kernel, on every core
        // (RankingSums+Rows.swift). Anything else, or a bad value, takes the rows below.
        if updateInPlace(truth: truth, scores: scores, sampleWeight: sampleWeight) { return }
        var batch = self
        batch.isWeighted = isWeighted || sampleWeight != nil
        let discounts = Discounts(labels: n, k: ndcgK)
        var order = [(key: UInt64, index: Int)](repeating: (0, 0), count: n)
        var packed = [UInt64](repeating: 0, count: n)
        var idealScratch = [Double](repeating: 0, count: n)
        let m = metrics
        // Rows are read as float64 a chunk at a time into reused buffers (about
        // 512 KiB each), so a large batch costs no large allocation.
        let chunkRows = max(1, 65_536 / n)
        var relevance = [Double](repeating: 0, count: min(rows, chunkRows) * n)
        var score = relevance
        var binary = true
        for first in stride(from: 0, to: rows, by: chunkRows) {
            let count = min(chunkRows, rows - first)
            readDoubles(truth, fromRow: first, rows: count, into: &relevance)
            readDoubles(scores, fromRow: first, rows: count, into: &score)
            var badRelevance = false, badScore = false
            for i in 0..<(count * n) {
                let x = relevance[i], y = score[i]
                badRelevance = badRelevance || !(x.isFinite && x >= 0)
                badScore = badScore || !y.isFinite
                binary = binary && (x == 0 || x == 1)
            }
            if badRelevance, let i = relevance.prefix(count * n).firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
                throw TallyError.invalidValue("Expected `y_true` to hold relevances >= 0, but got \(relevance[i]) at row \(first + i / n), column \(i % n)")
            }
            if badScore, let i = score.prefix(count * n).firstIndex(where: { !$0.isFinite }) {
                throw TallyError.invalidValue("Expected `y_score` to hold finite numbers, but got \(score[i]) at row \(first + i / n), column \(i % n)")
            }
            for r in 0..<count {
                let w = sampleWeight?[first + r] ?? 1
                batch.weightSum.add(w)
                if m == .coverageError {
                    // Coverage alone: count the labels scored at or above the lowest relevant one, no sort.
                    batch.coverage.add(w * coverageWithoutSorting(scores: score, relevance: relevance, row: r, labels: n))
                    continue
                }
                let row = RowRanking(scores: score, relevance: relevance, row: r, labels: n, order: &order, packed: &packed)
                if m.contains(.labelRankingAveragePrecision) { batch.lrap.add(w * row.labelRankingAveragePrecision(order)) }
                if m.contains(.coverageError) { batch.coverage.add(w * row.coverageError(order)) }
                if m.contains(.labelRankingLoss) { batch.rankingLoss.add(w * row.rankingLoss(order)) }
                if m.contains(.ndcg) { batch.ndcg.add(w * row.ndcg(order, discounts: discounts, ideal: &idealScratch)) }
                guard m.contains(.topK) else { continue }
                if row.relevantCount > 0 { batch.relevantRowWeight.add(w) }
                for (i, k) in topK.enumerated() {
                    let hits = row.expectedHits(order, k: k)
                    batch.precisionAtK[i].add(w * hits / Double(min(k, n)))
                    if row.relevantCount > 0 { batch.recallAtK[i].add(w * hits / row.relevantTotal) }
                }
            }
        }
        batch.isBinary = isBinary && binary
        let (total, overflow) = rowCount.addingReportingOverflow(Int64(rows))
        guard !overflow else { throw TallyError.overflow("Adding \(rows) rows would overflow the Int64 row count") }
        batch.rowCount = total
        self = batch
    }

    /// Adds `other`'s sums (same labels, k and top-k).
    public mutating func merge(_ other: RankingSums) throws {
        guard other.metrics == metrics else {
            throw TallyError.invalidValue("Expected ranking sums keeping \(metrics.names) to merge, but got ones keeping \(other.metrics.names)")
        }
        guard other.labelCount == labelCount, other.ndcgK == ndcgK, other.topK == topK else {
            throw TallyError.invalidValue("Expected ranking sums with \(labelCount) labels, k=\(ndcgK.map(String.init) ?? "None") and top_k=\(topK) to merge, but got \(other.labelCount) labels, k=\(other.ndcgK.map(String.init) ?? "None") and top_k=\(other.topK)")
        }
        let (rows, overflow) = rowCount.addingReportingOverflow(other.rowCount)
        guard !overflow else { throw TallyError.overflow("Merging would overflow the Int64 row count") }
        rowCount = rows
        isBinary = isBinary && other.isBinary
        isWeighted = isWeighted || other.isWeighted
        addSums(other)
    }

    // MARK: Results

    func mean(_ s: CompensatedSum, _ name: String, binary: Bool = true, kept: Metrics? = nil) throws -> Double {
        if let kept, !metrics.contains(kept) {
            throw TallyError.invalidValue("Expected a ranking accumulator keeping \(name), but this one keeps only \(metrics.names); create it with that metric")
        }
        guard rowCount > 0 else { throw TallyError.invalidValue("Expected at least one row for \(name), but got none") }
        if binary && !isBinary {
            throw TallyError.invalidValue("Expected 0/1 `y_true` for \(name) (multilabel-indicator), but got graded relevances")
        }
        return s.value / weightSum.value
    }

    /// `label_ranking_average_precision_score`.
    public func labelRankingAveragePrecision() throws -> Double { try mean(lrap, "label ranking average precision", kept: .labelRankingAveragePrecision) }
    /// `coverage_error`.
    public func coverageError() throws -> Double { try mean(coverage, "coverage error", kept: .coverageError) }
    /// `label_ranking_loss`.
    public func labelRankingLoss() throws -> Double { try mean(rankingLoss, "label ranking loss", kept: .labelRankingLoss) }
    /// `ndcg_score(k=ndcgK)` (tie-averaged, scikit-learn's default `ignore_ties=False`).
    public func ndcgScore() throws -> Double { try mean(ndcg, "NDCG", binary: false, kept: .ndcg) }
    /// precision@k for each k in `topK`: expected relevant labels among the k best, over min(k, labels).
    public func precisionAtTopK() throws -> [Double] {
        try precisionAtK.map { try mean($0, "precision@k", kept: .topK) }
    }
    /// recall@k for each k in `topK`, over the rows with at least one relevant label
    /// (nan when there are none).
    public func recallAtTopK() throws -> [Double] {
        _ = try mean(weightSum, "recall@k", kept: .topK)
        return recallAtK.map { $0.value / relevantRowWeight.value }
    }

    // MARK: Serialization

    /// Flat bytes; `RankingSums(serialized:)` restores them exactly.
    public func serialized() -> [UInt8] {
        // Format 1 (all metrics) stays as it was; format 2 adds the kept metrics at the end.
        var words: [UInt64] = [metrics == .all ? Self.magic1 : Self.magic2, UInt64(labelCount),
                               UInt64(bitPattern: Int64(ndcgK ?? 0)), UInt64(topK.count)]
        words += topK.map { UInt64($0) }
        words += [UInt64(bitPattern: rowCount), isBinary ? 1 : 0, isWeighted ? 1 : 0]
        for s in [weightSum, lrap, coverage, rankingLoss, ndcg, relevantRowWeight] + precisionAtK + recallAtK {
            words += [s.sum.bitPattern, s.compensation.bitPattern]
        }
        if metrics != .all { words.append(metrics.rawValue) }
        return words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
    }

    static let magic1: UInt64 = 0x3153_4B4E_4152_4C54  // "TLRANKS1"
    static let magic2: UInt64 = 0x3253_4B4E_4152_4C54  // "TLRANKS2"

    public init(serialized bytes: [UInt8]) throws {
        let fail = TallyError.invalidValue("Expected bytes from RankingSums.serialized(), but they do not parse")
        guard bytes.count % 8 == 0, bytes.count >= 32 else { throw fail }
        let words = (0..<(bytes.count / 8)).map { i in (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 * i + $1]) << (8 * $1) } }
        guard words[0] == Self.magic1 || words[0] == Self.magic2, words[3] < 1 << 20 else { throw fail }
        let kCount = Int(words[3])
        let extra = words[0] == Self.magic2 ? 1 : 0
        guard words.count == 4 + kCount + 3 + 2 * (6 + 2 * kCount) + extra else { throw fail }
        let k = Int64(bitPattern: words[2])
        try self.init(labelCount: Int(truncatingIfNeeded: words[1]), ndcgK: k == 0 ? nil : Int(k),
                      topK: words[4..<(4 + kCount)].map { Int(truncatingIfNeeded: $0) },
                      metrics: extra == 1 ? Metrics(rawValue: words[words.count - 1]) : .all)
        var i = 4 + kCount
        rowCount = Int64(bitPattern: words[i]); isBinary = words[i + 1] == 1; isWeighted = words[i + 2] == 1
        guard rowCount >= 0, words[i + 1] <= 1, words[i + 2] <= 1 else { throw fail }
        i += 3
        func take() -> CompensatedSum {
            defer { i += 2 }
            return CompensatedSum(sum: Double(bitPattern: words[i]), compensation: Double(bitPattern: words[i + 1]))
        }
        weightSum = take(); lrap = take(); coverage = take(); rankingLoss = take(); ndcg = take(); relevantRowWeight = take()
        precisionAtK = topK.map { _ in take() }
        recallAtK = topK.map { _ in take() }
        guard rowCount >= 0 else { throw fail }
    }
}

/// A sum with Neumaier's compensation: order changes only the last bits.
struct CompensatedSum: Equatable, Sendable {
    var sum = 0.0
    var compensation = 0.0
    mutating func add(_ x: Double) {
        let t = sum + x
        compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
        sum = t
    }
    mutating func add(_ other: CompensatedSum) {
        add(other.sum)
        compensation += other.compensation
    }
    var value: Double { sum + compensation }
}

/// NDCG's discounts, 1 / log2(i + 2) up to k, and their running sums (scikit-learn's arithmetic).
struct Discounts {
    let discount: [Double]
    let cumulative: [Double]
    init(labels n: Int, k: Int?) {
        var d = (0..<n).map { 1 / (log(Double($0) + 2) / log(2.0)) }
        if let k { for i in min(k, n)..<n { d[i] = 0 } }
        discount = d
        var c = d
        for i in 1..<max(n, 1) { c[i] += c[i - 1] }
        cumulative = c
    }
}

/// One row's labels ordered by decreasing score, ties grouped.
struct RowRanking {
    let allRelevance: [Double]
    let base: Int
    let relevantCount: Int
    let relevantTotal: Double
    let labels: Int

    init(scores: [Double], relevance allRelevance: [Double], row r: Int, labels n: Int,
         order: inout [(key: UInt64, index: Int)], packed: inout [UInt64]) {
        let base = r * n
        var count = 0
        var total = 0.0
        var narrow = n <= Int(UInt32.max)
        for j in 0..<n {
            let x = scores[base + j]
            // A score float32 holds exactly packs with its index into one word, so
            // the sort compares plain integers (equal keys stay adjacent: ties group).
            narrow = narrow && Double(Float(x)) == x
            packed[j] = UInt64(orderKey32(Float(x))) << 32 | UInt64(j)
            if allRelevance[base + j] != 0 { count += 1 }
            total += allRelevance[base + j]
        }
        if narrow {
            packed.sort(by: >)
            for i in 0..<n { order[i] = (packed[i] >> 32, Int(packed[i] & 0xFFFF_FFFF)) }
        } else {
            for j in 0..<n { order[j] = (orderKey64(scores[base + j]), j) }
            order.sort { $0.key > $1.key }
        }
        self.allRelevance = allRelevance
        self.base = base
        relevantCount = count
        relevantTotal = total
        labels = n
    }

    /// The row's relevance of label `j`.
    @inline(__always) func relevance(_ j: Int) -> Double { allRelevance[base &+ j] }

    /// Calls `body(start, end)` for each group of tied scores, best first.
    @inline(__always)
    func forEachGroup(_ order: [(key: UInt64, index: Int)], _ body: (Int, Int) -> Bool) {
        var start = 0
        while start < labels {
            var end = start + 1
            while end < labels && order[end].key == order[start].key { end += 1 }
            if !body(start, end) { return }
            start = end
        }
    }

    func relevantIn(_ order: [(key: UInt64, index: Int)], _ start: Int, _ end: Int) -> Int {
        var c = 0
        for i in start..<end where relevance(order[i].index) != 0 { c += 1 }
        return c
    }

    /// scikit-learn: 1 when no or every label is relevant, else the mean over
    /// relevant labels of (relevant labels ranked at or above) / (labels ranked at or above).
    func labelRankingAveragePrecision(_ order: [(key: UInt64, index: Int)]) -> Double {
        if relevantCount == 0 || relevantCount == labels { return 1 }
        var sum = 0.0, above = 0, relevantAbove = 0
        forEachGroup(order) { s, e in
            let rel = relevantIn(order, s, e)
            above += e - s
            relevantAbove += rel
            if rel > 0 { sum += Double(rel) * (Double(relevantAbove) / Double(above)) }
            return true
        }
        return sum / Double(relevantCount)
    }

    /// scikit-learn: labels scoring at or above the lowest-scored relevant label; 0 without one.
    func coverageError(_ order: [(key: UInt64, index: Int)]) -> Double {
        guard relevantCount > 0 else { return 0 }
        var covered = 0, seen = 0
        forEachGroup(order) { s, e in
            seen += relevantIn(order, s, e)
            covered = e
            return seen < relevantCount
        }
        return Double(covered)
    }

    /// scikit-learn: the fraction of (relevant, irrelevant) pairs with the irrelevant
    /// label scored at or above the relevant one; 0 when no or every label is relevant.
    func rankingLoss(_ order: [(key: UInt64, index: Int)]) -> Double {
        if relevantCount == 0 || relevantCount == labels { return 0 }
        var pairs = 0, irrelevantAbove = 0
        forEachGroup(order) { s, e in
            let rel = relevantIn(order, s, e)
            irrelevantAbove += (e - s) - rel
            pairs += rel * irrelevantAbove
            return true
        }
        return Double(pairs) / Double((labels - relevantCount) * relevantCount)
    }

    /// scikit-learn's tie-averaged DCG over the ideal DCG (0 when the ideal is 0).
    func ndcg(_ order: [(key: UInt64, index: Int)], discounts: Discounts, ideal scratch: inout [Double]) -> Double {
        var gain = 0.0
        forEachGroup(order) { s, e in
            var sum = 0.0
            for i in s..<e { sum += relevance(order[i].index) }
            let discountSum = s == 0 ? discounts.cumulative[e - 1] : discounts.cumulative[e - 1] - discounts.cumulative[s - 1]
            gain += sum / Double(e - s) * discountSum
            return true
        }
        for j in 0..<labels { scratch[j] = relevance(j) }
        scratch.sort(by: >)
        var ideal = 0.0
        for j in 0..<labels { ideal += discounts.discount[j] * scratch[j] }
        return ideal == 0 ? 0 : gain / ideal
    }

    /// Relevant labels expected among the k best (ties at the cut shared pro rata).
    func expectedHits(_ order: [(key: UInt64, index: Int)], k: Int) -> Double {
        var hits = 0.0
        forEachGroup(order) { s, e in
            let rel = Double(relevantIn(order, s, e))
            if e <= k { hits += rel; return e < k }
            hits += rel * Double(k - s) / Double(e - s)
            return false
        }
        return hits
    }
}

/// scikit-learn's coverage error of row `r` without sorting: the labels scored at
/// or above the lowest-scored relevant label (0 when none is relevant).
func coverageWithoutSorting(scores: [Double], relevance: [Double], row r: Int, labels n: Int) -> Double {
    // Branch-free loops (selects, not jumps): they vectorise.
    scores.withUnsafeBufferPointer { s in
        relevance.withUnsafeBufferPointer { t in
            let sp = s.baseAddress! + r &* n, tp = t.baseAddress! + r &* n
            var lowest = Double.infinity
            for j in 0..<n { lowest = min(lowest, tp[j] != 0 ? sp[j] : .infinity) }
            guard lowest < .infinity else { return 0 }
            var covered = 0
            for j in 0..<n { covered &+= sp[j] >= lowest ? 1 : 0 }
            return Double(covered)
        }
    }
}

/// Rows `first..<first + rows` of a matrix as float64, row-major, into `out`.
func readDoubles(_ m: MatrixView, fromRow first: Int, rows: Int, into out: inout [Double]) {
    let count = rows * m.columns, offset = first * m.columns
    guard count > 0, let base = m.base else { return }
    out.withUnsafeMutableBufferPointer { o in
        @inline(__always) func read<T: BinaryInteger>(_: T.Type) {
            let p = base.assumingMemoryBound(to: T.self) + offset
            for i in 0..<count { o[i] = Double(p[i]) }
        }
        switch m.elementType {
        case .bool, .uint8: read(UInt8.self)
        case .int8: read(Int8.self)
        case .uint16: read(UInt16.self)
        case .int16: read(Int16.self)
        case .uint32: read(UInt32.self)
        case .int32: read(Int32.self)
        case .uint64: read(UInt64.self)
        case .int64: read(Int64.self)
        case .float32:
            let p = base.assumingMemoryBound(to: Float.self) + offset
            for i in 0..<count { o[i] = Double(p[i]) }
        case .float64:
            let p = base.assumingMemoryBound(to: Double.self) + offset
            for i in 0..<count { o[i] = p[i] }
        }
    }
}

/// A matrix's elements as float64, row-major.
func readDoubles(_ m: MatrixView) -> [Double] {
    guard m.count > 0, let base = m.base else { return [] }
    // Inlined so each dtype gets its own loop (unspecialized, this cost ~40 ns per element).
    @inline(__always) func read<T: BinaryInteger>(_: T.Type) -> [Double] {
        let p = base.assumingMemoryBound(to: T.self)
        return [Double](unsafeUninitializedCapacity: m.count) { out, initialized in
            for i in 0..<m.count { out[i] = Double(p[i]) }
            initialized = m.count
        }
    }
    switch m.elementType {
    case .bool, .uint8: return read(UInt8.self)
    case .int8: return read(Int8.self)
    case .uint16: return read(UInt16.self)
    case .int16: return read(Int16.self)
    case .uint32: return read(UInt32.self)
    case .int32: return read(Int32.self)
    case .uint64: return read(UInt64.self)
    case .int64: return read(Int64.self)
    case .float32:
        let p = base.assumingMemoryBound(to: Float.self)
        return (0..<m.count).map { Double(p[$0]) }
    case .float64:
        return Array(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Double.self), count: m.count))
    }
}
