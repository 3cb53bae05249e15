// The wakeup probe as a goroutine (the main goroutine) with hogs as goroutines. At 1 P under
// cooperative preemption a tight hog never yields: the probe starves and the child's monitor
// reports it. `polling` hogs call preemptionPoint(); async preemption needs neither.
// With `lock_os_thread` the probe wires itself to its OS thread for the whole measurement
// (Go's runtime.LockOSThread), so each wake-up also pays the locked M's P handoff.
import Timeslice
import TimesliceHost

extension WakeupWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let lock = context.configuration.point.lockOSThread ?? false
        let stop = StopFlag()
        let rounds = HogCounters(count: p.hogs)
        let ((sampling, counters), runtimeCounters) = try RuntimeBridge.run(context) { () -> (PeriodicSampling?, [String: UInt64]) in
            let group = WaitGroup()
            for i in 0..<p.hogs {
                group.add(1)
                go {
                    rounds.set(i, Hog.run(p.hogKind, stop: stop, poll: { preemptionPoint() }))
                    group.done()
                }
            }
            if lock { lockOSThread() }
            let sampling = WakeupWorkload.probe(p, context: context, sleepUntil: Timeslice.sleep(untilMonotonic:))
            var counters = WakeupWorkload.probeCounters()
            // Read before unlocking: evidence in results.json that the probe really was locked.
            counters["probe_locked_os_thread"] = isLockedToOSThread ? 1 : 0
            if lock { unlockOSThread() }
            stop.set()
            group.wait()
            return (sampling, counters)
        }
        var result = try WakeupWorkload.result(sampling, counters: counters.merging(["hog_rounds": rounds.total]) { own, _ in own })
        result.addCounters(runtimeCounters)
        return result
    }
}
