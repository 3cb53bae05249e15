// Which CPUs the kernel keeps quiet for us: isolcpus (no scheduler load
// balancing / no unbound work), nohz_full (no periodic tick) and rcu_nocbs (no
// RCU callbacks), from the boot command line and from sysfs, which also
// reflects isolation done at run time (cpuset partitions) and kernels that
// rewrite the parameters.

/// Kernel CPU isolation as configured at boot and as the kernel reports it.
public struct KernelIsolation: Codable, Equatable, Sendable {
    /// /proc/cmdline, trimmed.
    public var cmdline: String
    /// CPUs named by isolcpus= (its flags removed).
    public var isolcpus: CPUSet
    /// Flags given to isolcpus= ("domain", "managed_irq", "nohz").
    public var isolcpusFlags: [String]
    /// nohz_full= from the command line ∪ /sys/devices/system/cpu/nohz_full.
    public var nohzFull: CPUSet
    /// rcu_nocbs= from the command line (bare "rcu_nocbs" = every possible CPU).
    public var rcuNocbs: CPUSet
    /// /sys/devices/system/cpu/isolated: the scheduler's own isolated set.
    public var sysfsIsolated: CPUSet
    /// Parameters whose CPU list could not be read, with the reason, so a
    /// report can say why isolation is not what the command line seems to ask.
    public var problems: [String]

    /// Everything the kernel isolates from the scheduler: isolcpus ∪ sysfs isolated.
    public var isolated: CPUSet { isolcpus.union(sysfsIsolated) }

    public init(cmdline: String, isolcpus: CPUSet = [], isolcpusFlags: [String] = [], nohzFull: CPUSet = [],
                rcuNocbs: CPUSet = [], sysfsIsolated: CPUSet = [], problems: [String] = []) {
        self.cmdline = cmdline
        self.isolcpus = isolcpus
        self.isolcpusFlags = isolcpusFlags
        self.nohzFull = nohzFull
        self.rcuNocbs = rcuNocbs
        self.sysfsIsolated = sysfsIsolated
        self.problems = problems
    }

    /// Flags isolcpus= accepts before its CPU list (kernel/sched/isolation.c).
    static let isolcpusFlagNames: Set<String> = ["nohz", "domain", "managed_irq"]

    public static func read(_ fs: HostFileSystem = .live) -> KernelIsolation {
        let possible = fs.readCPUSet("/sys/devices/system/cpu/possible")
            ?? fs.readCPUSet("/sys/devices/system/cpu/online") ?? CPUSet([])
        var result = parse(cmdline: fs.readTrimmed("/proc/cmdline") ?? "", possible: possible)
        result.sysfsIsolated = fs.readCPUSet("/sys/devices/system/cpu/isolated") ?? CPUSet([])
        if let nohz = fs.readCPUSet("/sys/devices/system/cpu/nohz_full") {
            result.nohzFull = result.nohzFull.union(nohz)
        }
        return result
    }

    /// Parses the isolation parameters of a kernel command line. `possible`
    /// resolves "all" and a bare rcu_nocbs. Arguments after "--" belong to init,
    /// not the kernel, and are ignored.
    public static func parse(cmdline: String, possible: CPUSet = []) -> KernelIsolation {
        var result = KernelIsolation(cmdline: cmdline.trimmingHostWhitespace())
        for argument in cmdline.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            if argument == "--" { break }
            let pieces = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pieces[0]).replacingDashes()
            let value = pieces.count > 1 ? String(pieces[1]) : nil
            switch key {
            case "isolcpus":
                guard let value else { continue }
                var flags: [String] = []
                var listTokens: [String] = []
                for token in value.split(separator: ",") {
                    // Flags come first; once a CPU token is seen, the rest is the list.
                    if listTokens.isEmpty && isolcpusFlagNames.contains(String(token)) {
                        flags.append(String(token))
                    } else {
                        listTokens.append(String(token))
                    }
                }
                result.isolcpusFlags.append(contentsOf: flags)
                if let set = result.list(listTokens.joined(separator: ","), for: "isolcpus", possible: possible) {
                    result.isolcpus = result.isolcpus.union(set)
                }
            case "nohz_full":
                guard let value else { continue }
                if let set = result.list(value, for: "nohz_full", possible: possible) {
                    result.nohzFull = result.nohzFull.union(set)
                }
            case "rcu_nocbs":
                // Since Linux 5.17 a bare rcu_nocbs offloads every CPU.
                guard let value else { result.rcuNocbs = possible; continue }
                if let set = result.list(value, for: "rcu_nocbs", possible: possible) {
                    result.rcuNocbs = result.rcuNocbs.union(set)
                }
            default:
                continue
            }
        }
        return result
    }

    private mutating func list(_ text: String, for parameter: String, possible: CPUSet) -> CPUSet? {
        if text == "all" { return possible }
        do {
            return try CPUSet(parsing: text)
        } catch let error as CPUSetParseError {
            problems.append("\(parameter)=\(text): \(error.description)")
        } catch {
            problems.append("\(parameter)=\(text): \(error)")
        }
        return nil
    }
}

extension String {
    /// The kernel treats '-' and '_' alike in parameter names.
    func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
