// The netpoller inside the scheduler: descriptors released, no P or spinning M
// spent on parked I/O, timers firing while the sleeper M waits in epoll_wait.
import CTimeslice
import Foundation
import Glibc
@testable import Timeslice
import XCTest

final class NetSchedulingTests: XCTestCase {
    /// Two runtimes in a row, each with listeners, connections and parked reads
    /// closed under them: afterwards the process has exactly its old descriptors
    /// (the sockets, the epoll fd and the eventfd are all closed).
    /// One ping-pong connection served by a goroutine, the client a plain thread making
    /// blocking calls: a round trip may put the server's M to sleep in epoll_wait and
    /// wake it once, and must wake no other M: no idle M woken to poll in its place (the first-waiter
    /// wake-up is owed by that M and cancelled when it polls itself), no M started for
    /// the readied goroutine (the poller runs it). A count, not a time.
    func testAPingPongConnectionWakesNoOtherMachine() {
        var modes = [NetRuntimeMode(maxProcs: 2, preemption: .cooperative, timeSliceNanoseconds: 10_000_000)]
        if Runtime.asyncPreemptionUnavailable == nil {
            modes.append(NetRuntimeMode(maxProcs: 2, preemption: .async, timeSliceNanoseconds: 50_000))
        }
        let roundTrips = 2000
        for mode in modes {
            for acceptorParked in [false, true] {
                let failures = Failures()
                let run = mode.run {
                    pingPongFromAThread(roundTrips: roundTrips, acceptorParked: acceptorParked, failures: failures)
                }
                let label = "\(mode), acceptor parked: \(acceptorParked)"
                XCTAssertEqual(failures.all, [], label)
                XCTAssertEqual(run.completed, roundTrips, label)
                // Each park of the server goroutine wakes at most its own M (found with data
                // already there, most don't sleep at all). Measured: wake-ups = parks; with the
                // first waiter waking an idle M at once 1.6-1.8 x parks, with the readied
                // goroutine queued globally for another M 1.4-1.5 x. With the acceptor parked
                // (goroutines wait on sockets while the echo goroutine runs) and every poller
                // handing its role over, 1 430-1 790 wake-ups more than parks per 2 000 round
                // trips; with handovers scored (NetpollHandover.swift), 0-470 more: the probes
                // (one leave in 32) and Ms alternating in epoll_wait when one gives up a P
                // while the other runs the echo goroutine (open in issue 14). So that excess
                // is bounded per round trip, not per park (parks are few when the data is
                // mostly there already).
                let wakeups = run.after.idleWakeups - run.before.idleWakeups, parks = run.after.parks - run.before.parks
                let limit = acceptorParked ? Double(parks) + Double(roundTrips) / 3 + 10 : 1.15 * Double(parks) + 10
                XCTAssertLessThanOrEqual(Double(wakeups), limit,
                                         "\(label): \(wakeups) idle wake-ups for \(parks) parks (\(roundTrips) round trips)")
            }
        }
    }

    /// Busy polling (netpollSpinNanoseconds = 1 ms, far longer than the client's turnaround):
    /// the server's M finds the next request while it spins instead of sleeping in epoll_wait,
    /// every round trip completes, and no M blocks in epoll_wait for most of them. The client
    /// pauses 20 µs before each request, so the server's goroutine has parked and its M is
    /// idle when it comes: back to back on two CPUs the next request was often there before
    /// the goroutine read again, it never parked, and no M spun at all (0 hits, 1 run in 5
    /// with another process busy on one CPU).
    func testBusyPollingFindsRequestsWithoutSleeping() {
        let roundTrips = 1000
        let failures = Failures()
        let run = runWithDeadline(60, maxProcs: 2, preemption: .cooperative, timeSliceNanoseconds: 10_000_000,
                                  netpollSpinNanoseconds: 1_000_000) {
            pingPongFromAThread(roundTrips: roundTrips, thinkMicroseconds: 20, failures: failures)
        }
        XCTAssertEqual(failures.all, [])
        XCTAssertEqual(run.completed, roundTrips)
        let hits = run.after.netpollSpinHits - run.before.netpollSpinHits
        let blocking = run.after.netpollBlockingPolls - run.before.netpollBlockingPolls
        XCTAssertGreaterThan(hits, 0, "no request was found while spinning")
        XCTAssertLessThan(blocking, UInt64(roundTrips / 2), "\(blocking) blocking polls, \(hits) spin hits")
    }

