// Spawn/join: start `batch` trivial tasks and wait for all of them; each sample is one batch.
// For threads that is pthread_create/join; for goroutines `go` + WaitGroup.

public struct SpawnJoinParameters: Hashable, Sendable {
    public var batch = 64

    static func decode(_ r: inout ObjectReader) throws -> SpawnJoinParameters {
        var p = SpawnJoinParameters()
        p.batch = try r.int("batch", min: 1, max: 10_000) ?? p.batch
        return p
    }
}

public struct SpawnJoinWorkload: Workload {
    let p: SpawnJoinParameters

    public init(parameters: WorkloadSpec) throws {
        guard case .spawnJoin(let p) = parameters else { throw WorkloadFailure("not a spawn_join spec") }
        self.p = p
    }

    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        switch context.configuration.point.runtime {
        case .threads: return try runThreads(context)
        case .timeslice: return try runTimeslice(context)
        case .swiftConcurrency: return try runSwiftConcurrency(context)
        case .go: return try GoVariant.run(context)
        case let other: throw Variants.unavailable(other, "spawn_join")
        }
    }

    /// The spawner is worker 0; spawned threads inherit its affinity, as pthreads do.
    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        let pinning = try context.pin(threads: 1)
        var rec = LatencyRecorder()
        let spawner = OSThread(name: "spawner") { [p] in
            pinning.pinCurrentThread(worker: 0)
            let window = context.window()
            let sink = StopFlag()
            while true {
                let t0 = MonotonicClock.now()
                let batch = (0..<p.batch).map { _ in OSThread(name: "task") { _ = sink.isSet } }
                batch.forEach { $0.join() }
                let t1 = MonotonicClock.now()
                context.progress.beat()
                if !window.inWarmup(t0) { rec.record(t1 - t0) }
                if window.isOver(now: t1, recorded: rec.count) { break }
            }
        }
        spawner.join()
        return WorkloadResult(latency: rec, counters: ["batches": rec.count, "batch_size": UInt64(p.batch)])
    }
}
