// Latency samples of one configuration, in nanoseconds, in an HdrHistogram covering
// 1 ns .. 60 s with 3 significant digits (docs/ARCHITECTURE.md "Histogram geometry"). Values above 60 s are
// clamped to 60 s and counted in `clamped`, so that no sample is silently lost.
import Histogram

public struct LatencyRecorder: Sendable {
    public static let highestTrackable: UInt64 = 60_000_000_000

    public private(set) var histogram: Histogram<UInt64>
    /// Samples larger than `highestTrackable`, recorded as `highestTrackable`.
    public private(set) var clamped: UInt64 = 0

    public init() {
        histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackable,
                                      numberOfSignificantValueDigits: .three)
    }

    /// Records one sample. Zero is kept (it is a real "on time" result of the wakeup probe).
    public mutating func record(_ nanoseconds: UInt64) {
        var v = nanoseconds
        if v > Self.highestTrackable { v = Self.highestTrackable; clamped += 1 }
        // Cannot fail: v is within the trackable range by construction.
        _ = histogram.record(v)
    }

    /// Merges samples recorded on another thread.
    public mutating func add(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
        clamped += other.clamped
    }

    public var count: UInt64 { histogram.totalCount }

    // MARK: Transport between child and parent

    /// The non-empty buckets as (value, count) pairs. Re-recording each value into a histogram
    /// of the same geometry lands in the same bucket, so `init(buckets:)` reproduces the
    /// histogram exactly while the JSON stays small (a few hundred pairs, not 30k counters).
    public var buckets: [[UInt64]] { Self.buckets(histogram) }

    /// The non-empty buckets of any histogram of this geometry.
    public static func buckets(_ histogram: Histogram<UInt64>) -> [[UInt64]] {
        histogram.recordedValues().map { [$0.value, $0.count] }
    }

    public init(buckets: [[UInt64]], clamped: UInt64 = 0) throws {
        self.init()
        for pair in buckets {
            guard pair.count == 2, pair[0] <= Self.highestTrackable else {
                throw LatencyTransportError(message: "bad histogram bucket \(pair)")
            }
            _ = histogram.record(pair[0], count: pair[1])
        }
        self.clamped = clamped
    }
}

public struct LatencyTransportError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
