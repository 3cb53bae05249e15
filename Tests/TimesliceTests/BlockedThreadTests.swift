// Blocked-thread detection (Sources/Timeslice/BlockedThread.swift): a goroutine
// blocked in the kernel OUTSIDE blockingCall must not keep its P. At maxProcs 1
// one goroutine blocks in a raw call that an OS thread outside the runtime
// releases only once the other goroutines have made progress *during* the block
// (a channel ping-pong of `rounds` rounds and a yielding counter). No timing
// thresholds: the release is triggered by progress; a fallback releases after
// `fallbackSeconds` so a regression fails the assertions instead of hanging.
import CTimeslice
import Foundation
import Glibc
import Synchronization
@testable import Timeslice
import TimesliceHost
import XCTest

final class BlockedThreadTests: XCTestCase {
    final class SharedState: @unchecked Sendable {
        let blocking = Atomic<Bool>(false)   // the blocked goroutine is (about to be) in the call
        let roundsDuring = Atomic<Int>(0)
        let countsDuring = Atomic<Int>(0)
        let released = Atomic<Int>(0)        // 1 by progress, 2 by fallback
    }

    enum RawCall { case readPipe, futexWait }

    struct Outcome {
        var roundsDuringBlock: Int
        var countsDuringBlock: Int
        var releasedByProgress: Bool
        var blockedResult: Int
        var counters: RuntimeCounters
    }

    /// Runs the scenario; `rounds` ping-pong rounds must happen during the block.
    private func blockedScenario(_ call: RawCall, _ mode: PreemptionMode, rounds: Int = 200,
                                 fallbackSeconds: Double = 10,
                                 file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let futexWord = UnsafeMutableRawPointer.allocate(byteCount: 4, alignment: 4)
        futexWord.storeBytes(of: 0, as: UInt32.self)
        defer { futexWord.deallocate() }
        let state = SharedState()
        let writeFD = fds[1]
        let readFD = fds[0]
        let word = futexWord.assumingMemoryBound(to: UInt32.self)

        // The OS thread outside the runtime that ends the block.
        let releaser = Thread {
            let giveUp = monotonicNanoseconds() + UInt64(fallbackSeconds * 1e9)
            while !state.blocking.load(ordering: .acquiring) { usleep(200) }
            var byProgress = false
            while monotonicNanoseconds() < giveUp {
                if state.roundsDuring.load(ordering: .acquiring) >= rounds && state.countsDuring.load(ordering: .acquiring) > 0 {
                    byProgress = true
                    break
                }
                usleep(200)
            }
            state.released.store(byProgress ? 1 : 2, ordering: .releasing)
            var byte: UInt8 = 7
            _ = write(writeFD, &byte, 1)
            ts_store_u32(word, 1)
            Futex.wake(futexWord, count: UInt32(Int32.max))
        }
        releaser.start()

        return runWithDeadline(60, maxProcs: 1, preemption: mode, timeSliceNanoseconds: 1_000_000,
                               file: file, line: line) { () -> Outcome in
            var blockedResult = -1
            var roundsAtRelease = 0
            var countsAtRelease = 0
            let wg = WaitGroup()
            wg.add(4)
            go {   // the goroutine that blocks in the kernel outside blockingCall
                state.blocking.store(true, ordering: .releasing)
                switch call {
                case .readPipe:
                    var byte: UInt8 = 0
                    var n: Int
                    repeat { n = read(readFD, &byte, 1) } while n < 0 && errno == EINTR
                    blockedResult = n == 1 ? Int(byte) : -1
                case .futexWait:
                    while ts_load_u32(word) == 0 {
                        _ = Futex.waitOnce(futexWord, expected: 0)
                    }
                    blockedResult = 7
                }
                // Back in the runtime: only now may the others' progress be counted as "after".
                roundsAtRelease = state.roundsDuring.load(ordering: .acquiring)
                countsAtRelease = state.countsDuring.load(ordering: .acquiring)
                state.blocking.store(false, ordering: .releasing)
                wg.done()
            }
            let ping = Channel<Int>()
            let pong = Channel<Int>()
            go {
                for i in 0..<rounds {
                    ping.send(i)
                    _ = pong.receive()
                    if state.blocking.load(ordering: .acquiring) { state.roundsDuring.wrappingAdd(1, ordering: .releasing) }
                }
                wg.done()
            }
            go {
                for _ in 0..<rounds {
                    let v = ping.receive()!
                    pong.send(v)
                }
                wg.done()
            }
            go {   // a counter that only yields
                for _ in 0..<1_000_000 {
                    if state.blocking.load(ordering: .acquiring) { state.countsDuring.wrappingAdd(1, ordering: .releasing) }
                    if state.released.load(ordering: .acquiring) != 0 { break }
                    yield()
                }
                wg.done()
            }
            wg.wait()
            while state.released.load(ordering: .acquiring) == 0 { Timeslice.sleep(nanoseconds: 1_000_000) }
            return Outcome(roundsDuringBlock: roundsAtRelease, countsDuringBlock: countsAtRelease,
                           releasedByProgress: state.released.load(ordering: .acquiring) == 1,
                           blockedResult: blockedResult, counters: Runtime.counters)
        }
    }

