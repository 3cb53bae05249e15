// Finding (and, when needed, building) the Go reference program, `baselines/go` in this
// repository, for the `go` runtime of the workloads.
//
// Order:
//   1. TIMESLICE_GO_BASELINE, when set: that binary, as is (for installs without the sources).
//   2. `go` must be in PATH, else every go row is `unavailable: go not installed`.
//   3. The repository is found by walking up from the working directory and from this
//      executable's directory to a `baselines/go/main.go`; the binary is
//      `<repo>/.build-go/timeslice-go-baseline` (what `make go-baseline` builds).
//   4. It is (re)built when missing or older than main.go/go.mod, under an flock so that two
//      processes never write it at once. Go ≥ 1.19 with the standard library only: no network.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

enum GoReferenceProgram {
    static let binaryName = "timeslice-go-baseline"
    static let overrideVariable = "TIMESLICE_GO_BASELINE"

    /// The binary to run. Throws `WorkloadUnavailable` when Go or the sources are missing and
    /// `WorkloadFailure` when a build fails. `progress` is beaten while building.
    static func binary(environment: [String: String] = ProcessInfo.processInfo.environment,
                       progress: ProgressBeacon) throws -> String {
        if let explicit = environment[overrideVariable], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw WorkloadUnavailable("\(overrideVariable)=\(explicit) is not an executable file")
            }
            return explicit
        }
        guard let go = GoToolchain.locate(environment: environment) else { throw Variants.notInstalled("go") }
        guard let root = repositoryRoot() else {
            throw WorkloadUnavailable("the Go reference program's sources (baselines/go/main.go) were not found above "
                + "\(FileManager.default.currentDirectoryPath); set \(overrideVariable) to a built \(binaryName)")
        }
        let output = "\(root)/.build-go/\(binaryName)"
        if !isStale(output, sources: root + "/baselines/go") { return output }
        try ProgressRelay.whileRunning(progress, mirroring: nil) {
            try build(go: go, sources: root + "/baselines/go", output: output, environment: environment)
        }
        return output
    }

    /// Directories to search upwards from: the working directory and this executable's.
    static func repositoryRoot() -> String? {
        var starts = [FileManager.default.currentDirectoryPath]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append((exe as NSString).deletingLastPathComponent)
        }
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            for _ in 0..<10 {
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("baselines/go/main.go").path) {
                    return dir.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }

    static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// True when `binary` is missing or older than any Go source or go.mod beside it.
    static func isStale(_ binary: String, sources: String) -> Bool {
        guard let built = modificationDate(binary) else { return true }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: sources)) ?? [])
            .filter { $0.hasSuffix(".go") || $0 == "go.mod" }
        return files.contains { (modificationDate("\(sources)/\($0)") ?? .distantFuture) > built }
    }

    /// `go build -o output .` in `sources`, holding an exclusive flock on `.build-go/.lock`.
    static func build(go: String, sources: String, output: String, environment: [String: String]) throws {
        let dir = (output as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lock = open(dir + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw WorkloadFailure("cannot open \(dir)/.lock: \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        // Another process may have built it while we waited.
        guard isStale(output, sources: sources) else { return }
        var env = environment
        // `go` refuses to run without a build cache; a bare environment (tests, cron) lacks HOME.
        if env["HOME"] == nil && env["GOCACHE"] == nil && env["XDG_CACHE_HOME"] == nil {
            env["GOCACHE"] = NSTemporaryDirectory() + "timeslice-go-cache"
        }
        // Only the registries this project may reach: never let `go` fetch a toolchain or modules.
        env["GOTOOLCHAIN"] = "local"
        env["GOFLAGS"] = "-mod=mod"
        env["GOPROXY"] = "off"
        // ChildProcess has no working-directory option; go 1.19 has no `-C`: a shell changes directory.
        let result = try ChildProcess.run(
            executable: "/bin/sh", arguments: ["-c", #"cd "$1" && exec "$2" build -o "$3" ."#, "sh", sources, go, output],
            environment: env, deadlineNanoseconds: 300_000_000_000)
        guard !result.timedOut, result.termination == .exited(0) else {
            let err = String(decoding: result.stderr, as: UTF8.self).split(separator: "\n").suffix(5).joined(separator: " | ")
            throw WorkloadFailure("building the Go reference program failed (\(result.timedOut ? "timed out" : "\(result.termination)")): \(err)")
        }
    }
}
