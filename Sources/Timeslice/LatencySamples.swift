// A lock-protected HdrHistogram (1 ns .. 60 s, 3 significant digits) for the
// runtime's own latency measurements, such as signal-to-switch time. Recorded
// on g0, at most once per preemption, so the lock is never hot.
import Histogram

final class LatencySamples {
    private let lock = RuntimeLock()
    @exclusivity(unchecked) private var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)

    func record(_ nanoseconds: UInt64) {
        lock.withLock { _ = histogram.record(max(1, min(nanoseconds, 60_000_000_000))) }
    }

    func summary() -> LatencySummary {
        lock.withLock {
            LatencySummary(count: histogram.totalCount,
                           p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
                           p99: histogram.valueAtPercentile(99), max: histogram.totalCount == 0 ? 0 : histogram.max)
        }
    }
}

/// Percentiles of a runtime latency distribution, in nanoseconds.
public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var max: UInt64
}
