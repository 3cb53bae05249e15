// Spawn/join with a task group: `batch` child Tasks, then the group's implicit wait for all of
// them at the end of `withTaskGroup`; each sample is one batch.
extension SpawnJoinWorkload {
    func runSwiftConcurrency(_ context: WorkloadContext) throws -> WorkloadResult {
        let batch = p.batch
        let (base, verify) = try SwiftConcurrencyBridge.prepare(context, workers: 1)
        let progress = context.progress
        let rec = try SwiftConcurrencyBridge.run { () async -> LatencyRecorder in
            let window = context.window()
            let sink = StopFlag()
            let rec = await ClosedLoop.measure(window, progress: progress) {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<batch { group.addTask { _ = sink.isSet } }
                }
            }
            return rec
        }
        verify()
        var result = WorkloadResult(latency: rec, counters: ["batches": rec.count, "batch_size": UInt64(batch)])
        result.addCounters(base)
        return result
    }
}
