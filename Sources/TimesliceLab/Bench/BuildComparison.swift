// `timeslice bench-compare A B`: is build B's runtime slower than build A's? The micro suite
// (`bench --only micro --no-baselines --json`) of two timeslice binaries, measured so that
// the answer is about the builds and not about the machine:
//   - On this kind of VM one build's figures move by up to 40 % between invocations, and
//     between byte-identical copies of its file (yield at 2 Ps: one copy 123-140 ns in 4
//     runs, a `cp` of it 147-199 ns in 4, interleaved). So every round runs each build from
//     a fresh copy of its file, sampling that effect instead of keeping one draw for the
//     whole study (a bisect that builds one file per commit mostly measures which copy it got).
//   - A and B alternate in ABBA order, so drift over the session hits both alike.
//   - A and B are paired by round: per benchmark and maxProcs the ratio is the median over
//     rounds of the round's B/A, with a seeded bootstrap 95 % interval (as `bench --only
//     net` pairs its ratios, RepetitionAggregator.bootstrapMedianCI), and the verdict is
//     "B slower" when the whole interval is above 1, "B faster" below, else "no difference
//     shown".
// Each run is a child under a deadline; the copies live in a temporary directory removed
// when the comparison ends, however it ends.
import Foundation

public struct BuildComparisonRow: Codable, Equatable, Sendable {
    public var benchmark: String
    public var maxProcs: Int
    public var medianA: Double
    public var medianB: Double
    /// Median over rounds of the round's B / A.
    public var ratio: Double
    public var ratioCI95: [Double]
    public var verdict: String

    enum CodingKeys: String, CodingKey {
        case benchmark, maxProcs = "max_procs", medianA = "median_a", medianB = "median_b"
        case ratio, ratioCI95 = "ratio_ci95", verdict
    }
}

public struct BuildComparison: Codable, Sendable {
    public var a: String
    public var b: String
    public var rounds: Int
    public var rows: [BuildComparisonRow]

