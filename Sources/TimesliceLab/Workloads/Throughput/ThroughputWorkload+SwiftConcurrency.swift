// CPU-bound throughput as `tasks` child Tasks of one group (default: one per usable CPU, as the
// threads variant). Tasks beyond the pool's width wait for a thread: the rate shows the pool.
extension ThroughputWorkload {
    func runSwiftConcurrency(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let tasks = p.tasks ?? UsableCPUs.count()
        let (base, verify) = try SwiftConcurrencyBridge.prepare(context, workers: tasks)
        let progress = context.progress
        let window = context.window()
        let (total, units) = try SwiftConcurrencyBridge.run { () async -> (LatencyRecorder, UInt64) in
            await withTaskGroup(of: (LatencyRecorder, UInt64).self) { group in
                for i in 0..<tasks {
                    group.addTask {
                        Self.measureWorker(i, of: tasks, workUnit: p.workUnit, window: window, progress: progress)
                    }
                }
                var total = LatencyRecorder()
                var units: UInt64 = 0
                for await (rec, n) in group { total.add(rec); units += n }
                return (total, units)
            }
        }
        let seconds = window.measuredSeconds(until: MonotonicClock.now())
        verify()
        var result = WorkloadResult(latency: total, counters: [
            "tasks": UInt64(tasks), "units": units,
            "units_per_second": seconds > 0 ? UInt64(Double(units) / seconds) : 0,
        ])
        result.addCounters(base)
        return result
    }
}
