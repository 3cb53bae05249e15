// Host-wide activity that can disturb a latency measurement, read before and after each
// configuration: CPU time by state per CPU (/proc/stat: steal matters on a VM, iowait, irq and
// softirq), interrupts per CPU (/proc/interrupts), the load average and the CPU clock where the
// kernel exposes it. `HostInterference.between` turns two snapshots into what happened during
// the configuration, with warnings when the disturbance was measurable.
#if canImport(Glibc)
import Glibc
#endif

public struct CPUTimes: Codable, Equatable, Sendable {
    /// Clock ticks (USER_HZ) as /proc/stat counts them.
    public var user, nice, system, idle, iowait, irq, softirq, steal: UInt64

    public var total: UInt64 { user + nice + system + idle + iowait + irq + softirq + steal }
}

public struct HostActivitySnapshot: Sendable {
    /// CLOCK_MONOTONIC ns when taken.
    public var takenAt: UInt64
    /// Per CPU id; key -1 is the "cpu" summary line.
    public var cpuTimes: [Int: CPUTimes]
    /// Interrupts serviced per CPU since boot, summed over every source.
    public var interrupts: [Int: UInt64]
    public var loadAverage1m: Double?
    /// Current clock per CPU in MHz, when readable (cpufreq, else /proc/cpuinfo).
    public var cpuMHz: [Int: Double]

    public static func capture(fs: HostFileSystem = .live) -> HostActivitySnapshot {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return HostActivitySnapshot(
            takenAt: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec),
            cpuTimes: parseStat(fs.read("/proc/stat") ?? ""),
            interrupts: parseInterrupts(fs.read("/proc/interrupts") ?? ""),
            loadAverage1m: fs.readTrimmed("/proc/loadavg")?.split(separator: " ").first.flatMap { Double($0) },
            cpuMHz: frequencies(fs))
    }

    static func parseStat(_ text: String) -> [Int: CPUTimes] {
        var out: [Int: CPUTimes] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("cpu") {
            let f = line.split(separator: " ")
            let label = f[0].dropFirst(3)
            guard let id = label.isEmpty ? -1 : Int(label) else { continue }
            let v = f.dropFirst().map { UInt64($0) ?? 0 } + Array(repeating: 0, count: 8)
            out[id] = CPUTimes(user: v[0], nice: v[1], system: v[2], idle: v[3], iowait: v[4], irq: v[5],
                               softirq: v[6], steal: v[7])
        }
        return out
    }

    /// Sums each CPU column of /proc/interrupts over all rows (numeric IRQs and the named ones
    /// such as LOC, RES, CAL, TLB).
    static func parseInterrupts(_ text: String) -> [Int: UInt64] {
        let lines = text.split(separator: "\n")
        guard let header = lines.first else { return [:] }
        let cpus = header.split(separator: " ").compactMap { $0.hasPrefix("CPU") ? Int($0.dropFirst(3)) : nil }
        var sums = [UInt64](repeating: 0, count: cpus.count)
        for line in lines.dropFirst() {
            let f = line.split(separator: " ").dropFirst()  // "24:" / "LOC:"
            for (i, field) in f.prefix(cpus.count).enumerated() {
                guard let n = UInt64(field) else { break }
                sums[i] += n
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(cpus, sums))
    }

    static func frequencies(_ fs: HostFileSystem) -> [Int: Double] {
        var out: [Int: Double] = [:]
        for cpu in fs.numberedEntries("/sys/devices/system/cpu", prefix: "cpu") {
            if let khz = fs.readInt("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_cur_freq") {
                out[cpu] = Double(khz) / 1000
            }
        }
        if !out.isEmpty { return out }
        // No cpufreq (typical in VMs): /proc/cpuinfo's "cpu MHz" per processor.
        var current: Int?
        for line in (fs.read("/proc/cpuinfo") ?? "").split(separator: "\n") {
            let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingHostWhitespace() }
            guard kv.count == 2 else { continue }
            if kv[0] == "processor" { current = Int(kv[1]) }
            if kv[0] == "cpu MHz", let c = current, let mhz = Double(kv[1]) { out[c] = mhz }
        }
        return out
    }
}

/// What happened on the host between two snapshots.
public struct HostInterference: Codable, Equatable, Sendable {
    public var elapsedSeconds: Double
    /// Per CPU (and "all"): percentage of that CPU's time stolen by the hypervisor, spent waiting
    /// for I/O, and in interrupt handlers (hard + soft).
    public var stealPercent: [String: Double]
    public var iowaitPercent: [String: Double]
    public var irqPercent: [String: Double]
    public var interrupts: [String: UInt64]
    public var loadAverage1mBefore: Double?
    public var loadAverage1mAfter: Double?
    public var cpuMHzBefore: [String: Double]
    public var cpuMHzAfter: [String: Double]

    enum CodingKeys: String, CodingKey {
        case elapsedSeconds = "elapsed_seconds", stealPercent = "steal_pct", iowaitPercent = "iowait_pct"
        case irqPercent = "irq_pct", interrupts, loadAverage1mBefore = "loadavg_1m_before"
        case loadAverage1mAfter = "loadavg_1m_after", cpuMHzBefore = "cpu_mhz_before", cpuMHzAfter = "cpu_mhz_after"
    }

    public static func between(_ a: HostActivitySnapshot, _ b: HostActivitySnapshot) -> HostInterference {
        func key(_ cpu: Int) -> String { cpu < 0 ? "all" : String(cpu) }
        var steal: [String: Double] = [:], iowait: [String: Double] = [:], irq: [String: Double] = [:]
        for (cpu, after) in b.cpuTimes {
            guard let before = a.cpuTimes[cpu], after.total > before.total else { continue }
            let total = Double(after.total - before.total)
            func pct(_ x: KeyPath<CPUTimes, UInt64>) -> Double {
                (Double(after[keyPath: x] &- before[keyPath: x]) / total * 1000).rounded() / 10
            }
            steal[key(cpu)] = pct(\.steal)
            iowait[key(cpu)] = pct(\.iowait)
            irq[key(cpu)] = ((Double((after.irq + after.softirq) &- (before.irq + before.softirq)) / total) * 1000).rounded() / 10
        }
        var interrupts: [String: UInt64] = [:]
        for (cpu, n) in b.interrupts { interrupts[key(cpu)] = n &- (a.interrupts[cpu] ?? n) }
        return HostInterference(
            elapsedSeconds: Double(b.takenAt &- a.takenAt) / 1e9, stealPercent: steal, iowaitPercent: iowait,
            irqPercent: irq, interrupts: interrupts, loadAverage1mBefore: a.loadAverage1m,
            loadAverage1mAfter: b.loadAverage1m,
            cpuMHzBefore: Dictionary(uniqueKeysWithValues: a.cpuMHz.map { (key($0.key), $0.value) }),
            cpuMHzAfter: Dictionary(uniqueKeysWithValues: b.cpuMHz.map { (key($0.key), $0.value) }))
    }

    /// Disturbances large enough to mention beside the numbers.
    public var warnings: [String] {
        var out: [String] = []
        if let s = stealPercent["all"], s >= 1 {
            out.append("steal time \(s) % during this configuration (the hypervisor ran something else on these vCPUs)")
        }
        if let w = iowaitPercent["all"], w >= 5 { out.append("iowait \(w) % during this configuration") }
        if let before = loadAverage1mBefore, before >= 1 {
            out.append("1-minute load average was \(before) before this configuration started")
        }
        return out
    }
}
