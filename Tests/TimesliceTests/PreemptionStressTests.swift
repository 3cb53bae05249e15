// Asynchronous preemption at the smallest slice (50 µs) against goroutines that
// live in the hazardous places (Sources/TimesliceStressWorkloads, shared with the
// statically linked timeslice-stress program): Swift allocation, Foundation, system
// calls and exclusivity-checked accesses. No deadlock (watchdog), no crash, right answers,
// and preemptions actually delivered.
import CTimeslice
import Foundation
@testable import Timeslice
import TimesliceStressWorkloads
import XCTest

final class PreemptionStressTests: XCTestCase {
    func testMixedWorkloadUnderFiftyMicrosecondSlices() {
        for round in 0..<2 {
            let (checks, counters) = runWithDeadline(180, maxProcs: 2, preemption: .async,
                                                     timeSliceNanoseconds: 50_000) { () -> ([Bool], RuntimeCounters) in
                let results = Channel<Bool>(capacity: 1000)
                for i in 0..<1000 {
                    switch i % 4 {
                    case 0: go { results.send(StressWorkloads.allocationHeavy(i)) }
                    case 1: go { results.send(StressWorkloads.foundationHeavy(i)) }
                    case 2: go { results.send(StressWorkloads.syscallHeavy(i)) }
                    default: go { results.send(StressWorkloads.exclusivityHeavy(i)) }
                    }
                }
                var out: [Bool] = []
                for _ in 0..<1000 { out.append(results.receive()!) }
                return (out, Runtime.counters)
            }
            XCTAssertEqual(checks.filter { $0 }.count, 1000, "round \(round): some goroutine computed a wrong result")
            XCTAssertGreaterThan(counters.preemptionsRequested, 0, "round \(round)")
        }
    }
}
