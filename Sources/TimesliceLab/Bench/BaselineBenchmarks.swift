// Runs every baseline of `timeslice bench` in the same invocation as timeslice's own numbers:
//   go                 the Go reference program, one process per run (GoBenchmarks)
//   threads,           each column in a fresh child of this binary (`timeslice _bench-baseline`),
//   swift-concurrency  restricted to its CPUs before anything starts: no memory freed by an
//                      earlier benchmark is reused under a parked-RSS reading, no Swift pool or
//                      Timeslice Ms of another benchmark shares the process, and the pool's
//                      threads inherit the CPU set (its width cannot be set otherwise).
// The child prints one line `TIMESLICE-BENCH <json>`; a child that crashes, hangs (killed after
// `childDeadline`) or prints no line makes its column unavailable with what it said.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

public enum BaselineBenchmarks {
    public static let childRuntimes = ["threads", "swift-concurrency"]
    static let linePrefix = "TIMESLICE-BENCH "
    static let childDeadline: UInt64 = 300_000_000_000

    /// Every baseline at each maxProcs, in the order go, threads, swift-concurrency.
    /// `executable` is the `timeslice` binary that has the `_bench-baseline` command.
    public static func measure(maxProcsValues: [Int], scale: Double,
                               executable: String = SelfExecLauncher().executable) -> [BaselineBenchResult] {
        var out = GoBenchmarks.run(maxProcsValues: maxProcsValues, scale: scale)
        for runtime in childRuntimes {
            for procs in maxProcsValues {
                out.append(inChild(executable: executable, runtime: runtime, maxProcs: procs, scale: scale))
            }
        }
        return out
    }

    /// Runs one column in `executable _bench-baseline`.
    static func inChild(executable: String, runtime: String, maxProcs: Int, scale: Double) -> BaselineBenchResult {
        let args = ["_bench-baseline", "--runtime", runtime, "--max-procs", String(maxProcs), "--scale", String(scale)]
        let child: ChildProcessResult
        do {
            child = try ChildProcess.run(executable: executable, arguments: args, deadlineNanoseconds: childDeadline)
        } catch {
            return .unavailable(runtime, maxProcs: maxProcs, reason: "cannot start \(executable): \(error)")
        }
        let stderr = String(decoding: child.stderr, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
        if child.timedOut {
            return .unavailable(runtime, maxProcs: maxProcs, reason: "killed after \(childDeadline / 1_000_000_000) s: \(stderr)")
        }
        guard let result = parse(stdout: child.stdout) else {
            return .unavailable(runtime, maxProcs: maxProcs, reason: "the benchmark child ended with \(child.termination) and no result: \(stderr)")
        }
        return result
    }

    static func parse(stdout: Data) -> BaselineBenchResult? {
        let text = String(decoding: stdout, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix(linePrefix) }) else { return nil }
        return try? JSONDecoder().decode(BaselineBenchResult.self, from: Data(line.dropFirst(linePrefix.count).utf8))
    }

    /// The child side: restricts this whole process to the first `maxProcs` allowed CPUs, runs
    /// `runtime`'s benchmarks and returns the line to print.
    public static func childLine(runtime: String, maxProcs: Int, scale: Double) -> String {
        let result: BaselineBenchResult
        do {
            // The name first: an unknown one must not restrict the process (the tests call
            // this in the test process itself, which then ran the rest of the suite on one CPU).
            guard childRuntimes.contains(runtime) else {
                throw WorkloadUnavailable("no such baseline (\(childRuntimes.joined(separator: ", ")))")
            }
            let cpus = try self.cpus(maxProcs)
            try ProcessPlacement.applyToProcess(cpus)
            result = runtime == "threads" ? ThreadBenchmarks.run(cpus: cpus, scale: scale)
                : SwiftConcurrencyBenchmarks.run(cpus: cpus, scale: scale)
        } catch let e as WorkloadUnavailable {
            result = .unavailable(runtime, maxProcs: maxProcs, reason: e.reason)
        } catch {
            result = .unavailable(runtime, maxProcs: maxProcs, reason: "cannot restrict the process to \(maxProcs) CPUs: \(error)")
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        // Encoding a plain struct of strings and numbers cannot fail.
        return linePrefix + String(decoding: try! enc.encode(result), as: UTF8.self)
    }

    /// The first `count` CPUs this process may use.
    static func cpus(_ count: Int) throws -> CPUSet {
        let allowed = try Affinity.current().sorted
        guard count >= 1, allowed.count >= count else {
            throw WorkloadUnavailable("needs \(count) CPUs, this process may use \(allowed.count) (\(CPUSet(allowed).listString))")
        }
        return CPUSet(allowed.prefix(count))
    }
}
