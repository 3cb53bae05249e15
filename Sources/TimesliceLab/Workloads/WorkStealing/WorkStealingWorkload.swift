// Work-stealing imbalance: one goroutine spawns every task of a round onto its own P, so all
// the work starts in one run queue and the other Ps get some only by stealing it. A round is a
// burst of `tasks` goroutines of uneven sizes (exponential, mean `task_work`, drawn once from
// the seed: every round runs the same list, so rounds differ only in how they were scheduled);
// the spawner waits for the round to finish before the next.
//
// Latency sample: one task, from just before its `go` to the end of its work, so it includes
// the time it sat in a queue. Counters: the runtime's `steals`, the tasks that ran on another
// OS thread than the one that spawned them (`tasks_moved`), and each round's makespan. At
// max_procs 1 nothing moves; at 2 the idle P should steal half a queue at a time, and both the
// task latencies and the makespan should drop towards half.
//
// Only the timeslice variant exists: "all tasks on one P" has no meaning for plain threads.
import TimesliceHost
#if canImport(Glibc)
import Glibc
#endif

public struct WorkStealingParameters: WorkloadKind {
    public var tasks = 256
    public var taskWorkNanoseconds: UInt64 = 20_000

    public static let kind = "work_stealing"
    public static let latencyMeaning = "spawn to completion of one task"

    public var json: [String: JSONValue] {
        ["tasks": .integer(Int64(tasks)), "task_work": .string(DurationText.render(taskWorkNanoseconds))]
    }

    public static let variants: [RuntimeKind: WorkloadVariant<WorkStealingParameters>] = [
        .timeslice: { try WorkStealingWorkload(p: $0).runTimeslice($1) },
    ]

    public static func decode(_ r: inout ObjectReader) throws -> WorkStealingParameters {
        var p = WorkStealingParameters()
        p.tasks = try r.int("tasks", min: 1, max: 1_000_000) ?? p.tasks
        p.taskWorkNanoseconds = try r.duration("task_work", min: 100, max: 1_000_000_000) ?? p.taskWorkNanoseconds
        return p
    }
}

/// The work-stealing workload's variant (WorkStealingWorkload+Timeslice.swift).
struct WorkStealingWorkload {
    let p: WorkStealingParameters
    /// Tests only: in the first round, the first task to start spins until some task has
    /// started on another OS thread than its spawner's, so that a steal is certain rather than
    /// likely (as in the runtime's own steal test). Never set by experiment files; ignored at
    /// one P, where it would wait forever.
    var holdFirstTaskUntilMoved = false

    /// Nanoseconds of work of each task of a round: exponential with mean `task_work`, from the
    /// seed. The same for every round and every rerun of the same file.
    static func taskSizes(_ p: WorkStealingParameters, seed: UInt64) -> [UInt64] {
        var random = SplitMix64(seed: seed)
        return (0..<p.tasks).map { _ in
            UInt64((-log1p(-random.nextUnit()) * Double(p.taskWorkNanoseconds)).rounded())
        }
    }
}
