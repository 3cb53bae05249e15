// Where the server workload runs: the first `max_procs` usable CPUs for the server under every
// runtime, a CPU outside them for the load generator, and a note saying so. Behaviour only: the
// masks the kernel reports for the server's threads, never timings.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import TimesliceHost
@testable import TimesliceLab

final class ServerCPUsTests: XCTestCase {
    func testTheServerGetsTheFirstNUsableCPUsAndTheGeneratorOneOutside() {
        let one = ServerCPUs.resolve(maxProcs: 1, usable: [0, 1], defaultCount: 2)
        XCTAssertEqual(one, ServerCPUs(count: 1, cpus: [0], generatorCPU: 1, usable: [0, 1]))
        let sparse = ServerCPUs.resolve(maxProcs: 2, usable: [2, 5, 7], defaultCount: 3)
        XCTAssertEqual(sparse, ServerCPUs(count: 2, cpus: [2, 5], generatorCPU: 7, usable: [2, 5, 7]))
        // Default n is every usable CPU; more Ps than CPUs still confines to the CPUs there are.
        XCTAssertEqual(ServerCPUs.resolve(maxProcs: nil, usable: [0, 1], defaultCount: 2),
                       ServerCPUs(count: 2, cpus: [0, 1], generatorCPU: nil, usable: [0, 1]))
        XCTAssertEqual(ServerCPUs.resolve(maxProcs: 4, usable: [0, 1], defaultCount: 2),
                       ServerCPUs(count: 4, cpus: [0, 1], generatorCPU: nil, usable: [0, 1]))
    }

    /// sysmon `apart`: a CPU neither the server nor the generator uses when there is one, else
    /// the generator's (said in the note), and a clear error when the server has every CPU.
    func testSysmonApartTakesAFreeCPUThenTheGeneratorsAndNeverAServerCPU() throws {
        let four = try ServerCPUs.resolve(maxProcs: 2, usable: [0, 1, 2, 3], defaultCount: 4).sysmonLayout.choose()
        XCTAssertEqual(four.cpu, 2, "cpu 3 is the generator's; cpu 2 is free")
        XCTAssertFalse(four.note.contains("SHARED"), four.note)
        let two = try ServerCPUs.resolve(maxProcs: 1, usable: [0, 1], defaultCount: 2).sysmonLayout.choose()
        XCTAssertEqual(two.cpu, 1)
        XCTAssertEqual(two.usable, [0, 1], "the runtime may place sysmon outside its confinement")
        XCTAssertTrue(two.note.contains("SHARED with the load generator"), two.note)
        XCTAssertThrowsError(try ServerCPUs.resolve(maxProcs: 2, usable: [0, 1], defaultCount: 2).sysmonLayout.choose()) {
            XCTAssertTrue("\($0)".contains("lower max_procs"), "\($0)")
        }
    }