    /// At one P with a hog preempted every 50 µs, a goroutine the netpoller readied (queued
    /// globally by the poller, which has no P) runs at the hog's next preemption or so: the
    /// preempted hog goes behind the global queue's goroutines. Requeued on the local tail
    /// it ran again at once, and the reader waited for the 61st schedule (the global
    /// queue's fairness tick): 1 to 61 preemptions, ~30 on average. Five cycles, counted.
    func testGoroutineReadiedGloballyRunsAtTheHogsNextPreemption() {
        guard Runtime.asyncPreemptionUnavailable == nil else { return }
        let mode = NetRuntimeMode(maxProcs: 1, preemption: .async, timeSliceNanoseconds: 50_000)
        let cycles = 5
        let waited = mode.run { withConnectedPair { _, connection, peer -> [UInt64] in
            let scheduler = Runtime.runningScheduler!
            go { blockingCall { _ = usleep(5_000) } }   // a second M, to block in epoll_wait
            while withPreemptionDisabled({ scheduler.machineCount }) < 2 { yield() }
            return (0..<cycles).map { _ in
                preemptionsBeforeReaderRuns(connection, peer) { _ = waitForBlockedPoller(scheduler.netpoller!) }
            }
        } }
        // The median: a cycle now and then waits ~3 ms for the kernel to run the woken poller
        // thread, which it placed on the hog's own CPU (measured: 51-56 preemptions, the
        // poller's one blocking poll at the end).
        XCTAssertEqual(waited.count, cycles)
        XCTAssertLessThanOrEqual(waited.sorted()[cycles / 2], 5,
                                 "preemptions of the hog before the readied reader ran, per cycle: \(waited)")
    }

    /// One P and one M, the main goroutine a hog preempted every 50 µs: no M is left to
    /// block in epoll_wait, so a reader's data is found by the poll g0 makes after each
    /// preemption, and the reader runs before the hog resumes — not after sysmon's 10 ms
    /// stale poll (~140 preemptions measured). Five cycles, counted.
    func testReadinessIsPolledAtAPreemptionWhenNoMachineBlocksInEpoll() {
        guard Runtime.asyncPreemptionUnavailable == nil else { return }
        let mode = NetRuntimeMode(maxProcs: 1, preemption: .async, timeSliceNanoseconds: 50_000)
        let cycles = 5
        let (waited, machines, sysmonReadied) = mode.run { withConnectedPair { _, connection, peer -> ([UInt64], Int, UInt64) in
            let scheduler = Runtime.runningScheduler!
            let before = Runtime.counters
            let waited = (0..<cycles).map { _ in preemptionsBeforeReaderRuns(connection, peer) {} }
            let machines = withPreemptionDisabled { scheduler.machineCount }
            return (waited, machines, Runtime.counters.netpollSysmonGoroutinesReadied - before.netpollSysmonGoroutinesReadied)
        } }
        // sysmon's stale poll may find one by chance (it polls when nobody has for 10 ms);
        // without the preemption-time poll it found every one, ~140 preemptions late.
        XCTAssertEqual(machines, 1, "the scenario needs a single M (nobody else to block in epoll_wait)")
        XCTAssertLessThan(sysmonReadied, UInt64(cycles), "sysmon's 10 ms poll found every reader: \(waited)")
        XCTAssertLessThanOrEqual(waited.sorted()[cycles / 2], 3,
                                 "preemptions of the hog before the readied reader ran, per cycle: \(waited)")
    }

