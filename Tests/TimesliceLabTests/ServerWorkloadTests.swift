// The server workload: its wire format, its arrival schedule, the generator's accounting (every
// scheduled request is answered, dropped or timed out; latency runs from the INTENDED send),
// spec errors, and a real sweep through child processes that leaves no process behind.
// No timing thresholds: only orders of magnitude that hold on any machine.
import Foundation
import XCTest
import TimesliceHost
#if canImport(Glibc)
import Glibc
#endif
@testable import TimesliceLab

final class ServerWorkloadTests: XCTestCase {
    // MARK: Protocol

    func testMessagesAreSixteenLittleEndianBytesAndDecodeAtAnyAlignment() {
        let m = ServerMessage(id: 0x0102_0304_0506_0708, type: 1, value: 500_000)
        let bytes = m.bytes
        XCTAssertEqual(bytes.count, 16)
        XCTAssertEqual(Array(bytes[0..<8]), [8, 7, 6, 5, 4, 3, 2, 1])
        XCTAssertEqual(Array(bytes[8..<12]), [1, 0, 0, 0])
        XCTAssertEqual(Array(bytes[12..<16]), [0x20, 0xA1, 0x07, 0])
        let shifted: [UInt8] = [0xFF] + bytes
        let decoded = shifted.withUnsafeBytes { ServerMessage(decoding: UnsafeRawBufferPointer(rebasing: $0[1...])) }
        XCTAssertEqual(decoded, m)
        XCTAssertEqual(m.response, ServerMessage(id: m.id, type: 1, value: 0))
    }

    // MARK: Schedule

    func testScheduleIsAFunctionOfTheSeedWithTheRequestedMixAndRate() {
        let types = ServerParameters().requestTypes
        func arrivals(seed: UInt64) -> [ServerArrival] {
            Array(ServerSchedule(types: types, rate: 100_000, seed: seed, length: 10_000_000_000))
        }
        let a = arrivals(seed: 7)
        XCTAssertEqual(a, arrivals(seed: 7), "the same seed gives the same requests at the same times")
        XCTAssertNotEqual(Array(a.prefix(100)), Array(arrivals(seed: 8).prefix(100)))
        // 10 s at 100 000/s: a Poisson count has sd ≈ 316, the bounds are ±3 %.
        XCTAssertEqual(Double(a.count), 1_000_000, accuracy: 30_000)
        let long = Double(a.filter { $0.type == 1 }.count) / Double(a.count)
        XCTAssertEqual(long, 0.005, accuracy: 0.0005, "the long share is the mix's")
        XCTAssertTrue(zip(a, a.dropFirst()).allSatisfy { $0.offset <= $1.offset }, "arrivals in time order")
        XCTAssertLessThan(a.last!.offset, 10_000_000_000)
    }

    // MARK: Generator

    /// A stalled SENDER: requests due during a 60 ms stall are sent late and charged from their
    /// intended time, so their latency includes the stall although the server answers in
    /// microseconds; the lag shows the same stall.
    func testLatencyRunsFromTheIntendedSendTime() throws {
        for pacing in GeneratorPacing.allCases { try latencyRunsFromTheIntendedSendTime(pacing) }
    }

    private func latencyRunsFromTheIntendedSendTime(_ pacing: GeneratorPacing) throws {
        try runUnderDeadline(60) {
            let server = try TestServer { request in request.response }
            defer { server.stop() }
            let generator = try LoadGenerator(spec(port: server.port, rate: 2_000, duration: 400_000_000, pacing: pacing))
            generator.beforeArrival = { n in if n == 200 { usleep(60_000) } }
            let report = try generator.run()
            let short = try LatencyRecorder(buckets: report.types[0].latencyBuckets)
            XCTAssertGreaterThan(short.histogram.max, 40_000_000, "the requests due during the stall waited for it")
            XCTAssertGreaterThan(report.lagMaxNanoseconds, 40_000_000)
            // The ~120 requests due during the stall go out at once; those finding no free
            // connection are dropped (counted), the others carry the stall in their latency.
            XCTAssertEqual(report.types.map(\.timeouts), [0, 0])
        }
    }

