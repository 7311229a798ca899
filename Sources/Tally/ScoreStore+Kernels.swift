internal import TallyThreads
#if canImport(Glibc)
import Glibc
#endif

// Buffers and the fill of a batch in Swift (float64 scores as 64-bit keys, and stores of
// more than 1024 labels); the C kernels' callers are ScoreStore+Fill.swift and +Rank.swift.

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
    /// (already sized, keys zero) from a row-major batch, label by label: the path of
    /// stores above 1024 labels (the C kernel `tk_store_fill_*` takes the others).
    mutating func fillNarrow(truth t: UnsafePointer<UInt8>, scores: MatrixView, start: Int) {
        let n = labelCount, rows = scores.rows
        let isFloat32 = scores.elementType == .float32
        let base = scores.base!
        for j in 0..<n {
            narrowKeys[j].withUnsafeMutableBufferPointer { keys in
                truthBits[j].withUnsafeMutableBufferPointer { bits in
                    fillNarrowRange(truth: t, base: base, isFloat32: isFloat32, start: start, labels: j..<(j + 1),
                                    columns: n, rows: 0..<rows, keys: { _ in keys.baseAddress! },
                                    bits: { _ in bits.baseAddress! })
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
