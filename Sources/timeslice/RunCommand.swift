import ArgumentParser
import Foundation
import TimesliceHost
import TimesliceLab

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run experiments: every configuration in its own child process under a watchdog.",
        discussion: "Results go to <out>/<experiment>/<UTC timestamp>/: results.json, summary.csv, configs/<config>.json and one .hgrm (with a .hgrm.json sidecar) per configuration; each configuration is recorded as it finishes, results.json is complete at the end (after SIGKILL, `timeslice resume DIR` rebuilds it and runs the rest). Settings: --max-procs/--preempt/--time-slice > TIMESLICE_MAXPROCS/TIMESLICE_PREEMPT/TIMESLICE_TIMESLICE/TIMESLICE_SCHEDTRACE (where the file leaves the axis out) > the file > defaults; results.json `effective` says which. Above 1 hour expected or 1000 configuration runs, --yes is required. Everything (files, options, placements on this host, the results directory) is checked before anything runs. SIGINT, SIGTERM or SIGHUP stop the sweep: the running configuration is killed, results.json keeps the finished ones with \"interrupted\": true; a second signal exits at once. Exit status: 0 success, 64 bad input, 1 when a configuration errored or timed out or the environment failed (e.g. the results directory cannot be written), 128 + signal when interrupted.")

    @Argument(help: "Experiment files, or names of shipped experiments (see `timeslice list`).")
    var files: [String]

    @Option(help: "Directory under which results are written.")
    var out = "results"

    @Flag(help: "Smoke run: at most 1 s per configuration, 200 ms warm-up, one repetition.")
    var quick = false

    @Option(name: .customLong("repeat"), help: "Repetitions per configuration, 1...1000 (overrides the file).")
    var repetitions: Int?

    @Option(help: "Run only configurations whose id has all these comma-separated key=value fields, e.g. rt=timeslice,preempt=async.")
    var only: String?

    @Flag(help: "Write a Chrome/Perfetto trace per timeslice configuration: <config>.trace.json in the results directory (open in ui.perfetto.dev or chrome://tracing).")
    var trace = false

    @Option(name: .customLong("max-procs"), help: "Replace the max_procs axis: comma-separated, 1...1024 or default (wins over TIMESLICE_MAXPROCS and the file).")
    var maxProcs: String?

    @Option(help: "Replace the preemption axis: comma-separated cooperative, polling, async (wins over TIMESLICE_PREEMPT and the file).")
    var preempt: String?

    @Option(name: .customLong("time-slice"), help: "Replace the time_slice axis: comma-separated durations, 50us...10s (wins over TIMESLICE_TIMESLICE and the file).")
    var timeSlice: String?

    @Flag(help: "Print the summary as one JSON object on stdout instead of the table (progress stays on stderr).")
    var json = false

    @Flag(help: "Run even when the sweep is expected to take over 1 hour or has over 1000 configuration runs.")
    var yes = false

    @Option(help: "Run only the K-th of N deterministic slices of the plan, e.g. 2/3 (a Slurm array task; `timeslice merge` joins them).")
    var shard: String?

    @Option(help: "Run inside a qemu guest booted with this profile (shipped: numa2, isolated; or a profile .json file, see guests/). Needs qemu-system-x86, busybox-static, a /boot/vmlinuz-* kernel and `make static-build`; TIMESLICE_* variables of this shell do not reach the guest.")
    var guest: String?

    @Option(help: "With --guest: auto (KVM when a probe guest boots, else TCG), kvm or tcg. Under TCG every latency is emulated and meaningless.")
    var accel: GuestAcceleratorChoice = .auto

    func run() throws {
        if let guest { return runInGuest(profileName: guest) }
        var options = SweepOptions(quick: quick, repetitions: repetitions, only: only, trace: trace,
                                   environment: ProcessInfo.processInfo.environment)
        do {
            options.maxProcs = try maxProcs.map(EffectiveConfiguration.parseMaxProcs)
            options.preemption = try preempt.map(EffectiveConfiguration.parsePreemption)
            options.timeSlice = try timeSlice.map(EffectiveConfiguration.parseTimeSlice)
        } catch { fail("\(error)", ExitCodes.badInput) }
        if let shard {
            guard let s = SweepShard(parsing: shard) else { fail("--shard \(shard): expected K/N, e.g. 2/3", ExitCodes.badInput) }
            options.shard = s
        }
        if let problem = options.problem() { fail(problem, ExitCodes.badInput) }
        // Validate everything before running anything: the files, then each sweep against this
        // host (placements, --only), then the results directory.
        var runners: [SweepRunner] = []
        for file in files {
            let spec: ExperimentSpec
            do { spec = try SpecDecoder.decode(file: ExperimentCatalog.resolve(file)) } catch {
                fail("\(error)", ExitCodes.badInput)
            }
            let runner = SweepRunner(spec: spec, options: options, outRoot: out) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            let runs: [RunConfiguration]
            do { runs = try runner.checkHost() } catch { fail("\(error)", ExitCodes.badInput) }
            if !yes, let problem = runner.largeSweepProblem(runs: runs.count) { fail(problem, ExitCodes.badInput) }
            runner.liveStatus = LiveStatusLine.forStderr()
            runners.append(runner)
        }
        do { try OutputDirectory.prepare(out) } catch let e as OutputDirectory.Failure {
            fail(e.description, e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
        }
        // From here on SIGINT/SIGTERM/SIGHUP stop the sweep cleanly: the running configuration's
        // process group is killed, results.json says "interrupted": true (see Interrupt).
        do { try Interrupt.install() } catch { fail("cannot install the interrupt handler: \(error)", ExitCodes.environment) }
        var reports: [SweepReport] = []
        for runner in runners {
            let report = runSweep(name: runner.name) { try runner.run() }
            reports.append(report)
            try finishReport(report, all: reports, json: json, last: runner === runners.last)
        }
    }
}

