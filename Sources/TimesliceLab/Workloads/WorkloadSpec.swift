// The `workload` object of an experiment file: a `kind` and that kind's parameters.
// Each kind's parameters live beside its implementation (one file per workload); this file
// only dispatches on `kind`, so adding a workload means adding a case here and a file.
import TimesliceHost

public enum WorkloadSpec: Hashable, Sendable {
    case wakeup(WakeupParameters)
    case pingpong(PingPongParameters)
    case throughput(ThroughputParameters)
    case spawnJoin(SpawnJoinParameters)
    case openLoop(OpenLoopParameters)
    case workStealing(WorkStealingParameters)

    public static let kinds = ["wakeup", "pingpong", "throughput", "spawn_join", "open_loop", "work_stealing"]

    public var kind: String {
        switch self {
        case .wakeup: return "wakeup"
        case .pingpong: return "pingpong"
        case .throughput: return "throughput"
        case .spawnJoin: return "spawn_join"
        case .openLoop: return "open_loop"
        case .workStealing: return "work_stealing"
        }
    }

    /// What the latency histogram of this workload measures, for tables and READMEs.
    public var latencyMeaning: String {
        switch self {
        case .wakeup: return "wake-up lateness (actual - intended), every intended deadline counted (missed periods included); latency_raw_ns: one sample per wake-up"
        case .pingpong: return "round trip"
        case .throughput: return "time per work unit"
        case .spawnJoin: return "spawn+join of one batch"
        case .openLoop: return "response time from intended arrival"
        case .workStealing: return "spawn to completion of one task"
        }
    }

    /// The workload with the matrix's `hogs` axis applied (wakeup only; nil changes nothing).
    func overriding(hogs: Int?) -> WorkloadSpec {
        guard let hogs, case .wakeup(var p) = self else { return self }
        p.hogs = hogs
        return .wakeup(p)
    }

    static func decode(_ value: JSONValue, at path: JSONPath) throws -> WorkloadSpec {
        var r = try ObjectReader(value, at: path)
        guard let kind = try r.oneOf("kind", kinds) else {
            throw path.key("kind").error("missing; one of \(kinds.joined(separator: ", "))")
        }
        let spec: WorkloadSpec
        switch kind {
        case "wakeup": spec = .wakeup(try WakeupParameters.decode(&r))
        case "pingpong": spec = .pingpong(try PingPongParameters.decode(&r))
        case "throughput": spec = .throughput(try ThroughputParameters.decode(&r))
        case "spawn_join": spec = .spawnJoin(try SpawnJoinParameters.decode(&r))
        case "open_loop": spec = .openLoop(try OpenLoopParameters.decode(&r))
        case "work_stealing": spec = .workStealing(try WorkStealingParameters.decode(&r))
        default: preconditionFailure("oneOf admitted an unknown kind")
        }
        do { try r.finish() } catch let e as SpecError {
            // Say which kind the unknown parameter was checked against.
            throw SpecError(path: e.path, message: e.message.replacingOccurrences(
                of: "allowed keys here", with: "parameters of workload \"\(kind)\""))
        }
        return spec
    }
}

import Foundation

extension WorkloadSpec {
    /// The implementation of this workload kind.
    public func makeWorkload() throws -> any Workload {
        switch self {
        case .wakeup: return try WakeupWorkload(parameters: self)
        case .pingpong: return try PingPongWorkload(parameters: self)
        case .throughput: return try ThroughputWorkload(parameters: self)
        case .spawnJoin: return try SpawnJoinWorkload(parameters: self)
        case .openLoop: return try OpenLoopWorkload(parameters: self)
        case .workStealing: return try WorkStealingWorkload(parameters: self)
        }
    }
}

/// Encoded exactly as written in experiment files ({"kind": "wakeup", "interval": "1ms", ...})
/// and decoded by the same strict reader, so results.json and the child speak the file format.
extension WorkloadSpec: Codable {
    public init(from decoder: Decoder) throws {
        self = try WorkloadSpec.decode(try JSONValue(from: decoder), at: .root)
    }

    public func encode(to encoder: Encoder) throws {
        try json.encode(to: encoder)
    }

    public var json: JSONValue {
        var o: [String: JSONValue]
        switch self {
        case .wakeup(let p):
            o = ["interval": .string(DurationText.render(p.intervalNanoseconds)), "hogs": .integer(Int64(p.hogs)),
                 "hog_kind": .string(p.hogKind.rawValue)]
        case .pingpong(let p):
            o = ["mechanism": .string(p.mechanism.rawValue)]
        case .throughput(let p):
            o = ["work_unit": .integer(Int64(p.workUnit))]
            if let t = p.tasks { o["tasks"] = .integer(Int64(t)) }
        case .spawnJoin(let p):
            o = ["batch": .integer(Int64(p.batch))]
        case .openLoop(let p):
            o = ["rate": .real(p.rate), "fast_service": .string(DurationText.render(p.fastServiceNanoseconds)),
                 "slow_service": .string(DurationText.render(p.slowServiceNanoseconds)), "slow_fraction": .real(p.slowFraction)]
            if let w = p.workers { o["workers"] = .integer(Int64(w)) }
        case .workStealing(let p):
            o = ["tasks": .integer(Int64(p.tasks)), "task_work": .string(DurationText.render(p.taskWorkNanoseconds))]
        }
        o["kind"] = .string(kind)
        return .object(o)
    }
}
