// `timeslice bench`: the runtime's micro-benchmarks, each at maxProcs 1 and 2,
// each the median of several runs inside one fresh runtime:
//   yield_ns          ns per switch in a two-goroutine ping-pong: each yield()s until it is
//                     its turn (one switch per yield at 1 P; a cross-P handoff at 2)
//   chan_ns           ns per handoff over an unbuffered channel (two goroutines)
//   spawn_join_ns     ns to spawn one goroutine and join it with a WaitGroup (batches of 10 000)
//   parked_rss_bytes  resident bytes per goroutine parked on a channel, over 100 000
// Timing lives here, never in tests.
import Foundation
import Synchronization
import Timeslice

public struct MicroBenchmarkResult: Codable, Equatable, Sendable {
    public var maxProcs: Int
    public var yieldNanoseconds: Double
    public var channelNanoseconds: Double
    public var spawnJoinNanoseconds: Double
    public var parkedRSSBytes: Double

    enum CodingKeys: String, CodingKey {
        case maxProcs = "max_procs", yieldNanoseconds = "yield_ns", channelNanoseconds = "chan_ns"
        case spawnJoinNanoseconds = "spawn_join_ns", parkedRSSBytes = "parked_rss_bytes"
    }
}

public enum MicroBenchmarks {
    /// Runs every benchmark at each maxProcs; `scale` < 1 shortens them (smoke runs).
    public static func run(maxProcsValues: [Int] = [1, 2], scale: Double = 1) -> [MicroBenchmarkResult] {
        maxProcsValues.map { procs in
            let configuration = RuntimeConfiguration(maxProcs: procs, preemption: .cooperative)
            return Runtime.run(configuration) {
                MicroBenchmarkResult(
                    maxProcs: procs,
                    yieldNanoseconds: median(5) { yieldPingPong(rounds: Int(200_000 * scale)) },
                    channelNanoseconds: median(5) { channelPingPong(rounds: Int(100_000 * scale)) },
                    spawnJoinNanoseconds: median(5) { spawnJoin(count: Int(10_000 * scale)) },
                    parkedRSSBytes: parkedRSS(count: Int(100_000 * scale)))
            }
        }
    }

    static func median(_ runs: Int, _ measure: () throws -> Double) rethrows -> Double {
        _ = try measure()  // warm-up: stacks mapped, caches filled
        let samples = try (0..<runs).map { _ in try measure() }.sorted()
        return samples[runs / 2]
    }

    /// ns per switch: two goroutines pass a turn, each yielding until it is theirs (the
    /// baselines' yield benchmarks do the same). At 1 P every yield switches to the other
    /// goroutine; at 2 Ps they run on two Ps and it is a cross-P handoff, as in Go's `yield`.
    static func yieldPingPong(rounds: Int) -> Double {
        let turn = Turn()
        let wg = WaitGroup()
        wg.add(1)
        go {
            while true {
                var v = turn.owner.load(ordering: .acquiring)
                while v == 0 { yield(); v = turn.owner.load(ordering: .acquiring) }
                if v == 2 { break }
                turn.owner.store(0, ordering: .releasing)
            }
            wg.done()
        }
        let start = monotonicNanoseconds()
        for _ in 0..<rounds {
            turn.owner.store(1, ordering: .releasing)
            while turn.owner.load(ordering: .acquiring) != 0 { yield() }
        }
        let elapsed = monotonicNanoseconds() - start
        turn.owner.store(2, ordering: .releasing)
        wg.wait()
        return Double(elapsed) / Double(2 * rounds)
    }

    private final class Turn: Sendable {
        /// 0: the measuring goroutine's turn, 1: the partner's, 2: stop.
        let owner = Atomic<Int>(0)
    }

    /// ns per handoff: a value goes back and forth `rounds` times (2 handoffs each).
    static func channelPingPong(rounds: Int) -> Double {
        let ping = Channel<Int>()
        let pong = Channel<Int>()
        let wg = WaitGroup()
        wg.add(1)
        go {
            while let v = ping.receive() { pong.send(v) }
            wg.done()
        }
        let start = monotonicNanoseconds()
        for i in 0..<rounds {
            ping.send(i)
            _ = pong.receive()
        }
        let elapsed = monotonicNanoseconds() - start
        ping.close()
        wg.wait()
        return Double(elapsed) / Double(2 * rounds)
    }

    /// ns per goroutine spawned and joined.
    static func spawnJoin(count: Int) -> Double {
        let wg = WaitGroup()
        wg.add(count)
        let start = monotonicNanoseconds()
        for _ in 0..<count { go { wg.done() } }
        wg.wait()
        return Double(monotonicNanoseconds() - start) / Double(count)
    }

    /// Resident bytes per goroutine parked in a channel receive.
    static func parkedRSS(count: Int) -> Double {
        let gate = Channel<Int>()
        let parked = WaitGroup()
        let exited = WaitGroup()
        let before = residentBytes()
        let parksBefore = Runtime.counters.parks
        exited.add(count)
        for _ in 0..<count {
            go {
                _ = gate.receive()
                exited.done()
            }
        }
        // Run them all until every one is parked on the gate.
        while Runtime.counters.parks - parksBefore < UInt64(count) { yield() }
        let after = residentBytes()
        gate.close()
        exited.wait()
        _ = parked
        return Double(Int(after) - Int(before)) / Double(count)
    }

    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
