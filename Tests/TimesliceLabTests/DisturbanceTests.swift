// The summary table flags rows that something else disturbed (Disturbance.swift): hypervisor
// steal on a CPU during the run, or the server's CPUs stolen or used by other processes during
// its window; an undisturbed row gets no flag.
import Foundation
import TimesliceHost
import XCTest
@testable import TimesliceLab

final class DisturbanceTests: XCTestCase {
    private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    private func serverRow() throws -> ConfigResult {
        let path = repo + "/Tests/Fixtures/results-small/server-bimodal/2025-01-02T07-00-00Z/results.json"
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let first = try XCTUnwrap((document["configs"] as? [Any])?.first)
        return try JSONDecoder().decode(ConfigResult.self, from: JSONSerialization.data(withJSONObject: first))
    }

    /// The interference record as results.json has it, with `steal` per CPU.
    private func interference(steal: [String: Double]) throws -> ConfigInterference {
        let cpus = steal.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
        let json = """
            {"host": {"elapsed_seconds": 3, "steal_pct": {\(cpus)}, "iowait_pct": {}, "irq_pct": {}, "interrupts": {},
                      "cpu_mhz_before": {}, "cpu_mhz_after": {}},
             "threads": [], "warnings": [],
             "child": {"user_seconds": 1, "system_seconds": 1, "voluntary_switches": 0, "involuntary_switches": 0, "max_rss_kb": 0}}
            """
        return try JSONDecoder().decode(ConfigInterference.self, from: Data(json.utf8))
    }

    func testStealAndOthersOnTheServerCPUsAreFlaggedInTheTable() throws {
        var row = try serverRow()
        row.counters["server_cpu_steal_permille"] = 0
        row.counters["server_cpu_others_permille"] = 49
        row.interference = try interference(steal: ["0": 1.9, "1": 0, "all": 1.0])
        XCTAssertNil(Disturbance.note(row), "below every threshold")
        XCTAssertFalse(SummaryTable.render([row]).contains("disturbed"))

        row.counters["server_cpu_others_permille"] = 72
        row.interference = try interference(steal: ["0": 0.5, "1": 5.14, "all": 2.8])
        let note = try XCTUnwrap(Disturbance.note(row))
        XCTAssertEqual(note, "disturbed: steal 5.1 % on cpu 1; server CPU others 72 ‰")
        XCTAssertTrue(SummaryTable.render([row]).contains("disturbed: steal 5.1 % on cpu 1"))
    }
}
