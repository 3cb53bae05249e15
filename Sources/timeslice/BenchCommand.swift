// `timeslice bench`: the runtime's benchmarks (logic in TimesliceLab/Bench).
import ArgumentParser
import Foundation
import TimesliceLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the runtime: yield, channel handoff, spawn+join and parked-goroutine memory at maxProcs 1 and 2 beside go, threads and swift-concurrency; the cost, latency and EINTR effect of preemption; the TCP echo round trip beside go, threads and swift-nio.",
        discussion: "The micro suite measures the same four benchmarks on the Go reference program (GOMAXPROCS=1, 2), on OS threads and on Swift concurrency (processes restricted to 1 and 2 CPUs) in the same invocation, and prints timeslice / other ratios. A baseline that cannot be measured shows \"unavailable: reason\".")

    enum Suite: String, ExpressibleByArgument, CaseIterable {
        case all, micro, preemption, net
    }

    @Option(help: "Which benchmarks: all, micro, preemption or net (TCP echo round trip: timeslice beside go, threads and swift-nio).")
    var only: Suite = .all

    @Flag(help: "Print JSON objects of numbers instead of tables.")
    var json = false

    @Flag(help: "Shorter runs (a tenth of the work), for smoke tests.")
    var quick = false

    @Flag(help: "Measure timeslice alone, without the go, threads and swift-concurrency baselines.")
    var noBaselines = false

    @Option(help: "Also write the numbers to <out>/bench/<UTC timestamp>/bench.json (read by notebooks/baselines.ipynb).")
    var out: String?

    func run() throws {
        // Check --out before minutes of measurement, not after.
        if let out {
            do { try OutputDirectory.prepare(out) } catch let e as OutputDirectory.Failure {
                fail(e.description, e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
            }
        }
        let scale = quick ? 0.1 : 1
        var micro: BenchReport?
        var preemption: PreemptionBenchReport?
        var net: NetBenchReport?
        if only == .all || only == .micro {
            let report = BenchReport.measure(scale: scale, baselines: !noBaselines)
            print(json ? report.json() : report.table())
            micro = report
        }
        if only == .all || only == .preemption {
            let report = PreemptionBenchmarks.run(scale: scale)
            print(json ? report.json() : "\n" + report.table())
            preemption = report
        }
        if only == .all || only == .net {
            let report = NetBenchmarks.run(scale: scale, baselines: !noBaselines)
            print(json ? report.json() : "\n" + report.table())
            net = report
        }
        if let out {
            let path = try BenchFile.write(root: out, micro: micro, preemption: preemption, net: net)
            FileHandle.standardError.write(Data("wrote \(path)\n".utf8))
        }
    }
}

/// The child side of the in-process baselines of `timeslice bench` (internal): measures one
/// runtime at one maxProcs in this fresh process and prints one `TIMESLICE-BENCH` line.
struct BenchBaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_bench-baseline", abstract: "Measure one baseline of timeslice bench (internal).", shouldDisplay: false)

    @Option(help: "threads or swift-concurrency.")
    var runtime: String

    @Option(help: "CPUs to restrict this process to (the first N allowed).")
    var maxProcs: Int

    @Option(help: "Fraction of the full work.")
    var scale: Double = 1

    func run() throws {
        print(BaselineBenchmarks.childLine(runtime: runtime, maxProcs: maxProcs, scale: scale))
    }
}
