// The micro-benchmarks of `timeslice bench` measured on the other runtimes (issue 7), so that
// every timeslice number is read beside go, OS threads and Swift concurrency from the same
// invocation on the same machine. One file per baseline:
//   GoBenchmarks.swift                 the Go reference program (baselines/go), GOMAXPROCS=1, 2
//   ThreadBenchmarks.swift             pthreads: sched_yield, futex, pthread_create, parked threads
//   SwiftConcurrencyBenchmarks.swift   Tasks: Task.yield, AsyncStream, task groups, suspended tasks
//   BaselineBenchmarks.swift           runs the last two in fresh child processes, collects all
//
// Every baseline column has a `maxProcs`, the parallelism it stands for (GOMAXPROCS for go; the
// CPUs the process is restricted to for threads and swift-concurrency), and each ratio divides
// timeslice's number at the same maxProcs by the baseline's. A benchmark a baseline cannot
// measure has a reason instead of a number, and is printed as "unavailable: reason".
import Foundation

/// The four micro-benchmarks, named as in `MicroBenchmarkResult`'s JSON.
public enum MicroBenchmark: String, CaseIterable, Codable, Sendable {
    case yield = "yield_ns"
    case channel = "chan_ns"
    case spawnJoin = "spawn_join_ns"
    case parkedRSS = "parked_rss_bytes"

    /// The timeslice value of this benchmark.
    public func value(of r: MicroBenchmarkResult) -> Double {
        switch self {
        case .yield: return r.yieldNanoseconds
        case .channel: return r.channelNanoseconds
        case .spawnJoin: return r.spawnJoinNanoseconds
        case .parkedRSS: return r.parkedRSSBytes
        }
    }
}

/// One baseline column: a runtime at one maxProcs.
public struct BaselineBenchResult: Codable, Equatable, Sendable {
    /// "go", "threads" or "swift-concurrency".
    public var runtime: String
    /// GOMAXPROCS for go; for threads and swift-concurrency, the number of CPUs the measuring
    /// process is restricted to. Compared with timeslice at the same maxProcs.
    public var maxProcs: Int
    /// Benchmark (MicroBenchmark raw value) → number. A benchmark is here or in `unavailable`.
    public var values: [String: Double]
    /// Benchmark → why there is no number ("go not installed", ...).
    public var unavailable: [String: String]
    /// How many threads/tasks/goroutines `parked_rss_bytes` was averaged over (0: not measured).
    public var parkedCount: Int
    /// How it was measured (pinning, pool width, Go version): printed under the table.
    public var notes: [String]

    public init(runtime: String, maxProcs: Int, values: [String: Double] = [:], unavailable: [String: String] = [:],
                parkedCount: Int = 0, notes: [String] = []) {
        self.runtime = runtime
        self.maxProcs = maxProcs
        self.values = values
        self.unavailable = unavailable
        self.parkedCount = parkedCount
        self.notes = notes
    }

    /// A column with nothing measured, every benchmark unavailable for the same reason.
    public static func unavailable(_ runtime: String, maxProcs: Int, reason: String) -> BaselineBenchResult {
        BaselineBenchResult(runtime: runtime, maxProcs: maxProcs,
                            unavailable: Dictionary(uniqueKeysWithValues: MicroBenchmark.allCases.map { ($0.rawValue, reason) }))
    }

    /// Sets a measured value, or the reason when `measure` throws; a non-finite or negative
    /// number is not a measurement either.
    mutating func record(_ benchmark: MicroBenchmark, _ measure: () throws -> Double) {
        do {
            let v = try measure()
            guard v.isFinite, v >= 0 else {
                unavailable[benchmark.rawValue] = "measurement gave \(v)"
                return
            }
            values[benchmark.rawValue] = v
        } catch let e as WorkloadUnavailable {
            unavailable[benchmark.rawValue] = e.reason
        } catch {
            unavailable[benchmark.rawValue] = "error: \(error)"
        }
    }

    public var label: String { "\(runtime)/\(maxProcs)" }

    enum CodingKeys: String, CodingKey {
        case runtime, maxProcs = "max_procs", values, unavailable, parkedCount = "parked_count", notes
    }
}