    func testNoDescriptorLeaksAcrossTwoRuntimeRuns() {
        for mode in NetRuntimeMode.all {
            let (leaked, failures) = descriptorsLeaked(mode) { failures in
                let listener = try! TCPListener.listen()
                serveEcho(listener, failures: failures)
                let done = goEach(20) { i in
                    let c = try! TCPConnection.connect(host: "127.0.0.1", port: listener.port)
                    defer { c.close() }
                    let bytes = pattern(count: 100, seed: i)
                    try! bytes.withUnsafeBytes { try c.write($0) }
                    var back = [UInt8](repeating: 0, count: 100)
                    try! back.withUnsafeMutableBytes { try c.readFully(into: $0) }
                }
                // One read parked when its connection closes.
                let parked = try! TCPConnection.connect(host: "127.0.0.1", port: listener.port)
                done.add()
                go {
                    defer { done.done() }
                    var buffer = [UInt8](repeating: 0, count: 8)
                    _ = try? buffer.withUnsafeMutableBytes { try parked.read(into: $0) }
                }
                sleep(for: .milliseconds(5))
                parked.close()
                done.wait()
                listener.close()
                // The echo goroutines close their side once they read end of file.
                while Runtime.liveGoroutines > 1 { sleep(for: .milliseconds(1)) }
            }
            XCTAssertEqual(failures, [], "\(mode)")
            XCTAssertEqual(leaked, 0, "\(mode): descriptors leaked")
        }
    }

    /// A goroutine parked in read holds no P and keeps no M spinning: while it
    /// and the main goroutine (in sleep) wait, the Ps are idle, nothing switches
    /// or spins, and an idle M sleeps in epoll_wait (a blocking poll returned in
    /// the window, or one still blocks there: lastPoll is 0).
    func testParkedReaderHoldsNoProcessorAndKeepsNoMachineSpinning() {
        for mode in NetRuntimeMode.all {
            let (before, after, idleWhileParked, pollerBlocked) = mode.run { withConnectedPair { _, connection, _ -> (RuntimeCounters, RuntimeCounters, Int, Bool) in
                go {
                    var buffer = [UInt8](repeating: 0, count: 8)
                    _ = try? buffer.withUnsafeMutableBytes { try connection.read(into: $0) }
                }
                let scheduler = Runtime.runningScheduler!
                while scheduler.netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { yield() }
                sleep(for: .milliseconds(20))   // let the other Ms settle
                let before = Runtime.counters
                sleep(for: .milliseconds(200))
                let pollerBlocked = scheduler.netpoller.lastPoll.load(ordering: .sequentiallyConsistent) == 0
                let after = Runtime.counters
                // Ps held: only the one running this goroutine, once an M that
                // woke with it (a spinning M looking for work) has parked again.
                var idle = 0
                for _ in 0..<200 {
                    idle = scheduler.idleProcessorCount.load(ordering: .sequentiallyConsistent)
                    if idle == mode.maxProcs - 1 { break }
                    sleep(for: .milliseconds(1))
                }
                return (before, after, idle, pollerBlocked)
            } }
            XCTAssertEqual(idleWhileParked, mode.maxProcs - 1, "\(mode): a P is held for the parked reader")
            // Over 200 ms: the main goroutine's wake-up, no polling loop.
            XCTAssertLessThanOrEqual(after.switches - before.switches, 3, "\(mode)")
            XCTAssertLessThanOrEqual(after.spins - before.spins, 3, "\(mode)")
            XCTAssertLessThanOrEqual(after.netpollPolls - before.netpollPolls, 6, "\(mode)")
            // The timer sleeper's epoll_wait returns at the main goroutine's timer; an
            // idle M without a timer that took epoll_wait first stays there (its
            // poll is counted when it returns).
            XCTAssertTrue(after.netpollBlockingPolls > before.netpollBlockingPolls || pollerBlocked,
                          "\(mode): no idle M waited in epoll_wait")
        }
    }

