// `timeslice run FILE... --guest PROFILE` on the host: one guest boot runs every file with the
// same options (`timeslice run ... --out /out/results` inside), then each run directory moves
// to <out>/<experiment>/<timestamp>/ with the guest's console.log and the host-measured boot
// time added to its results.json `guest` block.
import Foundation

public struct GuestRunReport: Sendable {
    public var directories: [String]
    /// What the guest's `timeslice run` printed on stdout (its tables or --json summary).
    public var stdout: String
    /// The guest command's exit status; nil when the guest never reported one.
    public var status: Int32?
    public var boot: GuestBootResult
}

public enum GuestRun {
    /// Where the guest's runner writes (inside /out, which comes back to the host).
    static let guestResults = "/out/results"

    /// The static executable to put into the guest: this one when it is linked with
    /// --static-swift-stdlib, else `.build-static/release/timeslice` of the source tree.
    public static func staticExecutable() throws -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        if let libs = try? GuestInitramfs.sharedLibraries(of: exe), !libs.contains(where: { $0.contains("libswiftCore") }) {
            return exe
        }
        let tree = SourceTree.containing(executable: exe) ?? FileManager.default.currentDirectoryPath
        let candidate = "\(tree)/.build-static/release/timeslice"
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw GuestError("the guest needs a statically linked timeslice and \(candidate) does not exist; build it with `make static-build` (swift build -c release --static-swift-stdlib --scratch-path .build-static)")
        }
        return candidate
    }

    /// Runs `files` (host paths of experiment files, already validated) in one guest.
    /// `options` are `timeslice run` flags passed through unchanged (--quick, --only, ...).
    public static func run(files: [String], options: [String], profile: GuestProfile, accelerator: GuestAcceleratorChoice,
                           outRoot: String, deadlineNanoseconds: UInt64, progress: (String) -> Void) throws -> GuestRunReport {
        let timeslice = try staticExecutable()
        var guestFiles: [(guest: String, host: String)] = []
        for (i, file) in files.enumerated() {
            // Numbered so that two files with the same base name do not collide.
            guestFiles.append((guest: "/experiments/\(i)-\((file as NSString).lastPathComponent)", host: file))
        }
        let command = ["run"] + guestFiles.map(\.guest) + options + ["--out", guestResults]
        let boot = try GuestMachine.boot(profile: profile, accelerator: accelerator, timeslice: timeslice, files: guestFiles,
                                         command: command, deadlineNanoseconds: deadlineNanoseconds, progress: progress)
        defer { try? FileManager.default.removeItem(atPath: boot.workDirectory) }
        // The guest prints its own paths (tables, --json "directory"); the runs now live under outRoot.
        let stdout = String(decoding: FileManager.default.contents(atPath: "\(boot.outDirectory)/stdout.txt") ?? Data(), as: UTF8.self)
            .replacingOccurrences(of: guestResults + "/", with: outRoot + "/")
        let directories = try collect(boot, outRoot: outRoot)
        if directories.isEmpty {
            let keep = "\(outRoot)/guest-console-\(ProcessInfo.processInfo.processIdentifier).log"
            try? Data(boot.console.utf8).write(to: URL(fileURLWithPath: keep))
            let why = boot.timedOut ? "timed out after \(Int(boot.wallSeconds)) s" : "exit status \(boot.commandStatus.map(String.init) ?? "unknown")"
            throw GuestError("the guest returned no results (\(why)); its console is in \(keep)")
        }
        return GuestRunReport(directories: directories, stdout: stdout, status: boot.commandStatus, boot: boot)
    }

    /// Moves every run directory the guest wrote under /out/results to <outRoot>/<experiment>/<stamp>,
    /// each with the console log and the host-measured boot time; returns their paths.
    static func collect(_ boot: GuestBootResult, outRoot: String) throws -> [String] {
        let fm = FileManager.default
        var directories: [String] = []
        let results = boot.outDirectory + guestResults.dropFirst("/out".count)
        for experiment in ((try? fm.contentsOfDirectory(atPath: results)) ?? []).sorted() {
            for stamp in ((try? fm.contentsOfDirectory(atPath: "\(results)/\(experiment)")) ?? []).sorted() {
                let target = "\(outRoot)/\(experiment)/\(stamp)"
                try fm.createDirectory(atPath: "\(outRoot)/\(experiment)", withIntermediateDirectories: true)
                try fm.moveItem(atPath: "\(results)/\(experiment)/\(stamp)", toPath: target)
                try Data(boot.console.utf8).write(to: URL(fileURLWithPath: "\(target)/console.log"))
                try recordBootTime(boot.record.bootSeconds, in: "\(target)/results.json")
                directories.append(target)
            }
        }
        return directories
    }

    /// The host-measured boot time into results.json `guest` (the guest cannot know it).
    static func recordBootTime(_ seconds: Double?, in file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { return }
        var document = try JSONDecoder().decode(ResultsDocument.self, from: data)
        document.guest?.bootSeconds = seconds
        try AtomicFile.write(try ResultsWriter.encoder().encode(document), to: file)
    }
}
