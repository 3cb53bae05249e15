// Ports of Go's run queue tests (runtime/proc_test.go TestRunqueue-style checks,
// export_test.go RunGetQueue) against the run queue's two handles directly:
// RunQueueOwner (push, pop, drain, the thief's side of a steal) and
// RunQueueStealer (steal, count).
import Foundation
@testable import Timeslice
import XCTest

final class RunQueueTests: XCTestCase {
    func testFIFOOrderAndRunnextFirst() {
        let q = RunQueueOwner(capacity: 256)
        for i in 1...100 { XCTAssertNil(q.push(UInt(i), next: false)) }
        XCTAssertNil(q.push(1000, next: true))
        XCTAssertEqual(q.count, 101)
        let first = q.pop()
        XCTAssertEqual(first?.entry, 1000)
        XCTAssertEqual(first?.inheritsTime, true)
        for i in 1...100 {
            let got = q.pop()
            XCTAssertEqual(got?.entry, UInt(i))
            XCTAssertEqual(got?.inheritsTime, false)
        }
        XCTAssertNil(q.pop())
        XCTAssertTrue(q.isEmpty)
    }

    func testRunnextKicksPreviousToTail() {
        let q = RunQueueOwner(capacity: 8)
        _ = q.push(1, next: false)
        _ = q.push(2, next: true)
        _ = q.push(3, next: true)   // 2 goes to the tail
        XCTAssertEqual(q.drain(), [3, 1, 2])
    }

    func testOverflowMovesHalfPlusOneInOrder() {
        let q = RunQueueOwner(capacity: 8)
        for i in 1...8 { XCTAssertNil(q.push(UInt(i), next: false)) }
        let overflow = q.push(9, next: false)
        XCTAssertEqual(overflow, [1, 2, 3, 4, 9])
        XCTAssertEqual(q.drain(), [5, 6, 7, 8])
    }

    func testWrapAroundManyTimes() {
        let q = RunQueueOwner(capacity: 4)
        var next: UInt = 1
        var expected: UInt = 1
        for round in 0..<1000 {
            for _ in 0..<(round % 4 + 1) {
                XCTAssertNil(q.push(next, next: false))
                next += 1
            }
            while let (e, _) = q.pop() {
                XCTAssertEqual(e, expected)
                expected += 1
            }
        }
        XCTAssertEqual(next, expected)
    }

    func testStealTakesHalfAndKeepsOrder() {
        let victim = RunQueueOwner(capacity: 256)
        let thief = RunQueueOwner(capacity: 256)
        for i in 1...10 { _ = victim.push(UInt(i), next: false) }
        let stolen = victim.stealer.steal(into: thief, stealRunnext: false)
        XCTAssertEqual(stolen?.count, 5)
        XCTAssertEqual(stolen?.entry, 5)            // the last of the batch runs now
        XCTAssertEqual(thief.drain(), [1, 2, 3, 4]) // the rest in order
        XCTAssertEqual(victim.drain(), [6, 7, 8, 9, 10])
    }

    func testStealRunnextOnlyWhenAskedAndRingEmpty() {
        let victim = RunQueueOwner(capacity: 8)
        let thief = RunQueueOwner(capacity: 8)
        let stealer = victim.stealer
        _ = victim.push(7, next: true)
        XCTAssertNil(stealer.steal(into: thief, stealRunnext: false))
        XCTAssertEqual(stealer.steal(into: thief, stealRunnext: true)?.entry, 7)
        XCTAssertTrue(victim.isEmpty)
        XCTAssertTrue(stealer.isEmpty)
    }

