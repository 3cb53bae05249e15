// What the scheduler did to each thread of a process during a measurement, from procfs:
// voluntary and involuntary context switches (/proc/PID/task/TID/status) and migrations between
// CPUs (se.nr_migrations in /proc/PID/task/TID/sched). A child reads its own threads at the end
// of its workload; the numbers say whether a latency figure was disturbed by being switched out
// or moved, which the figure alone cannot tell.

public struct ThreadActivity: Codable, Equatable, Sendable {
    public var tid: Int
    /// The thread's name (comm), e.g. "hog0", "probe", "ts-m1".
    public var name: String
    public var voluntarySwitches: UInt64?
    public var involuntarySwitches: UInt64?
    public var migrations: UInt64?

    enum CodingKeys: String, CodingKey {
        case tid, name, voluntarySwitches = "voluntary_switches", involuntarySwitches = "involuntary_switches"
        case migrations
    }

    /// Every thread of process `pid` ("self" for the caller), in tid order. Threads that exit
    /// while being read are skipped.
    public static func capture(pid: String = "self", fs: HostFileSystem = .live) -> [ThreadActivity] {
        fs.list("/proc/\(pid)/task").compactMap { Int($0) }.sorted().compactMap { tid in
            let dir = "/proc/\(pid)/task/\(tid)"
            guard let status = fs.read("\(dir)/status") else { return nil }
            let fields = keyValues(status, separator: ":")
            let sched = fs.read("\(dir)/sched").map { keyValues($0, separator: ":") } ?? [:]
            return ThreadActivity(tid: tid, name: fs.readTrimmed("\(dir)/comm") ?? fields["Name"] ?? "?",
                                  voluntarySwitches: fields["voluntary_ctxt_switches"].flatMap { UInt64($0) },
                                  involuntarySwitches: fields["nonvoluntary_ctxt_switches"].flatMap { UInt64($0) },
                                  migrations: sched["se.nr_migrations"].flatMap { UInt64($0) })
        }
    }

    /// "key: value" lines (the key may contain dots; spaces around the separator are ignored).
    static func keyValues(_ text: String, separator: Character) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let i = line.firstIndex(of: separator) else { continue }
            let key = line[..<i].trimmingHostWhitespace()
            let value = line[line.index(after: i)...].trimmingHostWhitespace()
            out[key] = value
        }
        return out
    }
}
