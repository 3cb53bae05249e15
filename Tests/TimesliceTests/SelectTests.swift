// select semantics (after Go's chan_test.go: TestSelectFairness, TestSelfSelect,
// TestSelectDuplicateChannel, TestSelectStress). No timing thresholds: "after
// it parked" is observed through the parks counter.
import Synchronization
@testable import Timeslice
import XCTest

/// Counts live instances, to check that unsent values are destroyed once.
private final class Token {
    static let live = Atomic<Int>(0)
    let value: Int
    init(_ value: Int) {
        self.value = value
        Token.live.wrappingAdd(1, ordering: .relaxed)
    }
    deinit { Token.live.wrappingSubtract(1, ordering: .relaxed) }
}

/// Yields until the runtime counted `count` more parks than `baseline`.
private func waitForParks(after baseline: UInt64, count: UInt64 = 1) {
    while Runtime.counters.parks < baseline + count { yield() }
}

final class SelectTests: XCTestCase {
    func testReadyCaseIsChosen() {
        let got = runWithDeadline(10, maxProcs: 1) { () -> [String] in
            let ints = Channel<Int>(capacity: 1)
            let names = Channel<String>()        // never ready
            let room = Channel<Double>(capacity: 1)
            ints.send(7)
            var out: [String] = []
            out.append(select {
                $0.receive(from: names) { (s: String?) in "names \(s ?? "nil")" }
                $0.receive(from: ints) { (v: Int?) in "ints \(v ?? -1)" }
            })
            out.append(select {
                $0.receive(from: names) { _ in "names" }
                $0.send(2.5, to: room) { "sent" }
            })
            out.append("room holds \(room.receive()!)")
            return out
        }
        XCTAssertEqual(got, ["ints 7", "sent", "room holds 2.5"])
    }

    func testDefaultRunsWhenNothingIsReadyAndUnsentValuesAreDestroyed() {
        let (got, buffered) = runWithDeadline(10, maxProcs: 1) { () -> ([String], Int) in
            let a = Channel<Token>()
            let b = Channel<Token>(capacity: 1)
            b.send(Token(0))                     // b is full: sends to it are not ready
            var got: [String] = []
            for i in 0..<100 {
                got.append(select {
                    $0.send(Token(i), to: a) { "sent a" }
                    $0.send(Token(-i), to: b) { "sent b" }
                    $0.default { "default" }
                })
            }
            got.append(select {
                $0.receive(from: a) { (t: Token?) in "received \(t?.value ?? -1)" }
                $0.default { "default" }
            })
            return (got, b.bufferedCount)
        }
        XCTAssertEqual(got, Array(repeating: "default", count: 101))
        XCTAssertEqual(buffered, 1)
        XCTAssertEqual(Token.live.load(ordering: .relaxed), 0, "every unsent Token must be destroyed exactly once")
    }

    func testBlockingSelectIsWokenByALaterSendOnEitherChannel() {
        for which in [0, 1] {
            for procs in [1, 2] {
                let got = runWithDeadline(10, maxProcs: procs) { () -> [String] in
                    let a = Channel<Int>()
                    let b = Channel<String>()
                    let result = Channel<String>(capacity: 1)
                    let parks = Runtime.counters.parks
                    go {
                        result.send(select {
                            $0.receive(from: a) { (v: Int?) in "a \(v!)" }
                            $0.receive(from: b) { (s: String?) in "b \(s!)" }
                        })
                    }
                    waitForParks(after: parks)
                    if which == 0 { a.send(1) } else { b.send("one") }
                    var out = [result.receive()!]
                    // The losing case's waiter is gone: nobody receives on the other channel.
                    out.append(select {
                        $0.send(2, to: a) { "stale receiver on a" }
                        $0.send("two", to: b) { "stale receiver on b" }
                        $0.default { "no receivers" }
                    })
                    return out
                }
                XCTAssertEqual(got, [which == 0 ? "a 1" : "b one", "no receivers"], "which \(which), procs \(procs)")
            }
        }
    }

    func testBlockingSendSelectIsWokenByALaterReceive() {
        for which in [0, 1] {
            let (got, received) = runWithDeadline(10, maxProcs: 2) { () -> (String, Int) in
                let a = Channel<Token>()
                let b = Channel<Token>(capacity: 1)
                b.send(Token(100))               // full
                let result = Channel<String>(capacity: 1)
                let parks = Runtime.counters.parks
                go {
                    result.send(select {
                        $0.send(Token(1), to: a) { "sent a" }
                        $0.send(Token(2), to: b) { "sent b" }
                    })
                }
                waitForParks(after: parks)
                let token = which == 0 ? a.receive()! : b.receive()!
                return (result.receive()!, token.value)
            }
            XCTAssertEqual(got, which == 0 ? "sent a" : "sent b")
            XCTAssertEqual(received, which == 0 ? 1 : 100)
        }
        XCTAssertEqual(Token.live.load(ordering: .relaxed), 0)
    }

    func testReceiveCaseOnClosedChannelIsReady() {
        let got = runWithDeadline(10, maxProcs: 2) { () -> [String] in
            let closed = Channel<Int>(capacity: 2)
            closed.send(5)
            closed.close()
            let never = Channel<Int>()
            var out: [String] = []
            for _ in 0..<2 {
                out.append(select {
                    $0.receive(from: closed) { (v: Int?) in v.map { "value \($0)" } ?? "closed" }
                    $0.receive(from: never) { _ in "never" }
                })
            }
            // A blocked select is woken by close with nil.
            let c = Channel<Int>()
            let result = Channel<String>(capacity: 1)
            let parks = Runtime.counters.parks
            go {
                result.send(select {
                    $0.receive(from: c) { (v: Int?) in v == nil ? "woken by close" : "value" }
                    $0.receive(from: never) { _ in "never" }
                })
            }
            waitForParks(after: parks)
            c.close()
            out.append(result.receive()!)
            return out
        }
        XCTAssertEqual(got, ["value 5", "closed", "woken by close"])
    }

