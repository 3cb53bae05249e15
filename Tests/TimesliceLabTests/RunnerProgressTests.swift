// The runner as researchers use it: progress in h/m/s with an ETA, a plan check before long
// sweeps, one configuration source (flags > TIMESLICE_* > file > default) reported in
// results.json, append-only results that `resume` completes after a SIGKILL, `--json`,
// summary.csv units and .hgrm sidecars.
import Foundation
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TimesliceLab

final class RunnerProgressTests: XCTestCase {
    // MARK: Progress

    func testTimesAreHoursMinutesSecondsNeverRawSeconds() {
        XCTAssertEqual(DurationFormat.hms(26793), "7h 26m 33s")
        XCTAssertEqual(DurationFormat.hms(65), "1m 05s")
        XCTAssertEqual(DurationFormat.hms(12.4), "12s")
        XCTAssertEqual(DurationFormat.hms(-3), "0s")
        XCTAssertEqual(DurationFormat.short(1.25), "1.2s")
    }

    func testProgressLinesShowTheRunningConfigurationBarAndETA() throws {
        var meter = ProgressMeter(total: 3, expectedPerConfig: 2, repetitions: 1)
        XCTAssertEqual(meter.eta(), 6)
        let live = meter.liveLine(id: "rt=threads,place=none", repetition: 1, currentSeconds: 1, barWidth: 6)
        XCTAssertEqual(live, "[1/3] rt=threads,place=none  1.0s/2.0s  ▕█░░░░░▏ ETA 5s")
        var result = try finished(p99: 1_500_000)
        meter.finished(result, seconds: 4000)
        let line = meter.finishedLine(result, sweepSeconds: 4000)
        XCTAssertTrue(line.hasPrefix("[1/3] rt=threads,place=none  ok  p99="), line)
        XCTAssertTrue(line.hasSuffix("elapsed 1h 06m 40s, ETA 2h 13m 20s"), line)
        XCTAssertTrue(meter.liveLine(id: "x", repetition: 1, currentSeconds: 0).hasSuffix("last p99 1.50ms"),
                      meter.liveLine(id: "x", repetition: 1, currentSeconds: 0))
        // Iterations: no expected time and nothing finished yet.
        let unknown = ProgressMeter(total: 2, expectedPerConfig: nil)
        XCTAssertTrue(unknown.liveLine(id: "x", repetition: 1, currentSeconds: 3).contains("3.0s/?"))
        XCTAssertTrue(unknown.liveLine(id: "x", repetition: 1, currentSeconds: 3).contains("ETA unknown"))
        result.latencyNs = nil
    }

