// The workload registry: every kind is declared once (name, parameters, JSON, meaning,
// variants), round-trips through the file format, and a runtime it does not list is
// `unavailable` with a reason, never run.
import Foundation
import XCTest
@testable import TimesliceLab

final class WorkloadRegistryTests: XCTestCase {
    func testEveryKindRoundTripsThroughTheFileFormat() throws {
        XCTAssertEqual(Set(WorkloadSpec.kinds).count, WorkloadSpec.registry.count, "kind names are unique")
        for kind in WorkloadSpec.kinds {
            let spec = try WorkloadSpec.decode(.object(["kind": .string(kind)]), at: .root)
            XCTAssertEqual(spec.kind, kind)
            XCTAssertFalse(spec.latencyMeaning.isEmpty, kind)
            // Defaults written out and read back give the same spec, through JSON text too.
            let again = try WorkloadSpec.decode(spec.json, at: .root)
            XCTAssertEqual(again, spec, kind)
            let data = try JSONEncoder().encode(spec)
            XCTAssertEqual(try JSONDecoder().decode(WorkloadSpec.self, from: data), spec, kind)
        }
    }

    func testDifferentParametersAreDifferentSpecs() throws {
        let a = WorkloadSpec(WakeupParameters())
        var p = WakeupParameters()
        p.hogs = 3
        XCTAssertNotEqual(a, WorkloadSpec(p))
        XCTAssertNotEqual(a, WorkloadSpec(PingPongParameters()))
        XCTAssertEqual(a, WorkloadSpec(WakeupParameters()))
        XCTAssertEqual(Set([a, WorkloadSpec(WakeupParameters())]).count, 1)
    }

    func testARuntimeAKindDoesNotListIsUnavailable() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["cyclictest"]}"#,
                                                      workload: #"{"kind": "work_stealing"}"#, length: #""iterations": 10"#))
        let config = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        XCTAssertNil(WorkStealingParameters.variants[.cyclictest])
        XCTAssertThrowsError(try config.workload.run(WorkloadContext(configuration: config, progress: ProgressBeacon()))) {
            XCTAssertTrue($0 is WorkloadUnavailable, "\($0)")
        }
    }

    func testTheHogsAxisReachesTheWakeupParameters() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["threads"], "hogs": [0, 2]}"#,
                                                      workload: #"{"kind": "wakeup", "hogs": 1}"#))
        let hogs = MatrixExpansion.expand(spec).map {
            RunConfiguration(spec: spec, point: $0, repetition: 1).workload.parameters(as: WakeupParameters.self)?.hogs
        }
        XCTAssertEqual(hogs, [0, 2])
    }
}
