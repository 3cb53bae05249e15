// What a user asks for: where workers (Ms), sysmon and the main thread should
// run. Plain Codable values so that experiment specs can sweep them.

/// How to place one role's threads on CPUs.
///
/// JSON: "none" | "compact" | "scatter" | "isolated" | {"explicit":[0,1]} | {"numa":0}.
/// Text (description and `init?(_:)`): "none", "compact", "explicit(0,1)", "numa(0)".
public enum PlacementPolicy: Codable, Equatable, Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// Leave affinity alone.
    case none
    /// One CPU per M, filling a core's SMT threads, then the next core, one
    /// package/node before the next.
    case compact
    /// One CPU per M, spreading across packages/nodes first, then cores, then
    /// SMT threads.
    case scatter
    /// M i gets cpus[i % cpus.count]; order matters, duplicates allowed.
    case explicit([Int])
    /// One CPU per M from the kernel's isolated set (isolcpus ∪ sysfs isolated).
    case isolated
    /// Every M gets all allowed CPUs of the node.
    case numa(Int)

    public var description: String {
        switch self {
        case .none: return "none"
        case .compact: return "compact"
        case .scatter: return "scatter"
        case .isolated: return "isolated"
        case .explicit(let cpus): return "explicit(\(cpus.map(String.init).joined(separator: ",")))"
        case .numa(let node): return "numa(\(node))"
        }
    }

    /// Parses the description form; "explicit(...)" also takes CPU list syntax
    /// ("explicit(0-3,8)"), keeping the order written.
    public init?(_ text: String) {
        let text = text.trimmingHostWhitespace()
        switch text {
        case "none": self = .none
        case "compact": self = .compact
        case "scatter": self = .scatter
        case "isolated": self = .isolated
        default:
            guard text.hasSuffix(")"), let open = text.firstIndex(of: "(") else { return nil }
            let name = text[..<open]
            let argument = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
            switch name {
            case "numa":
                guard let node = Int(argument.trimmingHostWhitespace()) else { return nil }
                self = .numa(node)
            case "explicit":
                var cpus: [Int] = []
                for token in argument.split(separator: ",") {
                    guard let set = try? CPUSet(parsing: String(token)), !set.isEmpty else { return nil }
                    cpus.append(contentsOf: set.sorted)
                }
                guard !cpus.isEmpty else { return nil }
                self = .explicit(cpus)
            default:
                return nil
            }
        }
    }

    private enum Key: String, CodingKey {
        case explicit, numa
    }

    public init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            switch name {
            case "none": self = .none
            case "compact": self = .compact
            case "scatter": self = .scatter
            case "isolated": self = .isolated
            default:
                throw DecodingError.dataCorruptedError(
                    in: single,
                    debugDescription: "unknown placement policy \"\(name)\" (expected \"none\", \"compact\", \"scatter\", \"isolated\", {\"explicit\":[cpus]} or {\"numa\":node})")
            }
            return
        }
        let keyed = try decoder.container(keyedBy: Key.self)
        if let cpus = try keyed.decodeIfPresent([Int].self, forKey: .explicit) {
            self = .explicit(cpus)
        } else if let node = try keyed.decodeIfPresent(Int.self, forKey: .numa) {
            self = .numa(node)
        } else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "placement policy object must be {\"explicit\":[cpus]} or {\"numa\":node}"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .none, .compact, .scatter, .isolated:
            var single = encoder.singleValueContainer()
            try single.encode(description)
        case .explicit(let cpus):
            var keyed = encoder.container(keyedBy: Key.self)
            try keyed.encode(cpus, forKey: .explicit)
        case .numa(let node):
            var keyed = encoder.container(keyedBy: Key.self)
            try keyed.encode(node, forKey: .numa)
        }
    }
}

/// Placement of every thread role of one run (like cyclictest's separate
/// --affinity and --mainaffinity), so a study can keep housekeeping off its
/// measured CPUs.
public struct PlacementSpec: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The Ms that run Gs.
    public var workers: PlacementPolicy
    /// The sysmon thread.
    public var sysmon: PlacementPolicy
    /// The process's main thread.
    public var main: PlacementPolicy

    public init(workers: PlacementPolicy = .none, sysmon: PlacementPolicy = .none, main: PlacementPolicy = .none) {
        self.workers = workers
        self.sysmon = sysmon
        self.main = main
    }

    public var description: String { "workers=\(workers) sysmon=\(sysmon) main=\(main)" }

    private enum Key: String, CodingKey { case workers, sysmon, main }

    public init(from decoder: Decoder) throws {
        let keyed = try decoder.container(keyedBy: Key.self)
        workers = try keyed.decodeIfPresent(PlacementPolicy.self, forKey: .workers) ?? .none
        sysmon = try keyed.decodeIfPresent(PlacementPolicy.self, forKey: .sysmon) ?? .none
        main = try keyed.decodeIfPresent(PlacementPolicy.self, forKey: .main) ?? .none
    }

    public func encode(to encoder: Encoder) throws {
        var keyed = encoder.container(keyedBy: Key.self)
        try keyed.encode(workers, forKey: .workers)
        try keyed.encode(sysmon, forKey: .sysmon)
        try keyed.encode(main, forKey: .main)
    }
}
