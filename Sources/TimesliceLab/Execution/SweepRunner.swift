// Runs an experiment: expands the matrix, runs each configuration (× repetitions) in its own
// child under the watchdog, writes results after each one, reports progress with an ETA, and
// returns the table. The sweep always goes on: a configuration's failure is its status.
//
// Repetitions are interleaved: round r runs every configuration once before round r + 1
// starts, so slow drift of the machine (thermal, other tenants of a VM) spreads over every
// configuration instead of biasing whichever ran last. The order is recorded.
import Foundation
import TimesliceHost

public struct SweepReport: Sendable {
    public var directory: String
    public var configs: [ConfigResult]
    public var table: String
    /// Planned configuration runs (`configs.count` < `planned` when interrupted).
    public var planned: Int = 0
    /// The signal that interrupted the sweep (SIGINT, SIGTERM, SIGHUP), or nil.
    public var interruptedBy: Int32? = nil
    /// True when any configuration ended in error or timeout (exit code 1).
    public var anyFailed: Bool { configs.contains { $0.status == .error || $0.status == .timeout } }
}

public struct SweepError: Error, CustomStringConvertible {
    public var description: String
}

public final class SweepRunner {
    let spec: ExperimentSpec
    let options: SweepOptions
    let launcher: ChildLauncher
    let environment: HostEnvironment
    let outRoot: String
    let progress: (String) -> Void

    public init(spec: ExperimentSpec, options: SweepOptions, launcher: ChildLauncher = SelfExecLauncher(),
                environment: HostEnvironment = .capture(), outRoot: String, progress: @escaping (String) -> Void) {
        self.spec = options.apply(to: spec)
        self.options = options
        self.launcher = launcher
        self.environment = environment
        self.outRoot = outRoot
        self.progress = progress
    }

    public static let repetitionOrder = "round-robin: each round runs every configuration once, in matrix order"

    /// The configuration runs in order: round 1 of every point, then round 2, ...
    public func plannedRuns() throws -> [RunConfiguration] {
        let points = MatrixExpansion.expand(spec).filter(options.selects)
        guard !points.isEmpty else {
            throw SweepError(description: "--only \(options.only ?? ""): no configuration of \(spec.name) matches; ids look like \(MatrixExpansion.expand(spec)[0].id)")
        }
        let noIsolated = environment.isolatedCPUs.isEmpty
        return (1...spec.repetitions).flatMap { rep in
            points.map { point in
                var c = RunConfiguration(spec: spec, point: point, repetition: rep)
                if noIsolated && point.effectivePlacement == .isolated { c.placementFallback = .compact }
                return c
            }
        }
    }

    /// The experiment's name.
    public var name: String { spec.name }

    /// Resolves every placement of the sweep against this host before anything is created, so
    /// that `{"explicit":[999]}` or `numa_node: 7` fails at once naming the CPU or the node.
    /// Throws a SweepError listing every placement that cannot run here.
    public func checkHost() throws -> [RunConfiguration] {
        let runs = try plannedRuns()
        var problems: [String] = []
        var seen = Set<String>()
        let resolver = PlacementResolver(host: environment.snapshot)
        for run in runs where seen.insert(run.placement.idText).inserted {
            do {
                _ = try resolver.resolve(PlacementSpec(workers: run.placement.policy), workers: threadsHint(run))
            } catch {
                problems.append("placement \(run.point.effectivePlacement.idText) (\(run.id)) cannot run on this host: \(error)")
            }
        }
        guard problems.isEmpty else {
            throw SweepError(description: problems.map { "\(spec.name): \($0)" }.joined(separator: "\n")
                             + "\nfix: change the placement or numa_node axis, or drop those points with \"exclude\"")
        }
        return runs
    }

