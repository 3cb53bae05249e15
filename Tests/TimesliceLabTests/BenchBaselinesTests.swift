// `timeslice bench` beside the baselines (issue 7): what the report prints and encodes (a
// baseline without a number says why and never shows one; ratios pair equal maxProcs; the
// existing JSON fields stay), and that each baseline really measures on this machine. No
// timing thresholds: only that numbers exist, are positive and finite, or are explained.
import Foundation
import XCTest
import TimesliceHost
@testable import TimesliceLab

final class BenchBaselinesTests: XCTestCase {
    private func timeslice(_ procs: Int, _ v: Double) -> MicroBenchmarkResult {
        MicroBenchmarkResult(maxProcs: procs, yieldNanoseconds: v, channelNanoseconds: v, spawnJoinNanoseconds: v, parkedRSSBytes: v)
    }

    private func sampleReport() -> BenchReport {
        var go1 = BaselineBenchResult(runtime: "go", maxProcs: 1, values: ["yield_ns": 50, "chan_ns": 200, "spawn_join_ns": 400],
                                      unavailable: ["parked_rss_bytes": "go parked-rss failed"], parkedCount: 100_000, notes: ["go/1 note"])
        go1.notes = ["go/1 note"]
        let threads2 = BaselineBenchResult.unavailable("threads", maxProcs: 2, reason: "needs 2 CPUs, this process may use 1 (0)")
        return BenchReport(results: [timeslice(1, 100), timeslice(2, 300)], baselines: [go1, threads2])
    }

