// `timeslice guest-selftest` (hidden), run inside a guest: the placement facts that a one-node
// development host can only fake with sysfs trees, observed on a real kernel topology and
// printed as one JSON object that scripts/guest-test.sh asserts on.
//   - always: the NUMA nodes with CPUs and distances, the isolated CPUs, `timeslice env`'s text;
//   - two or more nodes: workers placed with numa(<last node>) — the CPU every goroutine ran on
//     (getcpu) and the node of its stack page (move_pages); the steal order of one P per CPU
//     (explicit placement), each victim with its node; numa(<nodes>) refused with its message;
//   - isolated CPUs: workers placed with `isolated` — CPUs seen, the host warnings for the
//     plan; then the shipped isolcpus study (--quick) run as the runner runs it.
import Foundation
import Timeslice
import TimesliceHost

public struct GuestSelftestFacts: Codable, Sendable {
    public struct Node: Codable, Sendable {
        public var id: Int
        public var cpus: [Int]
        public var distances: [Int]
    }

    /// What goroutines of a placed runtime observed.
    public struct PlacedRun: Codable, Sendable {
        public var placement: String
        public var workerCPUs: [[Int]]
        /// How many (CPU, stack node) samples the goroutines took.
        public var samples: Int
        /// The distinct CPUs getcpu reported to the goroutines.
        public var cpusSeen: [Int]
        /// The distinct nodes move_pages reported for their stack pages (-1: the kernel could not say).
        public var stackNodes: [Int]
        /// AppliedPlacement errors (kernel affinity or CPU outside the set).
        public var placementErrors: [String]
        /// HostEnvironment.warnings(for:) of the plan (e.g. "CPU 1 is not isolated").
        public var hostWarnings: [String]

        enum CodingKeys: String, CodingKey {
            case placement, workerCPUs = "worker_cpus", samples, cpusSeen = "cpus_seen", stackNodes = "stack_nodes"
            case placementErrors = "placement_errors", hostWarnings = "host_warnings"
        }
    }

    public struct StealOrderSample: Codable, Sendable {
        public var thief: Int
        public var thiefNode: Int?
        public var seed: UInt64
        public var victims: [StealVisit]

        enum CodingKeys: String, CodingKey { case thief, thiefNode = "thief_node", seed, victims }
    }

    public struct Study: Codable, Sendable {
        public var experiment: String
        public var directory: String
        public var warnings: [String]
        public var configs: [StudyConfig]
        /// The table the runner printed.
        public var table: String
    }

    public struct StudyConfig: Codable, Sendable {
        public var id: String
        public var status: String
        public var placementVerified: Bool?
        public var workerCPUs: [[Int]]?

        enum CodingKeys: String, CodingKey { case id, status, placementVerified = "placement_verified", workerCPUs = "worker_cpus" }
    }

    public var nodes: [Node] = []
    public var isolatedCPUs: [Int] = []
    public var kernelCommandLine: String = ""
    public var envText: String = ""
    public var numaPlacement: PlacedRun?
    public var missingNodeRefusal: String?
    public var stealOrder: [StealOrderSample]?
    public var isolatedPlacement: PlacedRun?
    public var isolcpusStudy: Study?
    public var errors: [String] = []

    enum CodingKeys: String, CodingKey {
        case nodes, isolatedCPUs = "isolated_cpus", kernelCommandLine = "kernel_command_line", envText = "env_text"
        case numaPlacement = "numa_placement", missingNodeRefusal = "missing_node_refusal", stealOrder = "steal_order"
        case isolatedPlacement = "isolated_placement", isolcpusStudy = "isolcpus_study", errors
    }
}

