// The environment a result was measured in (docs/ARCHITECTURE.md "Measurement": every
// result carries it) and the warnings that say when a run cannot mean what it
// claims. Also the text of `timeslice env`.

import CTimeslice

/// Everything about the host that can change what a latency number means.
public struct HostEnvironment: Codable, Equatable, Sendable {
    /// /proc/sys/kernel/osrelease.
    public var kernelRelease: String?
    /// /proc/cmdline.
    public var cmdline: String?
    /// "model name" of /proc/cpuinfo; nil where the kernel does not give one (arm64).
    public var cpuModel: String?
    /// Hypervisor name ("KVM", "Xen", ...); nil on bare metal.
    public var hypervisor: String?
    public var onlineCPUs: CPUSet
    /// CPUs this process may use (affinity ∩ cgroup cpuset).
    public var allowedCPUs: CPUSet
    /// isolcpus ∪ /sys/devices/system/cpu/isolated.
    public var isolatedCPUs: CPUSet
    public var nohzFull: CPUSet
    public var rcuNocbs: CPUSet
    /// Whether SMT is on (/sys/devices/system/cpu/smt/active, else the topology).
    public var smtActive: Bool
    /// CPU id (decimal string) → cpufreq scaling governor; empty when cpufreq is absent.
    public var governors: [String: String]
    public var cgroup: CgroupLimits
    public var numa: NUMATopology
    public var topology: CPUTopology
    public var isolation: KernelIsolation
    /// Go 1.25's default GOMAXPROCS for this process (see MaxProcs.swift).
    public var defaultMaxProcs: Int

    public static func capture(_ fs: HostFileSystem = .live) -> HostEnvironment {
        capture(fs, allowed: nil)
    }

    /// `allowed` as in HostSnapshot.capture.
    public static func capture(_ fs: HostFileSystem, allowed: CPUSet?) -> HostEnvironment {
        let snapshot = HostSnapshot.capture(fs, allowed: allowed)
        let cpuinfo = fs.read("/proc/cpuinfo") ?? ""
        var governors: [String: String] = [:]
        for cpu in snapshot.topology.online {
            if let governor = fs.readTrimmed("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor") {
                governors[String(cpu)] = governor
            }
        }
        let smtFile = fs.readTrimmed("/sys/devices/system/cpu/smt/active")
        return HostEnvironment(
            kernelRelease: fs.readTrimmed("/proc/sys/kernel/osrelease"),
            cmdline: fs.readTrimmed("/proc/cmdline"),
            cpuModel: cpuinfoField(cpuinfo, "model name"),
            hypervisor: detectHypervisor(fs, cpuinfo: cpuinfo),
            onlineCPUs: snapshot.topology.online,
            allowedCPUs: snapshot.allowed,
            isolatedCPUs: snapshot.isolation.isolated,
            nohzFull: snapshot.isolation.nohzFull,
            rcuNocbs: snapshot.isolation.rcuNocbs,
            smtActive: smtFile.map { $0 == "1" } ?? snapshot.topology.hasSMT,
            governors: governors,
            cgroup: snapshot.cgroup,
            numa: snapshot.numa,
            topology: snapshot.topology,
            isolation: snapshot.isolation,
            defaultMaxProcs: TimesliceHost.defaultMaxProcs(affinity: snapshot.allowed, cgroup: snapshot.cgroup))
    }

    /// The placement-relevant part, for PlacementResolver.
    public var snapshot: HostSnapshot {
        HostSnapshot(topology: topology, numa: numa, cgroup: cgroup, isolation: isolation, allowed: allowedCPUs)
    }

    public func governor(of cpu: Int) -> String? { governors[String(cpu)] }

    // MARK: Warnings