    /// The axis: timeslice only, absent from ids unless set, and a bad value names the choices.
    func testSysmonAxisAppliesToTimesliceOnlyAndNamesItsValues() throws {
        let matrix = #""matrix": {"runtime": ["timeslice", "threads"], "max_procs": [1], "sysmon": ["with-workers", "apart"], "rate": [2000]}"#
        let spec = try Fixtures.spec(Fixtures.minimal(matrix, workload: #"{"kind": "server"}"#))
        XCTAssertEqual(MatrixExpansion.expand(spec).map(\.id), [
            "rt=timeslice,procs=1,preempt=async,slice=10ms,place=none,lock=false,rate=2000,sysmon=with-workers",
            "rt=timeslice,procs=1,preempt=async,slice=10ms,place=none,lock=false,rate=2000,sysmon=apart",
            "rt=threads,procs=1,place=none,rate=2000",
        ])
        let plain = try Fixtures.spec(Fixtures.minimal(#""matrix": {"rate": [2000]}"#, workload: #"{"kind": "server"}"#))
        XCTAssertFalse(MatrixExpansion.expand(plain)[0].id.contains("sysmon"))
        XCTAssertThrowsError(try Fixtures.spec(Fixtures.minimal(#""matrix": {"sysmon": ["alone"]}"#))) {
            XCTAssertEqual("\($0)", #"t.json: matrix.sysmon[0]: "alone" is not one of with-workers, apart"#)
        }
        // Outside the server, apart needs workers on known CPUs: said when the file is read.
        XCTAssertThrowsError(try Fixtures.spec(Fixtures.minimal(#""matrix": {"sysmon": ["apart"]}"#))) {
            XCTAssertTrue("\($0)".hasPrefix("t.json: matrix.sysmon: point rt=timeslice,"), "\($0)")
            XCTAssertTrue("\($0)".contains("give a placement such as \"compact\""), "\($0)")
        }
        XCTAssertNoThrow(try Fixtures.spec(Fixtures.minimal(#""matrix": {"sysmon": ["apart"], "placement": ["compact"]}"#)))
        let point = MatrixExpansion.expand(spec)[1]
        XCTAssertEqual(try JSONDecoder().decode(MatrixPoint.self, from: JSONEncoder().encode(point)), point)
    }

    /// A timeslice server at n = 1 with sysmon apart: every M on the server's CPU, sysmon
    /// alone on another (the kernel's masks), and the note says where it went.
    func testTimesliceServerWithSysmonApartRunsSysmonOutsideTheServersCPU() throws {
        let usable = try Affinity.current()
        guard usable.sorted.count >= 2 else { throw XCTSkip("needs 2 usable CPUs; this process has \(usable.listString)") }
        let matrix = #""matrix": {"max_procs": [1], "preemption": ["async"], "time_slice": ["100us"], "sysmon": ["apart"], "rate": [2000]}"#
        let spec = try Fixtures.spec(Fixtures.minimal(matrix, workload: #"{"kind": "server"}"#))
        let config = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        let context = WorkloadContext(configuration: config, progress: ProgressBeacon())
        // sysmon names itself and then applies its placement on its own thread, which a
        // loaded machine may not have run yet when the requests are answered: retaken until
        // sysmon is there on one CPU, or 5 s have passed.
        let sysmonPlaced: (ThreadCensus) -> Bool = { census in
            census.threads.contains { $0.value.contains("ts-sysmon") && $0.key.sorted.count == 1 }
        }
        let (census, cpus) = try Self.censusAtOneCPU(connections: 2, settled: sysmonPlaced) {
            try ServerWorkload.startTimeslice(context, work: CPUWork(roundsPerMicrosecond: 0), progress: ProgressBeacon(),
                                              cpus: $0, counters: RuntimeCountersBox())
        }
        let sysmonMask = try XCTUnwrap(census.threads.first { $0.value.contains("ts-sysmon") }?.key, census.text)
        XCTAssertEqual(sysmonMask.sorted.count, 1, census.text)
        XCTAssertTrue(sysmonMask.intersection(cpus.cpus).isEmpty, "sysmon must not share the server's CPU: \(census.text)")
        XCTAssertTrue(census.names(allowed: cpus.cpus).contains { $0.hasPrefix("ts-m") }, census.text)
        XCTAssertTrue(context.placementNote?.contains("sysmon apart on cpu \(sysmonMask.sorted[0])") ?? false,
                      context.placementNote ?? "no note")
    }

    /// n >= usable CPUs: no CPU is left for the generator, and its placement says it shares.
    func testAGeneratorWithoutACPUOfItsOwnSaysItSharesTheServers() {
        let all = ServerCPUs.resolve(maxProcs: 2, usable: [0, 1], defaultCount: 2)
        var report = LoadGeneratorReport(capacityPerSecond: nil, offeredPerSecond: 1000, measuredSeconds: 1, types: [],
                                         lagBuckets: [], lagMaxNanoseconds: 0, pinnedCPU: all.generatorCPU, cpusSeen: [0, 1],
                                         pacing: GeneratorPacing.resolve(nil, ownCPU: all.generatorCPU != nil))
        let shared = ServerWorkload.generatorPlacement(report, server: all)
        XCTAssertTrue(shared.contains("NOT pinned"), shared)
        XCTAssertTrue(shared.contains("0-1"), shared)
        XCTAssertTrue(shared.contains("sleep pacing"), "a generator on the server's CPUs must not spin: \(shared)")
        report.pinnedCPU = ServerCPUs.resolve(maxProcs: 1, usable: [0, 1], defaultCount: 2).generatorCPU
        report.pacing = GeneratorPacing.resolve(nil, ownCPU: report.pinnedCPU != nil)
        report.cpusSeen = [1]
        XCTAssertEqual(ServerWorkload.generatorPlacement(report, server: all), "load generator pinned to cpu 1, spin pacing (seen on 1)")
        XCTAssertEqual(GeneratorPacing.resolve(.sleep, ownCPU: true), .sleep, "an explicit choice wins")
    }

    /// Busy and stolen ticks come from the server's CPUs' lines only; the shares are of those
    /// CPUs' capacity over the window, and what the server process did not use is the others'.
    func testCPUShareCountsTheServerCPUsAndSplitsServerFromOthers() throws {
        let stat = """
            cpu  900 0 900 9000 0 0 0 0 0 0
            cpu0 100 1 200 5000 7 10 20 30 0 0
            cpu1 800 0 700 4000 0 0 0 5 0 0
            intr 12345
            """
        XCTAssertEqual(ServerCPUShare.cpuTicks(procStat: stat, cpus: [0]).busy, 100 + 1 + 200 + 10 + 20)
        XCTAssertEqual(ServerCPUShare.cpuTicks(procStat: stat, cpus: [0]).steal, 30)
        XCTAssertEqual(ServerCPUShare.cpuTicks(procStat: stat, cpus: [0, 1]).busy, 331 + 1500)
        XCTAssertNotNil(ServerCPUShare.processTicks(pid: getpid()))
        // One CPU for 2 s is 2 × CLK_TCK ticks: the server used a quarter, others half, steal a tenth.
        let hz = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        let a = ServerCPUShare.Sample(busy: 1000, steal: 0, process: 400, nanoseconds: 1_000_000_000)
        let b = ServerCPUShare.Sample(busy: 1000 + hz * 3 / 2, steal: hz / 5, process: 400 + hz / 2, nanoseconds: 3_000_000_000)
        XCTAssertEqual(ServerCPUShare.between(a, b, cpuCount: 1),
                       ServerCPUShare(serverPermille: 250, othersPermille: 500, stealPermille: 100))
    }

    /// `max_procs` names and reaches the threads and swift-nio server configurations (they are
    /// confined to that many CPUs), and still means nothing to threads in other workloads.
    func testMaxProcsIsAnAxisOfEveryServerRuntime() throws {
        let matrix = #""matrix": {"runtime": ["timeslice", "threads", "swift-nio", "go"], "max_procs": [1], "preemption": ["async"], "time_slice": ["100us"], "rate": [2000]}"#
        let server = try Fixtures.spec(Fixtures.minimal(matrix, workload: #"{"kind": "server"}"#))
        let points = MatrixExpansion.expand(server)
        XCTAssertEqual(points.map(\.id), [
            "rt=timeslice,procs=1,preempt=async,slice=100us,place=none,lock=false,rate=2000",
            "rt=threads,procs=1,place=none,rate=2000",
            "rt=swift-nio,procs=1,place=none,rate=2000",
            "rt=go,procs=1,preempt=async,place=none,lock=false,rate=2000",
        ])
        for point in points {
            let config = RunConfiguration(spec: server, point: point, repetition: 1)
            XCTAssertEqual(try ServerCPUs.resolve(config).count, 1, point.id)
            let roundTrip = try JSONDecoder().decode(RunConfiguration.self, from: JSONEncoder().encode(config))
            XCTAssertEqual(roundTrip, config, point.id)
        }
        let wakeup = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["threads"], "max_procs": [1, 2]}"#))
        XCTAssertEqual(MatrixExpansion.expand(wakeup).map(\.id), ["rt=threads,place=none"])
    }

    /// The threads server at n = 1: the acceptor and every connection thread may run on the
    /// first usable CPU only (they inherit the acceptor's mask); the test's own thread is untouched.
    func testThreadsServerAtOneCPUHasEveryConnectionThreadOnThatCPU() throws {
        let usable = try Affinity.current()
        let (census, cpus) = try Self.censusAtOneCPU(connections: 3) {
            try ServerWorkload.startThreads(work: CPUWork(roundsPerMicrosecond: 0), progress: ProgressBeacon(), cpus: $0)
        }
        XCTAssertEqual(census.names(allowed: cpus.cpus).filter { $0 == "conn" }.count, 3, census.text)
        XCTAssertTrue(census.names(allowed: cpus.cpus).contains("accept"), census.text)
        XCTAssertFalse(census.threads.contains { $0.key != cpus.cpus && $0.value.contains("conn") }, census.text)
        XCTAssertEqual(try Affinity.current(), usable, "the caller's own mask is left alone")
    }

    /// swift-nio at n = 1: one event loop, on the first usable CPU.
    func testSwiftNIOServerAtOneCPURunsOneEventLoopOnThatCPU() throws {
        let (census, cpus) = try Self.censusAtOneCPU(connections: 2) {
            try ServerWorkload.startSwiftNIO(work: CPUWork(roundsPerMicrosecond: 0), progress: ProgressBeacon(), cpus: $0)
        }
        let loops = census.threads.mapValues { $0.filter { $0.hasPrefix("NIO-ELT") } }.filter { !$0.value.isEmpty }
        XCTAssertEqual(loops.count, 1, census.text)
        XCTAssertEqual(loops[cpus.cpus]?.count, 1, census.text)
    }

    /// A server started at n = 1 (`start` gets its ServerCPUs), under a deadline.
    private static func censusAtOneCPU(connections: Int, settled: @escaping (ThreadCensus) -> Bool = { _ in true },
                                       start: @escaping (ServerCPUs) throws -> RunningServer) throws
        -> (ThreadCensus, ServerCPUs) {
        let usable = try Affinity.current()
        let cpus = ServerCPUs.resolve(maxProcs: 1, usable: usable, defaultCount: usable.sorted.count)
        let census = try runUnderDeadline(60) {
            try censusWhileConnected(connections: connections, settled: settled) { try start(cpus) }
        }
        return (census, cpus)
    }

    /// Starts a server, opens `connections` connections and answers one request on each (so
    /// every connection's handler exists), takes this process's census (again every 10 ms
    /// until `settled` says yes or 5 s have passed; the last one is returned), stops the server.
    private static func censusWhileConnected(connections: Int, settled: (ThreadCensus) -> Bool,
                                             start: () throws -> RunningServer) throws -> ThreadCensus {
        let server = try start()
        var fds: [Int32] = []
        let census = Result { () throws -> ThreadCensus in
            for i in 0..<connections {
                let fd = try LoopbackSocket.connect(port: server.port, deadline: MonotonicClock.now() + 5_000_000_000)
                fds.append(fd)
                let request = ServerMessage(id: UInt64(i), type: 0, value: 0)
                try request.bytes.withUnsafeBytes { try LoopbackSocket.writeAll(fd, $0) }
                var reply = [UInt8](repeating: 0, count: ServerMessage.size)
                guard try reply.withUnsafeMutableBytes({ try LoopbackSocket.readFully(fd, $0) }) else {
                    throw WorkloadFailure("the server closed connection \(i)")
                }
            }
            let pid = try XCTUnwrap(server.pid())
            let giveUp = MonotonicClock.now() + 5_000_000_000
            var census = ThreadCensus.take(pid: pid)
            while !settled(census) && MonotonicClock.now() < giveUp {
                usleep(10_000)
                census = ThreadCensus.take(pid: pid)
            }
            return census
        }
        fds.forEach { close($0) }
        try server.stop()
        return try census.get()
    }
}

extension ThreadCensus {
    /// Names of the threads allowed exactly `cpus`.
    func names(allowed cpus: CPUSet) -> [String] { threads[cpus] ?? [] }
}
