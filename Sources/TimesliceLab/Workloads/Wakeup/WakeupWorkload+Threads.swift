// The wakeup probe on plain pthreads: one probe thread (worker 0) sleeping with
// clock_nanosleep(TIMER_ABSTIME) plus one pthread per hog (workers 1…hogs).
extension WakeupWorkload {
    /// One pthread probe (worker 0) plus one pthread per hog (workers 1…hogs).
    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        let pinning = try context.pin(threads: 1 + p.hogs)
        let stop = StopFlag()
        let hogRounds = HogCounters(count: p.hogs)
        let hogs = (0..<p.hogs).map { i in
            OSThread(name: "hog\(i)") { [p] in
                pinning.pinCurrentThread(worker: i + 1)
                hogRounds.set(i, Hog.run(p.hogKind, stop: stop))
            }
        }
        var sampling: PeriodicSampling?
        var counters: [String: UInt64] = [:]
        let probe = OSThread(name: "probe") { [p] in
            pinning.pinCurrentThread(worker: 0)
            sampling = Self.probe(p, context: context, sleepUntil: MonotonicClock.sleep(until:))
            counters = Self.probeCounters()
        }
        probe.join()
        stop.set()
        hogs.forEach { $0.join() }
        counters["hog_rounds"] = hogRounds.total
        return try Self.result(sampling, counters: counters)
    }
}
