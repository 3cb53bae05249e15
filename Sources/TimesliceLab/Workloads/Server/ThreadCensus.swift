// The threads of a process grouped by the CPUs they may run on (sched_getaffinity of each
// /proc/<pid>/task entry, with its name from `comm`): the evidence, in a server
// configuration's placement note, that the server's threads were confined where ServerCPUs
// says and the lab's own threads were not. ServerWindowObserver takes it halfway through the
// measurement, when every connection's thread or goroutine exists.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

struct ThreadCensus: Equatable {
    /// Thread names per allowed CPU set (a thread that exited between listing and reading is skipped).
    var threads: [CPUSet: [String]] = [:]

    static func take(pid: pid_t) -> ThreadCensus {
        let tasks = "/proc/\(pid)/task"
        var census = ThreadCensus()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            guard let tid = Int32(entry), let mask = try? Affinity.get(tid: tid) else { continue }
            let comm = (try? String(contentsOfFile: "\(tasks)/\(entry)/comm", encoding: .utf8)) ?? "?"
            census.threads[mask, default: []].append(comm.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return census
    }

    /// "cpu 0: 67 threads (conn ×64, accept, ts-m0); cpus 0-1: 3 threads (timeslice ×2, monitor)".
    var text: String {
        if threads.isEmpty { return "no threads seen" }
        return threads.sorted { $0.key.sorted.lexicographicallyPrecedes($1.key.sorted) }.map { mask, names in
            var counts: [String: Int] = [:]
            for n in names { counts[n, default: 0] += 1 }
            let byName = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { $0.value == 1 ? $0.key : "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            let cpus = (mask.sorted.count == 1 ? "cpu " : "cpus ") + mask.listString
            return "\(cpus): \(names.count) thread\(names.count == 1 ? "" : "s") (\(byName))"
        }.joined(separator: "; ")
    }
}