    /// Timers and I/O share the sleeper's epoll_wait: with every other goroutine
    /// parked on sockets, a sleeping goroutine still wakes, again and again, and
    /// the readers then get their data.
    func testTimersFireWhileIdleMachineBlocksInEpollWait() {
        for mode in NetRuntimeMode.all {
            let (wakeUps, readers, counters) = mode.run { () -> (Int, Int, RuntimeCounters) in
                let listener = try! TCPListener.listen()
                defer { listener.close() }
                var pairs: [(TCPConnection, TCPConnection)] = []
                for _ in 0..<4 {
                    let c = try! TCPConnection.connect(host: "127.0.0.1", port: listener.port)
                    pairs.append((c, try! listener.accept()))
                }
                let readersDone = WaitGroup()
                let read = Atomic64()
                for (c, _) in pairs {
                    readersDone.add()
                    go {
                        defer { readersDone.done() }
                        var buffer = [UInt8](repeating: 0, count: 1)
                        if (try? buffer.withUnsafeMutableBytes { try c.readFully(into: $0) }) != nil { read.increment() }
                    }
                }
                let netpoller = Runtime.runningScheduler!.netpoller!
                while netpoller.waiters.load(ordering: .sequentiallyConsistent) < 4 { yield() }
                let slept = Atomic64()
                let sleeperDone = WaitGroup()
                sleeperDone.add()
                go {
                    defer { sleeperDone.done() }
                    for _ in 0..<5 {
                        sleep(for: .milliseconds(10))
                        slept.increment()
                    }
                }
                sleeperDone.wait()
                let counters = Runtime.counters
                for (_, peer) in pairs { try! [UInt8]([9]).withUnsafeBytes { try peer.write($0) } }
                readersDone.wait()
                for (c, peer) in pairs { c.close(); peer.close() }
                return (slept.value, read.value, counters)
            }
            XCTAssertEqual(wakeUps, 5, "\(mode)")
            XCTAssertEqual(readers, 4, "\(mode)")
            XCTAssertGreaterThan(counters.netpollBlockingPolls, 0, "\(mode)")
        }
    }

    /// With the only P kept busy by a goroutine that just yields, no M ever looks
    /// for work, so only sysmon's poll (nobody polled for 10 ms) finds the reader's
    /// data; the reader then runs from the global queue.
    func testSysmonPollsWhenEveryProcessorIsBusy() {
        let (before, after) = runWithDeadline(maxProcs: 1) { () -> (RuntimeCounters, RuntimeCounters) in
            withConnectedPair { _, connection, peer in
                let finished = Atomic64()
                go {
                    var byte: [UInt8] = [0]
                    if (try? byte.withUnsafeMutableBytes { try connection.readFully(into: $0) }) != nil {
                        finished.increment()
                    }
                }
                let netpoller = Runtime.runningScheduler!.netpoller!
                while netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { yield() }
                let before = Runtime.counters
                try! [UInt8]([1]).withUnsafeBytes { try peer.write($0) }
                while finished.value == 0 { yield() }   // the P never goes idle
                return (before, Runtime.counters)
            }
        }
        XCTAssertEqual(after.netpollGoroutinesReadied - before.netpollGoroutinesReadied, 1)
        XCTAssertEqual(after.netpollBlockingPolls - before.netpollBlockingPolls, 0,
                       "an M blocked in epoll_wait: the scenario did not keep the P busy")
    }

