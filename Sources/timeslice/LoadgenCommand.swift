import ArgumentParser
import TimesliceLab

/// The server workload's load generator (LoadGenerator.swift), a process of its own so that it
/// shares nothing with the runtime under test. Hidden: started by the `_child` of a server
/// configuration through ChildProcess, never by a user.
struct LoadgenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_loadgen", abstract: "Run the server workload's load generator (internal).", shouldDisplay: false)

    @Option(help: "The generator's specification as JSON.")
    var spec: String

    func run() throws {
        let code = LoadGeneratorMain.run(specJSON: spec)
        if code != 0 { throw ExitCode(code) }
    }
}