    /// Go's TestSelectFairness, with two always-ready channels.
    func testChoiceAmongReadyCasesIsFair() {
        let (first, second) = runWithDeadline(30, maxProcs: 1) { () -> (Int, Int) in
            let a = Channel<Int>(capacity: 1)
            let b = Channel<Int>(capacity: 1)
            var counts = [0, 0]
            for _ in 0..<10_000 {
                if a.bufferedCount == 0 { a.send(0) }
                if b.bufferedCount == 0 { b.send(1) }
                let which = select {
                    $0.receive(from: a) { $0! }
                    $0.receive(from: b) { $0! }
                }
                counts[which] += 1
            }
            return (counts[0], counts[1])
        }
        XCTAssertGreaterThanOrEqual(first, 3000, "a chosen \(first) of 10000")
        XCTAssertGreaterThanOrEqual(second, 3000, "b chosen \(second) of 10000")
    }

    /// Go's TestSelfSelect: a select never receives its own send.
    func testSelectDoesNotReceiveItsOwnSend() {
        for capacity in [0, 10] {
            let bad = runWithDeadline(30, maxProcs: 2) { () -> Int in
                let c = Channel<Int>(capacity: capacity)
                let wg = WaitGroup()
                let bad = Atomic<Int>(0)
                for p in 0..<2 {
                    wg.add()
                    go {
                        for i in 0..<1000 {
                            if p == 0 || i % 2 == 0 {
                                select {
                                    $0.send(p, to: c)
                                    $0.receive(from: c) { (v: Int?) in
                                        if capacity == 0 && v == p { bad.wrappingAdd(1, ordering: .relaxed) }
                                    }
                                }
                            } else {
                                select {
                                    $0.receive(from: c) { (v: Int?) in
                                        if capacity == 0 && v == p { bad.wrappingAdd(1, ordering: .relaxed) }
                                    }
                                    $0.send(p, to: c)
                                }
                            }
                        }
                        wg.done()
                    }
                }
                wg.wait()
                return bad.load(ordering: .relaxed)
            }
            XCTAssertEqual(bad, 0, "capacity \(capacity)")
        }
    }

    /// Go's TestSelectDuplicateChannel: a select woken through one channel
    /// removes all its waiters (two on c) without disturbing another's.
    func testDuplicateChannelWaitersAreRemoved() {
        let got = runWithDeadline(10, maxProcs: 2) { () -> Int in
            let c = Channel<Int>()
            let d = Channel<Int>()
            let e = Channel<Int>()
            var parks = Runtime.counters.parks
            go {                                  // A
                select {
                    $0.receive(from: c)
                    $0.receive(from: c)
                    $0.receive(from: d)
                }
                e.send(9)
            }
            waitForParks(after: parks)            // A is queued first on c
            parks = Runtime.counters.parks
            let bGot = Channel<Int>(capacity: 1)
            go { bGot.send(c.receive()!) }        // B
            waitForParks(after: parks)            // B is queued on c after A
            d.send(7)                             // wakes A, which dequeues itself from c
            _ = e.receive()
            c.send(8)                             // must reach B, not a stale waiter of A
            return bGot.receive()!
        }
        XCTAssertEqual(got, 8)
    }

    /// Many selecting receivers and senders (plain and selecting) over channels
    /// of several capacities: every value is received exactly once.
    func testExactlyOnceDeliveryUnderContention() {
        let configurations: [(procs: Int, preemption: PreemptionMode, slice: UInt64)] = [
            (1, .cooperative, 10_000_000), (2, .cooperative, 10_000_000), (2, .async, 100_000),
        ]
        let senders = 8, perSender = 2000
        for config in configurations {
            let received = runWithDeadline(120, maxProcs: config.procs, preemption: config.preemption,
                                           timeSliceNanoseconds: config.slice) { () -> [Int] in
                let channels = [Channel<Int>(), Channel<Int>(capacity: 1), Channel<Int>(capacity: 4)]
                let sent = WaitGroup()
                for s in 0..<senders {
                    sent.add()
                    go {
                        for i in 0..<perSender {
                            let value = s * perSender + i
                            if s % 2 == 0 {
                                channels[s % channels.count].send(value)
                            } else {
                                select {
                                    for ch in channels { $0.send(value, to: ch) }
                                }
                            }
                        }
                        sent.done()
                    }
                }
                let results = Channel<[Int]>(capacity: 6)
                for _ in 0..<6 {
                    go {
                        var open = channels
                        var got: [Int] = []
                        while !open.isEmpty {
                            let closedIndex: Int? = select {
                                for (k, ch) in open.enumerated() {
                                    $0.receive(from: ch) { (v: Int?) in
                                        guard let v else { return k }
                                        got.append(v)
                                        return nil
                                    }
                                }
                            }
                            if let closedIndex { open.remove(at: closedIndex) }
                        }
                        results.send(got)
                    }
                }
                sent.wait()
                for ch in channels { ch.close() }
                var all: [Int] = []
                for _ in 0..<6 { all += results.receive()! }
                return all
            }
            XCTAssertEqual(received.count, senders * perSender, "\(config)")
            XCTAssertEqual(received.sorted(), Array(0..<senders * perSender), "\(config)")
        }
    }
}
