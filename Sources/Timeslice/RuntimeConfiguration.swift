// Every knob of a run, recorded with its results. Environment variables
// (TIMESLICE_MAXPROCS, TIMESLICE_PREEMPT, TIMESLICE_TIMESLICE, TIMESLICE_STACK_SIZE,
// TIMESLICE_SCHEDTRACE, TIMESLICE_TRACE, TIMESLICE_NETPOLL_SPIN) override the defaults in
// fromEnvironment().
import Glibc
import TimesliceHost

public struct RuntimeConfiguration: Codable, Equatable, Sendable {
    /// Number of Ps; nil = min(CPUs in the affinity mask, ceil(cgroup CPU quota)), at least 1.
    public var maxProcs: Int?
    public var preemption: PreemptionMode
    /// Time slice after which sysmon asks a goroutine to stop (polling/async modes).
    public var timeSliceNanoseconds: UInt64
    /// Usable bytes of each goroutine stack (a guard region sits below it).
    public var stackSize: Int
    /// Print a Go-style SCHED line every this many milliseconds (stderr).
    public var schedtraceMilliseconds: Int?
    /// CPU placement of the worker Ms, sysmon and the main thread.
    public var placement: PlacementSpec
    /// The CPUs `placement` may choose from; nil: the starting thread's affinity (∩ cpuset).
    /// Set when the runtime starts on a thread confined to fewer CPUs than the process may
    /// use and a thread should still go outside them: the lab's server confines the runtime
    /// to the server's CPUs and puts sysmon on a CPU of its own (the experiments' `sysmon`
    /// axis). Ms without a placement inherit the starting thread's affinity either way.
    public var placementCPUs: CPUSet?
    /// Workload hint recorded with results: the probe goroutine locks its OS thread.
    public var lockOSThread: Bool
    /// Write a Chrome/Perfetto trace (JSON) of scheduler events here at shutdown.
    public var traceFile: String?
    /// Busy polling: an idle M about to block in epoll_wait first polls without blocking for
    /// this long (as Linux's SO_BUSY_POLL, or Shenango's and Caladan's spinning cores), so a
    /// request arriving meanwhile costs no sleep and wake-up of its thread — several µs on a
    /// virtual machine. It trades idle CPU for latency: up to this much per idle spell while
    /// goroutines wait on sockets. nil or 0: block at once, as Go does.
    public var netpollSpinNanoseconds: UInt64?

    // The one source of truth for every knob's default and bounds: the environment parser below,
    // the lab's spec decoder and the CLI all use these.
    /// Go's fixed slice, the default here.
    public static let defaultTimeSliceNanoseconds: UInt64 = 10_000_000
    /// Below this, sysmon's own wake-ups and the signal cost dominate the slice.
    public static let minimumTimeSliceNanoseconds: UInt64 = 50_000
    public static let maximumTimeSliceNanoseconds: UInt64 = 10_000_000_000
    /// Go's default: asynchronous preemption. Known limits for user code that holds
    /// thread-owned locks are in docs/ARCHITECTURE.md; TIMESLICE_PREEMPT=cooperative opts out.
    public static let defaultPreemption: PreemptionMode = .async
    public static let maxProcsRange = 1...1024
    /// The longest busy-polling spell (netpollSpinNanoseconds).
    public static let maximumNetpollSpinNanoseconds: UInt64 = 1_000_000
    public static let defaultStackSize = 256 * 1024
    public static let minimumStackSize = 16 * 1024

    public init(maxProcs: Int? = nil, preemption: PreemptionMode = RuntimeConfiguration.defaultPreemption,
                timeSliceNanoseconds: UInt64 = RuntimeConfiguration.defaultTimeSliceNanoseconds,
                stackSize: Int = RuntimeConfiguration.defaultStackSize,
                schedtraceMilliseconds: Int? = nil, placement: PlacementSpec = PlacementSpec(),
                lockOSThread: Bool = false, traceFile: String? = nil, netpollSpinNanoseconds: UInt64? = nil) {
        self.maxProcs = maxProcs
        self.preemption = preemption
        self.timeSliceNanoseconds = timeSliceNanoseconds
        self.stackSize = stackSize
        self.schedtraceMilliseconds = schedtraceMilliseconds
        self.placement = placement
        self.lockOSThread = lockOSThread
        self.traceFile = traceFile
        self.netpollSpinNanoseconds = netpollSpinNanoseconds
    }

