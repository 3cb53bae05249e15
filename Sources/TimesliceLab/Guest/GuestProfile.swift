// A guest profile: the topology a small Linux guest is booted with (`timeslice run --guest`).
// Shipped profiles are `guests/<name>.json` of the repository (found like the experiments);
// any other path to a JSON file works too. Schema (every key but the first two optional):
//
//   {"schema_version": 1, "name": "numa2",
//    "description": "...",
//    "cpus": 4,                              vCPUs, 1...64
//    "memory_mb": 1024,                      guest RAM, 256...65536, split evenly across nodes
//    "numa": {"nodes": [[0,1],[2,3]],        CPUs per node: every vCPU in exactly one node
//             "distances": [[10,20],[20,10]]},  SLIT: 10 on the diagonal, 11...254 elsewhere, symmetric
//    "kernel_args": ["isolcpus=2,3", "nohz_full=2,3", "rcu_nocbs=2,3", "irqaffinity=0-1"]}
//
// Errors name the file and the JSON path, like experiment files (SpecError).
import Foundation
import TimesliceHost

public struct GuestProfile: Codable, Equatable, Sendable {
    public struct NUMALayout: Codable, Equatable, Sendable {
        /// CPUs of node i, in node order.
        public var nodes: [[Int]]
        /// distances[i][j]: SLIT distance from node i to node j.
        public var distances: [[Int]]
    }

    public var name: String
    public var description: String
    public var cpus: Int
    public var memoryMB: Int
    public var numa: NUMALayout?
    /// Appended to the kernel command line, one argument per element.
    public var kernelArgs: [String]

    enum CodingKeys: String, CodingKey {
        case name, description, cpus, memoryMB = "memory_mb", numa, kernelArgs = "kernel_args"
    }

    public static let cpuRange: ClosedRange<Int64> = 1...64
    public static let memoryRange: ClosedRange<Int64> = 256...65_536

