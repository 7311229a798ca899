#if canImport(Glibc)
import Glibc
#endif

// A minimal parallel-for for the core (labels sorted side by side). TallyNet has
// its own, tuned for its BLAS; this one only splits independent labels.

/// Online processor count (the default thread count for per-label work).
public func coreProcessorCount() -> Int {
    #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
    return 1
    #endif
}

/// Runs `body(i)` for every `i` in `0..<count` on up to `threads` threads: thread
/// `t` takes indices `t, t + threads, …` (labels alternate, so equal-sized labels
/// balance). Each index is processed exactly once; results must go to disjoint memory.
func parallelFor(_ count: Int, threads: Int = coreProcessorCount(), _ body: (Int) -> Void) {
    let t = min(max(threads, 1), count)
    if t <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let job = StripeJob { stripe in
            var i = stripe
            while i < count { body(i); i += t }
        }
        #if canImport(Glibc)
        var handles = [pthread_t](repeating: 0, count: t - 1)
        var started = [Bool](repeating: false, count: t - 1)
        for s in 1..<t {
            let context = Unmanaged.passRetained(StripeTask(job: job, stripe: s)).toOpaque()
            let rc = pthread_create(&handles[s - 1], nil, { raw in
                let task = Unmanaged<StripeTask>.fromOpaque(raw!).takeRetainedValue()
                task.job.run(task.stripe)
                return nil
            }, context)
            if rc == 0 {
                started[s - 1] = true
            } else {
                Unmanaged<StripeTask>.fromOpaque(context).release()
                job.run(s)  // no thread available: run the stripe here
            }
        }
        job.run(0)
        for s in 0..<(t - 1) where started[s] { pthread_join(handles[s], nil) }
        #else
        for s in 0..<t { job.run(s) }
        #endif
    }
}

private final class StripeJob {
    let run: (Int) -> Void
    init(_ run: @escaping (Int) -> Void) { self.run = run }
}

private final class StripeTask {
    let job: StripeJob
    let stripe: Int
    init(job: StripeJob, stripe: Int) { (self.job, self.stripe) = (job, stripe) }
}
