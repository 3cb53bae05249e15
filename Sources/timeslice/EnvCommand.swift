import ArgumentParser
import Foundation
import TimesliceHost

struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Report the host: kernel, isolation, CPUs, SMT, governors, cgroup, NUMA, hypervisor.")

    @Flag(help: "Print the report as JSON (the `environment` block of results.json).")
    var json = false

    func run() throws {
        let env = HostEnvironment.capture()
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(env), as: UTF8.self))
        } else {
            print(env.renderText(plan: nil), terminator: "")
        }
    }
}
