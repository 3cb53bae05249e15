// Ping-pong: two parties hand a token back and forth; each sample is one round trip as seen
// by the pinger. It measures the cost of a wake-up handoff: futex or condition variable
// between pthreads, yield or channel between goroutines.
import TimesliceHost

public enum PingPongMechanism: String, Codable, CaseIterable, Sendable {
    /// futex for threads, channel for timeslice.
    case auto
    case futex, condvar, yield, channel
}

public struct PingPongParameters: Hashable, Sendable {
    public var mechanism: PingPongMechanism = .auto

    static func decode(_ r: inout ObjectReader) throws -> PingPongParameters {
        var p = PingPongParameters()
        p.mechanism = try r.oneOf("mechanism", PingPongMechanism.allCases.map(\.rawValue)).flatMap(PingPongMechanism.init) ?? .auto
        return p
    }
}

public struct PingPongWorkload: Workload {
    let p: PingPongParameters

    public init(parameters: WorkloadSpec) throws {
        guard case .pingpong(let p) = parameters else { throw WorkloadFailure("not a pingpong spec") }
        self.p = p
    }

    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        switch context.configuration.point.runtime {
        case .threads:
            switch p.mechanism {
            case .auto, .futex: return try runFutex(context)
            case .condvar: return try runCondvar(context)
            case .yield, .channel:
                throw WorkloadUnavailable("mechanism \(p.mechanism.rawValue) is a goroutine mechanism; threads use futex or condvar")
            }
        case .timeslice: return try runTimeslice(context)
        case .swiftConcurrency: return try runSwiftConcurrency(context)
        case .go: return try GoVariant.run(context)
        case let other: throw Variants.unavailable(other, "pingpong")
        }
    }

    /// Token states of the futex word.
    private static let pingTurn: UInt32 = 0, pongTurn: UInt32 = 1, finished: UInt32 = 2

    func runFutex(_ context: WorkloadContext) throws -> WorkloadResult {
        let pinning = try context.pin(threads: 2)
        let word = FutexWord(Self.pingTurn)
        let ponger = OSThread(name: "pong") {
            pinning.pinCurrentThread(worker: 1)
            while true {
                var v = word.load()
                while v == Self.pingTurn { word.wait(expected: v); v = word.load() }
                if v == Self.finished { return }
                word.store(Self.pingTurn)
                word.wake()
            }
        }
        var rec = LatencyRecorder()
        let pinger = OSThread(name: "ping") {
            pinning.pinCurrentThread(worker: 0)
            let window = context.window()
            while true {
                let t0 = MonotonicClock.now()
                word.store(Self.pongTurn)
                word.wake()
                var v = word.load()
                while v == Self.pongTurn { word.wait(expected: v); v = word.load() }
                let t1 = MonotonicClock.now()
                context.progress.beat()
                if !window.inWarmup(t0) { rec.record(t1 - t0) }
                if window.isOver(now: t1, recorded: rec.count) { break }
            }
            word.store(Self.finished)
            word.wake()
        }
        pinger.join()
        ponger.join()
        return WorkloadResult(latency: rec, counters: ["round_trips": rec.count])
    }

    func runCondvar(_ context: WorkloadContext) throws -> WorkloadResult {
        let pinning = try context.pin(threads: 2)
        let token = CondvarToken()
        let ponger = OSThread(name: "pong") {
            pinning.pinCurrentThread(worker: 1)
            while token.await(notEqual: Self.pingTurn) != Self.finished {
                token.set(Self.pingTurn)
            }
        }
        var rec = LatencyRecorder()
        let pinger = OSThread(name: "ping") {
            pinning.pinCurrentThread(worker: 0)
            let window = context.window()
            while true {
                let t0 = MonotonicClock.now()
                token.set(Self.pongTurn)
                _ = token.await(notEqual: Self.pongTurn)
                let t1 = MonotonicClock.now()
                context.progress.beat()
                if !window.inWarmup(t0) { rec.record(t1 - t0) }
                if window.isOver(now: t1, recorded: rec.count) { break }
            }
            token.set(Self.finished)
        }
        pinger.join()
        ponger.join()
        return WorkloadResult(latency: rec, counters: ["round_trips": rec.count])
    }
}
