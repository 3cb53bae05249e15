// What every server variant shares: the request handler, the generator process and the mapping
// of its report onto the configuration's result.
//
// A variant only starts its server on 127.0.0.1 (`RunningServer`); `serve` then runs
// `timeslice _loadgen` as a child process (ChildProcess: deadline, own process group,
// PR_SET_PDEATHSIG), blocks until it has exited and stops the server: the generator's
// connections are closed by then, so every connection handler has seen end of stream. The
// echo bench (`timeslice bench --only net`) starts the same servers.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

/// A server listening on 127.0.0.1:`port` until `stop`, which waits for its threads (or
/// process) to end and reports a server that failed.
struct RunningServer {
    let port: UInt16
    /// The process the server's threads live in: this one, or the Go program (nil until it
    /// has started).
    let pid: () -> pid_t?
    let stop: () throws -> Void
}

extension ServerWorkload {
    /// Starts the server on the configuration's CPUs (ServerCPUs), measures it with the
    /// generator, stops it. The placement note says where the server's threads could run (a
    /// census halfway through the measurement) and where the generator ran; the counters
    /// `server_cpu_*_permille` who had the server's CPUs meanwhile (ServerCPUShare).
    func serve(_ context: WorkloadContext, start: (CPUWork, ProgressBeacon, ServerCPUs) throws -> RunningServer) throws -> WorkloadResult {
        let cpus = try ServerCPUs.resolve(context.configuration)
        let server = try start(CPUWork.calibrate(), context.progress, cpus)
        let (opens, length) = window(context.configuration)
        let observer = ServerWindowObserver(opensAfter: opens, length: length, cpus: cpus, pid: server.pid)
        let measured = Result { try measure(context, port: server.port, cpus: cpus) }
        let seen = observer.finish()
        let stopped = Result { try server.stop() }
        // A failed measurement explains a server that then had to be killed, not the reverse.
        var (result, generator) = try measured.get()
        try stopped.get()
        context.placementNote = [context.placementNote, "\(cpus.description); its process's threads by allowed CPUs: "
            + (seen.census?.text ?? "not seen"), generator].compactMap { $0 }.joined(separator: "; ")
        if let share = seen.share { result.counters.merge(share.counters) { _, new in new } }
        return result
    }

    /// When the generator's measured window opens (after its capacity probe and warm-up) and how long it lasts.
    private func window(_ c: RunConfiguration) -> (opens: UInt64, length: UInt64) {
        let probe: UInt64 = if case .capacityFraction = p.rate { p.capacityProbeNanoseconds } else { 0 }
        guard case .duration(let duration) = c.length else { return (probe + c.warmupNanoseconds, 0) }
        return (probe + c.warmupNanoseconds, duration)
    }

    /// The handler every Swift variant runs for one request: the request's service time of
    /// calibrated CPU work, then the response.
    @inline(__always)
    static func handle(_ request: ServerMessage, work: CPUWork) -> ServerMessage {
        blackHole(CPUWork.burn(work.rounds(nanoseconds: UInt64(request.value)), seed: request.id))
        return request.response
    }

    /// The generator's program: this very binary (a configuration's child is `timeslice _child`).
    static let generatorExecutable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe"

