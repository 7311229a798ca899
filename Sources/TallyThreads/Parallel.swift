#if canImport(Glibc)
import Glibc
#endif

// TallyThreads (internal; no stable API, every declaration is `package`):
// fork-join over plain pthreads, shared by the core (labels side by side) and
// TallyNet (batch chunks). Plain pthreads rather than Dispatch:
// `concurrentPerform` crashed inside `dispatch_apply_f` on these machines once
// BLIS had started its own threads.

/// Online processor count (the default thread count for per-label work).
package func coreProcessorCount() -> Int {
    #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
    return 1
    #endif
}

/// Runs `body(part)` for `part` in `0..<parts` in parallel: part 0 on the calling
/// thread, the others on short-lived pthreads joined before returning (a part
/// whose thread cannot start runs on the caller). `body` must write disjoint memory.
package func forkJoin(_ parts: Int, _ body: (Int) -> Void) {
    if parts <= 1 {
        if parts == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let job = ForkJoinJob(body)
        #if canImport(Glibc)
        var handles = [pthread_t](repeating: 0, count: parts - 1)
        var started = [Bool](repeating: false, count: parts - 1)
        for p in 1..<parts {
            let context = Unmanaged.passRetained(ForkJoinTask(job: job, part: p)).toOpaque()
            let rc = pthread_create(&handles[p - 1], nil, { raw in
                let task = Unmanaged<ForkJoinTask>.fromOpaque(raw!).takeRetainedValue()
                task.job.run(task.part)
                return nil
            }, context)
            if rc == 0 {
                started[p - 1] = true
            } else {
                Unmanaged<ForkJoinTask>.fromOpaque(context).release()
                job.run(p)
            }
        }
        job.run(0)
        for p in 0..<(parts - 1) where started[p] { pthread_join(handles[p], nil) }
        #else
        for p in 0..<parts { job.run(p) }
        #endif
    }
}

/// Runs `body(i)` for every `i` in `0..<count` on up to `threads` threads: thread
/// `t` takes indices `t, t + threads, …` (labels alternate, so equal-sized labels
/// balance). Each index is processed exactly once; results must go to disjoint memory.
package func parallelFor(_ count: Int, threads: Int = coreProcessorCount(), _ body: (Int) -> Void) {
    let t = min(max(threads, 1), count)
    forkJoin(t) { stripe in
        var i = stripe
        while i < count { body(i); i += t }
    }
}

/// Splits `0..<count` into `min(threads, count)` contiguous, statically chosen
/// chunks and runs `body(chunkIndex, range)` for each, in parallel: chunk 0 on the
/// calling thread, the others on `forkJoin` threads (TallyNet's batch chunks).
///
/// The partition depends only on `count` and `threads`, never on scheduling,
/// so per-chunk partial sums reduced in chunk order are deterministic.
package func forEachChunk(_ count: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
    let t = min(max(threads, 1), count)
    if t <= 1 {
        if count > 0 { body(0, 0..<count) }
        return
    }
    forkJoin(t) { i in body(i, (count &* i / t)..<(count &* (i &+ 1) / t)) }
}

private final class ForkJoinJob {
    let run: (Int) -> Void
    init(_ run: @escaping (Int) -> Void) { self.run = run }
}

private final class ForkJoinTask {
    let job: ForkJoinJob
    let part: Int
    init(job: ForkJoinJob, part: Int) { (self.job, self.part) = (job, part) }
}
