// Result files: written atomically after each configuration (a sweep killed at any moment
// leaves valid files with what it finished), and JSON, CSV and .hgrm agree with each other.
import Foundation
import Synchronization
import XCTest
@testable import TimesliceLab
import TimesliceHost

final class ResultsFilesTests: XCTestCase {
    private func twoConfigSpec(watchdog: Int = 60) throws -> ExperimentSpec {
        try Fixtures.spec(Fixtures.minimal(#""matrix": {"preemption": ["cooperative", "async"]}, "watchdog": \#(watchdog), "starvation_timeout": "1s""#))
    }

    private func runDirectory(_ root: String) throws -> String {
        let base = "\(root)/t"
        let stamps = try FileManager.default.contentsOfDirectory(atPath: base)
        XCTAssertEqual(stamps.count, 1)
        return "\(base)/\(stamps[0])"
    }

    /// While the second configuration hangs, results.json already holds the first one; a reader
    /// polling throughout never sees a partial file. What is on disk at any instant is what a
    /// SIGKILL of the sweep at that instant would leave behind.
    func testResultsStayValidWhileASweepIsInterrupted() throws {
        let root = try Fixtures.temporaryDirectory()
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())
        let launcher = ScriptLauncher { config in
            config.point.preemption == .cooperative ? (#"printf '%s\n' "$OUTCOME""#, outcome) : ("exec /bin/sleep 100", nil)
        }
        let runner = SweepRunner(spec: try twoConfigSpec(watchdog: 3), options: SweepOptions(), launcher: launcher,
                                 environment: .capture(), outRoot: root) { _ in }

        let done = Atomic<Bool>(false)
        let reads = Mutex<(valid: Int, invalid: [String], maxSeen: Int)>((0, [], 0))
        let reader = Thread {
            while !done.load(ordering: .relaxed) {
                guard let dir = try? FileManager.default.contentsOfDirectory(atPath: "\(root)/t").first,
                      let data = FileManager.default.contents(atPath: "\(root)/t/\(dir)/results.json") else { continue }
                if let doc = try? JSONDecoder().decode(ResultsDocument.self, from: data) {
                    reads.withLock { $0.valid += 1; $0.maxSeen = max($0.maxSeen, doc.configs.count) }
                    // Mid-sweep check: the first configuration is recorded before the second ends.
                    if doc.configs.count == 1 { XCTAssertEqual(doc.configs[0].status, .ok) }
                } else {
                    reads.withLock { $0.invalid.append(String(decoding: data.prefix(200), as: UTF8.self)) }
                }
            }
        }
        reader.start()
        let report = try runner.run()
        done.store(true, ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.1)

        let r = reads.withLock { $0 }
        XCTAssertEqual(r.invalid, [], "a reader saw a partially written results.json")
        XCTAssertGreaterThan(r.valid, 0)
        XCTAssertEqual(report.configs.map(\.status), [.ok, .timeout])
        let dir = try runDirectory(root)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertEqual(files.filter { $0.contains(".tmp-") }, [], "temporary files left behind")
        let doc = try JSONDecoder().decode(ResultsDocument.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/results.json")))
        XCTAssertEqual(doc.planned, 2)
        XCTAssertEqual(doc.configs.count, 2)
        XCTAssertNotNil(doc.finishedAt)
        XCTAssertTrue(report.anyFailed)
    }

    func testJSONCSVAndHgrmAgree() throws {
        let root = try Fixtures.temporaryDirectory()
        let recorder = Fixtures.knownRecorder()
        let outcome = ChildOutcome(status: .ok, latency: recorder)
        let launcher = ScriptLauncher { _ in (#"printf '%s\n' "$OUTCOME""#, outcome) }
        let spec = try Fixtures.spec(Fixtures.minimal())
        let report = try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher, environment: .capture(),
                                     outRoot: root) { _ in }.run()
        let dir = try runDirectory(root)

        // JSON
        let doc = try JSONDecoder().decode(ResultsDocument.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/results.json")))
        let json = try XCTUnwrap(doc.configs.first?.latencyNs)
        XCTAssertEqual(json, PercentileSummary(recorder.histogram))
        XCTAssertEqual(json.count, 10_001)
        XCTAssertEqual(report.configs.first?.latencyNs, json)

        // CSV: same numbers in the same columns.
        let csv = try String(contentsOfFile: "\(dir)/summary.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.count, 2)
        let header = csv[0].split(separator: ",").map(String.init)
        let row = parseCSVRow(csv[1])
        XCTAssertEqual(header.count, row.count)
        func col(_ name: String) -> String { row[header.firstIndex(of: name)!] }
        XCTAssertEqual(col("p50_ns"), json.p50.map(String.init) ?? "")
        XCTAssertEqual(col("p99_ns"), json.p99.map(String.init) ?? "")
        XCTAssertEqual(col("p9999_ns"), json.p9999.map(String.init) ?? "")
        XCTAssertEqual(col("max_ns"), String(json.max))
        XCTAssertEqual(col("count"), String(json.count))
        XCTAssertEqual(col("id"), doc.configs[0].id)

        // .hgrm: footer totals equal the JSON, and p99 lies between the rows around 0.99.
        let hgrmName = try XCTUnwrap(doc.configs[0].files["hgrm"])
        let hgrm = try String(contentsOfFile: "\(dir)/\(hgrmName)", encoding: .utf8)
        let lines = hgrm.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ").joined(separator: " "), "Value Percentile TotalCount 1/(1-Percentile)")
        let rows = lines.dropFirst().filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { $0.split(separator: " ").map(String.init) }
        let points = rows.map { (value: Double($0[0])!, percentile: Double($0[1])!, total: UInt64($0[2])!) }
        XCTAssertEqual(points.last?.total, json.count)
        XCTAssertEqual(points.last?.value, Double(json.max))
        let below = try XCTUnwrap(points.last { $0.percentile < 0.99 })
        let above = try XCTUnwrap(points.first { $0.percentile >= 0.99 })
        XCTAssertLessThanOrEqual(below.value, Double(try XCTUnwrap(json.p99)))
        XCTAssertGreaterThanOrEqual(above.value, Double(try XCTUnwrap(json.p99)))
        XCTAssertTrue(hgrm.contains(String(format: "#[Mean    = %12.3f, StdDeviation   = %12.3f]", json.mean, json.stddev)), hgrm)
        XCTAssertTrue(hgrm.contains(String(format: "#[Max     = %12.3f, Total count    = %12d]", Double(json.max), json.count)))
    }

    /// A runner SIGKILLed between open and rename leaves NAME.tmp-PID; resume removes those of
    /// dead writers only (a live writer's file is in use).
    func testOrphanedTemporariesOfDeadWritersAreRemoved() throws {
        let dir = try Fixtures.temporaryDirectory()
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        for name in ["a.json", "b.json.tmp-\(dead)", "c.json.tmp-\(getpid())", "d.tmp-notapid"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data("x".utf8)))
        }
        XCTAssertEqual(AtomicFile.removeOrphanedTemporaries(in: dir), ["b.json.tmp-\(dead)"])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)),
                       ["a.json", "c.json.tmp-\(getpid())", "d.tmp-notapid"])
    }

    func testFileStemIsSafeAndDistinguishesRepetitions() {
        XCTAssertEqual(ResultsWriter.fileStem(id: "rt=threads,place=cpus0+1", repetition: 2, repetitions: 3),
                       "rt=threads,place=cpus0+1.rep2")
        XCTAssertEqual(ResultsWriter.fileStem(id: "a/b c", repetition: 1, repetitions: 1), "a_b_c")
    }

    private func parseCSVRow(_ line: String) -> [String] {
        var fields: [String] = [], cur = "", quoted = false
        var it = Array(line).makeIterator()
        while let c = it.next() {
            if quoted {
                if c == "\"" { quoted = false } else { cur.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { fields.append(cur); cur = "" }
            else { cur.append(c) }
        }
        fields.append(cur)
        return fields
    }
}
