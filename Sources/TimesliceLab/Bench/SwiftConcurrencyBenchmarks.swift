// The micro-benchmarks on Swift concurrency (Tasks on the default executor), for `timeslice bench`:
//   yield_ns          Task.yield turn-passing ping-pong between two Tasks: each waits for its
//                     turn calling Task.yield(); ns per switch = round trip / 2
//   chan_ns           AsyncStream ping-pong: two streams, each handoff resumes the waiting
//                     Task's continuation; ns per handoff = round trip / 2
//   spawn_join_ns     a task group of 10 000 child Tasks that return at once, joined at the end
//                     of withTaskGroup; ns per Task
//   parked_rss_bytes  RSS growth per Task suspended in withUnsafeContinuation, over 100 000
// The pool's width cannot be set; the caller runs this in a fresh process restricted to
// `maxProcs` CPUs (BaselineBenchmarks), and the width observed is noted. Parked RSS is measured
// first, on a fresh heap.
import Foundation
import Synchronization
import TimesliceHost

enum SwiftConcurrencyBenchmarks {
    static let parkedCount = 100_000
    static let spawnBatch = 10_000

    static func run(cpus: CPUSet, scale: Double) -> BaselineBenchResult {
        var r = BaselineBenchResult(runtime: "swift-concurrency", maxProcs: cpus.sorted.count)
        let parked = max(1_000, Int(Double(parkedCount) * scale))
        r.parkedCount = parked
        r.record(.parkedRSS) { try parkedRSS(count: parked) }
        let rounds = max(1_000, Int(20_000 * scale))
        r.record(.yield) { try MicroBenchmarks.median(5) { try yieldPingPong(rounds: rounds) } }
        r.record(.channel) { try MicroBenchmarks.median(5) { try streamPingPong(rounds: rounds) } }
        let batch = max(100, Int(Double(spawnBatch) * scale))
        r.record(.spawnJoin) { try MicroBenchmarks.median(5) { try spawnJoin(count: batch) } }
        let width = SwiftConcurrencyBridge.observedPoolWidth()
        r.notes = ["swift-concurrency/\(r.maxProcs): process restricted to CPU \(cpus.listString), default executor, observed pool width \(width) "
                   + "(not settable); yield = Task.yield ping-pong, chan = AsyncStream ping-pong, spawn_join = task group of \(batch), "
                   + "parked_rss over \(parked) Tasks in withUnsafeContinuation"]
        return r
    }

    private final class Turn: Sendable {
        /// 0: the measuring Task's turn, 1: the partner's, 2: stop.
        let owner = Atomic<Int>(0)
    }

    /// ns per switch.
    static func yieldPingPong(rounds: Int) throws -> Double {
        let turn = Turn()
        return try SwiftConcurrencyBridge.run { () async -> Double in
            let partner = Task.detached {
                while true {
                    var v = turn.owner.load(ordering: .acquiring)
                    while v == 0 { await Task.yield(); v = turn.owner.load(ordering: .acquiring) }
                    if v == 2 { return }
                    turn.owner.store(0, ordering: .releasing)
                }
            }
            let start = MonotonicClock.now()
            for _ in 0..<rounds {
                turn.owner.store(1, ordering: .releasing)
                while turn.owner.load(ordering: .acquiring) != 0 { await Task.yield() }
            }
            let elapsed = MonotonicClock.now() - start
            turn.owner.store(2, ordering: .releasing)
            await partner.value
            return Double(elapsed) / Double(2 * rounds)
        }
    }

    /// ns per handoff.
    static func streamPingPong(rounds: Int) throws -> Double {
        try SwiftConcurrencyBridge.run { () async -> Double in
            var echo = AsyncEcho()
            let start = MonotonicClock.now()
            for i in 0..<rounds { await echo.roundTrip(i) }
            let elapsed = MonotonicClock.now() - start
            await echo.finish()
            return Double(elapsed) / Double(2 * rounds)
        }
    }

    /// ns per Task spawned into a group and joined.
    static func spawnJoin(count: Int) throws -> Double {
        let sink = StopFlag()
        return try SwiftConcurrencyBridge.run { () async -> Double in
            let start = MonotonicClock.now()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<count { group.addTask { _ = sink.isSet } }
            }
            return Double(MonotonicClock.now() - start) / Double(count)
        }
    }

    /// Where suspended Tasks leave their continuations, one slot each.
    private final class Slots: @unchecked Sendable {
        // @unchecked: slot i is written by Task i only, before its `arrived` increment
        // (releasing), and read by the measuring Task only after it has seen every increment
        // (acquiring).
        let slots: UnsafeMutablePointer<UnsafeContinuation<Void, Never>?>
        let arrived = Atomic<Int>(0)
        let count: Int
        init(count: Int) {
            self.count = count
            slots = .allocate(capacity: count)
            slots.initialize(repeating: nil, count: count)
        }
        deinit {
            slots.deinitialize(count: count)
            slots.deallocate()
        }
    }

    /// RSS growth per Task suspended on a continuation, read once all `count` are suspended.
    static func parkedRSS(count: Int) throws -> Double {
        // Allocated and touched (initialized) before the first reading, so that it is not counted.
        let s = Slots(count: count)
        return try SwiftConcurrencyBridge.run { () async -> Double in
            let before = MicroBenchmarks.residentBytes()
            var after: UInt64 = 0
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<count {
                    group.addTask {
                        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
                            s.slots[i] = c
                            s.arrived.add(1, ordering: .releasing)
                        }
                    }
                }
                while s.arrived.load(ordering: .acquiring) < count { try? await Task.sleep(nanoseconds: 1_000_000) }
                after = MicroBenchmarks.residentBytes()
                for i in 0..<count { s.slots[i]!.resume() }
            }
            return Double(Int(after) - Int(before)) / Double(count)
        }
    }
}
