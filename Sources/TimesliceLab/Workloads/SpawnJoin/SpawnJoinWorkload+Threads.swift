// Spawn/join on pthreads: `batch` × pthread_create, then pthread_join each.

extension SpawnJoinWorkload {
    /// The spawner is worker 0; spawned threads inherit its affinity, as pthreads do.
    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        let pinning = try context.pin(threads: 1)
        var rec = LatencyRecorder()
        let spawner = OSThread(name: "spawner") { [p] in
            pinning.pinCurrentThread(worker: 0)
            let window = context.window()
            let sink = StopFlag()
            rec = ClosedLoop.measure(window, progress: context.progress) {
                let batch = (0..<p.batch).map { _ in OSThread(name: "task") { _ = sink.isSet } }
                batch.forEach { $0.join() }
            }
        }
        spawner.join()
        return WorkloadResult(latency: rec, counters: ["batches": rec.count, "batch_size": UInt64(p.batch)])
    }
}
