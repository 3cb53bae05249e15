// Ping-pong: two parties hand a token back and forth; each sample is one round trip as seen
// by the pinger. It measures the cost of a wake-up handoff: futex or condition variable
// between pthreads, yield or channel between goroutines.
import TimesliceHost

public enum PingPongMechanism: String, Codable, CaseIterable, Sendable {
    /// futex for threads, channel for goroutines and Tasks.
    case auto
    case futex, condvar, yield, channel

    /// The mechanism for OS threads: futex (default) or condvar.
    func forThreads() throws -> PingPongMechanism {
        switch self {
        case .auto, .futex: return .futex
        case .condvar: return .condvar
        case .yield, .channel:
            throw WorkloadUnavailable("mechanism \(rawValue) is a goroutine mechanism; threads use futex or condvar")
        }
    }

    /// The mechanism for user-level tasks (`who`: "goroutines", "Tasks"): channel (default) or yield.
    func forTasks(_ who: String) throws -> PingPongMechanism {
        switch self {
        case .auto, .channel: return .channel
        case .yield: return .yield
        case .futex, .condvar:
            throw WorkloadUnavailable("mechanism \(rawValue) is a thread mechanism; \(who) use channel or yield")
        }
    }
}

public struct PingPongParameters: WorkloadKind {
    public var mechanism: PingPongMechanism = .auto

    public static let kind = "pingpong"
    public static let latencyMeaning = "round trip"

    public static func decode(_ r: inout ObjectReader) throws -> PingPongParameters {
        var p = PingPongParameters()
        p.mechanism = try r.oneOf("mechanism", PingPongMechanism.allCases.map(\.rawValue)).flatMap(PingPongMechanism.init) ?? .auto
        return p
    }

    public var json: [String: JSONValue] { ["mechanism": .string(mechanism.rawValue)] }

    public static let variants: [RuntimeKind: WorkloadVariant<PingPongParameters>] = [
        .threads: { try PingPongWorkload(p: $0).runThreads($1) },
        .timeslice: { try PingPongWorkload(p: $0).runTimeslice($1) },
        .swiftConcurrency: { try PingPongWorkload(p: $0).runSwiftConcurrency($1) },
        .go: { _, context in try GoVariant.run(context) },
    ]

    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int { 2 }
}

/// The ping-pong workload's variants (PingPongWorkload+<Runtime>.swift).
struct PingPongWorkload {
    let p: PingPongParameters
}
