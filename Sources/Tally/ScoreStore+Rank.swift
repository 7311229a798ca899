internal import TallyKernels
internal import TallyThreads
#if canImport(Glibc)
import Glibc
#endif

// The unweighted, 32-bit-key walk of the score store: the path that exact ROC AUC,
// average precision and threshold tuning take for float32 scores.
//
// The C kernels `tk_rank_*` bucket the cells by the top 11 bits their keys do not all
// share, each cell kept as `(low key bits) << 1 | truth` (4 bytes), then sort each bucket
// in cache and walk it from the top: the sink sees exactly the groups of tied keys, and
// the cumulative counts, that one sort of all the cells gives.

/// Buffers of one walk, reused from label to label by a thread.
final class RankBuffers {
    private(set) var cells: UnsafeMutablePointer<UInt32>?
    private(set) var scratch: UnsafeMutablePointer<UInt32>?
    private var cellCapacity = 0, scratchCapacity = 0
    let emitter: OpaquePointer

    init() {
        guard let e = tk_rank_emitter_new() else { fatalError("out of memory allocating a group buffer") }
        emitter = e
    }

    func reserve(cells c: Int, scratch s: Int) {
        if c > cellCapacity {
            if let p = cells { free(p) }
            cells = allocateLarge(UInt32.self, count: c)
            cellCapacity = c
        }
        if s > scratchCapacity {
            if let p = scratch { free(p) }
            scratch = allocateLarge(UInt32.self, count: s)
            scratchCapacity = s
        }
    }

    deinit {
        if let p = cells { free(p) }
        if let p = scratch { free(p) }
        tk_rank_emitter_free(emitter)
    }
}

/// The body that receives a chunk of groups (keys, cumulative positives, negatives, count).
typealias GroupChunk = (UnsafePointer<UInt32>, UnsafePointer<UInt32>, UnsafePointer<UInt32>, Int) -> Void

/// `tk_group_fn`: calls the `GroupChunk` that `context` points to.
private func forwardGroups(_ context: UnsafeMutableRawPointer?, _ keys: UnsafePointer<UInt32>?,
                           _ tp: UnsafePointer<UInt32>?, _ fp: UnsafePointer<UInt32>?, _ count: Int) {
    context!.assumingMemoryBound(to: GroupChunk.self).pointee(keys!, tp!, fp!, count)
}

/// Sinks whose walk may be split at bucket boundaries and summed (`AreaSink` on exact counts).
extension AreaSink {
    /// The sink after the groups of `parts`, each started at the counts above it, in any order.
    static func sum(_ parts: [AreaSink], tp: Double, fp: Double) -> AreaSink {
        var s = AreaSink(countsAreExact: true)
        for p in parts { s.twiceArea += p.twiceArea }
        (s.tp, s.fp) = (tp, fp)
        return s
    }
}

