// The measurement definitions on real child runs of the built binary (short durations, no
// timing thresholds): every intended deadline counted, a starved row keeps its censored samples,
// repetitions are interleaved and aggregated with a CI, every results.json carries provenance
// and per-configuration interference, and no output shows a percentile its count cannot support.
import Foundation
import XCTest
@testable import TimesliceLab

final class MeasurementEndToEndTests: XCTestCase {
    func sweep(_ json: String, options: SweepOptions = SweepOptions()) throws -> (SweepReport, ResultsDocument) {
        let binary = try builtTimesliceBinary()
        let root = try Fixtures.temporaryDirectory()
        let report = try SweepRunner(spec: try Fixtures.spec(json), options: options,
                                     launcher: SelfExecLauncher(executable: binary),
                                     environment: .capture(), outRoot: root) { _ in }.run()
        let data = try Data(contentsOf: URL(fileURLWithPath: report.directory + "/results.json"))
        return (report, try JSONDecoder().decode(ResultsDocument.self, from: data))
    }

    func testEveryIntendedDeadlineIsCountedAndStarvedRowsKeepCensoredSamples() throws {
        // 1 P, one tight hog: cooperative starves the probe; async preempts the hog every 10 ms.
        let (report, doc) = try sweep("""
            {"schema_version": 1, "name": "m1",
             "matrix": {"runtime": ["timeslice"], "max_procs": [1], "preemption": ["async", "cooperative"], "hogs": [1, 0]},
             "workload": {"kind": "wakeup", "interval": "1ms", "hog_kind": "tight"},
             "duration": "500ms", "warmup": "100ms", "starvation_timeout": "1s", "watchdog": 30}
            """)
        XCTAssertEqual(report.configs.count, 4)
        for c in report.configs {
            let s = try XCTUnwrap(c.sampling, c.id)
            // duration ÷ interval = 500; the grid puts 500 deadlines in [warm-up end, end).
            XCTAssertEqual(Double(s.intendedSamples), 500, accuracy: 10, c.id)
            XCTAssertEqual(c.latencyNs?.count, s.recordedSamples, c.id)
            XCTAssertNotNil(c.latencyRawNs ?? (s.wakeups == 0 ? c.latencyNs : nil), c.id)
            XCTAssertNotNil(c.interference, c.id)
            XCTAssertFalse(c.interference?.threads.isEmpty ?? true, "the child's threads are recorded: \(c.id)")
            if c.id.contains("hogs=0") {
                XCTAssertEqual(c.status, .ok, "idle baseline row: \(c.id) \(c.reason ?? "")")
            }
        }
        let loadedAsync = try XCTUnwrap(report.configs.first { $0.id.contains("preempt=async") && $0.id.contains("hogs=1") })
        XCTAssertEqual(loadedAsync.status, .ok, loadedAsync.reason ?? "")
        XCTAssertEqual(loadedAsync.sampling?.recordedSamples, loadedAsync.sampling?.intendedSamples,
                       "not censored: every intended deadline has a sample")
        XCTAssertGreaterThan(loadedAsync.sampling?.missedPeriods ?? 0, 0,
                             "a 10 ms slice at 1 P makes a 1 ms probe miss periods; they are counted, not dropped")
        XCTAssertNotNil(loadedAsync.histograms["preempt_signal_to_switch_ns"], "the runtime's preemption decomposition")
        let starved = try XCTUnwrap(report.configs.first { $0.id.contains("preempt=cooperative") && $0.id.contains("hogs=1") })
        XCTAssertEqual(starved.status, .starved)
        XCTAssertEqual(starved.sampling?.censored, true)
        XCTAssertEqual(starved.latencyNs?.censored, true)
        XCTAssertGreaterThan(starved.latencyNs?.count ?? 0, 0, "a starved row keeps its (censored) samples")
        XCTAssertTrue(report.table.contains("≥"), "censored values are shown as lower bounds:\n\(report.table)")

        // Provenance.
        let p = try XCTUnwrap(doc.provenance)
        XCTAssertFalse(p.gitCommit.isEmpty)
        XCTAssertFalse(p.argv.isEmpty)
        XCTAssertNotNil(p.versions["swift"])
        XCTAssertNotNil(p.versions["go"])
        XCTAssertNotNil(doc.effectiveSpec)
        assertPercentilesSupported(doc)
    }

