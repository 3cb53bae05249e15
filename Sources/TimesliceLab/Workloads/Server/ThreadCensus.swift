// The threads of a process grouped by the CPUs they may run on (sched_getaffinity of each
// /proc/<pid>/task entry, with its name from `comm`): the evidence, in a server
// configuration's placement note, that the server's threads were confined where ServerCPUs
// says and the lab's own threads were not. `during` takes it halfway through the measurement,
// when every connection's thread or goroutine exists.
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

    /// "cpu 0: 67 threads (conn ×64, accept, timeslice-rt); cpus 0-1: 3 threads (timeslice ×2, monitor)".
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

    /// Takes `census()` after `delayNanoseconds` on a thread of its own, unless `finish` comes
    /// first (the measurement ended early: nothing to see). `finish` returns what was taken.
    final class Scheduled: @unchecked Sendable {
        // @unchecked: `taken` is written by the census thread before `finish` joins it.
        private let done = DispatchSemaphore(value: 0)
        private var taken: ThreadCensus?
        private var thread: OSThread?

        init(after delayNanoseconds: UInt64, _ census: @escaping () -> ThreadCensus?) {
            let done = done
            thread = OSThread(name: "thread-census") { [unowned self] in
                if done.wait(timeout: .now() + .nanoseconds(Int(min(delayNanoseconds, UInt64(Int.max))))) == .timedOut {
                    taken = census()
                }
            }
        }

        func finish() -> ThreadCensus? {
            done.signal()
            thread?.join()
            thread = nil
            return taken
        }
    }
}