extension ScoreStore {
    /// The walk of `walk(labels:into:)` for an unweighted store of 32-bit keys.
    /// - Parameters:
    ///   - threads: used by the bucketing when the cells are many (a pooled, micro walk).
    ///   - buffers: reused buffers (else the walk allocates its own).
    func walkNarrowUnweighted<Sink: GroupSink>(labels: [Int], into sink: inout Sink, threads: Int,
                                               buffers: RankBuffers? = nil) {
        let rows = rowCount, total = labels.count &* rows
        guard total > 0 else { return }
        let t = total >= 1 << 20 ? max(1, min(threads, 8)) : 1
        // The cells of thread slice i: [total * i / t, total * (i + 1) / t), label by label.
        func forEachSegment(_ slice: Int, _ body: (UnsafePointer<UInt32>, UnsafePointer<UInt64>, Int, Int) -> Void) {
            var c = total &* slice / t
            let end = total &* (slice &+ 1) / t
            while c < end {
                let li = c / rows, r0 = c % rows, r1 = min(rows, r0 &+ (end &- c))
                narrowKeys[labels[li]].withUnsafeBufferPointer { k in
                    truthBits[labels[li]].withUnsafeBufferPointer { b in body(k.baseAddress!, b.baseAddress!, r0, r1) }
                }
                c &+= r1 &- r0
            }
        }
        // The bits every key shares, then a histogram per slice.
        var bounds = [(UInt32, UInt32)](repeating: (~0, 0), count: t)
        bounds.withUnsafeMutableBufferPointer { bp in
            let b = bp
            forkJoin(t) { slice in
                var (a, o) = b[slice]
                forEachSegment(slice) { k, _, r0, r1 in tk_rank_bounds(k + r0, r1 &- r0, &a, &o) }
                b[slice] = (a, o)
            }
        }
        let plan = tk_rank_make_plan(bounds.reduce(~0) { $0 & $1.0 }, bounds.reduce(0) { $0 | $1.1 })
        let nb = Int(plan.buckets)
        let histograms = UnsafeMutablePointer<UInt64>.allocate(capacity: t &* nb)
        histograms.initialize(repeating: 0, count: t &* nb)
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: t &* nb)
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: nb &+ 1)
        defer { histograms.deallocate(); offsets.deallocate(); starts.deallocate() }
        forkJoin(t) { slice in
            forEachSegment(slice) { k, b, r0, r1 in tk_rank_histogram(k, b, r0, r1, plan, histograms + slice &* nb) }
        }
        // Buckets side by side in key order; each slice writes after the earlier slices' cells.
        var sum = 0, largest = 0
        for bucket in 0..<nb {
            starts[bucket] = sum
            var inBucket = 0
            for slice in 0..<t {
                offsets[slice &* nb &+ bucket] = sum &+ inBucket
                inBucket &+= Int(truncatingIfNeeded: histograms[slice &* nb &+ bucket] & 0xFFFF_FFFF)
            }
            sum &+= inBucket
            largest = max(largest, inBucket)
        }
        starts[nb] = sum
        // An exact ROC area splits over the threads at bucket boundaries; other sinks walk in order.
        let areaInParts: Bool
        if t > 1, let area = sink as? AreaSink, area.countsAreExact, area.tp == 0, area.fp == 0 { areaInParts = true }
        else { areaInParts = false }
        let own = buffers ?? RankBuffers()
        own.reserve(cells: total, scratch: areaInParts ? 0 : largest)
        let cells = own.cells!
        forkJoin(t) { slice in
            forEachSegment(slice) { k, b, r0, r1 in tk_rank_scatter(k, b, r0, r1, plan, offsets + slice &* nb, cells) }
        }
        // Cells and positives above each bucket.
        var positivesAbove = [UInt32](repeating: 0, count: nb &+ 1)
        for bucket in stride(from: nb &- 1, through: 0, by: -1) {
            var p: UInt64 = 0
            for slice in 0..<t { p &+= histograms[slice &* nb &+ bucket] >> 32 }
            positivesAbove[bucket] = positivesAbove[bucket &+ 1] &+ UInt32(truncatingIfNeeded: p)
        }
        // One slice of buckets [lo, hi), walked from the top into `s`.
        func walkBuckets<S: GroupSink>(_ s: inout S, _ lo: Int, _ hi: Int, scratch: UnsafeMutablePointer<UInt32>,
                                       emitter: OpaquePointer) {
            withUnsafeMutablePointer(to: &s) { sp in
                // The sink is moved out for each chunk, so it lives in registers meanwhile.
                var chunk: GroupChunk = { k, tp, fp, n in
                    var local = sp.move()
                    for i in 0..<n {
                        local.group(key: UInt64(k[i]), wide: false, tp: Double(tp[i]), fp: Double(fp[i]))
                    }
                    sp.initialize(to: local)
                }
                withUnsafeMutablePointer(to: &chunk) { context in
                    tk_rank_emitter_reset(emitter, forwardGroups, UnsafeMutableRawPointer(context),
                                          S.readsGroupsWithoutPositives ? 0 : 1)
                    let above = starts[nb] &- starts[hi]
                    var tp = positivesAbove[hi], fp = UInt32(truncatingIfNeeded: above) &- positivesAbove[hi]
                    for bucket in stride(from: hi &- 1, through: lo, by: -1) {
                        let first = starts[bucket], count = starts[bucket &+ 1] &- first
                        if count > 0 {
                            tk_rank_bucket(cells + first, scratch, count, plan, UInt32(bucket), &tp, &fp, emitter)
                        }
                    }
                    tk_rank_flush(emitter)
                }
            }
        }
        if areaInParts {
            var cut = [nb]
            for slice in 1..<t {
                let target = total &* (t &- slice) / t
                var b = cut[cut.count - 1]
                while b > 0 && starts[b] > target { b &-= 1 }
                cut.append(b)
            }
            cut.append(0)  // slice i walks buckets [cut[i + 1], cut[i])
            var parts = [AreaSink](repeating: AreaSink(countsAreExact: true), count: t)
            parts.withUnsafeMutableBufferPointer { pp in
                let p = pp
                forkJoin(t) { slice in
                    guard let emitter = tk_rank_emitter_new() else { fatalError("out of memory allocating a group buffer") }
                    defer { tk_rank_emitter_free(emitter) }
                    var part = AreaSink(countsAreExact: true)
                    let hi = cut[slice], lo = cut[slice &+ 1]
                    part.tp = Double(positivesAbove[hi])
                    part.fp = Double(starts[nb] &- starts[hi]) - part.tp
                    var most = 0
                    for b in lo..<hi { most = max(most, starts[b &+ 1] &- starts[b]) }
                    let scratch = allocateLarge(UInt32.self, count: most)
                    defer { free(scratch) }
                    walkBuckets(&part, lo, hi, scratch: scratch, emitter: emitter)
                    p[slice] = part
                }
            }
            let positives = Double(positivesAbove[0])
            sink = AreaSink.sum(parts, tp: positives, fp: Double(total) - positives) as! Sink
            return
        }
        walkBuckets(&sink, 0, nb, scratch: own.scratch!, emitter: own.emitter)
    }
}