    /// Why a run with `plan` on this host may not measure what it claims: the
    /// plan's own warnings first, then the host's.
    public func warnings(for plan: PlacementPlan) -> [String] {
        var warnings = plan.warnings
        let workerCPUs = plan.allWorkerCPUs
        let pinned = !workerCPUs.isEmpty

        if pinned {
            for cpu in workerCPUs where !isolatedCPUs.contains(cpu) && !nohzFull.contains(cpu) {
                warnings.append("CPU \(cpu) is not isolated (isolcpus/nohz_full not set for it)")
            }
            warnings.append(contentsOf: smtSharingWarnings(plan))
        }
        warnings.append(contentsOf: housekeepingWarnings("main thread", plan.mainCPUs, workerCPUs: workerCPUs))
        warnings.append(contentsOf: housekeepingWarnings("sysmon", plan.sysmonCPUs, workerCPUs: workerCPUs))
        if let hypervisor {
            warnings.append("running under a hypervisor (\(hypervisor)): the host can deschedule vCPUs, so latencies include time this guest cannot see")
        }
        // Governors of the CPUs the workers can run on.
        let measured = pinned ? workerCPUs : allowedCPUs
        var byGovernor: [String: [Int]] = [:]
        for cpu in measured {
            if let governor = governor(of: cpu), governor != "performance" { byGovernor[governor, default: []].append(cpu) }
        }
        for (governor, cpus) in byGovernor.sorted(by: { $0.key < $1.key }) {
            let set = CPUSet(cpus)
            warnings.append("CPU\(set.count == 1 ? "" : "s") \(set) use\(set.count == 1 ? "s" : "") the \(governor) cpufreq governor, not performance: frequency changes add jitter")
        }
        if let quota = cgroup.cpuQuotaCores, Double(plan.workerCount) > quota {
            warnings.append("cgroup CPU quota is \(formatCores(quota)) CPUs, below the \(plan.workerCount) workers: the cgroup will throttle them")
        }
        warnings.append(contentsOf: isolation.problems.map { "kernel command line: \($0)" })
        return warnings
    }

    /// Pairs of workers pinned to two SMT threads of one core.
    private func smtSharingWarnings(_ plan: PlacementPlan) -> [String] {
        // First worker pinned to each single CPU, in worker order.
        var firstWorker: [(cpu: Int, worker: Int)] = []
        for (index, set) in plan.workerCPUs.enumerated() where set.count == 1 {
            let cpu = set.sorted[0]
            if !firstWorker.contains(where: { $0.cpu == cpu }) { firstWorker.append((cpu, index)) }
        }
        var warnings: [String] = []
        for (i, a) in firstWorker.enumerated() {
            for b in firstWorker[(i + 1)...] where topology.smtSiblings(of: a.cpu).contains(b.cpu) {
                warnings.append("workers \(a.worker) and \(b.worker) run on SMT siblings (CPUs \(a.cpu) and \(b.cpu) share a core)")
            }
        }
        return warnings
    }

    private func housekeepingWarnings(_ role: String, _ cpus: CPUSet?, workerCPUs: CPUSet) -> [String] {
        guard !workerCPUs.isEmpty else { return [] }
        guard let cpus else {
            // Unpinned, it keeps this process's mask: with isolcpus that mask leaves out the
            // isolated CPUs the workers were moved to, and nothing is shared.
            let reachable = workerCPUs.intersection(allowedCPUs)
            return reachable.isEmpty ? [] : ["\(role) is not pinned and may run on worker CPUs \(reachable.listString)"]
        }
        let shared = cpus.intersection(workerCPUs)
        guard !shared.isEmpty else { return [] }
        return ["\(role) shares CPU\(shared.count == 1 ? "" : "s") \(shared) with workers"]
    }

    // MARK: Report

