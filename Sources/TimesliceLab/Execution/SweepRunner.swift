// Runs an experiment: resolves the effective configuration (flags > TIMESLICE_* > file >
// defaults, EffectiveConfiguration), expands the matrix, runs each configuration (×
// repetitions) in its own child under the watchdog, records each one as it finishes
// (ResultsWriter), reports progress (SweepProgress), and returns the table. The sweep always
// goes on: a configuration's failure is its status. `resume` continues a run directory whose
// runner was killed, running only the configurations missing from its configs/.
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
    /// Per configuration id with more than one repetition (results.json `aggregates`).
    public var aggregates: [ConfigAggregate] = []
    public var experiment: String = ""
    /// Ran in a TCG guest: every latency is emulated (GuestRecord.emulated).
    public var emulated = false
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

    /// The values and origins of every knob, and the warnings of overridden variables; nil when
    /// the environment held a bad value (`configurationProblem`).
    public let effective: EffectiveConfiguration?
    let configurationProblem: SweepError?
    /// On a terminal: the status line redrawn while a child runs (LiveStatusLine.forStderr()).
    public var liveStatus: LiveStatusLine?

    public init(spec: ExperimentSpec, options: SweepOptions, launcher: ChildLauncher = SelfExecLauncher(),
                environment: HostEnvironment = .capture(), outRoot: String, progress: @escaping (String) -> Void) {
        do {
            let e = try EffectiveConfiguration.resolve(spec, options: options)
            self.spec = e.spec
            effective = e
            configurationProblem = nil
        } catch {
            self.spec = options.apply(to: spec)
            effective = nil
            configurationProblem = error as? SweepError ?? SweepError(description: "\(error)")
        }
        self.options = options
        self.launcher = launcher
        self.environment = environment
        self.outRoot = outRoot
        self.progress = progress
    }

    public static let repetitionOrder = "round-robin: each round runs every configuration once, in matrix order"

    /// The configuration runs in order: round 1 of every point, then round 2, ...
    public func plannedRuns() throws -> [RunConfiguration] {
        if let configurationProblem { throw configurationProblem }
        let all = MatrixExpansion.expand(spec)
        guard let first = all.first else {
            throw SweepError(description: "\(spec.name): the matrix has no point left (after --max-procs/--preempt/--time-slice or TIMESLICE_* and \"exclude\")")
        }
        let points = all.filter(options.selects)
        guard !points.isEmpty else {
            throw SweepError(description: "--only \(options.only ?? ""): no configuration of \(spec.name) matches; ids look like \(first.id)")
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

    /// Warm-up + duration of every planned run, without process start-up; nil for `iterations`.
    public func expectedSeconds(runs: Int) -> Double? { ProgressMeter.expectedTotal(runs: runs, spec: spec) }

    /// Above either limit `run` asks for `--yes`.
    public static let largeSweepSeconds = 3600.0
    public static let largeSweepRuns = 1000

    /// The plan in one line: "12 configuration runs, expected 2m 00s (warm-up + duration, without
    /// process start-up)".
    public static func planText(runs: Int, expectedSeconds: Double?) -> String {
        let expected = expectedSeconds.map { "expected \(DurationFormat.hms($0)) (warm-up + duration, without process start-up)" }
            ?? "expected time unknown (iterations)"
        return "\(runs) configuration run\(runs == 1 ? "" : "s"), \(expected)"
    }

    /// nil when the sweep is below both limits, else the message `run` exits 64 with.
    public func largeSweepProblem(runs: Int) -> String? {
        let expected = expectedSeconds(runs: runs)
        guard runs > Self.largeSweepRuns || (expected ?? 0) > Self.largeSweepSeconds else { return nil }
        return "\(spec.name): \(Self.planText(runs: runs, expectedSeconds: expected)); above the limit of \(DurationFormat.hms(Self.largeSweepSeconds)) or \(Self.largeSweepRuns) configuration runs: pass --yes to run it (or narrow it with --only, --quick, --repeat)"
    }

    /// The plan's runs this invocation executes, with their positions in the whole plan.
    func selected(_ plan: [RunConfiguration]) -> [(offset: Int, element: RunConfiguration)] {
        options.shard.map { $0.select(plan) } ?? plan.enumerated().map { ($0.offset, $0.element) }
    }

    public func run() throws -> SweepReport {
        let plan = try checkHost()
        let selection = selected(plan)
        let runs = selection.map(\.element)
        var warnings = hostWarnings(runs)
        if options.quick {
            warnings.append("--quick: shortened smoke run (at most 1 s measured, 200 ms warm-up, one repetition); not for publication")
        }
        warnings += effective?.warnings ?? []
        let guest = GuestRecord.current()
        if guest?.emulated == true { warnings.append(GuestRecord.emulatedWarning) }
        var document = ResultsDocument(
            experiment: spec.name, spec: spec.source, environment: environment, warnings: warnings,
            latencyMeaning: spec.workload.latencyMeaning, startedAt: ResultsWriter.iso8601(Date()), finishedAt: nil,
            options: options.asDictionary, planned: runs.count, configs: [],
            provenance: Provenance.capture(), effectiveSpec: spec.effectiveJSON,
            repetitionOrder: Self.repetitionOrder)
        document.effective = effective?.knobs
        document.guest = guest
        let writer = try ResultsWriter(root: outRoot, document: document, seed: spec.seed)
        for w in document.warnings { progress("warning: \(w)") }
        progress("\(spec.name): \(Self.planText(runs: runs.count, expectedSeconds: expectedSeconds(runs: runs.count))) -> \(writer.directory)")
        let interruptedBy = try execute(selection, total: runs.count, writer: writer)
        try writer.finish(interrupted: interruptedBy != nil)
        return report(writer, planned: runs.count, interruptedBy: interruptedBy)
    }

    /// Continues `directory`, a run whose runner was killed (or interrupted): rebuilds the index
    /// from configs/*.json and runs only the configurations of the plan that have no record. The
    /// plan is recomputed from results.json `effective_spec` and `options` (`only`, `trace`),
    /// not from the files or the environment of today.
    public static func resume(directory: String, launcher: ChildLauncher = SelfExecLauncher(),
                              environment: HostEnvironment = .capture(), progress: @escaping (String) -> Void,
                              liveStatus: LiveStatusLine? = nil) throws -> SweepReport {
        let indexPath = "\(directory)/results.json"
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw SweepError(description: "\(directory): no results.json here: not a run directory of `timeslice run`")
        }
        var document: ResultsDocument
        do { document = try JSONDecoder().decode(ResultsDocument.self, from: data) } catch {
            throw SweepError(description: "\(indexPath): cannot be read as results.json (schema_version \(ResultsDocument.schemaVersion)): \(error)")
        }
        // A guest's run needs the guest's topology; this host would run the rest on its own.
        if let guest = document.guest, GuestRecord.current() == nil {
            throw SweepError(description: "\(directory): ran inside a qemu guest (profile \(guest.profile.name)), which is gone; resuming here would run the rest on this host's topology. Run the experiment again with `timeslice run FILE --guest \(guest.profile.name)`")
        }
        guard let effectiveSpec = document.effectiveSpec else {
            throw SweepError(description: "\(indexPath): has no effective_spec, so its plan cannot be recomputed")
        }
        guard FileManager.default.fileExists(atPath: "\(directory)/\(ResultsWriter.configsDirectory)") else {
            throw SweepError(description: "\(directory): has no configs/ directory (written by an older timeslice); it cannot be resumed")
        }
        let spec = try SpecDecoder.decode(data: JSONEncoder().encode(effectiveSpec), file: "\(indexPath) effective_spec")
        var options = SweepOptions(only: document.options["only"], trace: document.options["trace"] == "true")
        options.shard = document.options["shard"].flatMap(SweepShard.init(parsing:))
        let outRoot = ((directory as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        let runner = SweepRunner(spec: spec, options: options, launcher: launcher, environment: environment,
                                 outRoot: outRoot, progress: progress)
        runner.liveStatus = liveStatus
        let selection = runner.selected(try runner.checkHost())
        let runs = selection.map(\.element)
        guard runs.count == document.planned else {
            throw SweepError(description: "\(directory): the plan recomputed from effective_spec has \(runs.count) configuration runs, results.json planned \(document.planned); not resuming")
        }
        // A runner SIGKILLed mid-write leaves NAME.tmp-PID beside its files: not results.
        for place in [directory, "\(directory)/\(ResultsWriter.configsDirectory)"] {
            for name in AtomicFile.removeOrphanedTemporaries(in: place) {
                progress("\(place)/\(name): removed (a temporary file of the killed runner)")
            }
        }
        let records = ConfigRecord.load(directory: directory)
        var done: [ConfigRecord] = []
        var todo: [(offset: Int, element: RunConfiguration)] = []
        for (i, run) in selection {
            let stem = ResultsWriter.fileStem(id: run.id, repetition: run.repetition, repetitions: spec.repetitions)
            if let record = records[stem] { done.append(record) } else { todo.append((i, run)) }
        }
        let now = ResultsWriter.iso8601(Date())
        // A run that had finished, with nothing missing: only its index is rewritten (with
        // what a newer timeslice derives from the records, such as `disturbed`); it still
        // finished when it did.
        let unchangedFinish = todo.isEmpty && document.interrupted != true
            ? document.finishedAt.flatMap(ResultsWriter.date(iso8601:)) : nil
        document.finishedAt = nil
        document.interrupted = false
        document.resumedAt = (document.resumedAt ?? []) + [now]
        if !todo.isEmpty {
            document.warnings.append("resumed at \(now): \(todo.count) of \(runs.count) configuration runs ran in a later invocation (`timeslice resume`)")
        }
        let writer = try ResultsWriter(resuming: directory, document: document, records: done, seed: spec.seed)
        progress("\(spec.name): resuming \(directory): \(done.count) of \(runs.count) recorded; \(Self.planText(runs: todo.count, expectedSeconds: runner.expectedSeconds(runs: todo.count))) left")
        let interruptedBy = try runner.execute(todo, total: runs.count, writer: writer, alreadyDone: done.count)
        try writer.finish(at: unchangedFinish ?? Date(), interrupted: interruptedBy != nil)
        return runner.report(writer, planned: runs.count, interruptedBy: interruptedBy)
    }

    func report(_ writer: ResultsWriter, planned: Int, interruptedBy: Int32?) -> SweepReport {
        SweepReport(directory: writer.directory, configs: writer.document.configs,
                    table: SummaryTable.render(writer.document, meaning: spec.workload.latencyMeaning),
                    planned: planned, interruptedBy: interruptedBy, aggregates: writer.document.aggregates,
                    experiment: spec.name, emulated: writer.document.guest?.emulated == true)
    }

    /// Runs `runs` (each with its 0-based position in the plan) and records them; returns the
    /// signal that stopped the sweep, if any. Progress counts these runs only (a resume shows
    /// the ones left).
    func execute(_ runs: [(offset: Int, element: RunConfiguration)], total: Int, writer: ResultsWriter,
                 alreadyDone: Int = 0) throws -> Int32? {
        let sweepStart = MonotonicClock.now()
        let deadline = spec.watchdogNanoseconds
        var meter = ProgressMeter(total: runs.count, expectedPerConfig: ProgressMeter.perConfig(spec), repetitions: spec.repetitions)
        for (i, config) in runs {
            if let signal = Interrupt.received { return signal }
            let stem = ResultsWriter.fileStem(id: config.id, repetition: config.repetition, repetitions: spec.repetitions)
            // Only the Timeslice runtime writes traces; the baselines have no Ms to trace.
            let trace = options.trace && config.point.runtime == .timeslice ? "\(writer.directory)/\(stem).trace.json" : nil
            let configStart = MonotonicClock.now()
            if let liveStatus {
                let m = meter, id = config.id, rep = config.repetition
                liveStatus.start {
                    m.liveLine(id: id, repetition: rep, currentSeconds: Double(MonotonicClock.now() - configStart) / 1e9)
                }
            }
            var run = ConfigRunner.run(config, launcher: launcher, deadlineNanoseconds: deadline, traceFile: trace)
            liveStatus?.stop()
            // A configuration killed by the interrupt measured nothing: it is not recorded.
            if run.interrupted { return Interrupt.received ?? SIGINT }
            run.result.order = i
            try writer.append(run, stem: stem)
            meter.finished(run.result, seconds: Double(MonotonicClock.now() - configStart) / 1e9)
            progress(meter.finishedLine(run.result, sweepSeconds: Double(MonotonicClock.now() - sweepStart) / 1e9))
        }
        return nil
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
