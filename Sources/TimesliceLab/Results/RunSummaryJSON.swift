// `timeslice run --json` / `resume --json`: the summary of each sweep as one JSON object on
// stdout (progress stays on stderr), for scripts: per configuration run its id, repetition,
// status and p50/p99/p99.9/max in nanoseconds and deadline-miss ratio; per configuration with
// repetitions the merged aggregate.
import Foundation

public struct RunSummaryJSON: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var id: String
        public var repetition: Int
        public var status: String
        public var reason: String?
        public var p50Ns: UInt64?
        public var p99Ns: UInt64?
        public var p999Ns: UInt64?
        public var maxNs: UInt64?
        public var censored: Bool?
        public var deadlineMissRatio: Double?

        enum CodingKeys: String, CodingKey {
            case id, repetition, status, reason, p50Ns = "p50_ns", p99Ns = "p99_ns", p999Ns = "p999_ns", maxNs = "max_ns"
            case censored, deadlineMissRatio = "deadline_miss_ratio"
        }
    }

    public struct Aggregate: Codable, Sendable {
        public var id: String
        public var repetitions: Int
        public var statuses: [String: Int]
        /// Of the merged histogram.
        public var p50Ns: UInt64?
        public var p99Ns: UInt64?
        public var p999Ns: UInt64?
        public var maxNs: UInt64?
        public var deadlineMissRatio: Double?
        public var hgrm: String?

        enum CodingKeys: String, CodingKey {
            case id, repetitions, statuses, p50Ns = "p50_ns", p99Ns = "p99_ns", p999Ns = "p999_ns", maxNs = "max_ns"
            case deadlineMissRatio = "deadline_miss_ratio", hgrm
        }
    }

    public struct Sweep: Codable, Sendable {
        public var experiment: String
        public var directory: String
        public var planned: Int
        public var interrupted: Bool
        /// Ran in a TCG guest: every latency figure below is emulated and meaningless.
        public var emulated: Bool?
        public var configs: [Row]
        public var aggregates: [Aggregate]
    }

    public var sweeps: [Sweep]

    public init(_ reports: [SweepReport]) {
        sweeps = reports.map { r in
            Sweep(experiment: r.experiment, directory: r.directory, planned: r.planned, interrupted: r.interruptedBy != nil,
                  emulated: r.emulated ? true : nil,
                  configs: r.configs.map { c in
                      Row(id: c.id, repetition: c.repetition, status: c.status.rawValue, reason: c.reason,
                          p50Ns: c.latencyNs?.p50, p99Ns: c.latencyNs?.p99, p999Ns: c.latencyNs?.p999,
                          maxNs: c.latencyNs?.max, censored: c.latencyNs?.censored,
                          deadlineMissRatio: c.sampling?.deadlineMissRatio)
                  },
                  aggregates: r.aggregates.map { a in
                      Aggregate(id: a.id, repetitions: a.repetitions, statuses: a.statuses, p50Ns: a.latencyNs?.p50,
                                p99Ns: a.latencyNs?.p99, p999Ns: a.latencyNs?.p999, maxNs: a.latencyNs?.max,
                                deadlineMissRatio: a.deadlineMissRatio, hgrm: a.hgrm)
                  })
        }
    }

    public func rendered() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }
}
