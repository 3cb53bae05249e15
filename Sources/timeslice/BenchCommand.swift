// `timeslice bench`: the runtime's benchmarks (logic in TimesliceLab/Bench).
import ArgumentParser
import Foundation
import TimesliceLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the runtime: yield, channel handoff, spawn+join and parked-goroutine memory at maxProcs 1 and 2; the cost, latency and EINTR effect of preemption.")

    enum Suite: String, ExpressibleByArgument, CaseIterable {
        case all, micro, preemption
    }

    @Option(help: "Which benchmarks: all, micro or preemption.")
    var only: Suite = .all

    @Flag(help: "Print JSON objects of numbers instead of tables.")
    var json = false

    @Flag(help: "Shorter runs (a tenth of the work), for smoke tests.")
    var quick = false

    func run() throws {
        let scale = quick ? 0.1 : 1
        if only != .preemption {
            let report = BenchReport.measure(scale: scale)
            print(json ? report.json() : report.table())
        }
        if only != .micro {
            let report = PreemptionBenchmarks.run(scale: scale)
            print(json ? report.json() : "\n" + report.table())
        }
    }
}
