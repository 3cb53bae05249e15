// Kernel settings that shape timer and scheduling latency, recorded once per run beside the
// results: clocksource, cpuidle driver and governor, transparent huge pages, the kernel's
// preemption model and tick rate. A value the kernel does not expose is nil ("not exposed").

public struct MachineFacts: Codable, Equatable, Sendable {
    public var kernelRelease: String?
    public var kernelVersion: String?
    public var clocksource: String?
    public var availableClocksources: String?
    public var cpuidleDriver: String?
    public var cpuidleGovernor: String?
    public var transparentHugepages: String?
    /// none | voluntary | full | rt, from the sched debugfs file when mounted, else the kernel's
    /// version string (PREEMPT_RT, PREEMPT_DYNAMIC: the boot-time choice is not visible, so
    /// "dynamic (boot default unknown)"), else nil.
    public var preemptionModel: String?
    /// CONFIG_HZ from /boot/config-<release>, when that file exists.
    public var hz: Int?

    enum CodingKeys: String, CodingKey {
        case kernelRelease = "kernel_release", kernelVersion = "kernel_version", clocksource
        case availableClocksources = "available_clocksources", cpuidleDriver = "cpuidle_driver"
        case cpuidleGovernor = "cpuidle_governor", transparentHugepages = "transparent_hugepages"
        case preemptionModel = "preemption_model", hz
    }

    public static func capture(fs: HostFileSystem = .live) -> MachineFacts {
        let release = fs.readTrimmed("/proc/sys/kernel/osrelease")
        let version = fs.readTrimmed("/proc/sys/kernel/version")
        let cs = "/sys/devices/system/clocksource/clocksource0"
        let thp = fs.readTrimmed("/sys/kernel/mm/transparent_hugepage/enabled")
        var hz: Int?
        if let release, let config = fs.read("/boot/config-\(release)") {
            hz = config.split(separator: "\n").first { $0.hasPrefix("CONFIG_HZ=") }
                .flatMap { Int($0.dropFirst("CONFIG_HZ=".count)) }
        }
        return MachineFacts(
            kernelRelease: release, kernelVersion: version,
            clocksource: fs.readTrimmed("\(cs)/current_clocksource"),
            availableClocksources: fs.readTrimmed("\(cs)/available_clocksource"),
            cpuidleDriver: fs.readTrimmed("/sys/devices/system/cpu/cpuidle/current_driver"),
            cpuidleGovernor: fs.readTrimmed("/sys/devices/system/cpu/cpuidle/current_governor")
                ?? fs.readTrimmed("/sys/devices/system/cpu/cpuidle/current_governor_ro"),
            // "always [madvise] never": the bracketed word is the mode.
            transparentHugepages: thp.flatMap { t in
                t.split(separator: " ").first { $0.hasPrefix("[") }.map { String($0.dropFirst().dropLast()) }
            },
            preemptionModel: preemption(fs: fs, version: version), hz: hz)
    }

    static func preemption(fs: HostFileSystem, version: String?) -> String? {
        if let text = fs.readTrimmed("/sys/kernel/debug/sched/preempt") {
            // "none voluntary (full) lazy": the parenthesized word is the active model.
            if let active = text.split(separator: " ").first(where: { $0.hasPrefix("(") }) {
                return String(active.dropFirst().dropLast())
            }
        }
        guard let version else { return nil }
        if version.contains("PREEMPT_RT") { return "rt" }
        if version.contains("PREEMPT_DYNAMIC") { return "dynamic (boot default unknown: debugfs not mounted)" }
        if version.contains("PREEMPT") { return "full" }
        return "none or voluntary (not distinguishable from the version string)"
    }
}
