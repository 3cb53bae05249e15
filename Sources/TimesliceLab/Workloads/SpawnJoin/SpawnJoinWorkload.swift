// Spawn/join: start `batch` trivial tasks and wait for all of them; each sample is one batch.
// For threads that is pthread_create/join; for goroutines `go` + WaitGroup.

import TimesliceHost

public struct SpawnJoinParameters: WorkloadKind {
    public var batch = 64

    public static let kind = "spawn_join"
    public static let latencyMeaning = "spawn+join of one batch"

    public var json: [String: JSONValue] { ["batch": .integer(Int64(batch))] }

    public static let variants: [RuntimeKind: WorkloadVariant<SpawnJoinParameters>] = [
        .threads: { try SpawnJoinWorkload(p: $0).runThreads($1) },
        .timeslice: { try SpawnJoinWorkload(p: $0).runTimeslice($1) },
        .swiftConcurrency: { try SpawnJoinWorkload(p: $0).runSwiftConcurrency($1) },
        .go: { _, context in try GoVariant.run(context) },
    ]

    /// The spawner; its tasks inherit its mask.
    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int { 1 }

    public static func decode(_ r: inout ObjectReader) throws -> SpawnJoinParameters {
        var p = SpawnJoinParameters()
        p.batch = try r.int("batch", min: 1, max: 10_000) ?? p.batch
        return p
    }
}

/// The spawn/join workload's variants (SpawnJoinWorkload+<Runtime>.swift).
struct SpawnJoinWorkload {
    let p: SpawnJoinParameters
}
