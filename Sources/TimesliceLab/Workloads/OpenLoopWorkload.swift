// Open-loop request server: requests arrive by a Poisson process at `rate` per second whether
// or not earlier ones finished; service time is bimodal (Shinjuku's 99.5 % 1 µs / 0.5 % 1 ms by
// default). Latency is completion − *intended* arrival, so a stalled server is charged for every
// request that should have arrived meanwhile (no coordinated omission).
//
// Only the parameters live here until a variant is written: the timeslice variant needs the
// runtime, and the threads variant (dispatcher + worker pool) is not written yet.

public struct OpenLoopParameters: Hashable, Sendable {
    public var rate: Double = 20_000
    public var fastServiceNanoseconds: UInt64 = 1_000
    public var slowServiceNanoseconds: UInt64 = 1_000_000
    public var slowFraction = 0.005
    /// Server workers; nil = one per P.
    public var workers: Int?

    static func decode(_ r: inout ObjectReader) throws -> OpenLoopParameters {
        var p = OpenLoopParameters()
        p.rate = try r.double("rate", min: 1, max: 10_000_000) ?? p.rate
        p.fastServiceNanoseconds = try r.duration("fast_service", min: 0, max: 1_000_000_000) ?? p.fastServiceNanoseconds
        p.slowServiceNanoseconds = try r.duration("slow_service", min: 0, max: 10_000_000_000) ?? p.slowServiceNanoseconds
        p.slowFraction = try r.double("slow_fraction", min: 0, max: 1) ?? p.slowFraction
        p.workers = try r.int("workers", min: 1, max: 1024)
        return p
    }
}

public struct OpenLoopWorkload: Workload {
    let p: OpenLoopParameters

    public init(parameters: WorkloadSpec) throws {
        guard case .openLoop(let p) = parameters else { throw WorkloadFailure("not an open_loop spec") }
        self.p = p
    }

    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        throw Variants.unavailable(context.configuration.point.runtime, "open_loop")
    }
}