    /// A server that serves one request at a time for 2 ms, offered 1 000/s: it falls behind,
    /// requests queue on the connections, and latency grows far beyond the service time while
    /// every scheduled request is accounted for: answered, dropped (no free connection) or timed out.
    func testAnOverloadedServerShowsQueueingAndEveryRequestIsAccountedFor() throws {
        for pacing in GeneratorPacing.allCases { try overloadedServerShowsQueueing(pacing) }
    }

    private func overloadedServerShowsQueueing(_ pacing: GeneratorPacing) throws {
        try runUnderDeadline(60) {
            let serial = NSLock()
            let server = try TestServer { request in serial.withLock { usleep(2_000) }; return request.response }
            defer { server.stop() }
            let s = spec(port: server.port, rate: 1_000, duration: 500_000_000, connections: 16, pacing: pacing)
            let report = try LoadGenerator(s).run()
            let short = try LatencyRecorder(buckets: report.types[0].latencyBuckets)
            XCTAssertGreaterThan(short.histogram.valueAtPercentile(90), 10_000_000, "queued behind ~16 × 2 ms")
            let scheduled = ServerSchedule(types: s.types, rate: 1_000, seed: s.seed, length: s.warmupNanoseconds + s.durationNanoseconds)
                .filter { $0.offset >= s.warmupNanoseconds }.count
            let accounted = report.types.reduce(UInt64(0)) { $0 + $1.completed + $1.dropped + $1.timeouts }
            XCTAssertEqual(accounted, UInt64(scheduled))
            XCTAssertGreaterThan(report.types.reduce(0) { $0 + $1.dropped }, 0, "16 connections cannot hold the backlog")
            XCTAssertEqual(report.types.map(\.completed), report.types.map { UInt64(try! LatencyRecorder(buckets: $0.latencyBuckets).count) })
        }
    }

    func testCapacityProbeSetsTheRateAsAFractionOfIt() throws {
        try runUnderDeadline(60) {
            let server = try TestServer { request in request.response }
            defer { server.stop() }
            var s = spec(port: server.port, rate: 1, duration: 200_000_000)
            s.rate = .capacityFraction(0.1)
            let report = try LoadGenerator(s).run()
            let capacity = try XCTUnwrap(report.capacityPerSecond)
            XCTAssertGreaterThan(capacity, 100)
            XCTAssertEqual(report.offeredPerSecond, 0.1 * capacity, accuracy: 1e-6 * capacity)
        }
    }

    // MARK: Spec

