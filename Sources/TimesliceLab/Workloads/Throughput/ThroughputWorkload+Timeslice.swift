// CPU-bound throughput with one goroutine per task (default: one per P).
import Timeslice

extension ThroughputWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let ((total, units, tasks, seconds), rt) = try RuntimeBridge.run(context) { () -> (LatencyRecorder, UInt64, Int, Double) in
            let tasks = p.tasks ?? Runtime.maxProcs
            let results = ResultSlots<(LatencyRecorder, UInt64)>(count: tasks)
            let window = context.window()
            let group = WaitGroup()
            for i in 0..<tasks {
                group.add(1)
                go {
                    results.set(i, ThroughputWorkload.measureWorker(i, of: tasks, workUnit: p.workUnit,
                                                                    window: window, progress: context.progress))
                    group.done()
                }
            }
            group.wait()
            var total = LatencyRecorder()
            var units: UInt64 = 0
            for r in results.values { total.add(r.0); units += r.1 }
            return (total, units, tasks, window.measuredSeconds(until: MonotonicClock.now()))
        }
        var counters = rt
        counters["tasks"] = UInt64(tasks)
        counters["units"] = units
        counters["units_per_second"] = seconds > 0 ? UInt64(Double(units) / seconds) : 0
        return WorkloadResult(latency: total, counters: counters)
    }
}
