// Spawn/join with goroutines: `batch` × go {} then WaitGroup.wait().
import Timeslice

extension SpawnJoinWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let (rec, rt) = try RuntimeBridge.run(context) { () -> LatencyRecorder in
            var rec = LatencyRecorder()
            let window = context.window()
            while true {
                let t0 = MonotonicClock.now()
                let group = WaitGroup()
                group.add(p.batch)
                for _ in 0..<p.batch { go { group.done() } }
                group.wait()
                let t1 = MonotonicClock.now()
                context.progress.beat()
                if !window.inWarmup(t0) { rec.record(t1 - t0) }
                if window.isOver(now: t1, recorded: rec.count) { break }
            }
            return rec
        }
        return WorkloadResult(latency: rec, counters: rt.merging(["batches": rec.count, "batch_size": UInt64(p.batch)]) { a, _ in a })
    }
}
