internal import TallyKernels
internal import TallyThreads
#if canImport(Glibc)
import Glibc
#endif

// Appending a batch of 32-bit keys through the C kernel `tk_store_fill_*`, which keys and
// transposes the row-major batch into the labels' arrays and checks it on the way.

extension ScoreStore {
    /// Stores a batch (0/1 truth bytes unless the kernel finds otherwise) as 32-bit keys,
    /// on every core for large batches, split at 64-row words of the truth bits. Returns
    /// the kernel's status: 0, or bit 0 (a score not finite) and bit 1 (a truth byte not
    /// 0/1), in which case the store is as it was. `rowCount` is left to the caller.
    mutating func appendNarrow(truth t: UnsafePointer<UInt8>, scores: MatrixView) -> Int32 {
        let n = labelCount, rows = scores.rows, start = rowCount
        let total = start &+ rows, newWords = (total &+ 63) >> 6
        // The keys grow in place (amortised, like any append) by slots the kernel writes.
        for j in 0..<n {
            narrowKeys[j].append(contentsOf: UnwrittenElements(count: rows))
            precondition(narrowKeys[j].count == total, "the key array did not grow by the batch")
            if rows &* 4 >= 2 << 20 { narrowKeys[j].withUnsafeMutableBufferPointer { adviseHugePages($0.baseAddress! + start, count: rows) } }
        }
        // The last word of old rows gets the batch's first bits OR-ed in: kept for a rollback.
        let oldWords = (start &+ 63) >> 6
        let shared = start & 63 != 0 ? truthBits.map { $0[oldWords - 1] } : []
        for j in 0..<n { truthBits[j].append(contentsOf: repeatElement(0, count: newWords &- oldWords)) }

        let threads = rows &* n >= 1 << 18 ? min(coreProcessorCount(), max(1, rows / 4096)) : 1
        // Slices (four per thread, taken in turn) end at whole words of the bit arrays: no
        // word is shared.
        let slices = threads > 1 ? 4 &* threads : 1
        var bounds = [0]
        for i in 1..<slices {
            let global = (start &+ rows &* i / slices &+ 63) & ~63
            bounds.append(min(rows, max(bounds[bounds.count - 1], global &- start)))
        }
        bounds.append(rows)
        let isFloat32 = scores.elementType == .float32
        let base = scores.base!
        func fill(_ keyBases: [UnsafeMutablePointer<UInt32>]) -> Int32 {
            withMutableBases(&truthBits) { bitBases in
                let k = keyBases.map { Optional($0) }, w = bitBases.map { Optional($0) }
                return k.withUnsafeBufferPointer { kp in
                    w.withUnsafeBufferPointer { wp in
                        let (kb, wb, b) = (kp.baseAddress!, wp.baseAddress!, bounds)
                        var status = [Int32](repeating: 0, count: b.count - 1)
                        status.withUnsafeMutableBufferPointer { st in
                            forEachTaken(b.count - 1, threads: threads) { _, slice in
                                let (r0, r1) = (b[slice], b[slice + 1])
                                st[slice] = isFloat32
                                    ? tk_store_fill_f32(t, base.assumingMemoryBound(to: Float.self), n, start, r0, r1, kb, wb)
                                    : tk_store_fill_f64(t, base.assumingMemoryBound(to: Double.self), n, start, r0, r1, kb, wb)
                            }
                        }
                        return status.reduce(0, |)
                    }
                }
            }
        }
        let status = withMutableBases(&narrowKeys, fill)
        if status != 0 {
            for j in 0..<n {
                truthBits[j].removeLast(newWords &- oldWords)
                if !shared.isEmpty { truthBits[j][oldWords - 1] = shared[j] }
                narrowKeys[j].removeLast(rows)
            }
        }
        return status
    }
}

/// `count` values that `Array.append(contentsOf:)` takes without writing them: the array
/// grows by `count` slots (trivial values, left as the memory held them) that the caller
/// then writes, sparing a store the zero fill of every key before the kernel writes it.
struct UnwrittenElements<Element: BitwiseCopyable>: Sequence {
    let count: Int
    var underestimatedCount: Int { count }
    func makeIterator() -> EmptyCollection<Element>.Iterator { EmptyCollection<Element>().makeIterator() }
    func _copyContents(initializing buffer: UnsafeMutableBufferPointer<Element>) -> (EmptyCollection<Element>.Iterator, Int) {
        precondition(buffer.count >= count, "no room for the unwritten elements")
        return (makeIterator(), count)
    }
}

/// Asks for huge pages on the 2 MiB-aligned part of `count` values (large arrays only):
/// where they are not touched yet, the kernel then takes one fault per 2 MiB when they are
/// first written, instead of one per 4 KiB.
func adviseHugePages<T>(_ p: UnsafeMutablePointer<T>, count: Int) {
    #if canImport(Glibc)
    let huge = 2 << 20
    let bytes = count &* MemoryLayout<T>.stride
    guard bytes >= huge else { return }
    let first = (Int(bitPattern: p) + huge - 1) & ~(huge - 1)
    let last = (Int(bitPattern: p) + bytes) & ~(huge - 1)
    if last > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), last - first, MADV_HUGEPAGE) }
    #endif
}
