// The micro-benchmarks on the real Go runtime, for `timeslice bench`: the Go reference program
// (baselines/go, found or built as for `timeslice run`, see GoReferenceProgram) at GOMAXPROCS=1
// and 2, GODEBUG unset (async preemption on, as Go ships), no CPU pinning:
//   yield_ns          `yield`: two goroutines pass a turn with runtime.Gosched; `ns_per_switch`
//                     (round trip / 2; each round trip includes one clock read)
//   chan_ns           `pingpong-chan`: unbuffered channel ping-pong; `ns_per_handoff`
//   spawn_join_ns     `spawn-join -batch 10000`: go + WaitGroup.Done, then Wait; `ns_per_goroutine`
//   parked_rss_bytes  `parked-rss -goroutines 100000`: RSS growth per goroutine parked on a
//                     channel receive; `rss_bytes_per_goroutine`
// The timed ones run three times (each a fresh process, `-warmup` discarded) and the median is
// kept. Anything that prevents a number (no Go toolchain, a failed build, a failed run) becomes
// that benchmark's "unavailable" reason.
import Foundation

enum GoBenchmarks {
    static let parkedCount = 100_000
    static let spawnBatch = 10_000

    static func run(maxProcsValues: [Int], scale: Double,
                    environment: [String: String] = ProcessInfo.processInfo.environment) -> [BaselineBenchResult] {
        let binary: String
        do {
            binary = try GoReferenceProgram.binary(environment: environment, progress: ProgressBeacon())
        } catch let e as WorkloadUnavailable {
            return maxProcsValues.map { .unavailable("go", maxProcs: $0, reason: e.reason) }
        } catch {
            return maxProcsValues.map { .unavailable("go", maxProcs: $0, reason: "\(error)") }
        }
        let window = "\(max(20, Int(300 * scale)))ms"
        let warmup = "\(max(10, Int(100 * scale)))ms"
        let parked = max(1_000, Int(Double(parkedCount) * scale))
        return maxProcsValues.map { procs in
            var r = BaselineBenchResult(runtime: "go", maxProcs: procs, parkedCount: parked)
            var version: String?
            func value(_ workload: String, _ key: String, _ args: [String]) throws -> Double {
                let out = try invoke(binary, workload, args, procs: procs, environment: environment)
                version = out.goVersion
                guard let v = out.values?[key] else {
                    throw WorkloadFailure("the Go program's \(workload) reported no \(key)")
                }
                return v
            }
            let timed = ["-duration", window, "-warmup", warmup]
            r.record(.parkedRSS) { try value("parked-rss", "rss_bytes_per_goroutine", ["-goroutines", String(parked)]) }
            r.record(.yield) { try median3 { try value("yield", "ns_per_switch", timed) } }
            r.record(.channel) { try median3 { try value("pingpong-chan", "ns_per_handoff", timed) } }
            r.record(.spawnJoin) { try median3 { try value("spawn-join", "ns_per_goroutine", ["-batch", String(spawnBatch)] + timed) } }
            r.notes = ["go/\(procs): \(version ?? "go") GOMAXPROCS=\(procs), async preemption on, unpinned; "
                       + "medians of 3 runs of \(window) after \(warmup) warm-up; spawn-join batches of \(spawnBatch), parked-rss over \(parked) goroutines"]
            return r
        }
    }

    static func median3(_ measure: () throws -> Double) throws -> Double {
        let v = try (0..<3).map { _ in try measure() }.sorted()
        return v[1]
    }

    /// One run of the Go program; its JSON, which must say `"status": "ok"`.
    static func invoke(_ binary: String, _ workload: String, _ args: [String], procs: Int,
                       environment: [String: String]) throws -> GoOutput {
        var env = environment
        env.removeValue(forKey: "GODEBUG")
        env["GOMAXPROCS"] = String(procs)
        let child = try ChildProcess.run(executable: binary, arguments: [workload] + args, environment: env,
                                         deadlineNanoseconds: 120_000_000_000)
        let tail = String(decoding: child.stderr, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
        guard !child.timedOut, child.termination == .exited(0) else {
            throw WorkloadFailure("go \(workload) \(child.timedOut ? "timed out" : "ended with \(child.termination)"): \(tail)")
        }
        let out: GoOutput
        do { out = try JSONDecoder().decode(GoOutput.self, from: child.stdout) } catch {
            throw WorkloadFailure("go \(workload) printed no JSON result: \(String(decoding: child.stdout.prefix(200), as: UTF8.self))")
        }
        guard out.status == "ok" else { throw WorkloadFailure("go \(workload): status \(out.status) \(out.reason ?? "")") }
        return out
    }
}