    /// Human-readable report for `timeslice env`; with a plan, also the
    /// placement and its warnings.
    public func renderText(plan: PlacementPlan? = nil) -> String {
        func show(_ set: CPUSet) -> String { set.isEmpty ? "none" : set.listString }
        var lines: [String] = []
        func row(_ label: String, _ value: String) {
            lines.append(label.padding(to: 18) + value)
        }
        row("kernel", kernelRelease ?? "unknown")
        row("cmdline", cmdline ?? "unknown")
        row("cpu model", cpuModel ?? "unknown")
        row("hypervisor", hypervisor ?? "none detected")
        row("online CPUs", show(onlineCPUs))
        row("allowed CPUs", show(allowedCPUs))
        row("SMT", smtActive ? "active" : "inactive")
        for info in topology.cpus {
            let siblings = topology.smtSiblings(of: info.id)
            row("  cpu \(info.id)", "core \(info.coreID), package \(info.packageID), node \(info.nodeID), SMT siblings \(show(siblings))")
        }
        if numa.nodes.isEmpty {
            row("NUMA", "not available (no /sys/devices/system/node)")
        }
        for node in numa.nodes {
            let memory = node.memoryBytes.map { formatBytes($0) } ?? "memory unknown"
            // SLIT distances to every node in node order (10 = local), as sysfs gives them.
            let distances = node.distances.isEmpty ? "" : ", distances \(node.distances.map(String.init).joined(separator: " "))"
            row("NUMA node \(node.id)", "CPUs \(show(node.cpus)), \(memory)\(distances)")
        }
        row("isolcpus", show(isolation.isolcpus) + (isolation.isolcpusFlags.isEmpty ? "" : " (flags \(isolation.isolcpusFlags.joined(separator: ",")))"))
        row("sysfs isolated", show(isolation.sysfsIsolated))
        row("nohz_full", show(nohzFull))
        row("rcu_nocbs", show(rcuNocbs))
        if governors.isEmpty {
            row("governor", "not available (no cpufreq in sysfs)")
        } else {
            let grouped = Dictionary(grouping: governors, by: \.value).map { ($0.key, CPUSet($0.value.compactMap { Int($0.key) })) }
            row("governor", grouped.sorted { $0.0 < $1.0 }.map { "\($0.0) on \($0.1)" }.joined(separator: "; "))
        }
        let quota = cgroup.cpuQuotaCores.map { "\(formatCores($0)) CPUs" } ?? "unlimited"
        let version = cgroup.version.map { "v\($0)" } ?? "no cpu controller found"
        row("cgroup", "\(version), cpu quota \(quota), cpuset \(cgroup.cpuset.map(show) ?? "not set")")
        row("default maxprocs", String(defaultMaxProcs))
        if let plan {
            row("placement", plan.spec.description)
            if plan.workerCPUs.isEmpty {
                row("  workers", "not pinned")
            } else {
                let shown = plan.workerCPUs.prefix(16).enumerated().map { "M\($0.offset)→\($0.element)" }
                row("  workers", shown.joined(separator: " ") + (plan.workerCPUs.count > 16 ? " …" : ""))
            }
            row("  sysmon", plan.sysmonCPUs.map(show) ?? "not pinned")
            row("  main", plan.mainCPUs.map(show) ?? "not pinned")
            let warnings = warnings(for: plan)
            lines.append(warnings.isEmpty ? "warnings: none" : "warnings:")
            lines.append(contentsOf: warnings.map { "  - " + $0 })
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Detection

    static func cpuinfoField(_ cpuinfo: String, _ name: String) -> String? {
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingHostWhitespace() == name {
                return parts[1].trimmingHostWhitespace()
            }
        }
        return nil
    }

    /// Hypervisor name. On the live host CPUID leaf 0x40000000 names it; for
    /// any tree, /sys/hypervisor/type (Xen) and the cpuinfo "hypervisor" flag
    /// (set by every hypervisor that announces itself) are consulted.
    static func detectHypervisor(_ fs: HostFileSystem, cpuinfo: String) -> String? {
        if fs.isLive {
            var buffer = [CChar](repeating: 0, count: 16)
            if ts_cpuid_hypervisor(&buffer, buffer.count) == 1 {
                let vendor = String(cString: buffer)
                return knownHypervisors[vendor] ?? (vendor.isEmpty ? "unknown (CPUID hypervisor bit)" : vendor)
            }
        }
        if let type = fs.readTrimmed("/sys/hypervisor/type"), !type.isEmpty {
            return type == "xen" ? "Xen" : type
        }
        if let flags = cpuinfoField(cpuinfo, "flags"), flags.split(separator: " ").contains("hypervisor") {
            return "unknown (cpuinfo hypervisor flag)"
        }
        return nil
    }

    /// CPUID 0x40000000 vendor signatures.
    static let knownHypervisors: [String: String] = [
        "KVMKVMKVM": "KVM",
        "Microsoft Hv": "Hyper-V",
        "VMwareVMware": "VMware",
        "XenVMMXenVMM": "Xen",
        "TCGTCGTCGTCG": "QEMU TCG",
        "VBoxVBoxVBox": "VirtualBox",
        "ACRNACRNACRN": "ACRN",
        "bhyve bhyve ": "bhyve",
        " lrpepyh  vr": "Parallels",
        "QNXQVMBSQG": "QNX",
    ]
}

/// "1.5", "2", "0.25": no trailing zeros.
func formatCores(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
    let hundredths = (value * 100).rounded() / 100
    return String(hundredths)
}

func formatBytes(_ bytes: UInt64) -> String {
    let gib = Double(bytes) / (1024 * 1024 * 1024)
    if gib >= 1 { return "\((gib * 10).rounded() / 10) GiB" }
    return "\(bytes / (1024 * 1024)) MiB"
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
