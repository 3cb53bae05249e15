// The CPU limits a cgroup puts on this process: bandwidth quota (which caps
// useful parallelism, see MaxProcs.swift) and cpuset (which caps placement).
//
// Discovery follows Go 1.25's internal/runtime/cgroup: find our cgroup in
// /proc/self/cgroup, find where that hierarchy is mounted in
// /proc/self/mountinfo, and read the leaf cgroup's files. Like Go we read only
// the leaf, not its ancestors: container runtimes hide the parents anyway, and
// matching Go keeps our default GOMAXPROCS comparable with the Go baseline.
// On a hybrid host (v1 controllers plus an empty v2 "unified" mount, like this
// one) the v1 cpu controller wins, because the v2 tree has no cpu.max there.

/// CPU limits of this process's cgroup.
public struct CgroupLimits: Codable, Equatable, Sendable {
    /// quota / period in CPUs ("150000 100000" → 1.5); nil when unlimited or
    /// no cpu controller was found.
    public var cpuQuotaCores: Double?
    /// Effective cpuset of the cgroup; nil when no cpuset controller was found.
    public var cpuset: CPUSet?
    /// Hierarchy version (1 or 2) the cpu controller was found in; nil if none.
    public var version: Int?
    /// Directory of the cpu controller's cgroup that was read, for reports.
    public var cpuPath: String?

    public init(cpuQuotaCores: Double? = nil, cpuset: CPUSet? = nil, version: Int? = nil, cpuPath: String? = nil) {
        self.cpuQuotaCores = cpuQuotaCores
        self.cpuset = cpuset
        self.version = version
        self.cpuPath = cpuPath
    }

    public static func read(_ fs: HostFileSystem = .live) -> CgroupLimits {
        let memberships = parseProcCgroup(fs.read("/proc/self/cgroup") ?? "")
        let mounts = parseMountInfo(fs.read("/proc/self/mountinfo") ?? "")
        var limits = CgroupLimits()

        if let dir = directory(for: "cpu", memberships, mounts) {
            limits.version = 1
            limits.cpuPath = dir
            limits.cpuQuotaCores = v1Quota(
                quota: fs.readTrimmed(dir + "/cpu.cfs_quota_us"),
                period: fs.readTrimmed(dir + "/cpu.cfs_period_us"))
        } else if let dir = directory(for: nil, memberships, mounts) {
            limits.version = 2
            limits.cpuPath = dir
            limits.cpuQuotaCores = fs.readTrimmed(dir + "/cpu.max").flatMap(v2Quota)
        }

        if let dir = directory(for: "cpuset", memberships, mounts) {
            limits.cpuset = fs.readCPUSet(dir + "/cpuset.effective_cpus") ?? fs.readCPUSet(dir + "/cpuset.cpus")
        } else if let dir = directory(for: nil, memberships, mounts) {
            limits.cpuset = fs.readCPUSet(dir + "/cpuset.cpus.effective")
        }
        if limits.cpuset?.isEmpty == true { limits.cpuset = nil }
        return limits
    }

    /// cgroup v2 cpu.max: "max 100000" (unlimited) or "150000 100000".
    public static func v2Quota(_ cpuMax: String) -> Double? {
        let fields = cpuMax.split(separator: " ")
        guard let first = fields.first, first != "max", let quota = Double(first), quota > 0 else { return nil }
        let period = fields.count > 1 ? Double(fields[1]) ?? 100_000 : 100_000
        return period > 0 ? quota / period : nil
    }

    /// cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us; quota -1 = unlimited.
    public static func v1Quota(quota: String?, period: String?) -> Double? {
        guard let quota = quota.flatMap({ Double($0) }), quota > 0,
              let period = period.flatMap({ Double($0) }), period > 0 else { return nil }
        return quota / period
    }

    /// One line of /proc/self/cgroup: "hierarchy-id:controllers:path".
    struct Membership {
        /// Empty for the v2 unified hierarchy (line "0::/path").
        var controllers: [String]
        var path: String
        var isV2: Bool
    }

    /// One cgroup mount from /proc/self/mountinfo.
    struct Mount {
        var root: String
        var mountPoint: String
        var isV2: Bool
        /// v1 controllers named in the super options ("rw,cpu,cpuacct").
        var controllers: [String]
    }

    static func parseProcCgroup(_ text: String) -> [Membership] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            let controllers = parts[1].split(separator: ",").map(String.init)
            return Membership(controllers: controllers, path: String(parts[2]), isV2: parts[0] == "0" && controllers.isEmpty)
        }
    }

    static func parseMountInfo(_ text: String) -> [Mount] {
        text.split(separator: "\n").compactMap { line in
            // "36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:1 - cgroup cgroup rw,cpu"
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, dash + 1 < fields.count else { return nil }
            let fsType = fields[dash + 1]
            guard fsType == "cgroup" || fsType == "cgroup2" else { return nil }
            let superOptions = dash + 3 < fields.count ? fields[dash + 3].split(separator: ",").map(String.init) : []
            return Mount(root: unescape(fields[3]), mountPoint: unescape(fields[4]),
                         isV2: fsType == "cgroup2", controllers: fsType == "cgroup" ? superOptions : [])
        }
    }

    /// The cgroup directory of a v1 controller, or of the v2 hierarchy when
    /// `controller` is nil; nil when we are not in such a cgroup or it is not mounted.
    static func directory(for controller: String?, _ memberships: [Membership], _ mounts: [Mount]) -> String? {
        let membership = memberships.first { m in
            controller.map { m.controllers.contains($0) } ?? m.isV2
        }
        guard let membership else { return nil }
        let mount = mounts.first { mount in
            controller.map { !mount.isV2 && mount.controllers.contains($0) } ?? mount.isV2
        }
        guard let mount else { return nil }
        // The mount may expose a sub-tree (cgroup namespaces, bind mounts):
        // strip its root from our path; a path outside it means the mount
        // point itself is our cgroup as far as we can see.
        var relative = membership.path
        if mount.root != "/" {
            relative = relative.hasPrefix(mount.root) ? String(relative.dropFirst(mount.root.count)) : ""
        }
        if relative == "/" { relative = "" }
        if !relative.isEmpty && !relative.hasPrefix("/") { relative = "/" + relative }
        return mount.mountPoint + relative
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo octal.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 4 <= utf8.count,
               let value = UInt8(String(decoding: utf8[(i + 1)..<(i + 4)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
