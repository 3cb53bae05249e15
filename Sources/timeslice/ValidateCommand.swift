import ArgumentParser
import Foundation
import TimesliceLab

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check experiment files without running them; prints the configurations each would run.")

    @Argument(help: "Experiment files, or names of shipped experiments.")
    var files: [String]

    func run() throws {
        var bad = false
        for file in files {
            let path = ExperimentCatalog.resolve(file)
            do {
                let spec = try SpecDecoder.decode(file: path)
                let points = MatrixExpansion.expand(spec)
                print("\(path): ok, \(points.count) configuration\(points.count == 1 ? "" : "s") × \(spec.repetitions) repetition\(spec.repetitions == 1 ? "" : "s")")
                for p in points { print("  \(p.id)") }
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                bad = true
            }
        }
        if bad { throw ExitCodes.badInput }
    }
}