    func testBadServerSpecsNameTheField() {
        let cases: [(String, String, UInt)] = [
            (Fixtures.minimal(workload: #"{"kind": "server", "requests": [{"name": "short", "service": "1us", "fraction": 0.9}]}"#),
             "t.json: workload.requests: the fractions sum to 0.9; they must sum to 1 (e.g. 0.995 and 0.005)", #line),
            (Fixtures.minimal(workload: #"{"kind": "server", "requests": [{"name": "short", "service": "-1us", "fraction": 1}]}"#),
             #"t.json: workload.requests[0].service: "-1us" is negative; durations must be positive"#, #line),
            (Fixtures.minimal(workload: #"{"kind": "server", "requests": [{"name": "a", "service": "1us", "fraction": 0.5}, {"name": "a", "service": "1us", "fraction": 0.5}]}"#),
             #"t.json: workload.requests[1].name: "a" names two request types; names must be unique"#, #line),
            (Fixtures.minimal(#""matrix": {"runtime": ["threads", "tokio"]}"#, workload: #"{"kind": "server"}"#),
             #"t.json: matrix.runtime[1]: "tokio" is not one of timeslice, threads, swift-concurrency, swift-nio, go, cyclictest"#, #line),
            (Fixtures.minimal(#""matrix": {"rate": ["50"]}"#, workload: #"{"kind": "server"}"#),
             #"t.json: matrix.rate[0]: expected \#(OfferedRate.help), found a string "50""#, #line),
            (Fixtures.minimal(workload: #"{"kind": "server", "rate": "0%"}"#),
             #"t.json: workload.rate: "0%" is not a usable fraction of capacity; expected \#(OfferedRate.help)"#, #line),
        ]
        for (text, message, line) in cases {
            XCTAssertThrowsError(try Fixtures.spec(text), line: line) { e in
                XCTAssertEqual("\(e)", message, line: line)
            }
        }
    }

    func testRateAxisOverridesTheWorkloadRateAndNamesTheConfiguration() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["threads"], "rate": ["10%", 2000]}"#,
                                                      workload: #"{"kind": "server"}"#))
        let points = MatrixExpansion.expand(spec)
        XCTAssertEqual(points.map(\.id), ["rt=threads,place=none,rate=10%", "rt=threads,place=none,rate=2000"])
        let config = RunConfiguration(spec: spec, point: points[1], repetition: 1)
        XCTAssertEqual(config.workload.parameters(as: ServerParameters.self)?.rate, .perSecond(2000))
        let roundTrip = try JSONDecoder().decode(RunConfiguration.self, from: JSONEncoder().encode(config))
        XCTAssertEqual(roundTrip, config)
    }

    // MARK: End to end

    /// A quick real sweep through child processes of the built binary: the server in the child,
    /// the generator as its child, at max_procs 1. Per-type results, every runtime's server
    /// confined to the first usable CPU and the generator pinned to another (or saying it
    /// shares, on a 1-CPU host), and nothing left running afterwards.
    func testQuickSweepGivesPerTypeResultsAndLeavesNoProcessBehind() throws {
        let binary = try builtTimesliceBinary()
        let root = try Fixtures.temporaryDirectory()
        let spec = try Fixtures.spec("""
            {"schema_version": 1, "name": "server-e2e", "matrix": {"runtime": ["timeslice", "threads", "swift-nio", "go"], "max_procs": [1], "preemption": ["async"], "time_slice": ["100us"], "rate": ["30%"]},
             "workload": {"kind": "server", "connections": 8, "capacity_probe": "100ms"},
             "duration": "300ms", "warmup": "100ms", "watchdog": 60}
            """)
        let report = try runUnderDeadline(240) {
            try SweepRunner(spec: spec, options: SweepOptions(), launcher: SelfExecLauncher(executable: binary),
                            environment: .capture(), outRoot: root) { _ in }.run()
        }
        let goInstalled = Variants.executableInPath("go")
        let cpus = try ServerCPUs.resolve(maxProcs: 1, usable: Affinity.current(), defaultCount: 1)
        for c in report.configs {
            if c.config.point.runtime == .go && !goInstalled {
                XCTAssertEqual(c.status, .unavailable)
                continue
            }
            XCTAssertEqual(c.status, .ok, "\(c.id): \(c.reason ?? "")")
            let short = try XCTUnwrap(c.histograms["latency_short_ns"], c.id)
            XCTAssertGreaterThan(short.count, 10, c.id)
            XCTAssertEqual(c.latencyNs?.count, short.count, "latency_ns is the short requests'")
            XCTAssertNotNil(c.histograms["latency_long_ns"], c.id)
            XCTAssertNotNil(c.histograms["generator_lag_ns"], c.id)
            XCTAssertGreaterThan(c.counters["capacity_per_second"] ?? 0, 0, c.id)
            XCTAssertGreaterThan(c.counters["achieved_per_second"] ?? 0, 0, c.id)
            XCTAssertNotNil(c.counters["dropped"], c.id)
            XCTAssertNotNil(c.counters["timeouts"], c.id)
            XCTAssertEqual(c.counters["server_cpus"], 1, c.id)
            for share in ["server", "others", "steal"] { XCTAssertNotNil(c.counters["server_cpu_\(share)_permille"], c.id) }
            let note = c.placement?.note ?? ""
            XCTAssertTrue(note.contains("server (n = 1) confined to cpu \(cpus.cpus.listString)"), "\(c.id): \(note)")
            // The census: the server's threads (its Ms, loop, connection threads, the Go program's) on that CPU.
            XCTAssertTrue(note.contains("allowed CPUs: cpu \(cpus.cpus.listString): "), "\(c.id): \(note)")
            if let generator = cpus.generatorCPU {
                XCTAssertTrue(note.contains("load generator pinned to cpu \(generator)"), "\(c.id): \(note)")
            } else {
                XCTAssertTrue(note.contains("load generator NOT pinned"), "\(c.id): \(note)")
            }
        }
        let csv = try String(contentsOfFile: report.directory + "/summary.csv", encoding: .utf8)
        XCTAssertTrue(csv.split(separator: "\n")[0].contains("short_p99_ns"))
        XCTAssertEqual(Proc.descendants(of: getpid()).map(\.cmdline), [], "no server, generator or Go program left")
    }

    // MARK: Helpers

    private func spec(port: UInt16, rate: Double, duration: UInt64, connections: Int = 8,
                      pacing: GeneratorPacing = .sleep) -> LoadGeneratorSpec {
        LoadGeneratorSpec(port: port, types: ServerParameters().requestTypes, rate: .perSecond(rate),
                          connections: connections, seed: 42, warmupNanoseconds: 50_000_000, durationNanoseconds: duration,
                          capacityProbeNanoseconds: 100_000_000, timeoutNanoseconds: 2_000_000_000, pinCPU: nil, pacing: pacing)
    }
}

/// An in-process server for generator tests: a thread per connection applying `handler`.
private final class TestServer: @unchecked Sendable {
    // @unchecked: `listener` and `port` are set once in init; `acceptor` is joined in stop().
    let listener: Int32
    let port: UInt16
    private var acceptor: OSThread?

    init(handler: @escaping (ServerMessage) -> ServerMessage) throws {
        (listener, port) = try LoopbackSocket.listen()
        let listener = listener
        acceptor = OSThread(name: "test-accept") {
            var handlers: [OSThread] = []
            while let fd = try? LoopbackSocket.accept(listener) {
                handlers.append(OSThread(name: "test-conn") {
                    var buffer = [UInt8](repeating: 0, count: ServerMessage.size)
                    while buffer.withUnsafeMutableBytes({ (try? LoopbackSocket.readFully(fd, $0)) == true }) {
                        let response = handler(buffer.withUnsafeBytes { ServerMessage(decoding: $0) })
                        guard (try? response.bytes.withUnsafeBytes { try LoopbackSocket.writeAll(fd, $0) }) != nil else { break }
                    }
                    close(fd)
                })
            }
            handlers.forEach { $0.join() }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        acceptor?.join()
        close(listener)
    }
}

final class NetBenchTests: XCTestCase {
    /// The echo bench measures the threads server (no toolchain needed) and reports its keys;
    /// the client's own mask is back as it was afterwards (it is pinned while it measures).
    func testEchoBenchMeasuresARoundTripAndNamesItsKeys() throws {
        let before = try Affinity.current()
        let rtt = try runUnderDeadline(60) { try NetBenchmarks.measure("threads", roundTrips: 200) }
        XCTAssertEqual(try Affinity.current(), before)
        let placement = try NetBenchmarks.placement()
        XCTAssertEqual(placement.cpus.sorted.count, 1, "every runtime's server on one CPU")
        if before.sorted.count > 1 { XCTAssertEqual(placement.generatorCPU, before.sorted.last, "the client on another") }
        XCTAssertEqual(rtt.count, 200, "every measured round trip recorded, the warm-up tenth not")
        XCTAssertGreaterThan(rtt.histogram.min, 0)
        var report = NetBenchReport(roundTrips: 200)
        report.echoRttNs = ["timeslice": 30_000, "go": 20_000]
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["echo_rtt_ns", "echo_rtt_p99_ns", "ratios", "ratios_ci95", "unavailable", "round_trips",
                                        "placement", "rounds"])
    }

    /// Ratios are paired by round: a drift that slows every runtime in one round cancels.
    /// A runtime that missed a round is not paired; timeslice+spin gets its own ratios.
    func testRatiosArePairedByRoundWithAnInterval() throws {
        let p50s: [String: [Double]] = [
            "timeslice": [20, 20, 40, 20, 20],      // round 3 was slow for everyone
            "go": [25, 25, 50, 25, 25],
            "threads": [20, 20, 40, 20],            // missed a round
            "timeslice+spin": [10, 10, 20, 10, 10],
        ]
        let (ratios, ci95) = NetBenchmarks.pairedRatios(p50s)
        XCTAssertEqual(ratios["timeslice/go"], 0.8)
        XCTAssertEqual(ci95["timeslice/go"], [0.8, 0.8], "every round says 0.8: no spread")
        XCTAssertEqual(ratios["timeslice+spin/go"], 0.4)
        XCTAssertNil(ratios["timeslice/threads"])
        XCTAssertNil(ratios["timeslice/swift-nio"])
        var report = NetBenchReport(roundTrips: 100)
        (report.ratios, report.ratiosCI95) = (ratios, ci95)
        XCTAssertTrue(report.table().contains("target timeslice/go <= 1: 0.80 [95 % CI 0.80..0.80] <= 1.0 met"), report.table())
    }
}