    private func assertHandedOff(_ o: Outcome, rounds: Int = 200, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(o.releasedByProgress, "the others must progress while the goroutine is blocked", file: file, line: line)
        XCTAssertGreaterThanOrEqual(o.roundsDuringBlock, rounds, "ping-pong rounds during the block", file: file, line: line)
        XCTAssertGreaterThan(o.countsDuringBlock, 0, "counter steps during the block", file: file, line: line)
        XCTAssertEqual(o.blockedResult, 7, "the blocked goroutine resumes with its result", file: file, line: line)
        XCTAssertGreaterThan(o.counters.handoffsBlockedThread, 0, file: file, line: line)
        XCTAssertGreaterThan(o.counters.blockedThreadReturns, 0, "it came back through the reacquire path",
                             file: file, line: line)
        XCTAssertEqual(o.counters.handoffs, 0, "no blockingCall here", file: file, line: line)
    }

    func testRawPipeReadHandsOffPAsync() {
        assertHandedOff(blockedScenario(.readPipe, .async))
    }

    func testRawPipeReadHandsOffPCooperative() {
        assertHandedOff(blockedScenario(.readPipe, .cooperative))
    }

    func testRawFutexWaitHandsOffPAsync() {
        assertHandedOff(blockedScenario(.futexWait, .async))
    }

    func testRawFutexWaitHandsOffPCooperative() {
        assertHandedOff(blockedScenario(.futexWait, .cooperative))
    }

    /// The control: with detection off the blocked goroutine keeps the only P and
    /// nothing else runs until the fallback releases it (the deadlock class).
    func testWithoutDetectionEverythingElseStarves() {
        Sysmon.blockedThreadDetection.store(false, ordering: .relaxed)
        defer { Sysmon.blockedThreadDetection.store(true, ordering: .relaxed) }
        let o = blockedScenario(.readPipe, .async, fallbackSeconds: 0.3)
        XCTAssertFalse(o.releasedByProgress)
        XCTAssertEqual(o.roundsDuringBlock, 0)
        XCTAssertEqual(o.countsDuringBlock, 0)
        XCTAssertEqual(o.counters.handoffsBlockedThread, 0)
        XCTAssertEqual(o.blockedResult, 7)
    }

    /// A goroutine whose P was taken and which runs user code many times over
    /// (blocking, runtime calls, blocking again) keeps the runtime consistent:
    /// every runtime entry reacquires first. Two Ps, so reacquiring sometimes
    /// finds the old P, sometimes another, sometimes none.
    func testRepeatedBlockAndReturnKeepsRuntimeConsistent() {
        let (total, counters) = runWithDeadline(60, maxProcs: 2, preemption: .async,
                                                timeSliceNanoseconds: 200_000) { () -> (Int, RuntimeCounters) in
            let results = Channel<Int>(capacity: 64)
            for worker in 0..<4 {
                go {
                    var sum = 0
                    for i in 0..<30 {
                        var req = timespec(tv_sec: 0, tv_nsec: 2_000_000)   // raw, outside blockingCall
                        var rest = timespec()
                        while nanosleep(&req, &rest) != 0 && errno == EINTR { req = rest }
                        sum += i
                        yield()
                    }
                    results.send(sum + worker)
                }
            }
            go {   // CPU work beside them, so Ps are contended
                var x: UInt64 = 1
                for _ in 0..<200 { x = x &* 6364136223846793005 &+ 1; yield() }
                results.send(Int(x & 0))
            }
            var total = 0
            for _ in 0..<5 { total += results.receive()! }
            return (total, Runtime.counters)
        }
        XCTAssertEqual(total, 4 * (29 * 30 / 2) + (0 + 1 + 2 + 3))
        XCTAssertGreaterThan(counters.blockedThreadReturns, 0, "the test must exercise the reacquire path")
    }

    func testSchedTraceShowsBlockedHandoffs() {
        let line = runWithDeadline(20, maxProcs: 1) { () -> String in
            let scheduler = Machine.current!.scheduler
            return SchedTrace(scheduler: scheduler, intervalNanoseconds: 1_000_000).line(now: monotonicNanoseconds())
        }
        XCTAssertTrue(line.contains("blockedhandoffs=0"), line)
        XCTAssertNotNil(RuntimeCounters().asDictionary()["handoffsBlockedThread"])
    }
}