    /// Defaults overridden by TIMESLICE_* environment variables. A malformed value stops the
    /// program with one line naming the variable and what it accepts, and exit status 64 (no
    /// trap, no backtrace: it is the user's input, not a bug). Callers that want to handle the
    /// error themselves use `parse(environment:)`.
    public static func fromEnvironment(_ environment: [String: String] = currentEnvironment()) -> RuntimeConfiguration {
        do {
            return try parse(environment: environment)
        } catch {
            fputs("timeslice: \(error)\n", stderr)
            exit(64)
        }
    }

    public static func parse(environment: [String: String]) throws -> RuntimeConfiguration {
        var c = RuntimeConfiguration()
        if let v = environment["TIMESLICE_MAXPROCS"] {
            guard let n = Int(v), maxProcsRange.contains(n) else {
                throw ConfigurationError("TIMESLICE_MAXPROCS=\(v): expected a whole number from \(maxProcsRange.lowerBound) to \(maxProcsRange.upperBound)")
            }
            c.maxProcs = n
        }
        if let v = environment["TIMESLICE_PREEMPT"] {
            guard let mode = PreemptionMode(rawValue: v) else {
                throw ConfigurationError("TIMESLICE_PREEMPT=\(v): expected one of cooperative, polling, async")
            }
            c.preemption = mode
        }
        if let v = environment["TIMESLICE_TIMESLICE"] {
            guard let ns = DurationText.parse(v),
                  (minimumTimeSliceNanoseconds...maximumTimeSliceNanoseconds).contains(ns) else {
                throw ConfigurationError("TIMESLICE_TIMESLICE=\(v): expected a duration from \(DurationText.render(minimumTimeSliceNanoseconds)) to \(DurationText.render(maximumTimeSliceNanoseconds)), like 50us, 1ms, 10ms (units: \(DurationText.allowedUnits))")
            }
            c.timeSliceNanoseconds = ns
        }
        if let v = environment["TIMESLICE_STACK_SIZE"] {
            guard let bytes = parseByteSize(v), bytes >= minimumStackSize else {
                throw ConfigurationError("TIMESLICE_STACK_SIZE=\(v): expected a size of at least 16K, like 64K, 256K, 1M")
            }
            c.stackSize = bytes
        }
        if let v = environment["TIMESLICE_TRACE"] {
            guard !v.isEmpty else { throw ConfigurationError("TIMESLICE_TRACE is empty: expected a file path for the trace JSON") }
            c.traceFile = v
        }
        if let v = environment["TIMESLICE_NETPOLL_SPIN"] {
            guard let ns = DurationText.parse(v), ns <= maximumNetpollSpinNanoseconds else {
                throw ConfigurationError("TIMESLICE_NETPOLL_SPIN=\(v): expected a duration from 0 to \(DurationText.render(maximumNetpollSpinNanoseconds)), like 20us, 50us (units: \(DurationText.allowedUnits))")
            }
            c.netpollSpinNanoseconds = ns
        }
        if let v = environment["TIMESLICE_SCHEDTRACE"] {
            guard let ms = Int(v), ms >= 1 else {
                throw ConfigurationError("TIMESLICE_SCHEDTRACE=\(v): expected milliseconds between lines, >= 1")
            }
            c.schedtraceMilliseconds = ms
        }
        return c
    }

    public static func currentEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }

    /// The number of Ps this configuration yields on this machine (Go 1.25 rule by default).
    public var resolvedMaxProcs: Int {
        if let maxProcs { return maxProcs }
        let affinity = (try? Affinity.current()) ?? CPUSet(0..<max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        return defaultMaxProcs(affinity: affinity, cgroup: CgroupLimits.read())
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// "64K", "256K", "1M", "65536" → bytes.
public func parseByteSize(_ text: String) -> Int? {
    let upper = text.uppercased()
    let scales: [(String, Int)] = [("K", 1024), ("KB", 1024), ("M", 1 << 20), ("MB", 1 << 20)]
    for (suffix, scale) in scales.reversed() where upper.hasSuffix(suffix) {
        guard let v = Int(upper.dropLast(suffix.count)) else { return nil }
        return v * scale
    }
    return Int(upper)
}
