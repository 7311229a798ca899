internal import TallyThreads
#if canImport(Glibc)
import Glibc
#endif

// The unweighted, 32-bit-key walk of the score store: the path that exact ROC AUC,
// average precision and threshold tuning take for float32 scores.
//
// Positives and negatives are sorted apart as plain 32-bit keys (4 bytes a cell,
// where a packed `key << 1 | truth` needs 8), by an LSD radix sort whose three
// histograms come from the same pass that splits the cells by truth; the walk then
// merges the two sorted runs from the top, so it sees exactly the groups of tied
// keys, and the cumulative counts, that one sort of the packed cells gave.

/// Bits per radix digit: 2048 buckets of UInt32 counts (8 KiB) stay in L1.
private let digitBits: UInt32 = 11
private let buckets = 1 << 11
private let digitMask: UInt32 = 0x7FF

/// Per-digit histograms of a run of keys (three digits cover 32 bits).
struct KeyHistograms {
    var counts: UnsafeMutablePointer<UInt32>
    init() {
        counts = .allocate(capacity: 3 * buckets)
        counts.initialize(repeating: 0, count: 3 * buckets)
    }
    func free() { counts.deallocate() }
    @inline(__always) func add(_ k: UInt32) {
        counts[Int(k & digitMask)] &+= 1
        counts[buckets &+ Int((k >> digitBits) & digitMask)] &+= 1
        counts[2 &* buckets &+ Int(k >> (2 &* digitBits))] &+= 1
    }
    /// Adds `other`'s counts into these.
    func merge(_ other: KeyHistograms) {
        for i in 0..<(3 * buckets) { counts[i] &+= other.counts[i] }
    }
}

/// Sorts `keys[0..<n]` ascending with `histograms` of exactly those keys; `scratch`
/// holds `n` keys. A digit that is the same in every key costs no pass (float32
/// scores in [0, 1] share their top bits). With `threads` > 1 each pass scatters
/// `threads` contiguous slices side by side, at offsets that keep the sort stable.
func radixSort32(_ keys: UnsafeMutablePointer<UInt32>, count n: Int, histograms h: KeyHistograms,
                 scratch: UnsafeMutablePointer<UInt32>, threads: Int = 1) {
    guard n > 1 else { return }
    var source = keys, target = scratch
    for digit in 0..<3 {
        let c = h.counts + digit &* buckets
        let shift = UInt32(digit) &* digitBits
        if c[Int((keys[0] >> shift) & digitMask)] == UInt32(truncatingIfNeeded: n) { continue }
        let t = n >= 1 << 20 ? min(max(threads, 1), 8) : 1
        if t == 1 {
            var sum: UInt32 = 0
            withUnsafeTemporaryAllocation(of: Int.self, capacity: buckets) { o in
                for b in 0..<buckets { o[b] = Int(sum); sum &+= c[b] }
                let (s, d) = (source, target)
                for i in 0..<n {
                    let k = s[i]
                    let b = Int((k >> shift) & digitMask)
                    d[o[b]] = k
                    o[b] &+= 1
                }
            }
        } else {
            scatterInParallel(source, target, count: n, shift: shift, threads: t)
        }
        swap(&source, &target)
    }
    if source != keys { keys.update(from: source, count: n) }
}

/// One stable radix pass split over `t` contiguous slices: each slice counts its
/// own digits, then writes after every earlier slice's keys of the same digit.
private func scatterInParallel(_ source: UnsafeMutablePointer<UInt32>, _ target: UnsafeMutablePointer<UInt32>,
                               count n: Int, shift: UInt32, threads t: Int) {
    let offsets = UnsafeMutablePointer<Int>.allocate(capacity: t * buckets)
    defer { offsets.deallocate() }
    offsets.initialize(repeating: 0, count: t * buckets)
    let (s, d, o) = (source, target, offsets)
    forEachChunk(n, threads: t) { slice, range in
        let mine = o + slice &* buckets
        for i in range { mine[Int((s[i] >> shift) & digitMask)] &+= 1 }
    }
    var sum = 0
    for b in 0..<buckets {
        for slice in 0..<t {
            let x = o[slice &* buckets &+ b]
            o[slice &* buckets &+ b] = sum
            sum &+= x
        }
    }
    forEachChunk(n, threads: t) { slice, range in
        let mine = o + slice &* buckets
        for i in range {
            let k = s[i]
            let b = Int((k >> shift) & digitMask)
            d[mine[b]] = k
            mine[b] &+= 1
        }
    }
}

