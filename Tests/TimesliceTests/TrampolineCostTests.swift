// TrampolineStateTiming (CTimeslice/trampoline_cost.c): the bench's bound on what a switch
// inside the signal handler could save. Only what it times is asserted, never how long.
import CTimeslice
@testable import Timeslice
import XCTest

final class TrampolineCostTests: XCTestCase {
    /// Once the handler is installed, the timing runs the trampoline's own save area: the
    /// size preempt.c computed from CPUID, and a save + restore that took some time.
    func testTimesTheTrampolinesOwnSaveArea() throws {
        if let reason = Runtime.asyncPreemptionUnavailable { throw XCTSkip(reason) }
        let timed = try XCTUnwrap(TrampolineStateTiming.saveRestoreNanoseconds(iterations: 1000))
        XCTAssertEqual(timed.areaBytes, ts_xsave_size())
        XCTAssertEqual(timed.areaBytes % 64, 0)
        XCTAssertGreaterThanOrEqual(timed.areaBytes, 576)   // legacy area + header: XSAVE's least
        XCTAssertGreaterThan(timed.nanoseconds, 0)
    }

    func testNoIterationsIsNoMeasurement() throws {
        if let reason = Runtime.asyncPreemptionUnavailable { throw XCTSkip(reason) }
        XCTAssertNil(TrampolineStateTiming.saveRestoreNanoseconds(iterations: 0))
    }
}
