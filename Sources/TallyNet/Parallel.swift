import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Online processor count, the default thread count of a model.
func processorCount() -> Int {
    #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
    return 1
    #endif
}

/// Splits `0..<count` into `min(threads, count)` contiguous, statically chosen
/// chunks and runs `body(chunkIndex, range)` for each, in parallel.
///
/// The partition depends only on `count` and `threads`, never on scheduling,
/// so per-chunk partial sums reduced in chunk order are deterministic.
func forEachChunk(_ count: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
    let t = min(max(threads, 1), count)
    if t <= 1 {
        if count > 0 { body(0, 0..<count) }
        return
    }
    // The chunks touch disjoint memory (or per-chunk workspaces) by construction;
    // the box only tells the compiler what it cannot see.
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: t) { i in
            box.value(i, (count &* i / t)..<(count &* (i &+ 1) / t))
        }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
