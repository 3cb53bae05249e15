// CPU-bound throughput on pthreads: one thread per task (default: one per usable CPU), worker i
// pinned as the placement says.

extension ThroughputWorkload {
    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        let tasks = p.tasks ?? UsableCPUs.count()
        let pinning = try context.pin(threads: tasks)
        let results = ResultSlots<(LatencyRecorder, UInt64)>(count: tasks)
        let window = context.window()
        let threads = (0..<tasks).map { i in
            OSThread(name: "work\(i)") { [p] in
                pinning.pinCurrentThread(worker: i)
                results.set(i, Self.measureWorker(i, of: tasks, workUnit: p.workUnit,
                                                  window: window, progress: context.progress))
            }
        }
        threads.forEach { $0.join() }
        let end = MonotonicClock.now()
        var total = LatencyRecorder()
        var units: UInt64 = 0
        for r in results.values { total.add(r.0); units += r.1 }
        let seconds = window.measuredSeconds(until: end)
        return WorkloadResult(latency: total, counters: [
            "tasks": UInt64(tasks), "units": units,
            "units_per_second": seconds > 0 ? UInt64(Double(units) / seconds) : 0,
        ])
    }
}
