// Work-stealing imbalance: one goroutine spawns all of a round's `tasks` on its own P, each
// burning `task_work` of CPU; idle Ps must steal to finish early. Each sample is the makespan
// of one round; the runtime's `steals` counter shows how the work moved.
//
// Only the parameters live here until the timeslice variant is written (it needs the runtime).

public struct WorkStealingParameters: Hashable, Sendable {
    public var tasks = 256
    public var taskWorkNanoseconds: UInt64 = 20_000

    static func decode(_ r: inout ObjectReader) throws -> WorkStealingParameters {
        var p = WorkStealingParameters()
        p.tasks = try r.int("tasks", min: 1, max: 1_000_000) ?? p.tasks
        p.taskWorkNanoseconds = try r.duration("task_work", min: 100, max: 1_000_000_000) ?? p.taskWorkNanoseconds
        return p
    }
}

public struct WorkStealingWorkload: Workload {
    let p: WorkStealingParameters

    public init(parameters: WorkloadSpec) throws {
        guard case .workStealing(let p) = parameters else { throw WorkloadFailure("not a work_stealing spec") }
        self.p = p
    }

    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        throw Variants.unavailable(context.configuration.point.runtime, "work_stealing")
    }
}