    /// The idle M is the blocking poller even when no P is free for it. With one
    /// P running a CPU hog (it yields in cooperative mode, is preempted in async
    /// mode, so it never looks for work) and every other M idle, an idle M blocks
    /// in epoll_wait, so data for a parked reader is noticed by that M, never by
    /// sysmon's 10 ms stale poll. Before the fix, an idle M woken by the first
    /// socket waiter with no P to take re-parked on its futex and nobody polled.
    func testIdleMachineBlocksInEpollWhileTheProcessorsRunAHog() {
        var modes = NetRuntimeMode.all   // and async at one P: the broken case is maxProcs 1
        if Runtime.asyncPreemptionUnavailable == nil {
            modes.append(NetRuntimeMode(maxProcs: 1, preemption: .async, timeSliceNanoseconds: 50_000))
        }
        for mode in modes {
            let (before, after, blockerSeen) = mode.run { withConnectedPair { _, connection, peer -> (RuntimeCounters, RuntimeCounters, Bool) in
                let scheduler = Runtime.runningScheduler!
                // An M beyond the one running this goroutine: with an idle P, starting a
                // goroutine starts one; at one P, the goroutine's blocking call has its P
                // handed (with this runnable goroutine) to a new M. It then idles.
                go { blockingCall { _ = usleep(5_000) } }
                while withPreemptionDisabled({ scheduler.machineCount }) < 2 { yield() }
                let finished = Atomic64()
                go {
                    var byte: [UInt8] = [0]
                    if (try? byte.withUnsafeMutableBytes { try connection.readFully(into: $0) }) != nil {
                        finished.increment()
                    }
                }
                let netpoller = scheduler.netpoller!
                while netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { yield() }
                let blockerSeen = waitForBlockedPoller(netpoller)
                let before = Runtime.counters
                try! [UInt8]([1]).withUnsafeBytes { try peer.write($0) }
                while finished.value == 0 {   // the hog: this P never looks for work
                    if mode.preemption == .cooperative { yield() }
                }
                return (before, Runtime.counters, blockerSeen)
            } }
            XCTAssertTrue(blockerSeen, "\(mode): no idle M blocked in epoll_wait while the P ran the hog")
            XCTAssertEqual(after.netpollGoroutinesReadied - before.netpollGoroutinesReadied, 1, "\(mode)")
            XCTAssertEqual(after.netpollSysmonGoroutinesReadied - before.netpollSysmonGoroutinesReadied, 0,
                           "\(mode): the reader waited for sysmon's 10 ms poll")
        }
    }

    /// Two Ps, three Ms, the main goroutine sleeping: reader A's data arrives, the poller
    /// runs A on a P and A spins without yielding (cooperative mode: that P never looks
    /// for work again). Some M must still block in epoll_wait while the other P is idle:
    /// the poller's handover to an idle M while a P is idle (NetpollHandover.swift; Go
    /// never hands over), or the M of the sleeping main goroutine, which parks there. So
    /// reader B's data is seen at once and B runs on the other P, not after sysmon's
    /// 10 ms stale poll. (Which of the two it was is a race, so the test does not ask.)
    func testPollerThatLeavesToRunWorkHandsOverToAnIdleMachine() {
        for mode in twoProcessorModes() {
            XCTAssertEqual(readerBWhileReaderAHogs(mode, mainHogs: false), 0,
                           "\(mode): reader B waited for sysmon's 10 ms poll")
        }
    }

    /// With every P busy (the main goroutine hogs one, reader A the other, both yielding in
    /// cooperative mode) no M is woken to block in epoll_wait: it could not run what it
    /// readied. Reader B's readiness is seen by a P's periodic poll (every 31st schedule,
    /// findLocalWork) or at a slice end, not by sysmon's 10 ms one. Up to three attempts:
    /// with a CPU hog beside the suite, the Ms were descheduled for 10 ms in 1 run of 15
    /// and sysmon's poll came first; without the periodic poll every attempt fails.
    func testReadinessIsSeenWhileEveryProcessorIsBusy() {
        for mode in twoProcessorModes() {
            let readiedBySysmon = attemptsUntil({ $0 == 0 }) { readerBWhileReaderAHogs(mode, mainHogs: true) }
            XCTAssertEqual(readiedBySysmon.last, 0, "\(mode): reader B waited for sysmon's 10 ms poll in every attempt")
        }
    }

