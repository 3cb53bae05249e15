// The netpoller's handover decision (NetpollHandover.swift), driven directly: the
// outcomes it is told decide whether a leaving poller wakes an idle M.
@testable import Timeslice
import XCTest

final class NetpollHandoverTests: XCTestCase {
    /// Wastes handovers by M `id` until the advisor declines one; returns how many it made.
    private func wasteUntilDeclined(_ handover: NetpollHandover, id: Int) -> Int {
        var made = 0
        while handover.shouldHandOver(from: id) {
            made += 1
            handover.cameBack(id)
            XCTAssertLessThan(made, 1000, "never declined")
            if made >= 1000 { break }
        }
        return made
    }

    func testANewRuntimeHandsOverUntilHandoversAreWasted() {
        let handover = NetpollHandover()
        XCTAssertTrue(handover.shouldHandOver(from: 0))
        handover.cameBack(0)
        // The score starts at the top and each waste takes one.
        XCTAssertEqual(wasteUntilDeclined(handover, id: 0), NetpollHandover.maximumScore - 1)
    }

    func testOnceDecliningItProbesOneLeaveInAnInterval() {
        let handover = NetpollHandover()
        _ = wasteUntilDeclined(handover, id: 3)
        // The leave just declined was the first of an interval; the probe comes at its end.
        var declined = 1
        while !handover.shouldHandOver(from: 3) { declined += 1 }
        XCTAssertEqual(declined, NetpollHandover.probeInterval - 1)
        handover.cameBack(3)   // the probe was wasted too: still declining
        XCTAssertFalse(handover.shouldHandOver(from: 3))
    }

    /// Leaves until the advisor makes a probe handover (it has been declining).
    private func leaveUntilProbe(_ handover: NetpollHandover, id: Int) {
        var leaves = 0
        while !handover.shouldHandOver(from: id) && leaves <= NetpollHandover.probeInterval { leaves += 1 }
        XCTAssertLessThanOrEqual(leaves, NetpollHandover.probeInterval, "no probe within an interval")
    }

    /// Wasted probes sink the score to its floor (-usefulCredit); from there two useful
    /// probes turn handovers back on, and one does not.
    func testUsefulProbesTurnHandoversBackOn() {
        let handover = NetpollHandover()
        _ = wasteUntilDeclined(handover, id: 1)   // score 0
        for _ in 0..<(NetpollHandover.usefulCredit + 3) {
            leaveUntilProbe(handover, id: 1)
            handover.cameBack(1)
        }
        leaveUntilProbe(handover, id: 1)
        handover.readinessArrived()   // readiness came while M1 was busy
        handover.cameBack(1)          // scored already: no waste counted
        XCTAssertFalse(handover.shouldHandOver(from: 1), "one useful probe lifted the score above its floor's reach")
        leaveUntilProbe(handover, id: 1)
        handover.readinessArrived()
        XCTAssertEqual(wasteUntilDeclined(handover, id: 1), NetpollHandover.usefulCredit)
    }

    /// Only the M that made the outstanding handover scores it by coming back, and an
    /// outcome is scored once.
    func testAnotherMachineComingBackScoresNothing() {
        let handover = NetpollHandover()
        _ = wasteUntilDeclined(handover, id: 1)   // score 0
        leaveUntilProbe(handover, id: 1)
        handover.cameBack(2)           // not M1's handover: nothing
        handover.readinessArrived()    // still outstanding: useful, +usefulCredit
        handover.readinessArrived()    // already scored: no second credit
        XCTAssertEqual(wasteUntilDeclined(handover, id: 1), NetpollHandover.usefulCredit)
    }
}
