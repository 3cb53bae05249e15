// Spawn/join with goroutines: `batch` × go {} then WaitGroup.wait().
import Timeslice

extension SpawnJoinWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let (rec, rt) = try RuntimeBridge.run(context) { () -> LatencyRecorder in
            let window = context.window()
            let rec = ClosedLoop.measure(window, progress: context.progress) {
                let group = WaitGroup()
                group.add(p.batch)
                for _ in 0..<p.batch { go { group.done() } }
                group.wait()
            }
            return rec
        }
        var result = WorkloadResult(latency: rec, counters: ["batches": rec.count, "batch_size": UInt64(p.batch)])
        result.addCounters(rt)
        return result
    }
}