extension ScoreStore {
    /// The walk of `walk(labels:into:)` for an unweighted store of 32-bit keys.
    /// - Parameter threads: used by the sort when the cells are many (a pooled, micro walk).
    func walkNarrowUnweighted<Sink: GroupSink>(labels: [Int], into sink: inout Sink, positives: Int, threads: Int) {
        let total = labels.count &* rowCount
        let negatives = total &- positives
        // [positive keys, one spare | negative keys, one spare | scratch for the larger run]:
        // the split writes every key to both runs, one slot past the end at most.
        let buffer = allocateLarge(UInt32.self, count: total &+ 2 &+ max(positives, negatives, 1))
        defer { free(buffer) }
        let pos = buffer, neg = buffer + (positives &+ 1), scratch = buffer + (total &+ 2)
        let hp = KeyHistograms(), hn = KeyHistograms()
        defer { hp.free(); hn.free() }
        splitByTruth(labels: labels, positives: pos, negatives: neg, histograms: (hp, hn), threads: threads)
        radixSort32(pos, count: positives, histograms: hp, scratch: scratch, threads: threads)
        radixSort32(neg, count: negatives, histograms: hn, scratch: scratch, threads: threads)
        // Merge the two ascending runs from the top: one group per distinct key.
        var i = positives &- 1, j = negatives &- 1
        var tp = 0, fp = 0
        var local = sink  // in a register-friendly local, not through the inout reference
        defer { sink = local }
        while i >= 0 || j >= 0 {
            let kp = i >= 0 ? Int64(pos[i]) : -1, kn = j >= 0 ? Int64(neg[j]) : -1
            let key = max(kp, kn)
            let k32 = UInt32(truncatingIfNeeded: key)
            if kp == key { repeat { i &-= 1; tp &+= 1 } while i >= 0 && pos[i] == k32 }
            if kn == key { repeat { j &-= 1; fp &+= 1 } while j >= 0 && neg[j] == k32 }
            local.group(key: UInt64(k32), wide: false, tp: Double(tp), fp: Double(fp))
        }
    }

    /// Copies the labels' keys into the positive and negative runs (label by label,
    /// row order) and counts both runs' digits on the way.
    private func splitByTruth(labels: [Int], positives pos: UnsafeMutablePointer<UInt32>,
                              negatives neg: UnsafeMutablePointer<UInt32>,
                              histograms: (KeyHistograms, KeyHistograms), threads: Int) {
        var p = 0, q = 0
        let (hp, hn) = histograms
        for j in labels {
            narrowKeys[j].withUnsafeBufferPointer { keys in
                truthBits[j].withUnsafeBufferPointer { bits in
                    let k = keys.baseAddress!, b = bits.baseAddress!
                    let rows = rowCount
                    var r = 0
                    while r < rows {
                        var word = b[r >> 6]
                        let end = min(rows, (r | 63) &+ 1)
                        while r < end {
                            let key = k[r]
                            // Both runs get the key; only the one of its class advances.
                            pos[p] = key
                            neg[q] = key
                            let bit = Int(truncatingIfNeeded: word & 1)
                            p &+= bit
                            q &+= 1 &- bit
                            (bit != 0 ? hp : hn).add(key)
                            word >>= 1
                            r &+= 1
                        }
                    }
                }
            }
        }
    }
}

/// Uninitialized memory for `count` values, released with `free`. Large buffers are
/// aligned to 2 MiB and asked to live on huge pages: the radix scatter then misses
/// the TLB far less, and the kernel takes one fault per 2 MiB instead of per 4 KiB.
func allocateLarge<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
    let bytes = max(1, count &* MemoryLayout<T>.stride)
    var raw: UnsafeMutableRawPointer?
    #if canImport(Glibc)
    if bytes >= 4 << 20 {
        let huge = 2 << 20
        if posix_memalign(&raw, huge, (bytes + huge - 1) / huge * huge) == 0, let r = raw {
            _ = madvise(r, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE)
            return r.bindMemory(to: T.self, capacity: count)
        }
    }
    #endif
    raw = malloc(bytes)
    guard let r = raw else { fatalError("out of memory allocating \(bytes) bytes") }
    return r.bindMemory(to: T.self, capacity: count)
}

// MARK: Appending a batch

/// Validates a bool/uint8 truth matrix in place (every byte 0 or 1), throwing the
/// message of `decodeTruth` for the first bad cell; returns no copy.
func checkBinaryBytes(_ truth: MatrixView) throws -> [UInt8] {
    guard truth.count > 0 else { return [] }
    let p = truth.base!.assumingMemoryBound(to: UInt8.self)
    var bad: UInt8 = 0
    for i in 0..<truth.count { bad |= p[i] }
    if bad & 0xFE != 0 { _ = try decodeTruth(truth) }
    return []
}

