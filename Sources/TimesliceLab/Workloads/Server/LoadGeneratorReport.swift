// What the server workload hands its load-generator process (`timeslice _loadgen --spec <json>`)
// and what the generator prints back: one JSON object on stdout. Histograms travel as their
// non-empty buckets (LatencyRecorder.buckets), so the parent rebuilds them exactly.

/// How the generator waits for its next send and for responses (LoadGenerator.swift, step 3).
/// The experiment file's `generator` key chooses; `auto` (its default) is `spin` when the
/// generator has a CPU the server does not use and `sleep` otherwise, because a spinning
/// generator on a server CPU would take that CPU from the server.
public enum GeneratorPacing: String, Codable, Sendable, CaseIterable {
    case spin
    case sleep

    /// The pacing for a generator with (`ownCPU`) or without a CPU of its own; `choice` nil is `auto`.
    static func resolve(_ choice: GeneratorPacing?, ownCPU: Bool) -> GeneratorPacing {
        choice ?? (ownCPU ? .spin : .sleep)
    }
}

struct LoadGeneratorSpec: Codable, Sendable {
    var port: UInt16
    var types: [ServerRequestType]
    var rate: OfferedRate
    var connections: Int
    var seed: UInt64
    var warmupNanoseconds: UInt64
    var durationNanoseconds: UInt64
    var capacityProbeNanoseconds: UInt64
    var timeoutNanoseconds: UInt64
    /// The CPU the generator's threads are pinned to; nil: not pinned (where they ran is reported).
    var pinCPU: Int?
    var pacing: GeneratorPacing
    /// Where to write the request log (RequestLog), or nil for none (`timeslice run --trace`).
    var requestLogPath: String? = nil
}

struct LoadGeneratorTypeReport: Codable, Sendable {
    var name: String
    /// Measured requests (intended send in the window) written to a connection.
    var sent: UInt64
    /// Measured requests answered; their latencies are `latencyBuckets`.
    var completed: UInt64
    /// Measured requests that found every connection busy: not sent, not in the histogram.
    var dropped: UInt64
    /// Measured requests sent but unanswered `timeout` after the last send: not in the histogram.
    var timeouts: UInt64
    var latencyBuckets: [[UInt64]]
}

struct LoadGeneratorReport: Codable, Sendable {
    /// Completions per second of the closed-loop probe; nil when the rate was absolute.
    var capacityPerSecond: Double?
    var offeredPerSecond: Double
    var measuredSeconds: Double
    var types: [LoadGeneratorTypeReport]
    /// Actual send − intended send of measured requests that were sent.
    var lagBuckets: [[UInt64]]
    var lagMaxNanoseconds: UInt64
    var pinnedCPU: Int?
    /// CPUs the generator's threads were seen on (getcpu after each poll).
    var cpusSeen: [Int]
    var pacing: GeneratorPacing
}