    /// `argument` as a file path, or the name of a shipped profile (`guests/<name>.json`).
    public static func load(_ argument: String) throws -> GuestProfile {
        let file = resolve(argument)
        guard FileManager.default.fileExists(atPath: file) else {
            let shipped = locate().map { dir in
                ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }
                    .map { String($0.dropLast(5)) }.sorted().joined(separator: ", ")
            } ?? "none found (no guests/ directory)"
            throw SpecError(file: argument, path: "", message: "no such guest profile; give a profile file or one of the shipped profiles: \(shipped)")
        }
        return try SpecDecoder.decodeJSON(try SpecDecoder.readFile(file), file: file, decode)
    }

    public static func decode(_ root: JSONValue) throws -> GuestProfile {
        var r = try ObjectReader(root, at: .root)
        guard let version = try r.int("schema_version") else {
            throw JSONPath.root.key("schema_version").error("missing; guest profiles have schema_version 1")
        }
        guard version == 1 else { throw JSONPath.root.key("schema_version").error("\(version) is not supported; this runner reads schema_version 1") }
        guard let name = try r.string("name"), !name.isEmpty else {
            throw JSONPath.root.key("name").error("missing or empty; give the profile a name, e.g. \"numa2\"")
        }
        let description = try r.string("description") ?? ""
        let cpus = try r.int("cpus", min: cpuRange.lowerBound, max: cpuRange.upperBound) ?? 2
        let memory = try r.int("memory_mb", min: memoryRange.lowerBound, max: memoryRange.upperBound) ?? 1024
        let numa = try r.raw("numa").map { try decodeNUMA($0, at: JSONPath.root.key("numa"), cpus: cpus, memoryMB: memory) }
        let args = try r.raw("kernel_args").map { (v: JSONValue) -> [String] in
            try ObjectReader.list(v, at: JSONPath.root.key("kernel_args")) { (e: JSONValue, p: JSONPath) -> String in
                let s = try ObjectReader.string(e, at: p)
                guard !s.isEmpty, !s.contains(where: { $0.isWhitespace || $0 == "\"" }) else {
                    throw p.error("\"\(s)\" is not one kernel argument; write one word per element, e.g. \"isolcpus=2,3\"")
                }
                return s
            }
        } ?? []
        try r.finish()
        return GuestProfile(name: name, description: description, cpus: cpus, memoryMB: memory, numa: numa, kernelArgs: args)
    }

    static func decodeNUMA(_ v: JSONValue, at p: JSONPath, cpus: Int, memoryMB: Int) throws -> NUMALayout {
        var r = try ObjectReader(v, at: p)
        guard let nodesValue = r.raw("nodes") else { throw p.key("nodes").error("missing; list the CPUs of each node, e.g. [[0,1],[2,3]]") }
        let nodes = try ObjectReader.list(nodesValue, at: p.key("nodes")) { (e: JSONValue, np: JSONPath) -> [Int] in
            try ObjectReader.list(e, at: np) { (c: JSONValue, cp: JSONPath) -> Int in try ObjectReader.int(c, at: cp, min: 0, max: Int64(cpus - 1)) }
        }
        var seen: [Int: Int] = [:]
        for (n, list) in nodes.enumerated() {
            for cpu in list {
                if let other = seen[cpu] { throw p.key("nodes").index(n).error("CPU \(cpu) is already in node \(other); each CPU belongs to one node") }
                seen[cpu] = n
            }
        }
        let missing = (0..<cpus).filter { seen[$0] == nil }
        guard missing.isEmpty else {
            throw p.key("nodes").error("CPUs \(missing.map(String.init).joined(separator: ",")) are in no node; every one of the \(cpus) CPUs must be in exactly one")
        }
        guard memoryMB / nodes.count >= 128 else {
            throw p.key("nodes").error("\(nodes.count) nodes leave under 128 MB each of memory_mb \(memoryMB); raise memory_mb")
        }
        let n = nodes.count
        let distances: [[Int]]
        if let dv = r.raw("distances") {
            distances = try ObjectReader.list(dv, at: p.key("distances")) { (row: JSONValue, rp: JSONPath) -> [Int] in
                try ObjectReader.list(row, at: rp) { (d: JSONValue, dp: JSONPath) -> Int in try ObjectReader.int(d, at: dp, min: 10, max: 254) }
            }
            guard distances.count == n else { throw p.key("distances").error("has \(distances.count) rows for \(n) nodes; give an \(n)×\(n) table") }
            for i in 0..<n {
                let rp = p.key("distances").index(i)
                guard distances[i].count == n else { throw rp.error("has \(distances[i].count) entries for \(n) nodes") }
                for j in 0..<n {
                    if i == j && distances[i][j] != 10 { throw rp.index(j).error("a node's distance to itself is 10, found \(distances[i][j])") }
                    if i != j && distances[i][j] <= 10 { throw rp.index(j).error("distance between different nodes must be above 10, found \(distances[i][j])") }
                    if distances[i][j] != distances[j][i] { throw rp.index(j).error("\(distances[i][j]) differs from distances[\(j)][\(i)] = \(distances[j][i]); the table must be symmetric") }
                }
            }
        } else {
            distances = (0..<n).map { i in (0..<n).map { $0 == i ? 10 : 20 } }
        }
        try r.finish()
        return NUMALayout(nodes: nodes, distances: distances)
    }

    /// The shipped profiles' directory: `guests/` beside `experiments/`.
    public static func locate() -> String? {
        guard let experiments = ExperimentCatalog.locate() else { return nil }
        let dir = (experiments as NSString).deletingLastPathComponent + "/guests"
        return ExperimentCatalog.isDirectory(dir) ? dir : nil
    }

    static func resolve(_ argument: String) -> String {
        if argument.contains("/") || argument.hasSuffix(".json") { return argument }
        return locate().map { "\($0)/\(argument).json" } ?? argument
    }
}
