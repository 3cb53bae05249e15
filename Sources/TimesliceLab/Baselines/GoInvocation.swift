// The command line and environment of the Go reference program for one configuration: the
// lab's workload parameters as its flags (same names, see baselines/go/README.md), and the
// matrix point as Go's own knobs:
//   max_procs      GOMAXPROCS=n; "default" leaves it unset (Go then uses the affinity mask;
//                  Go 1.19 ignores cgroup CPU quotas, unlike the lab's default)
//   preemption     cooperative -> GODEBUG=asyncpreemptoff=1; async -> Go's default; polling has
//                  no Go equivalent (Go's prologue checks are always on), so it is unavailable
//   lock_os_thread -lock_os_thread: the measuring goroutine calls runtime.LockOSThread
//   placement      a CPU set for the whole process (taskset), see ProcessPlacement
// Inherited GOMAXPROCS and GODEBUG are removed so that only the matrix point decides.
// The seed is not passed: none of the Go workloads draws random numbers.
import Foundation

struct GoInvocation: Equatable {
    /// The Go program's workload name (`wakeup`, `pingpong-chan`, ...).
    var workload: String
    var arguments: [String]
    /// Variables to set in the Go program's environment.
    var environment: [String: String]
    /// How many workers the `threads` variant would pin, for the process CPU set.
    var workers: Int

    static func make(_ c: RunConfiguration) throws -> GoInvocation {
        guard let go = c.workload.parameters as? any GoReferenceWorkload else {
            throw Variants.unavailable(.go, c.workload.kind)
        }
        let w = try go.goWorkload(c)
        var args = w.arguments
        let name = w.name
        let workers = w.workers
        args += ["-warmup", ns(c.warmupNanoseconds)]
        switch c.length {
        case .duration(let d): args += ["-duration", ns(d)]
        case .iterations(let n): args += ["-iterations", String(n)]
        }
        if c.point.lockOSThread == true { args.append("-lock_os_thread") }
        var env: [String: String] = [:]
        if let procs = c.point.maxProcs { env["GOMAXPROCS"] = String(procs) }
        switch c.point.preemption ?? .async {
        case .cooperative: env["GODEBUG"] = "asyncpreemptoff=1"
        case .async: break
        case .polling:
            throw WorkloadUnavailable("Go has no polling-only preemption mode (its prologue checks are always on); "
                + "use cooperative (asyncpreemptoff=1) with hog_kind polling")
        }
        return GoInvocation(workload: name, arguments: args, environment: env, workers: workers)
    }

    /// Go's time.ParseDuration reads "1500000ns" exactly, whatever the value.
    static func ns(_ v: UInt64) -> String { "\(v)ns" }

    /// The process environment for the Go program: this one without Go's knobs, plus ours.
    func processEnvironment(from base: [String: String]) -> [String: String] {
        var env = base
        env.removeValue(forKey: "GOMAXPROCS")
        env.removeValue(forKey: "GODEBUG")
        env.merge(environment) { _, ours in ours }
        return env
    }

    /// What a reader needs to rerun it by hand, for the placement note.
    func commandLine(binary: String, cpus: String?) -> String {
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value) " }.joined()
        return env + (cpus.map { "taskset -c \($0) " } ?? "") + ([(binary as NSString).lastPathComponent, workload] + arguments).joined(separator: " ")
    }
}

/// A workload kind the Go reference program implements: its name there and its flags (same
/// names as the lab's parameters, baselines/go/README.md), declared beside the kind.
protocol GoReferenceWorkload {
    func goWorkload(_ c: RunConfiguration) throws -> (name: String, arguments: [String], workers: Int)
}

