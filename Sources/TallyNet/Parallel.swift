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
/// chunks and runs `body(chunkIndex, range)` for each, in parallel: chunk 0 on the
/// calling thread, the others on short-lived pthreads joined before returning.
///
/// The partition depends only on `count` and `threads`, never on scheduling,
/// so per-chunk partial sums reduced in chunk order are deterministic. (Plain
/// pthreads rather than Dispatch: `concurrentPerform` crashed inside
/// `dispatch_apply_f` on these machines once BLIS had started its own threads.)
func forEachChunk(_ count: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
    let t = min(max(threads, 1), count)
    if t <= 1 {
        if count > 0 { body(0, 0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let job = ChunkJob { i in body(i, (count &* i / t)..<(count &* (i &+ 1) / t)) }
        #if canImport(Glibc)
        var handles = [pthread_t](repeating: 0, count: t - 1)
        var started = [Bool](repeating: false, count: t - 1)
        for i in 1..<t {
            let context = Unmanaged.passRetained(ChunkTask(job: job, index: i)).toOpaque()
            let rc = pthread_create(&handles[i - 1], nil, { raw in
                let task = Unmanaged<ChunkTask>.fromOpaque(raw!).takeRetainedValue()
                task.job.run(task.index)
                return nil
            }, context)
            if rc == 0 {
                started[i - 1] = true
            } else {
                Unmanaged<ChunkTask>.fromOpaque(context).release()
                job.run(i)  // no thread available: run the chunk here
            }
        }
        job.run(0)
        for i in 0..<(t - 1) where started[i] { pthread_join(handles[i], nil) }
        #else
        for i in 0..<t { job.run(i) }
        #endif
    }
}

private final class ChunkJob {
    let run: (Int) -> Void
    init(_ run: @escaping (Int) -> Void) { self.run = run }
}

private final class ChunkTask {
    let job: ChunkJob
    let index: Int
    init(job: ChunkJob, index: Int) {
        self.job = job
        self.index = index
    }
}