public enum GuestSelftest {
    /// Collects every fact this machine's topology allows; `studyOut` receives the study's run.
    public static func run(studyOut: String, progress: @escaping (String) -> Void) -> GuestSelftestFacts {
        var facts = GuestSelftestFacts()
        let env = HostEnvironment.capture()
        facts.nodes = env.numa.nodes.map { .init(id: $0.id, cpus: $0.cpus.sorted, distances: $0.distances) }
        facts.isolatedCPUs = env.isolatedCPUs.sorted
        facts.kernelCommandLine = (try? String(contentsOfFile: "/proc/cmdline", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        facts.envText = env.renderText(plan: nil)
        if let last = env.numa.nodes.last, env.numa.nodes.count >= 2 {
            facts.numaPlacement = placedRun(.numa(last.id), workers: 2, env: env, errors: &facts.errors)
            let missing = env.numa.nodes.count
            do {
                try Runtime.validate(RuntimeConfiguration(placement: PlacementSpec(workers: .numa(missing))))
                facts.errors.append("numa(\(missing)) was accepted on a \(missing)-node machine")
            } catch {
                facts.missingNodeRefusal = "\(error)"
            }
            facts.stealOrder = stealOrder(cpus: env.allowedCPUs.sorted)
        }
        if !env.isolatedCPUs.isEmpty {
            facts.isolatedPlacement = placedRun(.isolated, workers: min(2, env.isolatedCPUs.count), env: env, errors: &facts.errors)
            do { facts.isolcpusStudy = try study("isolcpus-study", out: studyOut, progress: progress) } catch {
                facts.errors.append("isolcpus-study: \(error)")
            }
        }
        return facts
    }

    /// A runtime of `workers` Ps placed by `policy`: 16 goroutines each note their CPU and
    /// stack node at 8 steps, yielding between steps so that they move between Ms.
    static func placedRun(_ policy: PlacementPolicy, workers: Int, env: HostEnvironment, errors: inout [String]) -> GuestSelftestFacts.PlacedRun? {
        let spec = PlacementSpec(workers: policy)
        let plan: PlacementPlan
        do { plan = try PlacementResolver(host: env.snapshot).resolve(spec, workers: workers) } catch {
            errors.append("\(policy): \(error)")
            return nil
        }
        let samples = Runtime.run(RuntimeConfiguration(maxProcs: workers, placement: spec)) { () -> [(Int, Int)] in
            let results = Channel<[(Int, Int)]>(capacity: 16)
            for _ in 0..<16 {
                go {
                    var seen: [(Int, Int)] = []
                    for _ in 0..<8 {
                        seen.append((Affinity.currentCPU().cpu, Runtime.currentStackNode ?? -1))
                        yield()
                    }
                    results.send(seen)
                }
            }
            return (0..<16).flatMap { _ in results.receive()! }
        }
        return GuestSelftestFacts.PlacedRun(
            placement: "\(policy)", workerCPUs: plan.workerCPUs.map(\.sorted),
            samples: samples.count, cpusSeen: Set(samples.map(\.0)).sorted(), stackNodes: Set(samples.map(\.1)).sorted(),
            placementErrors: Runtime.placement.compactMap { a in a.error.map { "\(a.thread): \($0)" } },
            hostWarnings: env.warnings(for: plan))
    }

    /// One P per CPU (explicit placement), so Ps sit on different nodes; the steal order of
    /// every P for three seeds, read from the running scheduler.
    static func stealOrder(cpus: [Int]) -> [GuestSelftestFacts.StealOrderSample] {
        let spec = PlacementSpec(workers: .explicit(cpus))
        return Runtime.run(RuntimeConfiguration(maxProcs: cpus.count, placement: spec)) {
            (0..<cpus.count).flatMap { thief in
                (1...3).map { seed -> GuestSelftestFacts.StealOrderSample in
                    let s = UInt64(seed)
                    return .init(thief: thief, thiefNode: Runtime.workerNode(thief), seed: s,
                                 victims: Runtime.stealVisitOrder(thief: thief, seed: s))
                }
            }
        }
    }

    /// A shipped experiment, --quick, through the ordinary runner (children, results files).
    static func study(_ name: String, out: String, progress: @escaping (String) -> Void) throws -> GuestSelftestFacts.Study {
        let spec = try SpecDecoder.decode(file: ExperimentCatalog.resolve(name))
        let runner = SweepRunner(spec: spec, options: SweepOptions(quick: true, environment: [:]), outRoot: out, progress: progress)
        let report = try runner.run()
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(report.directory)/results.json"))
        let document = try JSONDecoder().decode(ResultsDocument.self, from: data)
        return .init(experiment: name, directory: report.directory, warnings: document.warnings,
                     configs: document.configs.map { c in
                         .init(id: c.id, status: c.status.rawValue, placementVerified: c.placement?.verified,
                               workerCPUs: c.placement?.workerCPUs)
                     }, table: report.table)
    }
}

/// What `timeslice guest-selftest --guest PROFILE` prints on the host: how the guest ran and the
/// facts it observed.
public struct GuestSelftestReport: Codable, Sendable {
    public var profile: String
    public var accelerator: GuestRecord.Accelerator
    public var acceleratorReason: String
    public var bootSeconds: Double?
    public var wallSeconds: Double
    /// The self-test's exit status in the guest (nil: it never reported one).
    public var status: Int32?
    /// Where console.log, facts.json and the study's results were put.
    public var directory: String
    /// Run directories the guest wrote (the study's), as `timeslice run --guest` leaves them.
    public var runs: [String]
    public var facts: GuestSelftestFacts?

    enum CodingKeys: String, CodingKey {
        case profile, accelerator, acceleratorReason = "accelerator_reason", bootSeconds = "boot_seconds"
        case wallSeconds = "wall_seconds", status, directory, runs, facts
    }
}

extension GuestSelftest {
    /// Boots `profile`, runs `timeslice guest-selftest` inside and keeps what came back in `out`.
    public static func boot(profile: GuestProfile, accelerator: GuestAcceleratorChoice, out: String,
                            progress: (String) -> Void) throws -> GuestSelftestReport {
        let fm = FileManager.default
        var files: [(guest: String, host: String)] = []
        if let dir = ExperimentCatalog.locate() { files.append((guest: "/experiments/isolcpus-study.json", host: "\(dir)/isolcpus-study.json")) }
        let boot = try GuestMachine.boot(profile: profile, accelerator: accelerator, timeslice: try GuestRun.staticExecutable(),
                                         files: files, command: ["guest-selftest"], deadlineNanoseconds: 600_000_000_000,
                                         progress: progress)
        defer { try? fm.removeItem(atPath: boot.workDirectory) }
        try? fm.removeItem(atPath: out)
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data(boot.console.utf8).write(to: URL(fileURLWithPath: "\(out)/console.log"))
        let stdout = fm.contents(atPath: "\(boot.outDirectory)/stdout.txt") ?? Data()
        try stdout.write(to: URL(fileURLWithPath: "\(out)/facts.json"))
        let runs = try GuestRun.collect(boot, outRoot: "\(out)/results")
        return GuestSelftestReport(profile: profile.name, accelerator: boot.record.accelerator,
                                   acceleratorReason: boot.record.acceleratorReason, bootSeconds: boot.record.bootSeconds,
                                   wallSeconds: boot.wallSeconds, status: boot.commandStatus, directory: out, runs: runs,
                                   facts: try? JSONDecoder().decode(GuestSelftestFacts.self, from: stdout))
    }

    public static func encoded<T: Encodable>(_ value: T) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(value)
    }
}