    func testUnavailableBaselineShowsItsReasonAndNoNumber() throws {
        let report = sampleReport()
        let table = report.table()
        XCTAssertTrue(table.contains("unavailable: needs 2 CPUs, this process may use 1 (0)"), table)
        XCTAssertTrue(table.contains("unavailable: go parked-rss failed"), table)
        XCTAssertTrue(table.contains("go/1 note"))
        // The threads/2 column has no number in any row.
        let header = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("benchmark") })
        XCTAssertTrue(header.contains("threads/2"))
        for m in MicroBenchmark.allCases { XCTAssertNil(report.ratio(m, report.baselines[1]), m.rawValue) }

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let baselines = try XCTUnwrap(json["baselines"] as? [String: [[String: Any]]])
        // Objects of numbers only; a missing benchmark is absent, and listed with its reason.
        for (_, columns) in baselines { for c in columns { XCTAssertTrue(c.values.allSatisfy { $0 is NSNumber }, "\(c)") } }
        XCTAssertEqual(Set(baselines["threads"]?.first?.keys ?? [:].keys), ["max_procs", "parked_count"])
        let unavailable = try XCTUnwrap(json["unavailable"] as? [[String: Any]])
        XCTAssertEqual(unavailable.count, 5)
        XCTAssertTrue(unavailable.contains { $0["runtime"] as? String == "go" && $0["benchmark"] as? String == "parked_rss_bytes" })
    }

    func testRatiosDivideTimesliceByTheBaselineAtTheSameMaxProcs() throws {
        let report = sampleReport()
        let go1 = report.baselines[0]
        XCTAssertEqual(report.ratio(.yield, go1), 2.0)      // 100 / 50
        XCTAssertEqual(report.ratio(.channel, go1), 0.5)    // 100 / 200
        XCTAssertNil(report.ratio(.parkedRSS, go1))
        // No timeslice result at maxProcs 3: no ratio.
        XCTAssertNil(report.ratio(.yield, BaselineBenchResult(runtime: "go", maxProcs: 3, values: ["yield_ns": 1])))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let ratios = try XCTUnwrap((json["ratios"] as? [String: [[String: Double]]])?["go"]?.first)
        XCTAssertEqual(ratios["yield_ns"], 2.0)
        XCTAssertEqual(ratios["max_procs"], 1)
        XCTAssertNil(ratios["parked_rss_bytes"])
    }

    func testJSONKeepsTheExistingFieldsAndRoundTrips() throws {
        let report = sampleReport()
        let decoded = try JSONDecoder().decode(BenchReport.self, from: Data(report.json().utf8))
        XCTAssertEqual(decoded.results, report.results)
        XCTAssertEqual(decoded.targets, BenchReport.targetValues)
        XCTAssertEqual(decoded.baselines.map(\.label).sorted(), ["go/1", "threads/2"])
        XCTAssertEqual(decoded.baselines.first { $0.runtime == "go" }?.values, report.baselines[0].values)
        XCTAssertEqual(decoded.baselines.first { $0.runtime == "go" }?.unavailable, report.baselines[0].unavailable)
        // A report written before the baselines existed still decodes.
        let old = #"{"results": [{"max_procs": 1, "yield_ns": 1, "chan_ns": 2, "spawn_join_ns": 3, "parked_rss_bytes": 4}], "targets": {"yield_ns": 60}}"#
        let legacy = try JSONDecoder().decode(BenchReport.self, from: Data(old.utf8))
        XCTAssertEqual(legacy.results.first?.channelNanoseconds, 2)
        XCTAssertEqual(legacy.baselines, [])
    }

    func testGoBaselineWithoutGoIsUnavailableEverywhere() {
        let columns = GoBenchmarks.run(maxProcsValues: [1, 2], scale: 0.01, environment: ["PATH": "/nonexistent", "TIMESLICE_GO_NO_VENV": "1"])
        XCTAssertEqual(columns.map(\.label), ["go/1", "go/2"])
        for c in columns {
            XCTAssertEqual(c.values, [:])
            XCTAssertEqual(Set(c.unavailable.values), ["go not installed"])
            XCTAssertEqual(c.unavailable.count, MicroBenchmark.allCases.count)
        }
    }

    func testThreadsBaselineMeasuresEveryBenchmark() throws {
        let cpus = try BaselineBenchmarks.cpus(1)
        let r = runUnderDeadline(120) { ThreadBenchmarks.run(cpus: cpus, scale: 0.05) }
        XCTAssertEqual(r.unavailable, [:])
        XCTAssertEqual(Set(r.values.keys), Set(MicroBenchmark.allCases.map(\.rawValue)))
        for (k, v) in r.values where k != "parked_rss_bytes" { XCTAssertGreaterThan(v, 0, k) }
        XCTAssertEqual(r.parkedCount, 100)
    }

    func testSwiftConcurrencyBaselineMeasuresEveryBenchmark() throws {
        let cpus = try BaselineBenchmarks.cpus(1)
        // In this process: restricting it to one CPU would pin the rest of the test suite.
        let r = runUnderDeadline(120) { SwiftConcurrencyBenchmarks.run(cpus: cpus, scale: 0.02) }
        XCTAssertEqual(r.unavailable, [:])
        XCTAssertEqual(Set(r.values.keys), Set(MicroBenchmark.allCases.map(\.rawValue)))
        for (k, v) in r.values where k != "parked_rss_bytes" { XCTAssertGreaterThan(v, 0, k) }
    }

    /// The real child protocol: `timeslice _bench-baseline` in a fresh process, and an unknown
    /// runtime or impossible CPU count coming back as reasons.
    func testBenchChildOfTheBuiltBinary() throws {
        let binary = try builtTimesliceBinary()
        let r = BaselineBenchmarks.inChild(executable: binary, runtime: "threads", maxProcs: 1, scale: 0.02)
        XCTAssertEqual(r.unavailable, [:], "\(r.unavailable)")
        XCTAssertEqual(r.values.count, MicroBenchmark.allCases.count)
        let bad = BaselineBenchmarks.inChild(executable: binary, runtime: "threads", maxProcs: 4096, scale: 0.02)
        XCTAssertEqual(bad.values, [:])
        XCTAssertTrue(bad.unavailable["yield_ns"]?.hasPrefix("needs 4096 CPUs") == true, "\(bad.unavailable)")
        let before = try Affinity.current()
        let unknown = BaselineBenchmarks.parse(stdout: Data(BaselineBenchmarks.childLine(runtime: "fibers", maxProcs: 1, scale: 0.01).utf8))
        XCTAssertTrue(unknown?.unavailable["chan_ns"]?.hasPrefix("no such baseline") == true)
        XCTAssertEqual(try Affinity.current(), before, "an unknown baseline must not restrict the calling process")
        let missing = BaselineBenchmarks.inChild(executable: "/nonexistent/timeslice", runtime: "threads", maxProcs: 1, scale: 0.01)
        XCTAssertTrue(missing.unavailable["yield_ns"]?.hasPrefix("cannot start") == true, "\(missing.unavailable)")
    }

    func testBenchFileIsWhereTheNotebookLooks() throws {
        let root = try Fixtures.temporaryDirectory()
        let path = try BenchFile.write(root: root, micro: sampleReport(), preemption: nil,
                                       now: Date(timeIntervalSince1970: 1_735_689_600))
        XCTAssertEqual(path, "\(root)/bench/2025-01-01T00-00-00Z/bench.json")
        let again = try BenchFile.write(root: root, micro: sampleReport(), preemption: nil, now: Date(timeIntervalSince1970: 1_735_689_600))
        XCTAssertEqual(again, "\(root)/bench/2025-01-01T00-00-00Z-2/bench.json")
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        XCTAssertEqual(doc["experiment"] as? String, "bench")
        XCTAssertNotNil(doc["environment"] as? [String: Any])
        XCTAssertNil(doc["preemption"])
        let micro = try JSONSerialization.data(withJSONObject: try XCTUnwrap(doc["micro"]))
        XCTAssertEqual(try JSONDecoder().decode(BenchReport.self, from: micro).results, sampleReport().results)
    }
}
