// Why a runtime variant of a workload cannot run here. One place, so that every workload gives
// the same reason for the same missing piece, and so the reasons disappear as pieces land.
import Foundation

public enum Variants {
    public static func unavailable(_ runtime: RuntimeKind, _ workload: String) -> WorkloadUnavailable {
        switch runtime {
        case .go:
            if !executableInPath("go") { return WorkloadUnavailable("go not installed") }
            return WorkloadUnavailable("the Go reference program (baselines/go, issue 7) is not written yet")
        case .swiftConcurrency:
            return WorkloadUnavailable("the swift-concurrency variant of \(workload) is not written yet (issue 7)")
        case .timeslice:
            return WorkloadUnavailable("the timeslice variant of \(workload) is not written yet")
        case .threads:
            return WorkloadUnavailable("\(workload) has no threads variant")
        }
    }

    static func executableInPath(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}
