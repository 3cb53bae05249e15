// TIMESLICE_SCHEDTRACE=<ms>: a Go-style line on stderr every interval, e.g.
//   SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 blockedhandoffs=0 netpollwaiters=0 netpollwakes=0 [3 1]
// Printed by sysmon; the numbers are racy snapshots, as in Go. blockedhandoffs is
// the running total of Ps taken from threads blocked outside blockingCall
// (handoffs_blocked_thread, BlockedThread.swift); netpollwaiters the goroutines
// parked on sockets now, netpollwakes the running total of goroutines the
// netpoller readied (NetpollScheduling.swift).
import CTimeslice
import Glibc

final class SchedTrace {
    unowned(unsafe) let scheduler: Scheduler
    let interval: UInt64
    private var next: UInt64

    init(scheduler: Scheduler, intervalNanoseconds: UInt64) {
        self.scheduler = scheduler
        interval = intervalNanoseconds
        next = scheduler.startTime + intervalNanoseconds
    }

    func maybePrint(now: UInt64) {
        guard now >= next else { return }
        next = now + interval
        fputs(line(now: now) + "\n", stderr)
    }

    func line(now: UInt64) -> String {
        let s = scheduler
        let queues = s.processors.map { String($0.runQueueStealer.count) }.joined(separator: " ")
        let elapsedMs = (now - s.startTime) / 1_000_000
        // threads: every M plus sysmon.
        return "SCHED \(elapsedMs)ms: gomaxprocs=\(s.maxProcs) idleprocs=\(s.idleProcessorCount.load(ordering: .relaxed))"
            + " threads=\(s.machineCount + 1) spinningthreads=\(s.spinningMachines.load(ordering: .relaxed))"
            + " idlethreads=\(s.idleMachineCount) runqueue=\(s.globalCount.load(ordering: .relaxed))"
            + " blockedhandoffs=\(s.counters.value(.handoffsBlockedThread))"
            + " netpollwaiters=\(s.netpoller.waiters.load(ordering: .relaxed))"
            + " netpollwakes=\(s.snapshotCounters().netpollGoroutinesReadied) [\(queues)]"
    }
}