    /// At one P a poller leaving epoll_wait never hands its role over: the M it would wake
    /// finds no P to run what it readies (at one CPU it only costs two context switches per
    /// request). A ping-pong beside a parked acceptor, counted.
    func testNoHandoverWithoutAnIdleProcessor() {
        for preemption in [PreemptionMode.cooperative, .async] where preemption == .cooperative || Runtime.asyncPreemptionUnavailable == nil {
            let mode = NetRuntimeMode(maxProcs: 1, preemption: preemption, timeSliceNanoseconds: preemption == .async ? 50_000 : 10_000_000)
            let failures = Failures()
            let run = mode.run { pingPongFromAThread(roundTrips: 500, acceptorParked: true, failures: failures) }
            XCTAssertEqual(failures.all, [], "\(mode)")
            XCTAssertEqual(run.completed, 500, "\(mode)")
            XCTAssertEqual(run.after.netpollHandovers - run.before.netpollHandovers, 0, "\(mode)")
        }
    }

    /// One P, one M, cooperative mode: a goroutine yields in a loop while a reader waits on
    /// a socket. The P's queue always holds the yielder, so findRunnable never reaches its
    /// poll, and no other M exists to block in epoll_wait: the reader's data is seen by
    /// the P's periodic poll (every 31st schedule, findLocalWork), not by sysmon's 10 ms
    /// one. Counts the M's too: a second M would be another way in.
    func testAYieldingGoroutineAtOneProcessorLetsReadinessIn() {
        let mode = NetRuntimeMode(maxProcs: 1, preemption: .cooperative, timeSliceNanoseconds: 10_000_000)
        let (readiedBySysmon, machines) = mode.run { withConnectedPair { _, connection, peer -> (UInt64, Int) in
            let scheduler = Runtime.runningScheduler!
            let done = Atomic64()
            go {
                var byte: [UInt8] = [0]
                if (try? byte.withUnsafeMutableBytes { try connection.readFully(into: $0) }) != nil { done.increment() }
            }
            while scheduler.netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { yield() }
            let before = Runtime.counters
            try! [UInt8]([1]).withUnsafeBytes { try peer.write($0) }
            while done.value == 0 { yield() }
            return (Runtime.counters.netpollSysmonGoroutinesReadied - before.netpollSysmonGoroutinesReadied,
                    withPreemptionDisabled { scheduler.machineCount })
        } }
        XCTAssertEqual(machines, 1, "another M could have polled")
        XCTAssertEqual(readiedBySysmon, 0, "the reader waited for sysmon's 10 ms poll")
    }

    private func twoProcessorModes() -> [NetRuntimeMode] {
        var modes = [NetRuntimeMode(maxProcs: 2, preemption: .cooperative, timeSliceNanoseconds: 10_000_000)]
        if Runtime.asyncPreemptionUnavailable == nil {
            modes.append(NetRuntimeMode(maxProcs: 2, preemption: .async, timeSliceNanoseconds: 50_000))
        }
        return modes
    }

    /// Readers A and B park on two connections; A's data arrives and A, once running, hogs
    /// its P (yielding, in cooperative mode, only when `mainHogs`); then B's data arrives
    /// while the main goroutine hogs the other P (`mainHogs`, yielding in cooperative
    /// mode) or sleeps. Returns the goroutines sysmon's stale poll readied meanwhile.
    private func readerBWhileReaderAHogs(_ mode: NetRuntimeMode, mainHogs: Bool) -> UInt64 {
        mode.run { withConnectedPair { listener, connectionA, peerA -> UInt64 in
            let connectionB = try! TCPConnection.connect(host: "127.0.0.1", port: listener.port)
            defer { connectionB.close() }
            let peerB = try! listener.accept()
            defer { peerB.close() }
            let scheduler = Runtime.runningScheduler!
            let netpoller = scheduler.netpoller!
            // A third M: two blocking calls at once, both Ps retaken by sysmon.
            while withPreemptionDisabled({ scheduler.machineCount }) < 3 {
                let both = WaitGroup()
                both.add()
                go { blockingCall { _ = usleep(2_000) }; both.done() }
                blockingCall { _ = usleep(2_000) }
                both.wait()
            }
            let cooperative = mode.preemption == .cooperative
            let aRunning = Atomic64(), bDone = Atomic64(), stop = Atomic64()
            go {
                var byte: [UInt8] = [0]
                guard (try? byte.withUnsafeMutableBytes { try connectionA.readFully(into: $0) }) != nil else { return }
                aRunning.increment()
                while stop.value == 0 { if cooperative && mainHogs { yield() } }   // hogs its P
            }
            go {
                var byte: [UInt8] = [0]
                if (try? byte.withUnsafeMutableBytes { try connectionB.readFully(into: $0) }) != nil { bDone.increment() }
            }
            /// The main goroutine's wait: hogging its P (yielding in cooperative mode) or asleep.
            func wait() { if !mainHogs { Timeslice.sleep(nanoseconds: 100_000) } else if cooperative { yield() } }
            while netpoller.waiters.load(ordering: .sequentiallyConsistent) < 2 { yield() }
            _ = waitForBlockedPoller(netpoller)   // an idle M blocks in epoll_wait before A's data
            try! [UInt8]([1]).withUnsafeBytes { try peerA.write($0) }
            while aRunning.value == 0 { wait() }
            let before = Runtime.counters
            try! [UInt8]([2]).withUnsafeBytes { try peerB.write($0) }
            while bDone.value == 0 { wait() }
            let after = Runtime.counters
            stop.increment()
            return after.netpollSysmonGoroutinesReadied - before.netpollSysmonGoroutinesReadied
        } }
    }

