// Sweeps across machines: `run --shard K/N` slices the plan deterministically, `merge` joins the
// slices into one run equal to the unsharded sweep (same configurations, same counts, one
// aggregate per configuration), and `timeslice slurm` scripts run it as a real Slurm job array
// (a one-node cluster started by scripts/slurm-local.sh; skipped with its reason where Slurm
// cannot be installed or started).
import Foundation
import XCTest
@testable import TimesliceLab

final class SlurmShardTests: XCTestCase {
    static let tinySpec = """
        {"schema_version": 1, "name": "tiny-sharded", "matrix": {"runtime": ["threads"], "placement": ["none", {"explicit": [0]}]},
         "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 0}, "iterations": 40, "warmup": "20ms", "repetitions": 2,
         "seed": 7, "watchdog": 30}
        """

    func testShardsPartitionThePlanExactlyOnce() {
        let plan = Array(0..<23)
        for n in 1...6 {
            let slices = (1...n).map { SweepShard(index: $0, count: n).select(plan).map(\.offset) }
            XCTAssertEqual(slices.flatMap { $0 }.sorted(), plan, "\(n) shards cover the plan exactly once")
            XCTAssertLessThanOrEqual(slices.map(\.count).max()! - slices.map(\.count).min()!, 1, "balanced")
        }
        XCTAssertNil(SweepShard(parsing: "3"))
        XCTAssertNotNil(SweepOptions(shard: SweepShard(index: 4, count: 3)).problem())
        XCTAssertNil(SweepOptions(shard: SweepShard(index: 3, count: 3)).problem())
    }

    /// The configurations and their sample counts, the shape both runs must have.
    func shape(_ configs: [ConfigResult]) -> [String] {
        configs.map { "\($0.id) rep\($0.repetition) order\($0.order ?? -1) \($0.status.rawValue) n=\($0.sampling?.recordedSamples ?? 0)" }.sorted()
    }

    func run(_ options: SweepOptions, root: String) throws -> SweepReport {
        try SweepRunner(spec: try Fixtures.spec(Self.tinySpec), options: options,
                        launcher: SelfExecLauncher(executable: try builtTimesliceBinary()),
                        environment: .capture(), outRoot: root) { _ in }.run()
    }

    func testMergedShardsEqualTheUnshardedSweep() throws {
        let root = try Fixtures.temporaryDirectory()
        let whole = try run(SweepOptions(), root: "\(root)/whole")
        let shards = try (1...3).map { k -> String in
            try run(SweepOptions(shard: SweepShard(index: k, count: 3)), root: "\(root)/shard\(k)").directory
        }
        let merged = try SweepMerge.merge(shards, outRoot: "\(root)/merged") { _ in }
        XCTAssertEqual(merged.configs.count, whole.configs.count)
        XCTAssertEqual(shape(merged.configs), shape(whole.configs))
        XCTAssertEqual(merged.aggregates.map(\.id), whole.aggregates.map(\.id))
        XCTAssertEqual(merged.aggregates.map { $0.latencyNs?.count }, merged.aggregates.map { _ in 80 },
                       "each aggregate merges both repetitions' histograms, from different shards")
        let doc = try JSONDecoder().decode(ResultsDocument.self,
                                           from: Data(contentsOf: URL(fileURLWithPath: merged.directory + "/results.json")))
        XCTAssertEqual(doc.mergedFrom?.count, 3)
        XCTAssertTrue(doc.configs.allSatisfy { $0.host != nil })
        XCTAssertNil(doc.options["shard"])
        // A shard given twice, or a shard of another sweep, is refused.
        XCTAssertThrowsError(try SweepMerge.merge([shards[0], shards[0]], outRoot: "\(root)/bad") { _ in })
        XCTAssertThrowsError(try SweepMerge.merge([shards[0], whole.directory], outRoot: "\(root)/bad") { _ in })
    }

    func testSlurmArrayOfThreeShardsMergesLikeAnUnshardedRun() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let cluster = try Fixtures.temporaryDirectory()
        let start = try ChildProcess.run(executable: "\(repo)/scripts/slurm-local.sh", arguments: ["start", cluster],
                                         deadlineNanoseconds: 240_000_000_000)
        let said = String(decoding: start.stderr, as: UTF8.self)
        if start.termination == .exited(77) { throw XCTSkip(said.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(start.termination, .exited(0), said)
        guard start.termination == .exited(0) else { return }
        defer { _ = try? ChildProcess.run(executable: "\(repo)/scripts/slurm-local.sh", arguments: ["stop", cluster],
                                          deadlineNanoseconds: 30_000_000_000) }
        var env = ProcessInfo.processInfo.environment
        env["SLURM_CONF"] = String(decoding: start.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)

        let work = try Fixtures.temporaryDirectory()
        let file = "\(work)/tiny.json"
        try Self.tinySpec.write(toFile: file, atomically: true, encoding: .utf8)
        let scripts = try SlurmScripts(spec: try Fixtures.spec(Self.tinySpec), experimentFile: file, shards: 3,
                                       directory: "\(work)/slurm", binary: try builtTimesliceBinary())
        _ = try scripts.write()
        let submit = try ChildProcess.run(executable: "/bin/sh", arguments: ["\(work)/slurm/submit.sh"], environment: env,
                                          deadlineNanoseconds: 60_000_000_000)
        XCTAssertEqual(submit.termination, .exited(0), String(decoding: submit.stderr, as: UTF8.self))
        // Wait for the array and the merge job to leave the queue (bounded).
        var merged: String?
        for _ in 0..<240 {
            let q = try ChildProcess.run(executable: "/usr/bin/squeue", arguments: ["-h"], environment: env,
                                         deadlineNanoseconds: 10_000_000_000)
            if String(decoding: q.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                let dir = "\(work)/slurm/merged/tiny-sharded"
                merged = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first.map { "\(dir)/\($0)" }
                break
            }
            usleep(500_000)
        }
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: "\(work)/slurm/logs")) ?? []
        let mergedDir = try XCTUnwrap(merged, "no merged run; Slurm logs: \(logs)")
        let doc = try JSONDecoder().decode(ResultsDocument.self, from: Data(contentsOf: URL(fileURLWithPath: mergedDir + "/results.json")))
        let whole = try run(SweepOptions(), root: "\(work)/whole")
        XCTAssertEqual(shape(doc.configs), shape(whole.configs), "the Slurm array and merge equal the unsharded sweep")
        XCTAssertEqual(doc.mergedFrom?.count, 3)
        XCTAssertEqual(Set(doc.mergedFrom?.compactMap(\.shard) ?? []), ["1/3", "2/3", "3/3"])
    }
}