/// Calls `body` with the base address of every array of `arrays`, all open at once
/// (one nested `withUnsafeMutableBufferPointer` per array).
func withMutableBases<T, R>(_ arrays: inout [[T]], _ body: ([UnsafeMutablePointer<T>]) -> R) -> R {
    var bases: [UnsafeMutablePointer<T>] = []
    bases.reserveCapacity(arrays.count)
    // Each array is moved out (a swap, no copy) while its buffer is open, so no two
    // accesses to `arrays` overlap; it is moved back before returning.
    func open(_ i: Int) -> R {
        if i == arrays.count { return body(bases) }
        var array: [T] = []
        swap(&array, &arrays[i])
        defer { swap(&array, &arrays[i]) }
        return array.withUnsafeMutableBufferPointer { b in
            bases.append(b.baseAddress!)
            return open(i + 1)
        }
    }
    return open(0)
}

extension ScoreStore {
    /// Writes rows `start..<start + rows` of every label's 32-bit keys and truth bits
    /// (already sized, keys zero) from a row-major batch, transposing 64 rows at a
    /// time: a block of scores stays in L1 while each label gets one word of bits.
    mutating func fillNarrow(truth t: UnsafePointer<UInt8>, scores: MatrixView, start: Int, threads: Int) {
        let n = labelCount, rows = scores.rows
        let isFloat32 = scores.elementType == .float32
        let base = scores.base!
        // Above ~1000 labels the nested buffers would go deep: one label at a time.
        guard n <= 1024 else {
            for j in 0..<n {
                narrowKeys[j].withUnsafeMutableBufferPointer { keys in
                    truthBits[j].withUnsafeMutableBufferPointer { bits in
                        fillNarrowRange(truth: t, base: base, isFloat32: isFloat32, start: start, labels: j..<(j + 1),
                                        columns: n, rows: 0..<rows, keys: { _ in keys.baseAddress! },
                                        bits: { _ in bits.baseAddress! })
                    }
                }
            }
            return
        }
        withMutableBases(&narrowKeys) { keys in
            withMutableBases(&truthBits) { bits in
                // Slice boundaries at whole words of the bit arrays: no word is shared.
                let t0 = min(max(threads, 1), max(1, rows / 4096))
                var bounds = [0]
                for i in 1..<t0 {
                    let global = (start &+ rows &* i / t0 &+ 63) & ~63
                    bounds.append(min(rows, max(bounds[bounds.count - 1], global &- start)))
                }
                bounds.append(rows)
                let b = bounds
                forkJoin(t0) { slice in
                    fillNarrowRange(truth: t, base: base, isFloat32: isFloat32, start: start, labels: 0..<n,
                                    columns: n, rows: b[slice]..<b[slice + 1], keys: { keys[$0] }, bits: { bits[$0] })
                }
            }
        }
    }

    /// The old block transpose for 64-bit keys (float64 scores that float32 does not hold).
    mutating func fillWide(truth d: UnsafePointer<UInt8>, scores: MatrixView, start: Int) {
        let n = labelCount, rows = scores.rows
        for j in 0..<n {
            truthBits[j].withUnsafeMutableBufferPointer { bits in
                for r in 0..<rows where d[r &* n &+ j] != 0 {
                    let i = start &+ r
                    bits[i >> 6] |= 1 << UInt64(i & 63)
                }
            }
        }
        let block = 256
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + block)
            for j in 0..<n {
                wideKeys[j].withUnsafeMutableBufferPointer { keys in
                    for r in r0..<r1 { keys[start &+ r] = wideKey(scores, row: r, column: j) }
                }
            }
            r0 = r1
        }
    }
}

/// Rows `range` of labels `labels`: keys and truth bits, 64-row blocks aligned to
/// the bit words (the first and last may be partial; their words are OR-ed).
@inline(__always)
private func fillNarrowRange(truth t: UnsafePointer<UInt8>, base: UnsafeRawPointer, isFloat32: Bool, start: Int,
                             labels: Range<Int>, columns n: Int, rows range: Range<Int>,
                             keys: (Int) -> UnsafeMutablePointer<UInt32>, bits: (Int) -> UnsafeMutablePointer<UInt64>) {
    var r0 = range.lowerBound
    while r0 < range.upperBound {
        let r1 = min(range.upperBound, ((start &+ r0) | 63) &+ 1 &- start)
        let word = (start &+ r0) >> 6
        for j in labels {
            let k = keys(j) + start
            var w: UInt64 = 0
            if isFloat32 {
                let s = base.assumingMemoryBound(to: Float.self)
                for r in r0..<r1 {
                    k[r] = orderKey32(s[r &* n &+ j])
                    w |= UInt64(t[r &* n &+ j]) << UInt64((start &+ r) & 63)
                }
            } else {
                let s = base.assumingMemoryBound(to: Double.self)
                for r in r0..<r1 {
                    k[r] = orderKey32(Float(s[r &* n &+ j]))
                    w |= UInt64(t[r &* n &+ j]) << UInt64((start &+ r) & 63)
                }
            }
            bits(j)[word] |= w
        }
        r0 = r1
    }
}
