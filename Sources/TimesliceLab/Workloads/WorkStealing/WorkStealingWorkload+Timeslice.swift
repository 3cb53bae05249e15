// The work-stealing rounds on the Timeslice runtime: the main goroutine spawns a round's tasks
// (each `go` puts the new goroutine on the spawner's own P), waits on a WaitGroup, and records
// every task's spawn-to-completion time.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Timeslice

extension WorkStealingWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let sizes = Self.taskSizes(p, seed: context.configuration.seed)
        let work = CPUWork.calibrate()
        let rounds = sizes.map { work.rounds(nanoseconds: $0) }
        let hold = holdFirstTaskUntilMoved
        let (out, rt) = try RuntimeBridge.run(context) { () -> WorkStealingTally in
            let slots = TaskLatencySlots(count: p.tasks)
            let flags = RoundFlags()
            var tally = WorkStealingTally()
            let window = context.window()
            var first = true
            while true {
                let holdThisRound = hold && first && Runtime.maxProcs > 1
                first = false
                flags.moved.store(0, ordering: .relaxed)
                let group = WaitGroup()
                group.add(p.tasks)
                let start = monotonicNanoseconds()
                for i in 0..<p.tasks {
                    let spawner = pthread_self()
                    let spawned = monotonicNanoseconds()
                    go {
                        if pthread_equal(pthread_self(), spawner) == 0 { flags.moved.add(1, ordering: .relaxed) }
                        if holdThisRound, flags.holder.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
                            while flags.moved.load(ordering: .relaxed) == 0 {}
                        }
                        blackHole(CPUWork.burn(rounds[i], seed: UInt64(i)))
                        slots.set(i, monotonicNanoseconds() - spawned)
                        group.done()
                    }
                }
                group.wait()
                let end = monotonicNanoseconds()
                context.progress.beat()
                if window.inWarmup(start) {
                    tally.warmupTasks += UInt64(p.tasks)
                } else {
                    // WaitGroup.wait returned after every done(), under the group's lock: the
                    // slots written before each done() are visible here.
                    for i in 0..<p.tasks { tally.latency.record(slots[i]) }
                    tally.rounds += 1
                    tally.makespanTotal += end - start
                    tally.makespanMax = max(tally.makespanMax, end - start)
                    tally.moved += UInt64(flags.moved.load(ordering: .relaxed))
                }
                if window.isOver(now: end, recorded: tally.latency.count) { break }
            }
            return tally
        }
        var counters = rt
        counters["rounds"] = out.rounds
        counters["tasks_per_round"] = UInt64(p.tasks)
        counters["tasks_moved"] = out.moved
        counters["samples_warmup_discarded"] = out.warmupTasks
        counters["makespan_mean_ns"] = out.rounds > 0 ? out.makespanTotal / out.rounds : 0
        counters["makespan_max_ns"] = out.makespanMax
        counters["round_work_ns"] = sizes.reduce(0, +)
        counters["cpu_work_rounds_per_us"] = UInt64(work.roundsPerMicrosecond.rounded())
        return WorkloadResult(latency: out.latency, counters: counters)
    }
}

/// What the spawner accumulates over the measured rounds.
struct WorkStealingTally {
    var latency = LatencyRecorder()
    /// Measured rounds, and their makespans (first spawn to the WaitGroup's release), in ns.
    var rounds: UInt64 = 0
    var makespanTotal: UInt64 = 0
    var makespanMax: UInt64 = 0
    var moved: UInt64 = 0
    var warmupTasks: UInt64 = 0
}

/// Per-round flags shared by the tasks.
final class RoundFlags: Sendable {
    /// Tasks of this round that started on another OS thread than the one that spawned them.
    let moved = Atomic<Int>(0)
    /// Taken by the task that holds its P in `holdFirstTaskUntilMoved` mode.
    let holder = Atomic<Bool>(false)
}

/// One latency slot per task of a round.
final class TaskLatencySlots: @unchecked Sendable {
    // @unchecked: slot i is written only by task i, and read by the spawner only after the
    // round's WaitGroup released it. A raw buffer, so that writes to distinct slots never
    // touch shared array storage.
    private let slots: UnsafeMutableBufferPointer<UInt64>
    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: 0)
    }
    deinit { slots.deallocate() }
    func set(_ i: Int, _ v: UInt64) { slots[i] = v }
    subscript(i: Int) -> UInt64 { slots[i] }
}