extension RunCommand {
    /// The same command inside a guest: the files are checked here, the host check
    /// (placements) happens in the guest, whose topology is the one that counts.
    func runInGuest(profileName: String) {
        let profile: GuestProfile
        do { profile = try GuestProfile.load(profileName) } catch { fail("--guest: \(error)", ExitCodes.badInput) }
        var resolved: [String] = []
        var expected = 0.0, configurationRuns = 0
        for file in files {
            let path = ExperimentCatalog.resolve(file)
            let spec: ExperimentSpec
            do { spec = try SpecDecoder.decode(file: path) } catch { fail("\(error)", ExitCodes.badInput) }
            let runner = SweepRunner(spec: spec, options: SweepOptions(quick: quick, repetitions: repetitions, only: only), outRoot: out) { _ in }
            let runs = (try? runner.plannedRuns().count) ?? 100
            expected += runner.expectedSeconds(runs: runs) ?? 600
            configurationRuns += runs
            resolved.append(path)
        }
        var passed: [String] = []
        if quick { passed.append("--quick") }
        if trace { passed.append("--trace") }
        if json { passed.append("--json") }
        if yes { passed.append("--yes") }
        for (flag, value) in [("--repeat", repetitions.map(String.init)), ("--only", only), ("--max-procs", maxProcs),
                              ("--preempt", preempt), ("--time-slice", timeSlice), ("--shard", shard)] {
            if let value { passed += [flag, value] }
        }
        do { try OutputDirectory.prepare(out) } catch let e as OutputDirectory.Failure {
            fail(e.description, e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
        } catch { fail("\(error)", ExitCodes.environment) }
        // Boot (up to a minute under TCG on a loaded host), the sweep three times over, and
        // 30 s per configuration run (a child's start-up under TCG takes several seconds);
        // then the guest is killed.
        let deadline = UInt64((180 + 3 * expected + 30 * Double(configurationRuns)) * 1e9)
        let report: GuestRunReport
        do {
            report = try GuestRun.run(files: resolved, options: passed, profile: profile, accelerator: accel,
                                      outRoot: out, deadlineNanoseconds: deadline) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        } catch { fail("--guest \(profileName): \(error)", ExitCodes.environment) }
        print(report.stdout, terminator: "")
        let boot = report.boot.record.bootSeconds.map { String(format: "%.1f s", $0) } ?? "unknown"
        FileHandle.standardError.write(Data("guest \(profile.name) (\(report.boot.record.accelerator.rawValue)): booted in \(boot), \(String(format: "%.1f", report.boot.wallSeconds)) s in all; results (with console.log) in \(report.directories.joined(separator: ", "))\n".utf8))
        if report.status != 0 { TimesliceCommand.exit(withError: ExitCode(report.status ?? 1)) }
    }
}

extension GuestAcceleratorChoice: ExpressibleByArgument {}

/// Runs one sweep, turning its errors into the exit codes of `run` and `resume`.
func runSweep(name: String, _ body: () throws -> SweepReport) -> SweepReport {
    do { return try body() } catch let e as SweepError {
        fail(e.description, ExitCodes.badInput)
    } catch let e as OutputDirectory.Failure {
        fail(e.description, e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
    } catch {
        fail("\(name): \(error)", ExitCodes.environment)
    }
}

/// Prints one finished sweep (the table, or with --json the JSON of every sweep so far once the
/// last is done or the run stops) and throws the exit status when this one ends the command.
func finishReport(_ report: SweepReport, all reports: [SweepReport], json: Bool, last: Bool) throws {
    let stops = report.interruptedBy != nil
    if json {
        if last || stops { print(try RunSummaryJSON(reports).rendered(), terminator: "") }
    } else {
        print("\n\(report.experiment)  (\(report.directory))")
        print(report.table, terminator: "")
    }
    if let signal = report.interruptedBy {
        FileHandle.standardError.write(Data("interrupted: \(report.configs.count)/\(report.planned) configurations saved in \(report.directory) (continue with `timeslice resume \(report.directory)`)\n".utf8))
        throw ExitCode(128 + signal)
    }
    if last && reports.contains(where: \.anyFailed) { throw ExitCodes.configurationFailed }
}

/// Prints the message (one line per problem) to stderr and exits with `code`.
func fail(_ message: String, _ code: ExitCode) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    TimesliceCommand.exit(withError: code)
}
