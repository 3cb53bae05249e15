// `timeslice bench --only net`: TCP echo round trip over loopback, the server workload's
// servers (ServerWorkload+<Runtime>.swift) with a zero service time, each measured in the same
// invocation by the same client: one connection, a plain thread doing blocking 16-byte
// write + read, so the numbers differ only by the server (its runtime's wake-up path from
// socket readiness to the handler and back). Runtimes: timeslice (goroutine sockets on the
// netpoller, async preemption, default slice), timeslice+spin (the same with 50 µs of busy
// polling before an idle M blocks in epoll_wait: RuntimeConfiguration.netpollSpinNanoseconds),
// go (baselines/go `server`), threads (a pthread per connection), swift-nio (one event loop
// per CPU).
// Placement, the same for every runtime (ServerCPUs, as the server experiment at max_procs 1):
// the server confined to the first usable CPU (one P, GOMAXPROCS=1, one event loop), the
// client pinned to another. Left to the kernel with every CPU each, Go's p50 moved between
// 9 and 19 µs from one invocation to the next (timeslice's stayed at 20-21 µs): where the
// kernel put the client and the server's threads decided the row, not the runtime.
//
// Rounds: the round trips are split over `rounds` rounds; each round measures every runtime
// (a server started afresh) in a rotated order, so drift on a shared machine hits them
// alike, and a ratio is taken within each round (paired), as the preemption bench's costs.
//
// JSON (`--json`), one object:
//   echo_rtt_ns      {runtime: median over rounds of the round's p50 round trip}
//   echo_rtt_p99_ns  {runtime: p99 of all its round trips}
//   ratios           {"timeslice/go": median over rounds of the round's p50 / p50,
//                     "timeslice/threads", "timeslice/swift-nio", and "timeslice+spin/..."}
//   ratios_ci95      {ratio: [low, high]}: bootstrap 95 % interval of that median (seeded)
//   unavailable      {runtime: reason}
//   round_trips      measured round trips per runtime, all rounds (after a 10 % warm-up each)
//   rounds           rounds
// The table judges issue 14's target, timeslice/go <= 1, by the interval (TargetVerdict).
import Foundation
import Timeslice
import TimesliceHost

public struct NetBenchReport: Codable, Sendable {
    public var echoRttNs: [String: Double] = [:]
    public var echoRttP99Ns: [String: Double] = [:]
    public var ratios: [String: Double] = [:]
    public var ratiosCI95: [String: [Double]] = [:]
    public var unavailable: [String: String] = [:]
    public var roundTrips: Int
    public var rounds: Int = 1
    /// Where the servers and the client ran, e.g. "server confined to cpu 0 (n = 1), client pinned to cpu 1".
    public var placement: String = ""

    enum CodingKeys: String, CodingKey {
        case echoRttNs = "echo_rtt_ns", echoRttP99Ns = "echo_rtt_p99_ns", ratios, unavailable, roundTrips = "round_trips"
        case placement, ratiosCI95 = "ratios_ci95", rounds
    }

    /// "timeslice+spin": the same server with busy polling (RuntimeConfiguration.
    /// netpollSpinNanoseconds = NetBenchmarks.spinNanoseconds), a row of its own.
    public static let runtimes = ["timeslice", "timeslice+spin", "go", "threads", "swift-nio"]

    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public func table() -> String {
        var out = "net: TCP echo round trip over loopback (16 bytes each way, one connection, the same blocking client for every server; \(roundTrips) round trips in \(rounds) interleaved rounds)\n"
        if !placement.isEmpty { out += "placement: \(placement)\n" }
        out += "runtime         p50        p99   (p50: median of the rounds' p50s; p99: of every round trip)\n"
        for rt in Self.runtimes {
            if let p50 = echoRttNs[rt] {
                out += rt.padding(toLength: 15, withPad: " ", startingAt: 0)
                    + " " + DurationText.render(UInt64(p50)).padding(toLength: 10, withPad: " ", startingAt: 0)
                    + " " + DurationText.render(UInt64(echoRttP99Ns[rt] ?? 0)) + "\n"
            } else {
                out += rt.padding(toLength: 15, withPad: " ", startingAt: 0) + " unavailable: \(unavailable[rt] ?? "?")\n"
            }
        }
        for (k, v) in ratios.sorted(by: { $0.key < $1.key }) {
            let ci = ratiosCI95[k].map { String(format: " [95 %% CI %.2f..%.2f]", $0[0], $0[1]) } ?? ""
            out += "\(k) (p50, paired by round): \(String(format: "%.2f", v))\(ci)\n"
        }
        if let ratio = ratios["timeslice/go"] {
            out += "target timeslice/go <= 1: " + TargetVerdict.text(ratio, ci: ratiosCI95["timeslice/go"], target: 1, unit: "") + "\n"
        }
        return out
    }
}

