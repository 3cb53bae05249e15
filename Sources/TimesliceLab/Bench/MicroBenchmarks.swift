// `timeslice bench`: the runtime's micro-benchmarks, each at maxProcs 1 and 2,
// each the median of several runs inside one fresh runtime:
//   yield_ns          ns per yield() in a two-goroutine ping-pong
//   chan_ns           ns per handoff over an unbuffered channel (two goroutines)
//   spawn_join_ns     ns to spawn one goroutine and join it with a WaitGroup (batches of 10 000)
//   parked_rss_bytes  resident bytes per goroutine parked on a channel, over 100 000
// Timing lives here, never in tests.
import Foundation
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

    static func median(_ runs: Int, _ measure: () -> Double) -> Double {
        _ = measure()  // warm-up: stacks mapped, caches filled
        let samples = (0..<runs).map { _ in measure() }.sorted()
        return samples[runs / 2]
    }

    /// ns per yield: two goroutines each yield `rounds` times.
    static func yieldPingPong(rounds: Int) -> Double {
        let wg = WaitGroup()
        wg.add(2)
        let start = monotonicNanoseconds()
        for _ in 0..<2 {
            go {
                for _ in 0..<rounds { yield() }
                wg.done()
            }
        }
        wg.wait()
        return Double(monotonicNanoseconds() - start) / Double(2 * rounds)
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

/// What `timeslice bench` prints: every benchmark at each maxProcs, beside the
/// targets from the runtime issue and the Go 1.19 figures measured on the
/// reference VM (not re-measured here; the Go baseline program does that).
public struct BenchReport: Codable, Sendable {
    public var results: [MicroBenchmarkResult]
    public var targets: [String: Double]

    public static let targetValues: [String: Double] = [
        "yield_ns": 60, "chan_ns": 100, "spawn_join_ns": 1000, "parked_rss_bytes": 8192,
    ]

    public static func measure(scale: Double) -> BenchReport {
        BenchReport(results: MicroBenchmarks.run(scale: scale), targets: targetValues)
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public func table() -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func number(_ value: Double) -> String {
            let text = String(format: "%.1f", value)
            return String(repeating: " ", count: max(0, 12 - text.count)) + text
        }
        var header = pad("benchmark", 18)
        for r in results {
            let label = "procs=\(r.maxProcs)"
            header += String(repeating: " ", count: max(0, 12 - label.count)) + label
        }
        var lines = [header + "      target"]
        let rows: [(String, KeyPath<MicroBenchmarkResult, Double>)] = [
            ("yield_ns", \.yieldNanoseconds), ("chan_ns", \.channelNanoseconds),
            ("spawn_join_ns", \.spawnJoinNanoseconds), ("parked_rss_bytes", \.parkedRSSBytes),
        ]
        for (name, path) in rows {
            lines.append(pad(name, 18) + results.map { number($0[keyPath: path]) }.joined() + number(targets[name] ?? 0))
        }
        return lines.joined(separator: "\n")
    }
}