    func testRepetitionsAreInterleavedAndAggregatedWithAConfidenceInterval() throws {
        let (report, doc) = try sweep("""
            {"schema_version": 1, "name": "m2", "matrix": {"runtime": ["threads"], "placement": ["none", {"explicit": [0]}]},
             "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 0}, "duration": "200ms", "warmup": "50ms",
             "repetitions": 3, "watchdog": 30}
            """)
        XCTAssertEqual(report.configs.map(\.repetition), [1, 1, 2, 2, 3, 3], "round-robin: every configuration once per round")
        XCTAssertEqual(report.configs.map(\.order), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(doc.aggregates.count, 2)
        for a in doc.aggregates {
            XCTAssertEqual(a.repetitions, 3)
            let ci = try XCTUnwrap(a.ci95, a.id)
            for (key, spread) in a.across {
                XCTAssertGreaterThanOrEqual(spread.median, Double(spread.min), "\(a.id) \(key)")
                XCTAssertLessThanOrEqual(spread.median, Double(spread.max), "\(a.id) \(key)")
            }
            let p99 = try XCTUnwrap(a.across["p99"])
            XCTAssertGreaterThanOrEqual(ci.low, Double(p99.min), "the CI of the median lies within the observed p99s")
            XCTAssertLessThanOrEqual(ci.high, Double(p99.max))
            let merged = try XCTUnwrap(a.latencyNs)
            let perRep = report.configs.filter { $0.id == a.id }.compactMap { $0.latencyNs?.count }.reduce(0, +)
            XCTAssertEqual(merged.count, perRep, "the merged histogram holds every repetition's samples")
            XCTAssertNotNil(a.hgrm)
        }
        XCTAssertTrue(report.table.contains("across repetitions"), report.table)
        assertPercentilesSupported(doc)
    }

    func testShippedWakeupExperimentsHaveAnIdleRowPerRuntime() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("experiments")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".json") {
            let spec = try SpecDecoder.decode(file: dir.appendingPathComponent(name).path)
            guard spec.workload.parameters(as: WakeupParameters.self) != nil else { continue }
            let runs = MatrixExpansion.expand(spec).map { RunConfiguration(spec: spec, point: $0, repetition: 1) }
            var loaded = Set<RuntimeKind>(), idle = Set<RuntimeKind>()
            for r in runs {
                guard let p = r.workload.parameters(as: WakeupParameters.self) else { continue }
                if p.hogs > 0 { loaded.insert(r.point.runtime) } else { idle.insert(r.point.runtime) }
            }
            XCTAssertTrue(loaded.isSubset(of: idle), "\(name): runtimes with load but no idle baseline row: \(loaded.subtracting(idle))")
        }
    }

    /// No latency summary anywhere shows a percentile its sample count cannot support.
    func assertPercentilesSupported(_ doc: ResultsDocument, file: StaticString = #filePath, line: UInt = #line) {
        var summaries = doc.configs.flatMap { [$0.latencyNs, $0.latencyRawNs] + $0.histograms.values.map(Optional.some) }
        summaries += doc.aggregates.flatMap { [$0.latencyNs, $0.latencyRawNs] }
        for case let s? in summaries {
            for level in PercentileSummary.levels where s.value(level.key) != nil {
                XCTAssertGreaterThanOrEqual(s.count, level.minimumCount, "\(level.key) shown with \(s.count) samples",
                                            file: file, line: line)
            }
        }
    }
}
