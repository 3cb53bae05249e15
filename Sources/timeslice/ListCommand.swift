import ArgumentParser
import Foundation
import TimesliceLab

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the shipped experiments with their descriptions.")

    func run() throws {
        guard let dir = ExperimentCatalog.locate() else {
            FileHandle.standardError.write(Data("no experiments/ directory found here or above the executable\n".utf8))
            throw ExitCodes.badInput
        }
        let entries = ExperimentCatalog.entries(in: dir)
        let width = entries.map(\.name.count).max() ?? 0
        for e in entries {
            let text = e.problem.map { "INVALID: \($0)" } ?? e.description
            print(e.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + text)
        }
    }
}