    /// Outside a goroutine a socket call stops the process with a message naming
    /// the call and the rule (checked in a child: the trap cannot be caught).
    func testSocketCallOutsideAGoroutineStopsWithAClearMessage() {
        let (status, output) = ChildScenario.run(test: "TimesliceTests.NetSchedulingTests/testOutsideGoroutineChild",
                                                 variable: Self.outsideVariable, value: "1", deadline: 60,
                                                 lines: 400)
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("timeslice: TCPListener.listen must be called from a goroutine"), output)
    }

    static let outsideVariable = "TIMESLICE_TEST_NET_OUTSIDE_GOROUTINE"

    /// Child side only: listens from the test thread, which is not a goroutine.
    func testOutsideGoroutineChild() {
        guard ProcessInfo.processInfo.environment[Self.outsideVariable] != nil else { return }
        _ = try? TCPListener.listen()
        exit(0)   // not reached
    }
}

/// Yields until an M blocks in epoll_wait (lastPoll is 0): true, or false after a
/// second (a bound, not a measurement: the broken runtime never gets there).
/// One cycle of the hog-and-reader scenarios: a reader goroutine parks on `connection`; once it
/// waits (and `ready` returned), the calling goroutine writes a byte on `peer` and spins as a
/// hog until the reader has run. Returns the preemptions delivered in between.
private func preemptionsBeforeReaderRuns(_ connection: TCPConnection, _ peer: TCPConnection,
                                         ready: () -> Void) -> UInt64 {
    // Preemptions delivered when the reader ran, + 1 (0: not yet).
    let readAt = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    readAt.initialize(to: 0)
    defer { readAt.deallocate() }
    go {
        var byte: [UInt8] = [0]
        if (try? byte.withUnsafeMutableBytes { try connection.readFully(into: $0) }) != nil {
            ts_store_u64(readAt, Runtime.counters.preemptionsDelivered + 1)
        }
    }
    let netpoller = Runtime.runningScheduler!.netpoller!
    while netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { yield() }
    ready()
    let before = Runtime.counters.preemptionsDelivered
    try! [UInt8]([1]).withUnsafeBytes { try peer.write($0) }
    while ts_load_u64(readAt) == 0 {}   // the hog, preempted every 50 µs
    return (ts_load_u64(readAt) - 1) &- before
}

private func waitForBlockedPoller(_ netpoller: Netpoller) -> Bool {
    let giveUp = ContinuousClock.now + .seconds(1)
    while netpoller.lastPoll.load(ordering: .sequentiallyConsistent) != 0, ContinuousClock.now < giveUp { yield() }
    return netpoller.lastPoll.load(ordering: .sequentiallyConsistent) == 0
}
