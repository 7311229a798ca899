import Tally

/// Online processor count, the default thread count of a model.
func processorCount() -> Int { coreProcessorCount() }

/// Splits `0..<count` into `min(threads, count)` contiguous, statically chosen
/// chunks and runs `body(chunkIndex, range)` for each, in parallel: chunk 0 on the
/// calling thread, the others on the core's `forkJoin` threads.
///
/// The partition depends only on `count` and `threads`, never on scheduling,
/// so per-chunk partial sums reduced in chunk order are deterministic.
func forEachChunk(_ count: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
    let t = min(max(threads, 1), count)
    if t <= 1 {
        if count > 0 { body(0, 0..<count) }
        return
    }
    forkJoin(t) { i in body(i, (count &* i / t)..<(count &* (i &+ 1) / t)) }
}
