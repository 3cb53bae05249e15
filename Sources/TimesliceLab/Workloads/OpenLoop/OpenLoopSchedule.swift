// The open-loop arrival schedule: a Poisson process at `rate` (exponential gaps) with a bimodal
// service time, drawn from a seeded SplitMix64. It is a pure function of the parameters, the
// seed and the measurement window: the requests a run offers, and their intended arrival times,
// do not depend on how fast the machine generated or served them. That is what makes latency
// from the intended arrival free of coordinated omission, and what lets a test recompute the
// exact number of requests a run must have recorded.
#if canImport(Glibc)
import Glibc
#endif

/// One request of an open-loop run.
struct OpenLoopRequest: Sendable, Equatable {
    /// CLOCK_MONOTONIC ns at which the request is due: the origin of its latency.
    var intended: UInt64
    var serviceNanoseconds: UInt64
    var isSlow: Bool
    /// Due before the warm-up ended: served like any other, not recorded.
    var warmup: Bool
    /// When the generator actually handed it over (set by the generator; the schedule leaves 0).
    var sent: UInt64 = 0
}

/// The requests of one run, in arrival order. Ends when the window does: at the first arrival
/// due at or after `window.end` (duration runs), or after `window.iterations` measured requests.
struct OpenLoopSchedule: Sequence, IteratorProtocol {
    private let parameters: OpenLoopParameters
    private let window: MeasurementWindow
    private var random: SplitMix64
    /// Nanoseconds since `window.start` of the last arrival; kept in floating point so that the
    /// rounding of each gap does not accumulate into drift.
    private var offset = 0.0
    private var measured = 0
    private var finished = false

    init(_ parameters: OpenLoopParameters, seed: UInt64, window: MeasurementWindow) {
        self.parameters = parameters
        self.window = window
        random = SplitMix64(seed: seed)
    }

    mutating func next() -> OpenLoopRequest? {
        if finished { return nil }
        if let n = window.iterations, measured >= n { finished = true; return nil }
        // Exponential gap by inversion; 1 − u lies in (0, 1], so the logarithm is finite.
        offset += -log1p(-random.nextUnit()) / parameters.rate * 1e9
        let intended = window.start &+ UInt64(offset)
        if let end = window.end, intended >= end { finished = true; return nil }
        let slow = random.nextUnit() < parameters.slowFraction
        let warmup = window.inWarmup(intended)
        if !warmup { measured += 1 }
        return OpenLoopRequest(intended: intended,
                               serviceNanoseconds: slow ? parameters.slowServiceNanoseconds : parameters.fastServiceNanoseconds,
                               isSlow: slow, warmup: warmup)
    }
}

/// SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014):
/// small, fast, and equidistributed enough for arrival gaps and task sizes (work_stealing uses
/// it too); every seed, 0 included, is usable.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