    func testLiveStatusLineRedrawsUntilStoppedAndClearsItself() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let line = LiveStatusLine(fd: fds[1], interval: 0.02)
        line.start { "running" }
        Thread.sleep(forTimeInterval: 0.15)
        line.stop()
        close(fds[1])
        let text = String(decoding: FileHandle(fileDescriptor: fds[0]).readDataToEndOfFile(), as: UTF8.self)
        XCTAssertGreaterThanOrEqual(text.components(separatedBy: "\r\u{1B}[Krunning").count - 1, 3, text.debugDescription)
        XCTAssertTrue(text.hasSuffix("\r\u{1B}[K"), "the line is cleared when the configuration ends")
    }

    func testLongSweepsNeedYesNamingTimeAndCount() throws {
        let long = try Fixtures.spec(Fixtures.minimal(#""repetitions": 400"#, length: #""duration":"10s""#))
        let runner = SweepRunner(spec: long, options: SweepOptions(), environment: .capture(), outRoot: "") { _ in }
        let runs = try runner.plannedRuns().count
        XCTAssertEqual(runs, 400)
        let message = try XCTUnwrap(runner.largeSweepProblem(runs: runs))
        XCTAssertTrue(message.contains("400 configuration runs"), message)
        XCTAssertTrue(message.contains("expected 1h 06m 40s"), message)
        XCTAssertTrue(message.contains("--yes"), message)

        let many = try Fixtures.spec(Fixtures.minimal(#""matrix": {"preemption": ["cooperative", "async"]}, "repetitions": 501"#,
                                                      length: #""iterations": 10"#))
        let manyRunner = SweepRunner(spec: many, options: SweepOptions(), environment: .capture(), outRoot: "") { _ in }
        let m = try XCTUnwrap(manyRunner.largeSweepProblem(runs: try manyRunner.plannedRuns().count))
        XCTAssertTrue(m.contains("1002 configuration runs, expected time unknown"), m)

        let small = SweepRunner(spec: try Fixtures.spec(Fixtures.minimal()), options: SweepOptions(), environment: .capture(), outRoot: "") { _ in }
        XCTAssertNil(small.largeSweepProblem(runs: 1))
    }

    // MARK: One configuration source

    func testEnvironmentAppliesWhereTheFileIsSilentAndLosesWhereItSpeaks() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"preemption": ["async"]}"#))
        let env = ["TIMESLICE_PREEMPT": "cooperative", "TIMESLICE_MAXPROCS": "2", "TIMESLICE_SCHEDTRACE": "100", "HOME": "/x"]
        let runner = SweepRunner(spec: spec, options: SweepOptions(environment: env), environment: .capture(), outRoot: "") { _ in }
        let e = try XCTUnwrap(runner.effective)
        XCTAssertEqual(e.knobs["max_procs"], EffectiveKnob(value: .array([.integer(2)]), origin: "env TIMESLICE_MAXPROCS"))
        XCTAssertEqual(e.knobs["preemption"], EffectiveKnob(value: .array([.string("async")]), origin: "file",
                                                            overridden: "TIMESLICE_PREEMPT=cooperative"))
        XCTAssertEqual(e.knobs["time_slice"]?.origin, "default")
        XCTAssertEqual(e.knobs["schedtrace_ms"], EffectiveKnob(value: .integer(100), origin: "env TIMESLICE_SCHEDTRACE"))
        XCTAssertEqual(e.warnings.count, 1)
        XCTAssertTrue(e.warnings[0].contains("TIMESLICE_PREEMPT=cooperative is overridden by the experiment file"), e.warnings[0])
        let runs = try runner.plannedRuns()
        XCTAssertEqual(runs.map(\.point.maxProcs), [2])
        XCTAssertEqual(runs.map(\.point.preemption), [.async])
        XCTAssertEqual(runs.map(\.schedtraceMilliseconds), [100])
        // effective_spec carries what the variables set, so `resume` recomputes the same plan.
        guard case .object(let o) = runner.spec.effectiveJSON, case .object(let m)? = o["matrix"] else { return XCTFail() }
        XCTAssertEqual(m["max_procs"], .array([.integer(2)]))
        XCTAssertEqual(o["schedtrace_ms"], .integer(100))
    }

    func testCommandLineWinsOverEnvironmentAndFile() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"time_slice": ["10ms"]}"#))
        var options = SweepOptions(environment: ["TIMESLICE_TIMESLICE": "1ms", "TIMESLICE_PREEMPT": "polling"])
        options.timeSlice = try EffectiveConfiguration.parseTimeSlice("100us,2ms")
        options.preemption = try EffectiveConfiguration.parsePreemption("cooperative")
        let runner = SweepRunner(spec: spec, options: options, environment: .capture(), outRoot: "") { _ in }
        let e = try XCTUnwrap(runner.effective)
        XCTAssertEqual(e.knobs["time_slice"], EffectiveKnob(value: .array([.string("100us"), .string("2ms")]), origin: "cli",
                                                            overridden: "TIMESLICE_TIMESLICE=1ms"))
        XCTAssertEqual(e.knobs["preemption"]?.origin, "cli")
        XCTAssertEqual(e.warnings.filter { $0.contains("overridden by --") }.count, 2, "\(e.warnings)")
        XCTAssertEqual(try runner.plannedRuns().map(\.point.timeSliceNanoseconds), [100_000, 2_000_000])
        XCTAssertThrowsError(try EffectiveConfiguration.parseMaxProcs("0")) { error in
            XCTAssertTrue("\(error)".contains("--max-procs 0: \"0\" is not a whole number from 1 to 1024"), "\(error)")
        }
        XCTAssertEqual(try EffectiveConfiguration.parseMaxProcs("1,default"), [1, nil])
    }

    func testABadVariableIsAMessageNamingItNeverATrap() throws {
        let spec = try Fixtures.spec(Fixtures.minimal())
        for (name, value, expected) in [("TIMESLICE_MAXPROCS", "0", "from 1 to 1024"), ("TIMESLICE_TIMESLICE", "1us", "from 50us"),
                                        ("TIMESLICE_PREEMPT", "asynch", "one of cooperative"), ("TIMESLICE_STACK_SIZE", "1K", "at least 16K"),
                                        ("TIMESLICE_NETPOLL_SPIN", "5ms", "from 0 to 1ms")] {
            let runner = SweepRunner(spec: spec, options: SweepOptions(environment: [name: value]), environment: .capture(), outRoot: "") { _ in }
            XCTAssertThrowsError(try runner.checkHost()) { error in
                XCTAssertTrue(error is SweepError)
                XCTAssertTrue("\(error)".contains("\(name)=\(value)") && "\(error)".contains(expected), "\(error)")
            }
        }
    }

    func testChildrenNeverSeeTheRuntimeVariables() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""schedtrace_ms": 50"#))
        let config = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        let parent = ["TIMESLICE_PREEMPT": "cooperative", "TIMESLICE_MAXPROCS": "1", "TIMESLICE_TIMESLICE": "1ms",
                      "TIMESLICE_STACK_SIZE": "64K", "TIMESLICE_TRACE": "/tmp/x", "TIMESLICE_SCHEDTRACE": "5", "PATH": "/bin"]
        let env = SelfExecLauncher.childEnvironment(parent, configuration: config)
        XCTAssertEqual(env, ["PATH": "/bin", "TIMESLICE_SCHEDTRACE": "50"])
        var plain = config
        plain.schedtraceMilliseconds = nil
        XCTAssertEqual(SelfExecLauncher.childEnvironment(parent, configuration: plain), ["PATH": "/bin"])
        // The runtime configuration the child builds comes from the point alone.
        let rc = RuntimeBridge.configuration(config)
        XCTAssertEqual(rc.preemption, config.point.preemption)
        XCTAssertEqual(rc.stackSize, 256 * 1024)
    }

    // MARK: Append-only results, resume

    /// While configuration 2 starts, configuration 1 is in configs/ and summary.csv, and
    /// results.json is still the index written at the start (not rewritten per configuration).
    func testEachConfigurationIsAppendedNotRewritten() throws {
        let root = try Fixtures.temporaryDirectory()
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())
        let seen = Mutex<[String]>([])
        let launcher = ScriptLauncher { config in
            if config.point.preemption == .async, let dir = try? FileManager.default.contentsOfDirectory(atPath: "\(root)/t").first {
                let run = "\(root)/t/\(dir)"
                let configs = (try? FileManager.default.contentsOfDirectory(atPath: "\(run)/configs")) ?? []
                let doc = (try? Data(contentsOf: URL(fileURLWithPath: "\(run)/results.json"))).flatMap { try? JSONDecoder().decode(ResultsDocument.self, from: $0) }
                let csv = (try? String(contentsOfFile: "\(run)/summary.csv", encoding: .utf8)) ?? ""
                seen.withLock { $0 = configs + ["index:\(doc?.configs.count ?? -1)", "csv:\(csv.split(separator: "\n").count)"] }
            }
            return (#"printf '%s\n' "$OUTCOME""#, outcome)
        }
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"preemption": ["cooperative", "async"]}"#))
        let report = try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher, environment: .capture(), outRoot: root) { _ in }.run()
        let first = ResultsWriter.fileStem(id: report.configs[0].id, repetition: 1, repetitions: 1)
        XCTAssertEqual(seen.withLock { $0 }, ["\(first).json", "index:0", "csv:2"])
        let doc = try readResults(report.directory)
        XCTAssertEqual(doc.configs.count, 2)
        XCTAssertNotNil(doc.finishedAt)
        XCTAssertEqual(try String(contentsOfFile: "\(report.directory)/summary.csv", encoding: .utf8).split(separator: "\n").count, 3)
    }

    /// The state a SIGKILL leaves (index without configs, one configuration missing from
    /// configs/), completed in-process by `resume`, which runs only the missing one.
    func testResumeRunsOnlyTheMissingConfigurations() throws {
        let root = try Fixtures.temporaryDirectory()
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())
        let launched = Mutex<[String]>([])
        let launcher = ScriptLauncher { config in
            launched.withLock { $0.append("\(config.id)#\(config.repetition)") }
            return (#"printf '%s\n' "$OUTCOME""#, outcome)
        }
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"preemption": ["cooperative", "async"]}, "repetitions": 2"#))
        let report = try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher, environment: .capture(), outRoot: root) { _ in }.run()
        let dir = report.directory
        let complete = try readResults(dir)
        XCTAssertEqual(complete.aggregates.count, 2)
        // Crash state: the index as written at the start, the last run of the plan missing.
        var index = complete
        index.configs = []
        index.aggregates = []
        index.finishedAt = nil
        let lost = complete.configs[3]
        try FileManager.default.removeItem(atPath: "\(dir)/configs/\(ResultsWriter.fileStem(id: lost.id, repetition: lost.repetition, repetitions: 2)).json")
        try AtomicFile.write(try ResultsWriter.encoder().encode(index), to: "\(dir)/results.json")
        try AtomicFile.write(SummaryCSV.header, to: "\(dir)/summary.csv")
        launched.withLock { $0 = [] }

        let resumed = try SweepRunner.resume(directory: dir, launcher: launcher, environment: .capture()) { _ in }
        XCTAssertEqual(launched.withLock { $0 }, ["\(lost.id)#2"])
        let doc = try readResults(dir)
        XCTAssertEqual(doc.configs.map { "\($0.id)#\($0.repetition)" }, complete.configs.map { "\($0.id)#\($0.repetition)" })
        XCTAssertEqual(doc.configs.map(\.order), [0, 1, 2, 3])
        XCTAssertEqual(doc.aggregates.map(\.latencyNs), complete.aggregates.map(\.latencyNs), "merged from the recorded buckets")
        XCTAssertNotNil(doc.finishedAt)
        XCTAssertEqual(doc.resumedAt?.count, 1)
        XCTAssertEqual(resumed.configs.count, 4)
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/summary.csv", encoding: .utf8).split(separator: "\n").count, 5)
        // Nothing left: a second resume runs nothing, keeps every configuration once and
        // the time the run finished (it only rewrites the index).
        launched.withLock { $0 = [] }
        _ = try SweepRunner.resume(directory: dir, launcher: launcher, environment: .capture()) { _ in }
        XCTAssertEqual(launched.withLock { $0 }, [])
        let again = try readResults(dir)
        XCTAssertEqual(again.configs.count, 4)
        XCTAssertEqual(again.finishedAt, doc.finishedAt)
        XCTAssertEqual(again.resumedAt?.count, 2)
    }

    /// A run that came from a guest (results.json `guest`) is not resumed on the host.
    func testResumeRefusesARunFromAGuest() throws {
        let root = try Fixtures.temporaryDirectory()
        let launcher = ScriptLauncher { _ in (#"printf '%s\n' "$OUTCOME""#, ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())) }
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"preemption": ["cooperative"]}"#))
        let dir = try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher, environment: .capture(), outRoot: root) { _ in }.run().directory
        var doc = try readResults(dir)
        let profile = GuestProfile(name: "numa2", description: "", cpus: 4, memoryMB: 1024, numa: nil, kernelArgs: [])
        doc.guest = GuestRecord(profile: profile, accelerator: .tcg, acceleratorReason: "--accel tcg", kernelImage: "/boot/k", qemu: [])
        try AtomicFile.write(try ResultsWriter.encoder().encode(doc), to: "\(dir)/results.json")
        XCTAssertThrowsError(try SweepRunner.resume(directory: dir, launcher: launcher, environment: .capture()) { _ in }) {
            XCTAssertTrue("\($0)".contains("ran inside a qemu guest (profile numa2)"), "\($0)")
            XCTAssertTrue("\($0)".contains("timeslice run FILE --guest numa2"), "\($0)")
        }
    }

    /// The real binary, killed by SIGKILL while its second configuration runs, then `resume`.
    func testSIGKILLedSweepIsCompletedByResume() throws {
        let binary = try builtTimesliceBinary()
        let dir = try Fixtures.temporaryDirectory()
        let spec = "\(dir)/crash.json"
        try #"{"schema_version": 1, "name": "crash", "matrix": {"runtime": ["threads"], "placement": ["none", "compact", "scatter"]}, "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 0}, "duration": "1500ms"}"#
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: binary)
        runner.arguments = ["run", spec, "--out", "\(dir)/out"]
        runner.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        runner.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try runner.run()
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL); runner.waitUntilExit() } }
        var run = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let stamp = try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/out/crash").first,
               let configs = try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/out/crash/\(stamp)/configs"), configs.count == 1 {
                run = "\(dir)/out/crash/\(stamp)"
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertFalse(run.isEmpty, "the first configuration was not recorded within 60 s")
        kill(runner.processIdentifier, SIGKILL)
        runner.waitUntilExit()
        let before = try readResults(run)
        XCTAssertEqual(before.configs.count, 0, "results.json is the index until the end")
        XCTAssertNil(before.finishedAt)
        XCTAssertEqual(before.planned, 3)

        let resume = Process()
        resume.executableURL = URL(fileURLWithPath: binary)
        resume.arguments = ["resume", run, "--json"]
        let out = Pipe()
        resume.standardOutput = out
        resume.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try resume.run()
        let json = out.fileHandleForReading.readDataToEndOfFile()
        resume.waitUntilExit()
        XCTAssertEqual(resume.terminationStatus, 0)
        let summary = try JSONDecoder().decode(RunSummaryJSON.self, from: json)
        XCTAssertEqual(summary.sweeps.first?.configs.count, 3)
        let doc = try readResults(run)
        XCTAssertEqual(doc.configs.map(\.id), ["rt=threads,place=none", "rt=threads,place=compact", "rt=threads,place=scatter"])
        XCTAssertEqual(Set(doc.configs.map(\.id)).count, 3, "every configuration exactly once")
        XCTAssertNotNil(doc.finishedAt)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(run)/configs").count, 3)
        XCTAssertEqual(try String(contentsOfFile: "\(run)/summary.csv", encoding: .utf8).split(separator: "\n").count, 4)
    }

    // MARK: --json, units, sidecars

    func testJSONSummarySidecarsAndCSVUnits() throws {
        let root = try Fixtures.temporaryDirectory()
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())
        let launcher = ScriptLauncher { _ in (#"printf '%s\n' "$OUTCOME""#, outcome) }
        let spec = try Fixtures.spec(Fixtures.minimal(#""repetitions": 2"#))
        let report = try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher, environment: .capture(), outRoot: root) { _ in }.run()
        let text = try RunSummaryJSON([report]).rendered()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let sweep = try XCTUnwrap((object["sweeps"] as? [[String: Any]])?.first)
        let row = try XCTUnwrap((sweep["configs"] as? [[String: Any]])?.first)
        XCTAssertEqual(row["p99_ns"] as? Int, report.configs[0].latencyNs?.p99.map(Int.init))
        XCTAssertEqual(Set(row.keys), ["id", "repetition", "status", "p50_ns", "p99_ns", "p999_ns", "max_ns", "censored"])
        XCTAssertEqual((sweep["aggregates"] as? [[String: Any]])?.count, 1)

        let header = try String(contentsOfFile: "\(report.directory)/summary.csv", encoding: .utf8).split(separator: "\n")[0]
        XCTAssertTrue(header.contains(",count,mean_ns,stddev_ns,min_ns,p50_ns,p90_ns,p99_ns,p999_ns,p9999_ns,max_ns,jitter_max_min_ns,jitter_p99_p50_ns,censored,"), String(header))
        XCTAssertTrue(header.contains(",deadline_miss_ratio,"))

        let id = report.configs[0].id
        let rep2 = try JSONDecoder().decode(HgrmSidecar.self, from: Data(contentsOf: URL(fileURLWithPath: "\(report.directory)/\(ResultsWriter.fileStem(id: id, repetition: 2, repetitions: 2)).hgrm.json")))
        XCTAssertEqual(rep2.repetition, .integer(2))
        XCTAssertEqual(rep2.unit, "ns")
        XCTAssertEqual(rep2.distribution, "latency_ns")
        XCTAssertEqual(rep2.experiment, "t")
        XCTAssertEqual(rep2.id, id)
        XCTAssertEqual(rep2.count, 10_001)
        let merged = try JSONDecoder().decode(HgrmSidecar.self, from: Data(contentsOf: URL(fileURLWithPath: "\(report.directory)/\(try XCTUnwrap(report.aggregates.first?.hgrm)).json")))
        XCTAssertEqual(merged.repetition, .string("merged"))
        XCTAssertEqual(merged.count, 20_002)
    }

    // MARK: Helpers

    private func finished(p99: UInt64) throws -> ConfigResult {
        var r = LatencyRecorder()
        for _ in 0..<200 { r.record(p99) }
        return ConfigResult(id: "rt=threads,place=none", config: ConfigEcho(point: MatrixPoint(runtime: .threads), workload: try Fixtures.spec(Fixtures.minimal()).workload),
                            status: .ok, reason: nil, latencyNs: PercentileSummary(r.histogram), counters: [:], placement: nil,
                            repetition: 1, elapsedSeconds: 1, files: [:])
    }

    private func readResults(_ dir: String) throws -> ResultsDocument {
        try JSONDecoder().decode(ResultsDocument.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/results.json")))
    }
}
