internal import TallyThreads
internal import TallyKernels

// The ranking metrics of rows with 0/1 truth (bool or uint8) and float scores, read
// in place and without a sort: for each relevant label i of a row, three counts over
// the row's labels j, which branch-free loops compare 8 or 16 at a time,
//   above(i)    = #{j : s_j >  s_i}   (the labels ranked before i's tie group)
//   atOrAbove(i)= #{j : s_j >= s_i}   (up to the end of i's tie group)
//   relevant(i) = #{j relevant : s_j >= s_i}
// give every metric scikit-learn defines over the row's tie groups:
//   coverage        max_i atOrAbove(i)
//   ranking loss    Σ_i (atOrAbove(i) − relevant(i)) / (R (n − R))
//   LRAP            Σ_i relevant(i) / atOrAbove(i) / R
//   NDCG            Σ_i (D[atOrAbove(i)] − D[above(i)]) / (atOrAbove(i) − above(i)) / ideal,
//                   ideal = D[min(R, k)] (D the cumulative discounts; binary gains)
//   hits@k          Σ_i clamp((k − above(i)) / (atOrAbove(i) − above(i)), 0, 1)
// Coverage and ranking loss are integers here, as in the sorted walk; LRAP, NDCG and
// hits@k add the same terms label by label instead of tie group by tie group (the
// last bits may differ from the sorted walk; scikit-learn's own order is another).
// O(R·n) a row: used up to `RankingSums.inPlaceLabelLimit` labels (any count for
// coverage alone, which is O(n)).

/// Rows per partial sum: fixed, so the totals do not depend on the thread count.
private let chunkRows = 2048

extension RankingSums {
    /// Labels up to which the sort-free row kernel is used.
    static let inPlaceLabelLimit = 64

    /// Adds a batch through the sort-free kernel when it applies (0/1 bytes of truth,
    /// finite float scores, few labels); false when it does not, changing nothing.
    mutating func updateInPlace(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>?) -> Bool {
        let n = labelCount, rows = truth.rows
        guard truth.elementType == .bool || truth.elementType == .uint8, scores.elementType.isFloatingPoint,
              n <= Self.inPlaceLabelLimit || metrics == .coverageError, rows > 0 else { return false }
        let chunks = (rows + chunkRows - 1) / chunkRows
        var template = self
        template.clearSums()
        var parts = [RankingSums](repeating: template, count: chunks)
        var valid = [Bool](repeating: true, count: chunks)
        let discounts = Discounts(labels: n, k: ndcgK)
        let threads = rows &* n >= 1 << 16 ? coreProcessorCount() : 1
        let isFloat32 = scores.elementType == .float32
        let coverageOnlyUnweighted = metrics == .coverageError && sampleWeight == nil
        parts.withUnsafeMutableBufferPointer { p in
            valid.withUnsafeMutableBufferPointer { v in
                let (p, v) = (p, v)
                forEachChunk(chunks, threads: threads) { _, range in
                    for c in range {
                        let r0 = c &* chunkRows, r1 = min(rows, r0 &+ chunkRows)
                        if coverageOnlyUnweighted {
                            // Integers: one exact sum per chunk equals the per-row compensated sums.
                            v[c] = p[c].addCoverage(truth: truth, scores: scores, rows: r0..<r1)
                            continue
                        }
                        v[c] = isFloat32
                            ? p[c].addRows(truth: truth, scores: scores, as: Float.self, key: UInt32.self,
                                           kernel: { tk_rank_row_f32($0, $1, $2, $3, $4, $5, $6, $7) },
                                           rows: r0..<r1, weights: sampleWeight, discounts: discounts)
                            : p[c].addRows(truth: truth, scores: scores, as: Double.self, key: UInt64.self,
                                           kernel: { tk_rank_row_f64($0, $1, $2, $3, $4, $5, $6, $7) },
                                           rows: r0..<r1, weights: sampleWeight, discounts: discounts)
                    }
                }
            }
        }
        guard !valid.contains(false) else { return false }
        var batch = self
        for part in parts { batch.addSums(part) }
        batch.isWeighted = isWeighted || sampleWeight != nil
        batch.rowCount = rowCount + Int64(rows)
        self = batch
        return true
    }

    /// These sums at zero (configuration and flags kept).
    mutating func clearSums() {
        weightSum = CompensatedSum(); lrap = CompensatedSum(); coverage = CompensatedSum()
        rankingLoss = CompensatedSum(); ndcg = CompensatedSum(); relevantRowWeight = CompensatedSum()
        precisionAtK = Array(repeating: CompensatedSum(), count: topK.count)
        recallAtK = precisionAtK
    }

    /// Adds `other`'s sums (as `merge`, without its checks or flags).
    mutating func addSums(_ other: RankingSums) {
        weightSum.add(other.weightSum); lrap.add(other.lrap); coverage.add(other.coverage)
        rankingLoss.add(other.rankingLoss); ndcg.add(other.ndcg); relevantRowWeight.add(other.relevantRowWeight)
        for i in topK.indices { precisionAtK[i].add(other.precisionAtK[i]); recallAtK[i].add(other.recallAtK[i]) }
    }

