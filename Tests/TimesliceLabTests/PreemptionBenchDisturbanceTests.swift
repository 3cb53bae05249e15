// What bench --only preemption says about the machine's other load during its rounds.
import Timeslice
@testable import TimesliceLab
import XCTest

final class PreemptionBenchDisturbanceTests: XCTestCase {
    private func round(_ disturbance: UInt64?) -> PreemptionBenchmarks.CPURound {
        PreemptionBenchmarks.CPURound(nanoseconds: 1, cpuNanoseconds: 1, delivered: 0,
                                      latency: Runtime.preemptionLatency,   // any value: not read here
                                      sysmonCPUNanoseconds: 0, sysmonWakeups: 0, disturbancePermille: disturbance)
    }

    /// Per mille as counted, not reinterpreted (Double.init on a UInt64 can pick
    /// init(bitPattern:), which turned 14 into 7e-323).
    func testReadingsAreTheRoundsPerMille() {
        XCTAssertEqual(PreemptionBenchmarks.disturbances([round(14), round(0), round(499)]), [14, 0, 499])
    }

    /// One unreadable round makes the setting's disturbance unknown, not smaller.
    func testAMissingReadingMakesTheWholeSettingUnknown() {
        XCTAssertNil(PreemptionBenchmarks.disturbances([round(14), round(nil)]))
        XCTAssertNil(PreemptionBenchmarks.disturbances([]))
    }

    /// A round's reading comes from /proc/stat around it: a number, at most the whole machine.
    func testARoundOfRealWorkIsRead() throws {
        guard FileManager.default.isReadableFile(atPath: "/proc/stat") else {
            throw XCTSkip("no /proc/stat on this machine")
        }
        let measured = PreemptionBenchmarks.cpuRound(.cooperative, iterations: 1_000_000)
        let permille = try XCTUnwrap(measured.disturbancePermille, "no reading around the round")
        XCTAssertLessThanOrEqual(permille, 2000)   // others + steal, each at most the capacity
    }
}
