// What every workload variant shares: the result it returns, the errors that become statuses,
// and the context it runs in. Which workloads exist and which runtimes each supports is the
// registry's business (Registry/WorkloadKind.swift).
//
// A runtime a workload does not support is `WorkloadUnavailable`, which becomes status
// `unavailable` with the reason: never a made-up number.
import Foundation
import TimesliceHost

public struct WorkloadResult: Sendable {
    /// The configuration's latency distribution (`latency_ns`). For periodic probes it is the
    /// corrected one: one sample per intended deadline (PeriodicSampling).
    public var latency: LatencyRecorder
    /// Periodic probes only: one sample per wake-up (`latency_raw_ns`, cyclictest's definition).
    public var rawLatency: LatencyRecorder?
    /// Periodic probes only: intended, recorded and missed samples, censoring.
    public var sampling: SamplingAccount?
    /// Further distributions that decompose the latency (e.g. `queue_wait_ns`,
    /// `preempt_signal_delivery_ns`), reported under `histograms` in results.json.
    public var histograms: [String: LatencyRecorder] = [:]
    /// Workload counters (e.g. `ops_per_second`, `hog_rounds`) merged with the runtime's own
    /// counters (switches, steals, preemptions...) by the child.
    public var counters: [String: UInt64]

    public init(latency: LatencyRecorder, counters: [String: UInt64] = [:]) {
        self.latency = latency
        self.counters = counters
    }

    /// The one rule for merging counters from several sources (the workload's own, the
    /// runtime's `runtime_*`, a bridge's): the workload's own value wins a name clash.
    public mutating func addCounters(_ other: [String: UInt64]) {
        counters.merge(other) { own, _ in own }
    }

    /// The result of a periodic probe: corrected and raw distributions and the sampling account.
    public init(sampling: PeriodicSampling, counters: [String: UInt64] = [:]) {
        latency = sampling.corrected
        rawLatency = sampling.raw
        self.sampling = sampling.account
        self.counters = counters
    }
}

public struct WorkloadUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A probe that stalled, with the samples it took before (censored): reported as `starved`.
/// Thrown by variants that learn of the stall from outside the lab's monitor (the Go program).
public struct WorkloadStalled: Error, CustomStringConvertible {
    public var reason: String
    public var result: WorkloadResult?
    public var description: String { reason }
}

public struct WorkloadFailure: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What a running workload can see: its configuration, the measurement window, the progress
/// beacon, and how to pin its threads.
public final class WorkloadContext {
    public let configuration: RunConfiguration
    public let progress: ProgressBeacon
    /// A periodic probe's samples, shared with the starvation monitor so that a stalled probe's
    /// samples survive (ProbeRecording). Workloads without a periodic probe leave it unused.
    public let probe = ProbeRecording()
    /// Set by `pin(threads:)`; the child reports it as the configuration's placement.
    public private(set) var pinning: ThreadPinning?
    /// Set by runtime variants that hand placement to the Timeslice runtime instead.
    public var placementNote: String?
    /// Set by runtime variants: what each runtime thread (M0, M1, ..., sysmon, main)
    /// asked for and what sched_getaffinity/getcpu reported (Runtime.placement).
    public var runtimePlacement: [PinObservation] = []
    /// Set by runtime variants: the runtime's own latency decomposition (preemption detection,
    /// signal delivery, safe-point wait, re-sends), reported under `histograms`.
    public var runtimeHistograms: [String: LatencyRecorder] = [:]

    public init(configuration: RunConfiguration, progress: ProgressBeacon) {
        self.configuration = configuration
        self.progress = progress
    }

    /// Resolves the configuration's placement for `threads` self-started threads (worker i is
    /// the i-th thread the workload starts). Throws `PlacementError` when it cannot be honoured.
    public func pin(threads: Int) throws -> ThreadPinning {
        let p = try ThreadPinning.resolve(configuration.placement, threads: threads,
                                          host: HostSnapshot.capture())
        pinning = p
        return p
    }

    /// Starts the measurement clock now. Samples before `warmupEnd` are discarded.
    public func window() -> MeasurementWindow {
        MeasurementWindow(start: MonotonicClock.now(), warmup: configuration.warmupNanoseconds, length: configuration.length)
    }
}

/// Warm-up then measurement, by time or by sample count.
public struct MeasurementWindow: Sendable {
    public let start: UInt64
    public let warmupEnd: UInt64
    /// nil when the length is a number of iterations.
    public let end: UInt64?
    public let iterations: Int?

    init(start: UInt64, warmup: UInt64, length: RunLength) {
        self.start = start
        warmupEnd = start + warmup
        switch length {
        case .duration(let ns): end = warmupEnd + ns; iterations = nil
        case .iterations(let n): end = nil; iterations = n
        }
    }

    @inline(__always) public func inWarmup(_ now: UInt64) -> Bool { now < warmupEnd }

    /// True once the window is over: past `end`, or `recorded` samples reached `iterations`.
    @inline(__always) public func isOver(now: UInt64, recorded: UInt64) -> Bool {
        if let end { return now >= end }
        return recorded >= UInt64(iterations!)
    }

    /// Seconds actually measured, for rates.
    public func measuredSeconds(until now: UInt64) -> Double {
        Double(now > warmupEnd ? now - warmupEnd : 0) / 1e9
    }
}
