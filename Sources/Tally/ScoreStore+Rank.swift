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

/// Runs `body(thread, item)` for every item in `0..<count` on up to `threads` threads, each
/// thread taking the next item when it is done with one: a thread that the system runs
/// less (a busy machine) takes fewer. Items must write disjoint memory.
func forEachTaken(_ count: Int, threads: Int, _ body: (Int, Int) -> Void) {
    let t = min(max(threads, 1), count)
    guard t > 1 else {
        for i in 0..<count { body(0, i) }
        return
    }
    let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    next.initialize(to: 0)
    defer { next.deallocate() }
    forkJoin(t) { thread in
        while true {
            let i = tk_claim(next)
            if i >= count { break }
            body(thread, i)
        }
    }
}

/// The body that receives a chunk of groups (keys, cumulative positives, negatives, count).
typealias GroupChunk = (UnsafePointer<UInt32>, UnsafePointer<UInt32>, UnsafePointer<UInt32>, Int) -> Void

/// `tk_group_fn`: calls the `GroupChunk` that `context` points to.
private func forwardGroups(_ context: UnsafeMutableRawPointer?, _ keys: UnsafePointer<UInt32>?,
                           _ tp: UnsafePointer<UInt32>?, _ fp: UnsafePointer<UInt32>?, _ count: Int) {
    context!.assumingMemoryBound(to: GroupChunk.self).pointee(keys!, tp!, fp!, count)
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
        // Work items on t threads: c slices of the cells, then c runs of buckets.
        let c = t > 1 ? 4 &* t : 1
        // The cells of slice i: [total * i / c, total * (i + 1) / c), label by label.
        func forEachSegment(_ slice: Int, _ body: (UnsafePointer<UInt32>, UnsafePointer<UInt64>, Int, Int) -> Void) {
            var c0 = total &* slice / c
            let end = total &* (slice &+ 1) / c
            while c0 < end {
                let li = c0 / rows, r0 = c0 % rows, r1 = min(rows, r0 &+ (end &- c0))
                narrowKeys[labels[li]].withUnsafeBufferPointer { k in
                    truthBits[labels[li]].withUnsafeBufferPointer { b in body(k.baseAddress!, b.baseAddress!, r0, r1) }
                }
                c0 &+= r1 &- r0
            }
        }
        // The bits every key shares, then a histogram per slice.
        var bounds = [(UInt32, UInt32)](repeating: (~0, 0), count: c)
        bounds.withUnsafeMutableBufferPointer { bp in
            let b = bp
            forEachTaken(c, threads: t) { _, slice in
                var (a, o) = b[slice]
                forEachSegment(slice) { k, _, r0, r1 in tk_rank_bounds(k + r0, r1 &- r0, &a, &o) }
                b[slice] = (a, o)
            }
        }
        let plan = tk_rank_make_plan(bounds.reduce(~0) { $0 & $1.0 }, bounds.reduce(0) { $0 | $1.1 })
        let nb = Int(plan.buckets)
        let histograms = UnsafeMutablePointer<UInt64>.allocate(capacity: c &* nb)
        histograms.initialize(repeating: 0, count: c &* nb)
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: c &* nb)
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: nb &+ 1)
        defer { histograms.deallocate(); offsets.deallocate(); starts.deallocate() }
        forEachTaken(c, threads: t) { _, slice in
            forEachSegment(slice) { k, b, r0, r1 in tk_rank_histogram(k, b, r0, r1, plan, histograms + slice &* nb) }
        }
        // Buckets side by side in key order; each slice writes after the earlier slices' cells.
        var sum = 0, largest = 0
        for bucket in 0..<nb {
            starts[bucket] = sum
            var inBucket = 0
            for slice in 0..<c {
                offsets[slice &* nb &+ bucket] = sum &+ inBucket
                inBucket &+= Int(truncatingIfNeeded: histograms[slice &* nb &+ bucket] & 0xFFFF_FFFF)
            }
            sum &+= inBucket
            largest = max(largest, inBucket)
        }
        starts[nb] = sum
        // An exact ROC area is summed in C as an integer, split over the threads at bucket
        // boundaries (integer sums in any order); other sinks get the groups in order.
        let exactArea: Bool
        if let area = sink as? AreaSink, area.countsAreExact, area.tp == 0, area.fp == 0 { exactArea = true }
        else { exactArea = false }
        let own = buffers ?? RankBuffers()
        own.reserve(cells: total, scratch: largest)
        let cells = own.cells!
        forEachTaken(c, threads: t) { _, slice in
            forEachSegment(slice) { k, b, r0, r1 in tk_rank_scatter(k, b, r0, r1, plan, offsets + slice &* nb, cells) }
        }
        // Cells and positives above each bucket.
        var positivesAbove = [UInt32](repeating: 0, count: nb &+ 1)
        for bucket in stride(from: nb &- 1, through: 0, by: -1) {
            var p: UInt64 = 0
            for slice in 0..<c { p &+= histograms[slice &* nb &+ bucket] >> 32 }
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
        if exactArea {
            var cut = [nb]
            for slice in 1..<c {
                let target = total &* (c &- slice) / c
                var b = cut[cut.count - 1]
                while b > 0 && starts[b] > target { b &-= 1 }
                cut.append(b)
            }
            cut.append(0)  // slice i walks buckets [cut[i + 1], cut[i])
            var parts = [UInt64](repeating: 0, count: c)
            // Thread 0 sorts in the buffers' scratch, each other thread in its own.
            let scratches = [own.scratch!] + (1..<t).map { _ in allocateLarge(UInt32.self, count: largest) }
            defer { for p in scratches.dropFirst() { free(p) } }
            parts.withUnsafeMutableBufferPointer { pp in
                let p = pp
                forEachTaken(c, threads: t) { thread, slice in
                    let hi = cut[slice], lo = cut[slice &+ 1]
                    let scratch = scratches[thread]
                    var tp = positivesAbove[hi], fp = UInt32(truncatingIfNeeded: starts[nb] &- starts[hi]) &- positivesAbove[hi]
                    var twice: UInt64 = 0
                    for bucket in stride(from: hi &- 1, through: lo, by: -1) {
                        let first = starts[bucket], count = starts[bucket &+ 1] &- first
                        if count > 0 { tk_rank_bucket_area(cells + first, scratch, count, plan, UInt32(bucket), &tp, &fp, &twice) }
                    }
                    p[slice] = twice
                }
            }
            // Below 2^53 (`countsAreExact`), so the float64 is the integer itself.
            var area = AreaSink(countsAreExact: true)
            area.twiceArea = Double(parts.reduce(0, &+))
            area.tp = Double(positivesAbove[0])
            area.fp = Double(total) - area.tp
            sink = area as! Sink
            return
        }
        walkBuckets(&sink, 0, nb, scratch: own.scratch!, emitter: own.emitter)
    }
}
