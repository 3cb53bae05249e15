// The `timeslice` command. This file is the one list of subcommands; each subcommand only
// parses its arguments and calls TimesliceLab, where the logic is (and is tested).
import ArgumentParser
import TimesliceLab

@main
struct TimesliceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeslice",
        abstract: "Preemption and CPU-affinity experiments for the Timeslice M:N runtime.",
        // The commit is looked up (git) only when --version is asked for, not on every start.
        version: CommandLine.arguments.dropFirst().first == "--version" ? Provenance.versionLine() : TimesliceVersion.string,
        subcommands: [
            RunCommand.self,
            ResumeCommand.self,
            ValidateCommand.self,
            ListCommand.self,
            EnvCommand.self,
            ReportCommand.self,
            CompareCommand.self,
            BenchCommand.self,
            BenchCompareCommand.self,
            MergeCommand.self,
            SlurmCommand.self,
            GuestSelftestCommand.self,
            ChildCommand.self,
            LoadgenCommand.self,
            BenchBaselineCommand.self,
        ]
    )
}

/// Exit codes shared by the subcommands: 64 (EX_USAGE) for bad input, 1 when a configuration
/// errored or timed out or the environment failed (a results file could not be written),
/// 128 + signal when `run` was interrupted.
enum ExitCodes {
    static let badInput = ExitCode(64)
    static let configurationFailed = ExitCode(1)
    static let environment = ExitCode(1)
}
