// `timeslice bench --out DIR`: the run's numbers as `DIR/bench/<UTC timestamp>/bench.json`, laid
// out like experiment runs so that notebooks/baselines.ipynb finds the newest one:
//   {"schema_version": 1, "experiment": "bench", "started_at", "environment": <host>,
//    "micro": <BenchReport JSON>, "preemption": <PreemptionBenchReport JSON>, "net": <NetBenchReport JSON>}
// (a suite --only left out is absent). Written atomically.
import Foundation
import TimesliceHost

public enum BenchFile {
    public static let schemaVersion = 1

    /// Writes the file and returns its path.
    @discardableResult
    public static func write(root: String, micro: BenchReport?, preemption: PreemptionBenchReport?, net: NetBenchReport? = nil,
                             environment: HostEnvironment = .capture(), now: Date = Date()) throws -> String {
        let dir = try ResultsWriter.makeRunDirectory(in: "\(root)/bench", now: now)
        // Each report has its own encoder conventions; they are embedded as JSON values.
        func object(_ json: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(json.utf8)) }
        let enc = JSONEncoder()
        var doc: [String: Any] = [
            "schema_version": schemaVersion, "experiment": "bench", "started_at": ResultsWriter.iso8601(now),
            "environment": try JSONSerialization.jsonObject(with: enc.encode(environment)),
        ]
        if let micro { doc["micro"] = try object(micro.json()) }
        if let preemption { doc["preemption"] = try object(preemption.json()) }
        if let net { doc["net"] = try object(net.json()) }
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
        let path = "\(dir)/bench.json"
        try AtomicFile.write(data, to: path)
        return path
    }
}
