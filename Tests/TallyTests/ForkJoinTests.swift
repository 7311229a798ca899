#if canImport(Glibc)
import Glibc
#endif
import TallyThreads
import XCTest

/// `forkJoin` runs its parts on a pool of parked helper threads when it can, on fresh
/// threads when it cannot (a nested or concurrent call, a forked child): each part exactly
/// once, whichever path ran it.
final class ForkJoinTests: XCTestCase {
    /// Runs `forkJoin(parts)` with each part adding one to its own slot.
    private func countParts(_ parts: Int) -> [Int] {
        let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        slots.initialize(repeating: 0)
        defer { slots.deallocate() }
        forkJoin(parts) { slots[$0] += 1 }
        return Array(slots)
    }

    func testEveryPartRunsOnceOnRepeatedCalls() {
        for round in 0..<300 {
            let parts = 2 + round % 8  // the pool grows to 8 helpers on the way
            XCTAssertEqual(countParts(parts), Array(repeating: 1, count: parts), "round \(round), \(parts) parts")
        }
    }

    func testPartsRunOnOtherThreads() {
        let parts = 4
        let ids = UnsafeMutableBufferPointer<pthread_t>.allocate(capacity: parts)
        defer { ids.deallocate() }
        forkJoin(parts) { ids[$0] = pthread_self() }
        XCTAssertEqual(pthread_equal(ids[0], pthread_self()), 1, "part 0 runs on the caller")
        for p in 1..<parts { XCTAssertEqual(pthread_equal(ids[p], pthread_self()), 0, "part \(p)") }
    }

    func testHelpersParkedAfterTheirPollWakeForTheNextCall() {
        // Longer than the helpers' polling (2 ms by default): each call finds them asleep.
        for _ in 0..<5 {
            XCTAssertEqual(countParts(3), [1, 1, 1])
            usleep(20_000)
        }
    }

    func testCallerWaitsForAHelperThatOutlastsThePoll() {
        let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2)
        slots.initialize(repeating: 0)
        defer { slots.deallocate() }
        forkJoin(2) { part in
            if part == 1 { usleep(30_000) }  // the caller polls, then sleeps until this part reports
            slots[part] = part + 1
        }
        XCTAssertEqual(Array(slots), [1, 2])
    }

    func testNestedCallsRunEveryPart() {
        let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: 9)
        slots.initialize(repeating: 0)
        defer { slots.deallocate() }
        forkJoin(3) { i in forkJoin(3) { j in slots[3 * i + j] += 1 } }
        XCTAssertEqual(Array(slots), Array(repeating: 1, count: 9))
    }

    func testConcurrentCallersFromOutsideThePool() {
        // Four plain pthreads, each making 200 calls: one at a time gets the pool, the
        // others start their own threads; every part of every call runs once.
        final class Caller {
            var failures = 0
            func work() {
                for round in 0..<200 {
                    let parts = 2 + round % 3
                    let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
                    slots.initialize(repeating: 0)
                    forkJoin(parts) { slots[$0] += 1 }
                    if slots.contains(where: { $0 != 1 }) { failures += 1 }
                    slots.deallocate()
                }
            }
        }
        let callers = (0..<4).map { _ in Caller() }
        var handles = [pthread_t](repeating: pthread_t(), count: callers.count)
        for (i, caller) in callers.enumerated() {
            let context = Unmanaged.passRetained(caller).toOpaque()
            XCTAssertEqual(pthread_create(&handles[i], nil, { raw in
                Unmanaged<Caller>.fromOpaque(raw!).takeRetainedValue().work()
                return nil
            }, context), 0)
        }
        for handle in handles { pthread_join(handle, nil) }
        XCTAssertEqual(callers.map(\.failures), [0, 0, 0, 0])
    }

    func testAForkedChildRunsItsOwnThreads() throws {
        if dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil {  // RTLD_DEFAULT
            throw XCTSkip("ThreadSanitizer stops a child of a threaded process that starts threads")
        }
        XCTAssertEqual(countParts(3), [1, 1, 1])  // the parent's pool exists
        let child = fork()
        if child == 0 {
            // The child has none of the parent's helpers: with the parent's pool it would
            // wait for them forever.
            let ok = countParts(3) == [1, 1, 1] && countParts(2) == [1, 1]
            _exit(ok ? 0 : 1)
        }
        XCTAssertGreaterThan(child, 0)
        var status: Int32 = 0
        var waited = 0
        while waitpid(child, &status, WNOHANG) == 0 {
            if waited > 1000 {  // 10 s
                kill(child, SIGKILL)
                waitpid(child, &status, 0)
                return XCTFail("the forked child's forkJoin did not return")
            }
            usleep(10_000)
            waited += 1
        }
        XCTAssertEqual(status, 0, "the forked child's parts did not all run once")
    }
}