    /// The stealer is a view of the owner's ring: lengths agree as the owner
    /// pushes and pops, and a steal through it removes from the owner's ring.
    func testStealerSeesTheOwnersQueue() {
        let owner = RunQueueOwner(capacity: 8)
        let stealer = owner.stealer
        XCTAssertTrue(stealer.isEmpty)
        XCTAssertEqual(stealer.capacity, owner.capacity)
        for i in 1...6 { _ = owner.push(UInt(i), next: false) }
        _ = owner.push(100, next: true)
        XCTAssertEqual(stealer.count, 7)
        XCTAssertEqual(owner.count, 7)
        XCTAssertFalse(stealer.isEmpty)
        let thief = RunQueueOwner(capacity: 8)
        XCTAssertEqual(stealer.steal(into: thief, stealRunnext: true)?.count, 3)
        XCTAssertEqual(stealer.count, 4)          // 4, 5, 6 and runnext
        XCTAssertEqual(thief.stealer.count, 2)    // 1, 2 kept; 3 returned to run
        XCTAssertEqual(owner.drain(), [100, 4, 5, 6])
        XCTAssertTrue(stealer.isEmpty)
    }

    /// Go's TestStealOrder-like stress: one owner pushing and popping, several
    /// thieves stealing, on a tiny queue so every wrap and overflow path runs.
    /// Every entry must come out exactly once.
    func testConcurrentStealNeverLosesNorDuplicates() {
        for round in 0..<30 {
            let capacity = round % 2 == 0 ? 4 : 256
            runStealRound(capacity: capacity, entries: 20_000, thieves: 3)
        }
    }

    private func runStealRound(capacity: Int, entries: Int, thieves: Int) {
        let owner = RunQueueOwner(capacity: capacity)
        let victim = owner.stealer   // what the thieves get; the owner stays here
        let seen = UnsafeMutablePointer<UInt8>.allocate(capacity: entries + 1)
        seen.initialize(repeating: 0, count: entries + 1)
        defer { seen.deallocate() }
        let lock = NSLock()
        var overflowed: [UInt] = []
        let done = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        done.initialize(to: 0)
        defer { done.deallocate() }
        let group = DispatchGroup()

        func record(_ e: UInt) {
            lock.lock()
            seen[Int(e)] &+= 1
            lock.unlock()
        }
        for _ in 0..<thieves {
            group.enter()
            Thread {
                let mine = RunQueueOwner(capacity: capacity)
                while true {
                    let finished = __atomicLoad(done)
                    if let (e, _) = victim.steal(into: mine, stealRunnext: true) {
                        record(e)
                        while let (x, _) = mine.pop() { record(x) }
                    } else if finished != 0 {
                        break
                    }
                }
                group.leave()
            }.start()
        }
        for i in 1...entries {
            if let batch = owner.push(UInt(i), next: i % 7 == 0) {
                lock.lock(); overflowed.append(contentsOf: batch); lock.unlock()
            }
            if i % 3 == 0, let (e, _) = owner.pop() { record(e) }
        }
        while let (e, _) = owner.pop() { record(e) }
        __atomicStore(done, 1)
        group.wait()
        while let (e, _) = owner.pop() { record(e) }
        for e in overflowed { record(e) }
        var lost = 0, duplicated = 0
        for i in 1...entries {
            if seen[i] == 0 { lost += 1 }
            if seen[i] > 1 { duplicated += 1 }
        }
        XCTAssertEqual(lost, 0, "capacity \(capacity): entries lost")
        XCTAssertEqual(duplicated, 0, "capacity \(capacity): entries duplicated")
    }

    func testStealOrderVisitsEveryProcessorOnce() {
        var random = FastRandom(seed: 12345)
        for count in 1...64 {
            let order = StealOrder(count: count)
            for _ in 0..<50 {
                let visited = Array(order.visit(random: random.next()))
                XCTAssertEqual(visited.count, count)
                XCTAssertEqual(Set(visited), Set(0..<count), "count \(count)")
            }
        }
    }
}

private func __atomicLoad(_ p: UnsafeMutablePointer<Int>) -> Int {
    p.withMemoryRebound(to: UInt64.self, capacity: 1) { UnsafeAtomicShim.load($0) }
}

private func __atomicStore(_ p: UnsafeMutablePointer<Int>, _ v: Int) {
    p.withMemoryRebound(to: UInt64.self, capacity: 1) { UnsafeAtomicShim.store($0, UInt64(v)) }
}

import CTimeslice
private enum UnsafeAtomicShim {
    static func load(_ p: UnsafeMutablePointer<UInt64>) -> Int { Int(ts_load_u64(p)) }
    static func store(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) { ts_store_u64(p, v) }
}
