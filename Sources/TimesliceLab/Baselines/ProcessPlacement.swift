// Placement for the baselines whose threads the lab cannot pin one by one: the Go runtime's Ms,
// the Swift concurrency pool's threads, cyclictest's measurement thread. Each gets a CPU set
// for the whole process instead: the union of the sets the `threads` variant would give its
// workers (same resolver, same worker count), so that "compact" or {"explicit": [1]} means the
// same CPUs in every row of a sweep. What was applied and what the threads then reported goes
// into the configuration's `placement.note`; `verified` stays nil ("the runtime did the
// pinning"), because no individual thread of ours was pinned.
import Foundation
import TimesliceHost

enum ProcessPlacement {
    /// The CPUs for a process running `workers` workers of this configuration; nil for `none`.
    static func cpus(_ context: WorkloadContext, workers: Int) throws -> CPUSet? {
        let pinning = try ThreadPinning.resolve(context.configuration.placement, threads: max(workers, 1),
                                                host: HostSnapshot.capture())
        guard let plan = pinning.plan else { return nil }
        return plan.workerCPUs.reduce(CPUSet([])) { $0.union($1) }
    }

    /// The kernel ids of this process's threads right now.
    static func threadIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).compactMap(Int32.init).sorted()
    }

    /// Restricts every existing thread of this process to `cpus`; threads created afterwards
    /// inherit the mask of the thread that creates them, so the whole process stays inside.
    /// A thread that exits meanwhile (ESRCH) is skipped.
    static func applyToProcess(_ cpus: CPUSet) throws {
        for tid in threadIDs() {
            do { try Affinity.set(cpus, tid: tid) } catch {
                if (try? Affinity.get(tid: tid)) != nil { throw error }  // still alive: a real failure
            }
        }
    }

    /// "all 7 threads within 1", or the threads that escaped: the check after a run.
    static func verifyProcess(within cpus: CPUSet) -> String {
        let tids = threadIDs()
        var outside: [String] = []
        for tid in tids {
            guard let mask = try? Affinity.get(tid: tid) else { continue }
            if !mask.isSubset(of: cpus) { outside.append("thread \(tid) allowed \(mask.listString)") }
        }
        return outside.isEmpty ? "all \(tids.count) threads within \(cpus.listString)"
                               : "NOT verified: " + outside.joined(separator: ", ")
    }
}
