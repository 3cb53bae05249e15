// `timeslice compare` on synthetic results.json documents (ratios, the bootstrap CI of the
// ratio of medians, verdicts, censored sides, one-sided configurations, --within baselines),
// then the real binary on two small real runs.
import Foundation
import XCTest
@testable import TimesliceLab

final class RunComparisonTests: XCTestCase {
    /// A schema-1 results.json: per id, the p50/p99/p999 of each repetition (µs), merged as
    /// their median unless `merged` says otherwise.
    func document(_ configs: [(id: String, reps: [(p50: Double, p99: Double, p999: Double?)], status: String, censored: Bool)],
                  experiment: String = "synthetic") -> String {
        func lat(_ p50: Double, _ p99: Double, _ p999: Double?, censored: Bool) -> String {
            let ns = { (us: Double) in String(UInt64(us * 1000)) }
            return """
                {"count": 1000, "mean": \(ns(p50)), "stddev": 1, "min": 1, "p50": \(ns(p50)), "p90": \(ns(p50)), "p99": \(ns(p99)),
                 "p999": \(p999.map(ns) ?? "null"), "p9999": null, "max": \(ns(p999 ?? p99)), "jitter_max_min": 1, "censored": \(censored)}
                """
        }
        var rows: [String] = [], aggregates: [String] = []
        for c in configs {
            for (i, r) in c.reps.enumerated() {
                rows.append(#"{"id": "\#(c.id)", "status": "\#(c.status)", "repetition": \#(i + 1), "latency_ns": \#(lat(r.p50, r.p99, r.p999, censored: c.censored))}"#)
            }
            if c.reps.count > 1 {
                let med = { (xs: [Double]) in RepetitionAggregator.median(xs) }
                let p999s = c.reps.compactMap(\.p999)
                aggregates.append(#"{"id": "\#(c.id)", "latency_ns": \#(lat(med(c.reps.map(\.p50)), med(c.reps.map(\.p99)), p999s.isEmpty ? nil : med(p999s), censored: c.censored))}"#)
            }
        }
        return """
            {"schema_version": 1, "experiment": "\(experiment)", "started_at": "2026-01-01T00:00:00Z", "spec": {"seed": 7},
             "configs": [\(rows.joined(separator: ",\n"))], "aggregates": [\(aggregates.joined(separator: ",\n"))]}
            """
    }

    func load(_ json: String) throws -> ComparableRun {
        let dir = try Fixtures.temporaryDirectory()
        try json.write(toFile: dir + "/results.json", atomically: true, encoding: .utf8)
        return try ComparableRun.load(dir)
    }

    func stat(_ c: ConfigComparison, _ key: String) throws -> StatisticComparison {
        try XCTUnwrap(c.statistics.first { $0.statistic == key })
    }

    func testSlowerFasterAndNoDifferenceWithBootstrapCI() throws {
        let base: [(p50: Double, p99: Double, p999: Double?)] = [(10, 100, 300), (11, 110, 310), (10.5, 105, 305), (9.5, 95, 290)]
        let a = try load(document([("x", base, "ok", false), ("y", base, "ok", false), ("z", base, "ok", false)]))
        let b = try load(document([
            ("x", base.map { ($0.p50, $0.p99 * 2, $0.p999) }, "ok", false),                   // p99 doubled
            ("y", base.map { ($0.p50, $0.p99 / 3, $0.p999) }, "ok", false),                   // p99 a third
            ("z", [(10.5, 105, 305), (10, 100, 300), (9.5, 95, 290), (11, 110, 310)], "ok", false),  // same values
        ]))
        let cmp = RunComparison(a, b, seed: 7)
        XCTAssertEqual(cmp.configurations.map(\.idA), ["x", "y", "z"])

        let x = try stat(cmp.configurations[0], "p99")
        XCTAssertEqual(try XCTUnwrap(x.ratio), 2, accuracy: 0.01)
        let ci = try XCTUnwrap(x.ci95)
        XCTAssertGreaterThan(ci.low, 1)
        XCTAssertLessThanOrEqual(ci.low, 2)
        XCTAssertGreaterThanOrEqual(ci.high, 2)
        XCTAssertEqual(x.verdict, "slower")
        XCTAssertTrue(cmp.configurations[0].verdict.hasPrefix("B is 2.00×"), cmp.configurations[0].verdict)
        XCTAssertTrue(cmp.configurations[0].verdict.contains("slower at p99"))
        XCTAssertEqual(try stat(cmp.configurations[0], "p50").verdict, "no significant difference")
        XCTAssertEqual(RunComparison.plusMinus(2, 1.8, 2.2), " ± 0.20")
        XCTAssertEqual(RunComparison.plusMinus(10, 2.35, 152), "", "a lopsided interval gets no ±")

        let y = try stat(cmp.configurations[1], "p99")
        XCTAssertEqual(y.verdict, "faster")
        XCTAssertTrue(y.summary.hasPrefix("B is 3.00×") && y.summary.contains("faster at p99"), y.summary)

        let z = try stat(cmp.configurations[2], "p99")
        XCTAssertEqual(z.verdict, "no significant difference")
        XCTAssertTrue(z.summary.contains("contains 1"), z.summary)

        // Seeded: the same inputs give the same interval; another seed may not.
        XCTAssertEqual(RunComparison(a, b, seed: 7).configurations[0].statistics, cmp.configurations[0].statistics)
        XCTAssertEqual(a.seed, 7)
    }

    func testSingleRepetitionCensoredMissingPercentilesAndOneSidedConfigurations() throws {
        let a = try load(document([("one", [(10, 100, nil)], "ok", false), ("starves", [(10, 100, 300), (10, 100, 300)], "ok", false),
                                   ("gone", [(10, 100, 300)], "ok", false)]))
        let b = try load(document([("one", [(20, 200, nil)], "ok", false),
                                   ("starves", [(1e6, 2e6, 2e6), (1e6, 2e6, 2e6)], "starved", true),
                                   ("new", [(10, 100, 300)], "ok", false)]))
        let cmp = RunComparison(a, b)
        XCTAssertEqual(cmp.onlyInA, ["gone"])
        XCTAssertEqual(cmp.onlyInB, ["new"])

        let one = cmp.configurations[0]
        XCTAssertEqual(try stat(one, "p99").verdict, "single repetition")
        XCTAssertNil(try stat(one, "p99").ci95)
        XCTAssertEqual(try XCTUnwrap(try stat(one, "p99").ratio), 2, accuracy: 1e-9)
        XCTAssertEqual(try stat(one, "p999").verdict, "not comparable", "p99.9 is null on both sides")
        XCTAssertTrue(try stat(one, "p999").summary.contains("too few samples"))

        let starves = cmp.configurations[1]
        XCTAssertEqual(starves.statusB, "starved")
        XCTAssertTrue(starves.censoredB)
        XCTAssertEqual(try stat(starves, "p99").verdict, "at least slower")
        XCTAssertTrue(starves.verdict.contains("at least"), starves.verdict)
        XCTAssertFalse(starves.verdict.contains("no significant"))

        let table = cmp.table()
        XCTAssertTrue(table.contains("only in A:\n  gone"), table)
        XCTAssertTrue(table.contains("only in B:\n  new"), table)
        XCTAssertTrue(table.contains("B is starved (censored: lower bounds)"), table)
        XCTAssertTrue(table.contains("≥2.00s"), table)

        let json = try JSONSerialization.jsonObject(with: Data(try cmp.json().utf8)) as? [String: Any]
        XCTAssertEqual(json?["only_in_a"] as? [String], ["gone"])
        XCTAssertEqual((json?["configurations"] as? [Any])?.count, 2)
    }

    func testWithinComparesEveryConfigurationToTheChosenBaseline() throws {
        let reps: [(p50: Double, p99: Double, p999: Double?)] = [(10, 100, 300), (11, 110, 310), (12, 120, 320)]
        let run = try load(document([
            ("rt=threads,hogs=0", reps, "ok", false),
            ("rt=threads,hogs=1", reps.map { ($0.p50, $0.p99 * 4, $0.p999) }, "ok", false),
            ("rt=timeslice,hogs=1", reps.map { ($0.p50, $0.p99 * 8, $0.p999) }, "ok", false),
        ]))
        XCTAssertEqual(try RunComparison.resolveBaseline(nil, in: run), "rt=threads,hogs=0")
        XCTAssertEqual(try RunComparison.resolveBaseline("rt=timeslice", in: run), "rt=timeslice,hogs=1")
        XCTAssertThrowsError(try RunComparison.resolveBaseline("hogs=1", in: run)) { e in
            XCTAssertTrue("\(e)".contains("matches 2 configurations"), "\(e)")
        }
        let cmp = RunComparison(within: run, baseline: "rt=threads,hogs=0")
        XCTAssertEqual(cmp.configurations.map(\.idB), ["rt=threads,hogs=1", "rt=timeslice,hogs=1"])
        XCTAssertEqual(cmp.configurations.map(\.idA), ["rt=threads,hogs=0", "rt=threads,hogs=0"])
        XCTAssertTrue(cmp.configurations[1].verdict.hasPrefix("B is 8.00×"), cmp.configurations[1].verdict)
        XCTAssertTrue(cmp.table().contains("A = baseline rt=threads,hogs=0"))
    }

    func testLoadErrorsNameThePath() throws {
        XCTAssertThrowsError(try ComparableRun.load("/nonexistent/run")) { XCTAssertTrue("\($0)".contains("/nonexistent/run does not exist")) }
        let dir = try Fixtures.temporaryDirectory()
        XCTAssertThrowsError(try ComparableRun.load(dir)) { XCTAssertTrue("\($0)".contains("results.json does not exist"), "\($0)") }
    }

    // MARK: the real binary on real runs

    func sweep(_ root: String) throws -> String {
        let spec = try Fixtures.spec("""
            {"schema_version": 1, "name": "cmp", "matrix": {"runtime": ["threads"], "hogs": [0, 1]},
             "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 0}, "duration": "200ms", "warmup": "50ms",
             "repetitions": 2, "watchdog": 30}
            """)
        return try SweepRunner(spec: spec, options: SweepOptions(), launcher: SelfExecLauncher(executable: try builtTimesliceBinary()),
                               environment: .capture(), outRoot: root) { _ in }.run().directory
    }


    func testCompareCommandOnTwoRealRuns() throws {
        let root = try Fixtures.temporaryDirectory()
        let runA = try sweep(root), runB = try sweep(root)
        XCTAssertNotEqual(runA, runB)

        let ids = try ComparableRun.load(runA).ids
        XCTAssertEqual(ids.count, 2)
        let (code, out, err) = try timesliceCLI(["compare", runA, runB], deadlineSeconds: 120)
        XCTAssertEqual(code, 0, err)
        for id in ids where !out.contains(id) {
            XCTFail("table lacks \(id):\n\(out)")
        }
        XCTAssertTrue(out.contains("p99.9") && out.contains("→ "), out)

        let (jcode, json, jerr) = try timesliceCLI(["compare", runA, runB, "--json"], deadlineSeconds: 120)
        XCTAssertEqual(jcode, 0, jerr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let configs = try XCTUnwrap(doc["configurations"] as? [[String: Any]])
        XCTAssertEqual(configs.count, 2)
        for c in configs {
            let p50 = try XCTUnwrap((c["statistics"] as? [[String: Any]])?.first { $0["statistic"] as? String == "p50" })
            XCTAssertNotNil(p50["ratio"], "\(c)")
            XCTAssertNotNil(p50["ci95"], "two repetitions on both sides give a CI: \(c)")
        }

        let (wcode, wout, werr) = try timesliceCLI(["compare", runA, "--within", "--baseline", "hogs=0"], deadlineSeconds: 120)
        XCTAssertEqual(wcode, 0, werr)
        XCTAssertTrue(wout.contains("A = baseline \(ids.first { $0.contains("hogs=0") } ?? "?")"), wout)

        let (bad, _, berr) = try timesliceCLI(["compare", runA], deadlineSeconds: 120)
        XCTAssertEqual(bad, 64)
        XCTAssertTrue(berr.contains("two run directories"), berr)
    }
}
