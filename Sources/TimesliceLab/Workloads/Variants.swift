// Why a runtime variant of a workload cannot run here, and where the external baseline tools
// are. One place, so that every workload gives the same reason for the same missing piece.
import Foundation

public enum Variants {
    public static func unavailable(_ runtime: RuntimeKind, _ workload: String) -> WorkloadUnavailable {
        switch runtime {
        case .go:
            if GoToolchain.locate() == nil { return WorkloadUnavailable("go not installed") }
            return WorkloadUnavailable("the Go reference program (baselines/go) has no \(workload) workload")
        case .swiftConcurrency:
            return WorkloadUnavailable("\(workload) has no swift-concurrency variant")
        case .timeslice:
            return WorkloadUnavailable("the timeslice variant of \(workload) is not written yet")
        case .swiftNIO:
            return WorkloadUnavailable("\(workload) has no swift-nio variant (only the server workload has one)")
        case .threads:
            return WorkloadUnavailable("\(workload) has no threads variant")
        case .cyclictest:
            return WorkloadUnavailable("cyclictest measures only the wakeup workload (without hogs); \(workload) has no cyclictest variant")
        }
    }

    /// The tool missing on this host, in the words rows use ("go not installed").
    static func notInstalled(_ tool: String, package: String? = nil) -> WorkloadUnavailable {
        WorkloadUnavailable("\(tool) not installed" + (package.map { " (Debian package \($0))" } ?? ""))
    }

    static func executableInPath(_ name: String) -> Bool { locate(name) != nil }

    /// The absolute path of `name` in this process's PATH (an empty PATH finds nothing), as a
    /// shell would resolve it; posix_spawn needs the path itself.
    static func locate(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
