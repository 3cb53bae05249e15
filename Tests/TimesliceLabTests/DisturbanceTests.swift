// The summary table flags rows that something else disturbed (Disturbance.swift): hypervisor
// steal on a CPU during the run, or the server's CPUs stolen or used by other processes during
// its window; an undisturbed row gets no flag. The same words are in every encoded result
// (`disturbed`), which the notebooks read instead of applying the thresholds again.
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
        XCTAssertNil(Disturbance.reasons(row), "below every threshold")
        XCTAssertFalse(SummaryTable.render([row]).contains("disturbed"))
        XCTAssertNil(try encoded(row)["disturbed"])

        row.counters["server_cpu_others_permille"] = 72
        row.interference = try interference(steal: ["0": 0.5, "1": 5.14, "all": 2.8])
        XCTAssertEqual(Disturbance.reasons(row), "steal 5.1 % on cpu 1; server CPU others 72 ‰")
        XCTAssertTrue(SummaryTable.render([row]).contains("disturbed: steal 5.1 % on cpu 1"))
        XCTAssertEqual(try encoded(row)["disturbed"] as? String, "steal 5.1 % on cpu 1; server CPU others 72 ‰")
    }

    /// The hand-written encoder writes every field the decoder reads (and `disturbed`): a
    /// field added to ConfigResult but not to encode(to:) would vanish from results.json.
    /// Decoding what it wrote gives the same result back.
    func testEncodingWritesEveryFieldAndReadsBackTheSame() throws {
        var row = try serverRow()
        row.reason = "a reason"
        row.order = 3
        row.host = "node-a"
        row.interference = try interference(steal: ["0": 9, "all": 9])
        row.placement = PlacementReport(requested: .string("none"), workerCPUs: nil, verified: nil, threads: [],
                                        warnings: [], note: "a note")
        let object = try encoded(row)
        XCTAssertNotNil(row.latencyNs)
        for key in ConfigResult.CodingKeys.allCases where key != .latencyRawNs && key != .sampling {
            XCTAssertNotNil(object[key.rawValue], "\(key.rawValue) not written")
        }
        XCTAssertEqual(Set(object.keys).subtracting(ConfigResult.CodingKeys.allCases.map(\.rawValue)), ["disturbed"])
        let again = try JSONDecoder().decode(ConfigResult.self, from: JSONEncoder().encode(row))
        XCTAssertEqual(try encoded(again) as NSDictionary, object as NSDictionary)
    }

    private func encoded(_ row: ConfigResult) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(row)) as? [String: Any])
    }
}
