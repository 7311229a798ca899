#if canImport(Glibc)
import Glibc
#endif
import Synchronization

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
/// thread, the others on the helper threads of a pool kept parked between calls
/// (`HelperPool`), or, where that pool is busy (a nested or concurrent call) or cannot
/// grow, on short-lived pthreads joined before returning (a part whose thread cannot
/// start runs on the caller). `body` must write disjoint memory.
package func forkJoin(_ parts: Int, _ body: (Int) -> Void) {
    if parts <= 1 {
        if parts == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let job = ForkJoinJob(body)
        #if canImport(Glibc)
        if let pool = HelperPool.shared(), pool.run(job, parts: parts) { return }
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

#if canImport(Glibc)
/// Helper threads kept parked between `forkJoin` calls: helper `i` runs part `i + 1` of
/// every call. Starting a pthread and joining it cost 75–300 µs of wall time per call on
/// these 2-vCPU VMs (a C harness: a 2 ms part after 0.5 ms of serial work, the idle vCPU
/// woken each time), and a training batch of the seed model makes eight calls in ≈ 40 ms
/// at 64×64; a parked helper starts its part within a few microseconds. After a part, a
/// helper polls for the next call for `spinSeconds` (yielding its CPU between polls, so
/// that other runnable work goes first), then sleeps on a condition variable; the caller
/// waits for the helpers the same way. The partition of the work is the caller's, as
/// before, so results do not depend on which thread ran a part.
///
/// One call at a time: a call made while the pool runs one (a nested call from inside a
/// part, or a second Python thread) gets `false` and starts its own threads, as does a
/// call in a forked child until it builds its own pool (the child has none of the
/// parent's threads; `shared()` compares process ids).
private final class HelperPool: @unchecked Sendable {
    private static let current = Mutex<HelperPool?>(nil)

    /// How long an idle helper (or a caller waiting for one) polls before it sleeps:
    /// `TALLY_THREAD_SPIN_US` microseconds (default 2000; 0 sleeps at once).
    static let spinSeconds: Double = {
        if let raw = getenv("TALLY_THREAD_SPIN_US"), let us = Double(String(cString: raw)), us >= 0, us.isFinite {
            return us * 1e-6
        }
        return 2e-3
    }()

    /// This process's pool, made on first use (and again in a forked child); nil when
    /// another thread is making it right now (the caller then starts its own threads).
    static func shared() -> HelperPool? {
        let pid = getpid()
        return current.withLockIfAvailable { pool -> HelperPool in
            if let pool, pool.pid == pid { return pool }
            let made = HelperPool(pid: pid)
            pool = made
            return made
        }
    }

    let pid: pid_t
    private let busy = Atomic<Bool>(false)
    /// Bumped once per call; a helper that sees a new value runs its part of `job`.
    private let generation = Atomic<Int>(0)
    /// Helpers yet to finish (or skip) their part of the current call.
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let callerSleeps = Atomic<Bool>(false)
    /// The current call's job and part count: written by the caller only while no helper
    /// reads them (before the generation is bumped, after every helper has reported).
    private var job: ForkJoinJob?
    private var parts = 0
    private var helpers = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private init(pid: pid_t) {
        self.pid = pid
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }
    // Never deinitialised: the helpers hold the pool for the life of the process.

    /// Runs `job`'s parts `0..<parts` (part 0 on the calling thread), or returns false
    /// without running any when the pool is busy or cannot start enough helpers.
    func run(_ job: ForkJoinJob, parts: Int) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        while helpers < parts - 1 {
            guard startHelper(index: helpers) else { return false }
            helpers += 1
        }
        self.job = job
        self.parts = parts
        // Every helper reports on every call, those without a part too: none then reads
        // `job` or `parts` once the call has returned.
        pending.store(helpers, ordering: .relaxed)
        generation.add(1, ordering: .sequentiallyConsistent)  // publishes job and parts
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
        job.run(0)
        if !poll({ pending.load(ordering: .acquiring) == 0 }) {
            pthread_mutex_lock(mutex)
            callerSleeps.store(true, ordering: .sequentiallyConsistent)
            while pending.load(ordering: .sequentiallyConsistent) != 0 { pthread_cond_wait(done, mutex) }
            callerSleeps.store(false, ordering: .relaxed)
            pthread_mutex_unlock(mutex)
        }
        self.job = nil  // `forkJoin`'s body must not outlive the call
        return true
    }

    private func startHelper(index: Int) -> Bool {
        let start = Unmanaged.passRetained(HelperStart(pool: self, index: index,
                                                       seen: generation.load(ordering: .relaxed))).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let start = Unmanaged<HelperStart>.fromOpaque(raw!).takeRetainedValue()
            start.pool.helperLoop(index: start.index, seen: start.seen)
        }, start)
        guard rc == 0 else {
            Unmanaged<HelperStart>.fromOpaque(start).release()
            return false
        }
        pthread_detach(handle)
        return true
    }

    private func helperLoop(index: Int, seen start: Int) -> Never {
        var seen = start
        while true {
            if !poll({ generation.load(ordering: .acquiring) != seen }) {
                pthread_mutex_lock(mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, mutex) }
                sleepers.subtract(1, ordering: .relaxed)
                pthread_mutex_unlock(mutex)
            }
            seen = generation.load(ordering: .acquiring)
            runPart(index + 1)
            if pending.subtract(1, ordering: .sequentiallyConsistent).newValue == 0,
               callerSleeps.load(ordering: .sequentiallyConsistent) {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Its own frame, so that the helper's reference to the job is gone before it reports.
    @inline(never)
    private func runPart(_ part: Int) {
        if part < parts, let job { job.run(part) }
    }

    /// Polls `ready` for up to `spinSeconds`, yielding the CPU between polls.
    private func poll(_ ready: () -> Bool) -> Bool {
        if ready() { return true }
        let limit = HelperPool.spinSeconds
        guard limit > 0 else { return false }
        let start = monotonicSeconds()
        var polls = 0
        while true {
            sched_yield()
            if ready() { return true }
            polls &+= 1
            if polls & 63 == 0, monotonicSeconds() - start > limit { return ready() }
        }
    }
}

private final class HelperStart {
    let pool: HelperPool
    let index: Int
    let seen: Int
    init(pool: HelperPool, index: Int, seen: Int) { (self.pool, self.index, self.seen) = (pool, index, seen) }
}

/// Seconds on the monotonic clock (TallyNet's epoch timer, the pool's polling).
package func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
#endif
