// The server workload's arrivals: a Poisson process at `rate` (exponential gaps) with each
// request's type drawn from the mix, from a seeded SplitMix64 (OpenLoopSchedule.swift). A pure
// function of (types, rate, seed, window): the load a run offers does not depend on how fast
// anything was served, which is what makes latency from the intended send time free of
// coordinated omission, and what the schedule's tests recompute.
#if canImport(Glibc)
import Glibc
#endif

struct ServerArrival: Equatable, Sendable {
    /// Nanoseconds after the window's start at which the request is due.
    var offset: UInt64
    /// Index into the request types.
    var type: Int
}

struct ServerSchedule: Sequence, IteratorProtocol {
    private let cumulative: [Double]
    private let rate: Double
    private let endOffset: UInt64
    private var random: SplitMix64
    /// Kept in floating point so that rounding each gap does not accumulate into drift.
    private var offset = 0.0

    /// Arrivals due in [0, `length`) nanoseconds after the start, at `rate` per second.
    init(types: [ServerRequestType], rate: Double, seed: UInt64, length: UInt64) {
        precondition(rate > 0 && !types.isEmpty, "ServerSchedule needs a positive rate and a request type")
        var sum = 0.0
        cumulative = types.map { sum += $0.fraction; return sum }
        self.rate = rate
        endOffset = length
        random = SplitMix64(seed: seed)
    }

    mutating func next() -> ServerArrival? {
        // Exponential gap by inversion; 1 − u lies in (0, 1], so the logarithm is finite.
        offset += -log1p(-random.nextUnit()) / rate * 1e9
        guard offset < Double(endOffset) else { return nil }
        let u = random.nextUnit() * cumulative[cumulative.count - 1]
        // The first type whose cumulative share exceeds u (the last one catches rounding).
        let type = cumulative.firstIndex { u < $0 } ?? cumulative.count - 1
        return ServerArrival(offset: UInt64(offset), type: type)
    }
}