public enum NetBenchmarks {
    /// Measures every runtime (only timeslice without baselines).
    public static func run(scale: Double, baselines: Bool = true) -> NetBenchReport {
        let perRound = max(Int(20_000 * scale) / rounds, 100)
        var report = NetBenchReport(roundTrips: perRound * rounds)
        report.rounds = rounds
        if let cpus = try? placement() {
            report.placement = cpus.generatorCPU.map { "\(cpus.description), client pinned to cpu \($0)" }
                ?? "\(cpus.description), client NOT pinned (one usable CPU: it shares the server's)"
        }
        let runtimes = baselines ? NetBenchReport.runtimes : ["timeslice", "timeslice+spin"]
        var p50s: [String: [Double]] = [:]   // per runtime, one per round
        var merged: [String: LatencyRecorder] = [:]
        for round in 0..<rounds {
            for k in runtimes.indices {
                let runtime = runtimes[(k + round) % runtimes.count]
                guard report.unavailable[runtime] == nil else { continue }
                do {
                    let rtt = try measure(runtime, roundTrips: perRound)
                    p50s[runtime, default: []].append(Double(rtt.histogram.valueAtPercentile(50)))
                    merged[runtime, default: LatencyRecorder()].add(rtt)
                } catch let e as WorkloadUnavailable {
                    report.unavailable[runtime] = e.reason
                } catch {
                    report.unavailable[runtime] = "\(error)"
                }
            }
        }
        for runtime in runtimes where report.unavailable[runtime] == nil {
            guard let values = p50s[runtime], let all = merged[runtime] else { continue }
            report.echoRttNs[runtime] = RepetitionAggregator.median(values)
            report.echoRttP99Ns[runtime] = Double(all.histogram.valueAtPercentile(99))
        }
        (report.ratios, report.ratiosCI95) = pairedRatios(p50s.filter { report.unavailable[$0.key] == nil })
        return report
    }

    /// "timeslice/go" and the like from each runtime's per-round p50s: the median over rounds of
    /// the round's ratio, and its bootstrap 95 % interval (2 rounds or more). A pair whose
    /// rounds do not line up (one side missed a round) gets no ratio.
    static func pairedRatios(_ p50s: [String: [Double]]) -> (ratios: [String: Double], ci95: [String: [Double]]) {
        var ratios: [String: Double] = [:], ci95: [String: [Double]] = [:]
        for mine in ["timeslice", "timeslice+spin"] {
            guard let ts = p50s[mine] else { continue }
            for other in NetBenchReport.runtimes where !other.hasPrefix("timeslice") {
                guard let o = p50s[other], o.count == ts.count, !o.contains(where: { $0 <= 0 }) else { continue }
                let perRound = zip(ts, o).map { $0 / $1 }
                let key = "\(mine)/\(other)"
                ratios[key] = RepetitionAggregator.median(perRound)
                if perRound.count >= 2 {
                    ci95[key] = RepetitionAggregator.bootstrapMedianCI(perRound, seed: ciSeed,
                                                                       statistic: "median paired p50 ratio \(key)").bounds
                }
            }
        }
        return (ratios, ci95)
    }

    /// Rounds the round trips are split over (each round measures every runtime).
    public static let rounds = 5
    /// Seeds the bootstrap of the ratios' intervals: the same rounds give the same interval.
    static let ciSeed: UInt64 = 0x6563_686f_7274_74

