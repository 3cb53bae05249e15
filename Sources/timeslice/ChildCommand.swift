import ArgumentParser
import TimesliceLab

/// The child side of `timeslice run`: runs one configuration and prints its outcome line.
/// Hidden: it is an internal protocol between parent and child, not a user command.
struct ChildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_child", abstract: "Run one configuration (internal).", shouldDisplay: false)

    @Option(help: "The configuration as JSON.")
    var config: String

    func run() throws {
        let code = ChildMain.run(configJSON: config)
        if code != 0 { throw ExitCode(code) }
    }
}