    public func run() throws -> SweepReport {
        let runs = try checkHost()
        var warnings = hostWarnings(runs)
        if options.quick {
            warnings.append("--quick: shortened smoke run (at most 1 s measured, 200 ms warm-up, one repetition); not for publication")
        }
        let document = ResultsDocument(
            experiment: spec.name, spec: spec.source, environment: environment, warnings: warnings,
            latencyMeaning: spec.workload.latencyMeaning, startedAt: ResultsWriter.iso8601(Date()), finishedAt: nil,
            options: options.asDictionary, planned: runs.count, configs: [],
            provenance: Provenance.capture(), effectiveSpec: spec.effectiveJSON,
            repetitionOrder: Self.repetitionOrder)
        let writer = try ResultsWriter(root: outRoot, document: document, seed: spec.seed)
        for w in document.warnings { progress("warning: \(w)") }
        progress("\(spec.name): \(runs.count) configuration run\(runs.count == 1 ? "" : "s") -> \(writer.directory)")

        let sweepStart = MonotonicClock.now()
        let deadline = spec.watchdogNanoseconds
        var interruptedBy: Int32?
        for (i, config) in runs.enumerated() {
            if let signal = Interrupt.received { interruptedBy = signal; break }
            let stem = ResultsWriter.fileStem(id: config.id, repetition: config.repetition, repetitions: spec.repetitions)
            // Only the Timeslice runtime writes traces; the baselines have no Ms to trace.
            let trace = options.trace && config.point.runtime == .timeslice ? "\(writer.directory)/\(stem).trace.json" : nil
            var run = ConfigRunner.run(config, launcher: launcher, deadlineNanoseconds: deadline, traceFile: trace)
            // A configuration killed by the interrupt measured nothing: it is not recorded.
            if run.interrupted { interruptedBy = Interrupt.received ?? SIGINT; break }
            run.result.order = i
            try writer.append(run, stem: stem)
            progress(progressLine(index: i, total: runs.count, result: run.result, sweepStart: sweepStart))
        }
        try writer.finish(interrupted: interruptedBy != nil)
        return SweepReport(directory: writer.directory, configs: writer.document.configs,
                           table: SummaryTable.render(writer.document, meaning: spec.workload.latencyMeaning),
                           planned: runs.count, interruptedBy: interruptedBy)
    }

    func progressLine(index: Int, total: Int, result: ConfigResult, sweepStart: UInt64) -> String {
        let elapsed = Double(MonotonicClock.now() - sweepStart) / 1e9
        let eta = elapsed / Double(index + 1) * Double(total - index - 1)
        var line = "[\(index + 1)/\(total)] \(result.id)"
        if spec.repetitions > 1 { line += " rep \(result.repetition)" }
        line += "  \(result.status.rawValue)"
        if let l = result.latencyNs {
            line += "  p99=\(SummaryTable.cell(l.p99, censored: l.censored)) max=\(SummaryTable.cell(l.max, censored: l.censored))"
        }
        if let r = result.reason, result.status != .ok { line += "  (\(r.prefix(80)))" }
        line += String(format: "  elapsed %.0fs, ETA %.0fs", elapsed, eta)
        return line
    }

    /// Host warnings for every distinct placement in the sweep, e.g. "CPU 1 is not isolated".
    func hostWarnings(_ runs: [RunConfiguration]) -> [String] {
        var warnings: [String] = []
        var seen = Set<String>()
        for run in runs where seen.insert(run.point.effectivePlacement.idText).inserted {
            let requested = run.point.effectivePlacement
            if let fallback = run.placementFallback {
                warnings.append("place=\(requested.idText): this host has no isolated CPUs (no isolcpus/nohz_full); runs as \(fallback.idText) on the allowed CPUs \(environment.allowedCPUs.listString)")
            }
            do {
                let plan = try PlacementResolver(host: environment.snapshot)
                    .resolve(PlacementSpec(workers: run.placement.policy), workers: threadsHint(run))
                for w in environment.warnings(for: plan) {
                    // sysmon and the main thread are runtime roles; baselines have neither.
                    if run.point.runtime != .timeslice && (w.hasPrefix("sysmon") || w.hasPrefix("main thread")) { continue }
                    warnings.append("place=\(requested.idText): \(w)")
                }
            } catch {
                warnings.append("place=\(requested.idText): cannot be honoured: \(error)")
            }
        }
        // Host-wide warnings (hypervisor, governor) repeat per placement: keep the first of each text.
        var unique = Set<String>()
        return warnings.filter { w in
            let body = w.split(separator: ":", maxSplits: 1).last.map(String.init) ?? w
            return unique.insert(body).inserted
        }
    }

    /// How many threads a configuration pins, for the warning check only.
    func threadsHint(_ run: RunConfiguration) -> Int {
        run.workload.pinnedThreads(point: run.point, defaultMaxProcs: environment.defaultMaxProcs)
    }
}