    /// Unweighted coverage of rows `range` from one C call; false as `addRows`.
    mutating func addCoverage(truth: MatrixView, scores: MatrixView, rows range: Range<Int>) -> Bool {
        let n = labelCount
        var sum: Int64 = 0
        let t = truth.base!.assumingMemoryBound(to: UInt8.self) + range.lowerBound &* n
        let status: Int32
        if scores.elementType == .float32 {
            let keys = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
            defer { keys.deallocate() }
            status = tk_coverage_rows_f32(t, scores.base!.assumingMemoryBound(to: Float.self) + range.lowerBound &* n,
                                          range.count, n, keys, &sum)
        } else {
            let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
            defer { keys.deallocate() }
            status = tk_coverage_rows_f64(t, scores.base!.assumingMemoryBound(to: Double.self) + range.lowerBound &* n,
                                          range.count, n, keys, &sum)
        }
        guard status == 0 else { return false }
        weightSum.add(Double(range.count))
        coverage.add(Double(sum))
        return true
    }

    /// Rows `range` into these sums; false when a truth byte is not 0/1 or a score is not finite.
    /// Each row's counts come from the C kernel (`tk_rank_row_*`) of the CPU's level.
    @inline(__always)
    mutating func addRows<T: BinaryFloatingPoint, K>(
        truth: MatrixView, scores: MatrixView, as _: T.Type, key _: K.Type,
        kernel: (UnsafePointer<UInt8>, UnsafePointer<T>, Int, Int32, UnsafeMutablePointer<K>,
                 UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int,
        rows range: Range<Int>, weights: UnsafeBufferPointer<Double>?, discounts: Discounts
    ) -> Bool {
        let n = labelCount, m = metrics
        let tBase = truth.base!.assumingMemoryBound(to: UInt8.self), sBase = scores.base!.assumingMemoryBound(to: T.self)
        let coverageOnly: Int32 = m == .coverageError ? 1 : 0
        let wantsLRAP = m.contains(.labelRankingAveragePrecision), wantsLoss = m.contains(.labelRankingLoss)
        let wantsNDCG = m.contains(.ndcg), wantsTopK = m.contains(.topK)
        let keys = UnsafeMutablePointer<K>.allocate(capacity: n)
        defer { keys.deallocate() }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 3 * n + 3) { scratch -> Bool in
            let above = scratch.baseAddress!, atOrAbove = above + (n + 1), relevantAtOrAbove = atOrAbove + (n + 1)
            for r in range {
                let count = kernel(tBase + r &* n, sBase + r &* n, n, coverageOnly, keys, above, atOrAbove, relevantAtOrAbove)
                guard count >= 0 else { return false }
                let w = weights?[r] ?? 1
                weightSum.add(w)
                if coverageOnly == 1 {
                    coverage.add(w * Double(atOrAbove[0]))
                    continue
                }
                var maxAtOrAbove = 0, irrelevantPairs = 0
                var precisionSum = 0.0
                for q in 0..<count {
                    let (ge, rel) = (Int(atOrAbove[q]), Int(relevantAtOrAbove[q]))
                    maxAtOrAbove = max(maxAtOrAbove, ge)
                    irrelevantPairs &+= ge &- rel
                    precisionSum += Double(rel) / Double(ge)
                }
                let allOrNone = count == 0 || count == n
                if wantsLRAP { lrap.add(w * (allOrNone ? 1 : precisionSum / Double(count))) }
                if m.contains(.coverageError) { coverage.add(w * Double(maxAtOrAbove)) }
                if wantsLoss { rankingLoss.add(w * (allOrNone ? 0 : Double(irrelevantPairs) / Double((n - count) * count))) }
                if wantsNDCG {
                    var gain = 0.0
                    discounts.cumulative.withUnsafeBufferPointer { d in
                        for q in 0..<count {
                            let (s0, e) = (Int(above[q]), Int(atOrAbove[q]))
                            let discountSum = s0 == 0 ? d[e - 1] : d[e - 1] - d[s0 - 1]
                            gain += discountSum / Double(e - s0)
                        }
                    }
                    let ideal = count == 0 ? 0 : discounts.cumulative[count - 1]
                    ndcg.add(w * (ideal == 0 ? 0 : gain / ideal))
                }
                if wantsTopK {
                    if count > 0 { relevantRowWeight.add(w) }
                    for (x, k) in topK.enumerated() {
                        var hits = 0.0
                        for q in 0..<count {
                            let (s0, e) = (Int(above[q]), Int(atOrAbove[q]))
                            if e <= k { hits += 1 } else if s0 < k { hits += Double(k - s0) / Double(e - s0) }
                        }
                        precisionAtK[x].add(w * hits / Double(min(k, n)))
                        if count > 0 { recallAtK[x].add(w * hits / Double(count)) }
                    }
                }
            }
            return true
        }
    }
}