    /// The "timeslice+spin" row's busy-polling spell: several client turnarounds long.
    public static let spinNanoseconds: UInt64 = 50_000

    /// Round trips against `runtime`'s echo server (warm-up: the first tenth, not recorded).
    static func measure(_ runtime: String, roundTrips: Int) throws -> LatencyRecorder {
        let context = try benchContext(runtime == "timeslice+spin" ? "timeslice" : runtime)
        let work = CPUWork(roundsPerMicrosecond: 0)  // zero service time: a pure echo
        let progress = ProgressBeacon()
        let cpus = try placement()
        let server: RunningServer
        switch runtime {
        case "timeslice", "timeslice+spin":
            server = try ServerWorkload.startTimeslice(context, work: work, progress: progress, cpus: cpus, counters: RuntimeCountersBox(),
                                                       netpollSpinNanoseconds: runtime == "timeslice+spin" ? spinNanoseconds : nil)
        case "threads": server = try ServerWorkload.startThreads(work: work, progress: progress, cpus: cpus)
        case "swift-nio": server = try ServerWorkload.startSwiftNIO(work: work, progress: progress, cpus: cpus)
        case "go":
            let invocation = try GoInvocation.make(context.configuration)
            server = try ServerWorkload.startGo(binary: try GoReferenceProgram.binary(progress: progress), invocation: invocation,
                                                connections: 1, cpus: cpus, beacon: nil, deadline: 120_000_000_000)
        default: throw WorkloadUnavailable("no such runtime \(runtime)")
        }
        let measured = Result { () throws -> LatencyRecorder in
            let before = try Affinity.current()
            if let cpu = cpus.generatorCPU { try Affinity.setCurrentThread([cpu]) }
            defer { try? Affinity.setCurrentThread(before) }
            return try echo(port: server.port, roundTrips: roundTrips)
        }
        try server.stop()
        return try measured.get()
    }

    /// The server on the first usable CPU (n = 1), the client on another (see the file comment).
    static func placement() throws -> ServerCPUs {
        let usable = try Affinity.current()
        return ServerCPUs.resolve(maxProcs: serverCPUs, usable: usable, defaultCount: usable.sorted.count)
    }

    /// The servers' CPU count: n of ServerCPUs, timeslice's maxProcs, GOMAXPROCS, event loops.
    static let serverCPUs = 1

    private static func echo(port: UInt16, roundTrips: Int) throws -> LatencyRecorder {
        let fd = try LoopbackSocket.connect(port: port, deadline: MonotonicClock.now() + 5_000_000_000)
        defer { close(fd) }
        var rtt = LatencyRecorder()
        var buffer = (UInt64(0), UInt64(0))
        try withUnsafeMutableBytes(of: &buffer) { bytes in
            for i in 0..<(roundTrips + roundTrips / 10) {
                ServerMessage(id: UInt64(i), type: 0, value: 0).encode(into: bytes)
                let t0 = MonotonicClock.now()
                try LoopbackSocket.writeAll(fd, UnsafeRawBufferPointer(bytes))
                guard try LoopbackSocket.readFully(fd, bytes) else { throw WorkloadFailure("echo: the server closed the connection") }
                let t1 = MonotonicClock.now()
                if i >= roundTrips / 10 { rtt.record(t1 - t0) }
            }
        }
        return rtt
    }

    /// A configuration of the server workload at `runtime` (async preemption, default slice,
    /// maxProcs `serverCPUs`), for the servers that take one (timeslice's bridge, Go's invocation).
    private static func benchContext(_ runtime: String) throws -> WorkloadContext {
        let spec = try SpecDecoder.decode(data: Data("""
            {"schema_version": 1, "name": "bench-net", "workload": {"kind": "server"}, "duration": "1s"}
            """.utf8))
        let kind = RuntimeKind(rawValue: runtime) ?? .threads
        let point = MatrixPoint(runtime: kind, maxProcs: serverCPUs).normalized(keeping: ServerParameters.extraAxes(for: kind))
        return WorkloadContext(configuration: RunConfiguration(spec: spec, point: point, repetition: 1), progress: ProgressBeacon())
    }
}
