// Who ran what, where, with which build and which tools: written into every results.json so
// that a figure can be traced to its exact source, binary, command line and machine.
//
// The git commit is that of the source tree the running binary was built in (found by walking
// up from the executable to a directory holding Package.swift and .git); a binary copied
// elsewhere reports "unknown". `dirty` says whether tracked files differed from that commit.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

public enum TimesliceVersion {
    /// The tool's version, bumped with every change of the results schema or the CLI.
    public static let string = "0.3.0"

    /// "debug" or "release": how this binary was compiled.
    public static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }
}

public struct Provenance: Codable, Sendable {
    public var toolVersion: String
    public var gitCommit: String
    public var gitDirty: Bool?
    public var buildConfiguration: String
    public var executable: String
    public var argv: [String]
    public var hostname: String
    /// Tool and library versions: swift, go, cyclictest, and every resolved Swift package.
    public var versions: [String: String]
    public var machine: MachineFacts

    enum CodingKeys: String, CodingKey {
        case toolVersion = "tool_version", gitCommit = "git_commit", gitDirty = "git_dirty"
        case buildConfiguration = "build_configuration", executable, argv, hostname, versions, machine
    }

    public static func capture(argv: [String] = CommandLine.arguments) -> Provenance {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? argv.first ?? "?"
        let tree = SourceTree.containing(executable: exe)
        let commit = tree.flatMap { run("/usr/bin/git", ["-C", $0, "rev-parse", "HEAD"]) } ?? "unknown"
        let dirty = tree.flatMap { run("/usr/bin/git", ["-C", $0, "status", "--porcelain", "--untracked-files=no"]) }
            .map { !$0.isEmpty }
        var versions = tree.map(resolvedPackages) ?? [:]
        versions["swift"] = Variants.locate("swiftc").flatMap { run($0, ["--version"]) }?
            .split(separator: "\n").first.map(String.init) ?? "not found in PATH"
        versions["go"] = GoToolchain.locate().flatMap { run($0, ["version"]) } ?? "not installed"
        versions["cyclictest"] = Variants.locate("cyclictest").flatMap { run($0, ["--help"], acceptAnyExit: true) }?
            .split(separator: "\n").first.map(String.init) ?? "not installed"
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        return Provenance(toolVersion: TimesliceVersion.string, gitCommit: commit, gitDirty: dirty,
                          buildConfiguration: TimesliceVersion.buildConfiguration, executable: exe, argv: argv,
                          hostname: String(cString: host), versions: versions, machine: MachineFacts.capture())
    }

    /// `timeslice --version`: "timeslice 0.3.0, commit 1a2b3c… (dirty), release build".
    public static func versionLine() -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let tree = SourceTree.containing(executable: exe)
        let commit = tree.flatMap { run("/usr/bin/git", ["-C", $0, "rev-parse", "HEAD"]) } ?? "unknown (not run from its source tree)"
        let dirty = tree.flatMap { run("/usr/bin/git", ["-C", $0, "status", "--porcelain", "--untracked-files=no"]) }
            .map { $0.isEmpty ? "" : " (dirty)" } ?? ""
        return "timeslice \(TimesliceVersion.string), commit \(commit)\(dirty), \(TimesliceVersion.buildConfiguration) build"
    }

    /// Package.resolved's pins as "identity" → "version" (or the revision when unversioned).
    static func resolvedPackages(_ root: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: root + "/Package.resolved"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let pins = (json["pins"] ?? (json["object"] as? [String: Any])?["pins"]) as? [[String: Any]]
        else { return [:] }
        var out: [String: String] = [:]
        for pin in pins {
            guard let id = (pin["identity"] ?? pin["package"]) as? String,
                  let state = pin["state"] as? [String: Any] else { continue }
            out[id] = (state["version"] as? String) ?? (state["revision"] as? String) ?? "?"
        }
        return out
    }

    /// The first lines of a command's stdout, trimmed; nil when it fails or takes over 10 s.
    static func run(_ exe: String, _ args: [String], acceptAnyExit: Bool = false) -> String? {
        guard let r = try? ChildProcess.run(executable: exe, arguments: args, deadlineNanoseconds: 10_000_000_000),
              !r.timedOut, acceptAnyExit || r.termination == .exited(0) else { return nil }
        let out = String(decoding: r.stdout.isEmpty ? r.stderr : r.stdout, as: UTF8.self)
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The repository the running binary belongs to.
public enum SourceTree {
    /// Walks up from the executable's directory (then the working directory) to the first
    /// directory holding both Package.swift and .git.
    public static func containing(executable: String) -> String? {
        let starts = [(executable as NSString).deletingLastPathComponent, FileManager.default.currentDirectoryPath]
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            for _ in 0..<12 {
                let fm = FileManager.default
                if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                   fm.fileExists(atPath: dir.appendingPathComponent(".git").path) {
                    return dir.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }
}
