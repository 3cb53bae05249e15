// Spawn/join with a task group: `batch` child Tasks, then the group's implicit wait for all of
// them at the end of `withTaskGroup`; each sample is one batch.
extension SpawnJoinWorkload {
    func runSwiftConcurrency(_ context: WorkloadContext) throws -> WorkloadResult {
        let batch = p.batch
        let (base, verify) = try SwiftConcurrencyBridge.prepare(context, workers: 1)
        let progress = context.progress
        let rec = try SwiftConcurrencyBridge.run { () async -> LatencyRecorder in
            var rec = LatencyRecorder()
            let window = context.window()
            let sink = StopFlag()
            while true {
                let t0 = MonotonicClock.now()
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<batch { group.addTask { _ = sink.isSet } }
                }
                let t1 = MonotonicClock.now()
                progress.beat()
                if !window.inWarmup(t0) { rec.record(t1 - t0) }
                if window.isOver(now: t1, recorded: rec.count) { break }
            }
            return rec
        }
        verify()
        return WorkloadResult(latency: rec, counters: base.merging(["batches": rec.count, "batch_size": UInt64(batch)]) { _, b in b })
    }
}
