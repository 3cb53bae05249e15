// Channel, WaitGroup and ParkingMutex semantics (after Go's chan_test.go and sync tests).
@testable import Timeslice
import XCTest

final class ChannelTests: XCTestCase {
    func testUnbufferedPreservesOrder() {
        let got = runWithDeadline(10, maxProcs: 2) { () -> [Int] in
            let ch = Channel<Int>()
            go {
                for i in 0..<1000 { ch.send(i) }
                ch.close()
            }
            return Array(ch)
        }
        XCTAssertEqual(got, Array(0..<1000))
    }

    func testBufferedPreservesOrderAndBlocksWhenFull() {
        let (got, bufferedBeforeReceive) = runWithDeadline(10, maxProcs: 1) { () -> ([Int], Int) in
            let ch = Channel<Int>(capacity: 4)
            let filled = Channel<Bool>()
            go {
                for i in 0..<4 { ch.send(i) }   // fits without a receiver
                filled.send(true)
                for i in 4..<100 { ch.send(i) } // blocks until received
                ch.close()
            }
            _ = filled.receive()
            let buffered = ch.bufferedCount
            return (Array(ch), buffered)
        }
        XCTAssertEqual(bufferedBeforeReceive, 4)
        XCTAssertEqual(got, Array(0..<100))
    }

    func testReceiveFromClosedChannelDrainsThenReturnsNil() {
        let got = runWithDeadline(10, maxProcs: 1) { () -> [Int?] in
            let ch = Channel<Int>(capacity: 3)
            ch.send(1)
            ch.send(2)
            ch.close()
            return [ch.receive(), ch.receive(), ch.receive(), ch.receive()]
        }
        XCTAssertEqual(got, [1, 2, nil, nil])
    }

    func testCloseWakesAllWaitingReceivers() {
        let woken = runWithDeadline(10, maxProcs: 2) { () -> Int in
            let ch = Channel<Int>()
            let results = Channel<Int?>(capacity: 10)
            for _ in 0..<10 { go { results.send(ch.receive()) } }
            // Let them all park, then close.
            while Runtime.counters.parks < 10 { yield() }
            ch.close()
            var nils = 0
            for _ in 0..<10 where results.receive()! == nil { nils += 1 }
            return nils
        }
        XCTAssertEqual(woken, 10)
    }

    func testManySendersManyReceiversDeliverEachValueOnce() {
        for capacity in [0, 1, 16] {
            let (sum, count) = runWithDeadline(60, maxProcs: 2) { () -> (Int, Int) in
                let ch = Channel<Int>(capacity: capacity)
                let out = Channel<(Int, Int)>(capacity: 8)
                let senders = WaitGroup()
                for s in 0..<8 {
                    senders.add()
                    go {
                        for i in 0..<1000 { ch.send(s * 1000 + i) }
                        senders.done()
                    }
                }
                for _ in 0..<8 {
                    go {
                        var sum = 0, n = 0
                        while let v = ch.receive() { sum += v; n += 1 }
                        out.send((sum, n))
                    }
                }
                senders.wait()
                ch.close()
                var sum = 0, count = 0
                for _ in 0..<8 { let (s, n) = out.receive()!; sum += s; count += n }
                return (sum, count)
            }
            XCTAssertEqual(count, 8000, "capacity \(capacity)")
            XCTAssertEqual(sum, (0..<8000).reduce(0, +), "capacity \(capacity)")
        }
    }

    func testWaitGroupReleasesAllWaiters() {
        let released = runWithDeadline(10, maxProcs: 2) { () -> Int in
            let wg = WaitGroup()
            wg.add(3)
            let done = Channel<Bool>(capacity: 5)
            for _ in 0..<5 { go { wg.wait(); done.send(true) } }
            for _ in 0..<3 { go { wg.done() } }
            var n = 0
            for _ in 0..<5 where done.receive() == true { n += 1 }
            return n
        }
        XCTAssertEqual(released, 5)
    }

    func testWaitGroupWaitAtZeroReturnsImmediately() {
        runWithDeadline(10, maxProcs: 1) { WaitGroup().wait() }
    }

    func testParkingMutexUnderContention() {
        let (counter, parks) = runWithDeadline(60, maxProcs: 2) { () -> (Int, UInt64) in
            let mu = ParkingMutex()
            var counter = 0
            let wg = WaitGroup()
            for _ in 0..<50 {
                wg.add()
                go {
                    for i in 0..<2000 {
                        mu.lock()
                        let before = counter
                        if i % 10 == 0 { yield() }   // hold it across a switch: forces parking
                        counter = before + 1
                        mu.unlock()
                    }
                    wg.done()
                }
            }
            wg.wait()
            return (counter, Runtime.counters.parks)
        }
        XCTAssertEqual(counter, 100_000)
        XCTAssertGreaterThan(parks, 0, "contended lockers should have parked")
    }
}