    /// The benchmarks compared (parked RSS is memory, not speed: left out).
    static let benchmarks: [(name: String, value: (MicroBenchmarkResult) -> Double)] = [
        ("yield_ns", { $0.yieldNanoseconds }),
        ("chan_ns", { $0.channelNanoseconds }),
        ("spawn_join_ns", { $0.spawnJoinNanoseconds }),
    ]
    /// Fewer rounds cannot give a 95 % verdict: the bootstrap interval of a median of n paired
    /// ratios is about their range when n is small, and all of n ratios lie above 1 by chance
    /// with probability 2^-n (n = 6: 1.6 %).
    static let minimumRounds = 6
    /// Seeds the bootstrap: the same rounds give the same intervals.
    static let ciSeed: UInt64 = 0x6275_696c_6473
    /// One micro suite takes ~10 s here; a child still running after this is hung.
    static let runDeadlineNanoseconds: UInt64 = 600_000_000_000

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// Bad arguments (exit 64) rather than a build that failed to run.
        public var isBadInput: Bool
        /// SIGINT, SIGTERM or SIGHUP stopped it (Interrupt, installed by the command); the
        /// running child was killed.
        public var interrupted = false
    }

    /// Measures `rounds` rounds of both builds. `quick` shortens each suite (`bench --quick`).
    public static func measure(a: String, b: String, rounds: Int, quick: Bool,
                               progress: (String) -> Void = { _ in }) throws -> BuildComparison {
        guard rounds >= minimumRounds else {
            throw Failure(description: "--rounds \(rounds): at least \(minimumRounds) (an interval needs rounds to resample)", isBadInput: true)
        }
        for (label, path) in [("A", a), ("B", b)] where !FileManager.default.isExecutableFile(atPath: path) {
            throw Failure(description: "\(label) \(path): not an executable file (give the path of a built timeslice binary, e.g. .build/release/timeslice)",
                          isBadInput: true)
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("timeslice-bench-compare-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create \(directory) for the binaries' copies: \(error.localizedDescription)", isBadInput: false)
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var measured: [(a: [MicroBenchmarkResult], b: [MicroBenchmarkResult])] = []
        for round in 0..<rounds {
            var results: [String: [MicroBenchmarkResult]] = [:]
            for label in round % 2 == 0 ? ["A", "B"] : ["B", "A"] {
                results[label] = try runFreshCopy(of: label == "A" ? a : b, label: label,
                                                  in: directory, round: round, quick: quick)
            }
            measured.append((results["A"]!, results["B"]!))
            progress("round \(round + 1)/\(rounds) done")
        }
        return BuildComparison(a: a, b: b, rounds: rounds, rows: try compare(measured))
    }

    /// Copies `binary` to a new file, runs its micro suite there under a deadline, removes the copy.
    static func runFreshCopy(of binary: String, label: String, in directory: String, round: Int,
                             quick: Bool) throws -> [MicroBenchmarkResult] {
        let copy = "\(directory)/\(label)-\(round)"
        do {
            try FileManager.default.copyItem(atPath: binary, toPath: copy)
        } catch {
            throw Failure(description: "\(label) \(binary): cannot copy it to \(copy): \(error.localizedDescription)", isBadInput: false)
        }
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let arguments = ["bench", "--only", "micro", "--no-baselines", "--json"] + (quick ? ["--quick"] : [])
        let child: ChildProcessResult
        do {
            child = try ChildProcess.run(executable: copy, arguments: arguments, deadlineNanoseconds: runDeadlineNanoseconds)
        } catch {
            throw Failure(description: "\(label) \(binary): cannot start it: \(error)", isBadInput: false)
        }
        let stderr = String(decoding: child.stderr, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
        if child.interrupted {
            throw Failure(description: "interrupted in round \(round + 1); nothing was compared", isBadInput: false, interrupted: true)
        }
        if child.timedOut {
            throw Failure(description: "\(label) \(binary): killed after \(runDeadlineNanoseconds / 1_000_000_000) s in round \(round + 1): \(stderr)",
                          isBadInput: false)
        }
        guard child.termination == .exited(0),
              let report = try? JSONDecoder().decode(BenchReport.self, from: child.stdout), !report.results.isEmpty else {
            throw Failure(description: "\(label) \(binary): `\(arguments.joined(separator: " "))` ended with \(child.termination) "
                + "and no micro results in round \(round + 1) (is it a timeslice binary?): \(stderr)", isBadInput: false)
        }
        return report.results
    }

    /// Rows from paired rounds: per benchmark and maxProcs present in every round of both builds.
    static func compare(_ rounds: [(a: [MicroBenchmarkResult], b: [MicroBenchmarkResult])]) throws -> [BuildComparisonRow] {
        guard let first = rounds.first else { return [] }
        var rows: [BuildComparisonRow] = []
        for (name, value) in benchmarks {
            for procs in first.a.map(\.maxProcs) {
                var aValues: [Double] = [], bValues: [Double] = []
                for round in rounds {
                    guard let x = round.a.first(where: { $0.maxProcs == procs }),
                          let y = round.b.first(where: { $0.maxProcs == procs }) else { continue }
                    aValues.append(value(x))
                    bValues.append(value(y))
                }
                guard aValues.count == rounds.count, !aValues.contains(where: { $0 <= 0 }) else { continue }
                let perRound = zip(bValues, aValues).map { $0 / $1 }
                let ci = RepetitionAggregator.bootstrapMedianCI(perRound, seed: ciSeed,
                                                                statistic: "median paired ratio B/A \(name) at \(procs) P")
                rows.append(BuildComparisonRow(
                    benchmark: name, maxProcs: procs,
                    medianA: RepetitionAggregator.median(aValues), medianB: RepetitionAggregator.median(bValues),
                    ratio: RepetitionAggregator.median(perRound), ratioCI95: ci.bounds,
                    verdict: ci.low > 1 ? "B slower" : ci.high < 1 ? "B faster" : "no difference shown"))
            }
        }
        return rows
    }

    public func table() -> String {
        var out = "A = \(a)\nB = \(b)\n\(rounds) rounds, each build run from a fresh copy of its file, ABBA order; "
            + "B/A: median over rounds of the round's ratio, bootstrap 95 % interval\n"
        out += "benchmark       procs  A median  B median   B/A   95 % interval  verdict\n"
        for row in rows {
            out += row.benchmark.padding(toLength: 15, withPad: " ", startingAt: 0)
            out += String(format: " %5d %9.1f %9.1f %5.2f   [%.2f..%.2f]   ", row.maxProcs, row.medianA, row.medianB,
                          row.ratio, row.ratioCI95[0], row.ratioCI95[1])
            out += row.verdict + "\n"
        }
        return out
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}