    /// Runs the load generator against the server on `port`, pinned to `cpus.generatorCPU` when
    /// there is one, and returns the configuration's result and where the generator ran.
    func measure(_ context: WorkloadContext, port: UInt16, cpus: ServerCPUs) throws -> (WorkloadResult, String) {
        let c = context.configuration
        guard case .duration(let duration) = c.length else {
            throw WorkloadFailure("the server workload measures for a duration; set \"duration\", not \"iterations\"")
        }
        let spec = LoadGeneratorSpec(port: port, types: p.requestTypes, rate: p.rate,
                                     connections: p.connections, seed: c.seed, warmupNanoseconds: c.warmupNanoseconds,
                                     durationNanoseconds: duration, capacityProbeNanoseconds: p.capacityProbeNanoseconds,
                                     timeoutNanoseconds: p.timeoutNanoseconds, pinCPU: cpus.generatorCPU,
                                     pacing: GeneratorPacing.resolve(p.generatorPacing, ownCPU: cpus.generatorCPU != nil),
                                     requestLogPath: ChildTrace.requestedRequestLogPath())
        let deadline = c.warmupNanoseconds + duration + p.capacityProbeNanoseconds + p.timeoutNanoseconds + 10_000_000_000
        let child = try ChildProcess.run(executable: Self.generatorExecutable,
                                         arguments: ["_loadgen", "--spec", String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)],
                                         deadlineNanoseconds: deadline)
        let stderr = String(decoding: child.stderr, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
        if child.timedOut { throw WorkloadFailure("the load generator was killed after \(deadline / 1_000_000_000) s: \(stderr)") }
        guard child.termination == .exited(0) else {
            throw WorkloadFailure("the load generator ended with \(child.termination): \(stderr)")
        }
        let report: LoadGeneratorReport
        do {
            report = try JSONDecoder().decode(LoadGeneratorReport.self, from: child.stdout)
        } catch {
            throw WorkloadFailure("the load generator's report is unreadable (\(error)): \(String(decoding: child.stdout.prefix(200), as: UTF8.self))")
        }
        return (try Self.result(report, serverCPUs: cpus.count), Self.generatorPlacement(report, server: cpus))
    }

    static func generatorPlacement(_ r: LoadGeneratorReport, server: ServerCPUs) -> String {
        let seen = r.cpusSeen.map(String.init).joined(separator: ",")
        if let cpu = r.pinnedCPU { return "load generator pinned to cpu \(cpu), \(r.pacing.rawValue) pacing (seen on \(seen))" }
        return "load generator NOT pinned (the server has every usable CPU, \(server.cpus.listString)): "
            + "shares cores with the server, \(r.pacing.rawValue) pacing, ran on cpus \(seen)"
    }

    /// The first request type's latencies are the configuration's `latency_ns` (the short
    /// requests of the default mix); every type's are `latency_<name>_ns` under `histograms`.
    static func result(_ r: LoadGeneratorReport, serverCPUs: Int) throws -> WorkloadResult {
        var histograms: [String: LatencyRecorder] = [:]
        var counters: [String: UInt64] = [:]
        var completed: UInt64 = 0, dropped: UInt64 = 0, timeouts: UInt64 = 0
        for t in r.types {
            histograms["latency_\(t.name)_ns"] = try LatencyRecorder(buckets: t.latencyBuckets)
            counters["\(t.name)_sent"] = t.sent
            counters["\(t.name)_completed"] = t.completed
            counters["\(t.name)_dropped"] = t.dropped
            counters["\(t.name)_timeouts"] = t.timeouts
            completed += t.completed
            dropped += t.dropped
            timeouts += t.timeouts
        }
        histograms["generator_lag_ns"] = try LatencyRecorder(buckets: r.lagBuckets)
        var result = WorkloadResult(latency: histograms["latency_\(r.types[0].name)_ns"]!)
        result.histograms = histograms
        counters["requests"] = completed
        counters["dropped"] = dropped
        counters["timeouts"] = timeouts
        counters["offered_per_second"] = UInt64(r.offeredPerSecond.rounded())
        counters["achieved_per_second"] = r.measuredSeconds > 0 ? UInt64((Double(completed) / r.measuredSeconds).rounded()) : 0
        if let capacity = r.capacityPerSecond { counters["capacity_per_second"] = UInt64(capacity.rounded()) }
        counters["generator_lag_max_ns"] = r.lagMaxNanoseconds
        counters["generator_pinned"] = r.pinnedCPU == nil ? 0 : 1
        counters["generator_spinning"] = r.pacing == .spin ? 1 : 0
        counters["server_cpus"] = UInt64(serverCPUs)
        result.counters = counters
        return result
    }
}
