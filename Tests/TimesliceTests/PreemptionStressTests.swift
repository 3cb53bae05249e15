// Asynchronous preemption at the smallest slice (50 µs) against goroutines that
// live in the hazardous places: Swift allocation, Foundation, system calls and
// exclusivity-checked accesses. No deadlock (watchdog), no crash, right answers,
// and preemptions actually delivered.
import CTimeslice
import Foundation
@testable import Timeslice
import XCTest

final class PreemptionStressTests: XCTestCase {
    final class Account { var balance = 0 }

    func testMixedWorkloadUnderFiftyMicrosecondSlices() {
        for round in 0..<2 {
            let (checks, counters) = runWithDeadline(180, maxProcs: 2, preemption: .async,
                                                     timeSliceNanoseconds: 50_000) { () -> ([Bool], RuntimeCounters) in
                let results = Channel<Bool>(capacity: 1000)
                for i in 0..<1000 {
                    switch i % 4 {
                    case 0: go { results.send(allocationHeavy(i)) }
                    case 1: go { results.send(foundationHeavy(i)) }
                    case 2: go { results.send(syscallHeavy(i)) }
                    default: go { results.send(exclusivityHeavy(i)) }
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

private func allocationHeavy(_ seed: Int) -> Bool {
    var total = 0
    for round in 0..<40 {
        var dict: [String: [Int]] = [:]
        for k in 0..<20 { dict["k\(k)-\(seed)"] = Array(0..<(k + round % 5)) }
        let objects = (0..<20).map { PreemptionStressTests.Account().with(balance: $0) }
        total += dict.values.reduce(0) { $0 + $1.count } + objects.reduce(0) { $0 + $1.balance }
    }
    var expected = 0
    for round in 0..<40 { expected += (0..<20).reduce(0) { $0 + $1 + round % 5 } + 190 }
    return total == expected
}

private func foundationHeavy(_ seed: Int) -> Bool {
    struct Row: Codable, Equatable { let id: Int; let name: String; let values: [Double] }
    let encoder = JSONEncoder()
    let decoder = JSONDecoder()
    let formatter = ISO8601DateFormatter()
    for i in 0..<10 {
        let row = Row(id: seed + i, name: "row \(seed)", values: [1.5, Double(i)])
        guard let data = try? encoder.encode(row), let back = try? decoder.decode(Row.self, from: data),
              back == row else { return false }
        let date = Date(timeIntervalSince1970: Double(seed * 1000 + i))
        guard let parsed = formatter.date(from: formatter.string(from: date)), parsed == date else { return false }
    }
    return true
}

private func syscallHeavy(_ seed: Int) -> Bool {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return false }
    defer { close(fds[0]); close(fds[1]) }
    var ok = true
    for i in 0..<20 {
        var out = UInt64(seed * 100 + i)
        var back: UInt64 = 0
        // A pipe write/read pair outside blockingCall: interrupted by SIGURG,
        // SA_RESTART restarts them; the values must survive.
        let w = withUnsafeBytes(of: &out) { write(fds[1], $0.baseAddress, 8) }
        let r = withUnsafeMutableBytes(of: &back) { read(fds[0], $0.baseAddress, 8) }
        ok = ok && w == 8 && r == 8 && back == out
        var ts = timespec(tv_sec: 0, tv_nsec: 20_000)
        blockingCall { _ = nanosleep(&ts, nil) }
    }
    return ok
}

private func exclusivityHeavy(_ seed: Int) -> Bool {
    let account = PreemptionStressTests.Account()
    for i in 0..<2000 {
        bump(&account.balance, by: i % 3)
    }
    return account.balance == (0..<2000).reduce(0) { $0 + $1 % 3 }
}

@inline(never)
private func bump(_ x: inout Int, by n: Int) {
    var spin = 0
    for k in 0..<50 { spin &+= k }   // keep the access open for a while
    x += n + (spin == -1 ? 1 : 0)
}

private extension PreemptionStressTests.Account {
    func with(balance: Int) -> Self {
        self.balance = balance
        return self
    }
}
