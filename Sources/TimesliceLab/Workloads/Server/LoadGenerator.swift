// The server workload's load generator, a process of its own (`timeslice _loadgen`) that
// depends on no runtime under test: plain pthreads, nonblocking sockets, epoll (ResponsePoller).
//
//   1. Connects `connections` sockets to the server (TCP_NODELAY, then nonblocking).
//   2. Capacity (only for a rate given as a fraction): a closed-loop probe on the calling
//      thread: every connection sends its next request as soon as the previous one is answered,
//      for `capacity_probe`; completions per second is the capacity. The open-loop rate is the
//      fraction of it.
//   3. Open loop: each arrival of ServerSchedule (absolute CLOCK_MONOTONIC deadlines) is
//      written on a FREE connection (one request outstanding per connection). No free
//      connection: the request is dropped and counted, never delayed. Each response records
//      completion − INTENDED send per type, so a server that stalls is charged for every
//      request due meanwhile (no coordinated omission); the generator's own lateness shows as
//      lag (actual − intended send) and in the latencies, never in the offered load.
//      Pacing (GeneratorPacing): `spin`, one thread that never sleeps, sending what is due and
//      reading what has arrived in turn; or `sleep`, a sender sleeping to each arrival and a
//      receiver blocked in epoll_wait, whose wake-ups then count in every response time.
//   4. After the last arrival the generator waits up to `timeout` for outstanding responses; the
//      rest are timeouts. Requests due in the warm-up are sent and served, not recorded.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TimesliceHost

final class LoadGenerator {
    private let spec: LoadGeneratorSpec
    private let sockets: [Int32]
    /// Which connections have a response to read; one thread at a time uses it.
    private let poller: ResponsePoller
    /// One 16-byte inbox per connection, `filled[i]` bytes of it received (a response may come
    /// in pieces). Touched by one thread at a time: the probe, then the receiver.
    private var inbox: [UInt8]
    private var filled: [Int]
    private var cpusSeen = Set<Int>()
    /// Tests only: runs on the sender before it waits for arrival number `n` (0-based), e.g. to
    /// stall it and check that the requests due meanwhile are charged from their intended time.
    var beforeArrival: ((Int) -> Void)?

    init(_ spec: LoadGeneratorSpec) throws {
        self.spec = spec
        let deadline = MonotonicClock.now() + 5_000_000_000
        var fds: [Int32] = []
        do {
            for _ in 0..<spec.connections { fds.append(try LoopbackSocket.connect(port: spec.port, deadline: deadline)) }
            for fd in fds { try LoopbackSocket.setNonBlocking(fd) }
        } catch {
            fds.forEach { close($0) }
            throw error
        }
        sockets = fds
        inbox = [UInt8](repeating: 0, count: spec.connections * ServerMessage.size)
        filled = [Int](repeating: 0, count: spec.connections)
        do { poller = try ResponsePoller(sockets: fds) } catch {
            fds.forEach { close($0) }
            throw error
        }
    }

    deinit {
        sockets.forEach { close($0) }
    }

    func run() throws -> LoadGeneratorReport {
        if let cpu = spec.pinCPU { try Affinity.setCurrentThread([cpu]) }
        var capacity: Double?
        let rate: Double
        switch spec.rate {
        case .perSecond(let r): rate = r
        case .capacityFraction(let f):
            capacity = try probeCapacity()
            rate = max(f * capacity!, 1)
        }
        var report = try openLoop(rate: rate)
        report.capacityPerSecond = capacity
        return report
    }

    // MARK: Closed-loop capacity probe

    private func probeCapacity() throws -> Double {
        var random = SplitMix64(seed: spec.seed ^ 0xC0FF_EE00_CAFE_F00D)
        let cumulative = spec.types.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1.fraction) }
        func randomType() -> Int {
            let u = random.nextUnit() * cumulative[cumulative.count - 1]
            return cumulative.firstIndex { u < $0 } ?? cumulative.count - 1
        }
        let start = MonotonicClock.now()
        let end = start + spec.capacityProbeNanoseconds
        var outstanding = 0, completed = 0
        for i in sockets.indices {
            try send(on: i, ServerMessage(id: 0, type: UInt32(randomType()), value: 0))
            outstanding += 1
        }
        while outstanding > 0 {
            let now = MonotonicClock.now()
            if now >= end + spec.timeoutNanoseconds {
                throw WorkloadFailure("capacity probe: \(outstanding) requests unanswered \(DurationText.render(spec.timeoutNanoseconds)) after the probe")
            }
            for i in try poller.ready(timeoutNanoseconds: 10_000_000) {
                guard try receive(on: i) != nil else { continue }
                outstanding -= 1
                if MonotonicClock.now() < end {
                    completed += 1
                    try send(on: i, ServerMessage(id: 0, type: UInt32(randomType()), value: 0))
                    outstanding += 1
                }
            }
        }
        return Double(completed) / (Double(spec.capacityProbeNanoseconds) / 1e9)
    }

    // MARK: Open loop

    private func openLoop(rate: Double) throws -> LoadGeneratorReport {
        let table = ConnectionTable(count: sockets.count)
        // Starts 1 ms from now so the receiver is waiting before the first arrival.
        let start = MonotonicClock.now() + 1_000_000
        var sending = SenderTally(types: spec.types.count, start: start, warmupEnd: start + spec.warmupNanoseconds)
        var receiving = ReceiverTally(types: spec.types.count, logging: spec.requestLogPath != nil)
        let arrivals = ServerSchedule(types: spec.types, rate: rate, seed: spec.seed,
                                      length: spec.warmupNanoseconds + spec.durationNanoseconds)
        switch spec.pacing {
        case .sleep: try sleepingOpenLoop(arrivals, table, &sending, &receiving)
        case .spin: try spinningOpenLoop(arrivals, table, &sending, &receiving)
        }

        if let path = spec.requestLogPath, let log = receiving.log { try RequestLogEntry.write(log, types: spec.types, to: path) }
        let timeouts = table.unansweredMeasured(types: spec.types.count)
        return LoadGeneratorReport(
            capacityPerSecond: nil, offeredPerSecond: rate, measuredSeconds: Double(spec.durationNanoseconds) / 1e9,
            types: spec.types.indices.map { t in
                LoadGeneratorTypeReport(name: spec.types[t].name, sent: sending.sent[t], completed: receiving.completed[t],
                                        dropped: sending.dropped[t], timeouts: timeouts[t],
                                        latencyBuckets: receiving.latency[t].buckets)
            },
            lagBuckets: sending.lag.buckets, lagMaxNanoseconds: sending.lagMax, pinnedCPU: spec.pinCPU,
            cpusSeen: cpusSeen.sorted(), pacing: spec.pacing)
    }

    /// `sleep` pacing: the calling thread sleeps to each arrival and sends; a receiver thread
    /// blocks in epoll_wait for responses. Two threads, two wake-ups per request on the
    /// generator's CPU: their latency is part of every measured response time.
    private func sleepingOpenLoop(_ arrivals: ServerSchedule, _ table: ConnectionTable,
                                  _ sending: inout SenderTally, _ receiving: inout ReceiverTally) throws {
        var receiverError: Error?
        var received = ReceiverTally(types: spec.types.count, logging: spec.requestLogPath != nil)
        let receiver = OSThread(name: "loadgen-recv") { [self] in
            do {
                if let cpu = spec.pinCPU { try Affinity.setCurrentThread([cpu]) }
                while !table.receivingFinished(timeout: spec.timeoutNanoseconds) {
                    try receiveResponses(table, &received, waitingUpTo: 1_000_000)
                    seeCurrentCPU()
                }
            } catch {
                receiverError = error
                table.finishSending(at: 1)  // the sender stops at its next arrival
            }
        }
        var senderError: Error?
        for (n, arrival) in arrivals.enumerated() {
            if table.sendingFinished { break }  // the receiver failed
            beforeArrival?(n)
            let intended = sending.start + arrival.offset
            if MonotonicClock.now() < intended { MonotonicClock.sleep(until: intended) }
            do { try send(arrival, table, &sending) } catch {
                senderError = error
                break
            }
        }
        seeCurrentCPU()
        table.finishSending(at: MonotonicClock.now())
        receiver.join()
        receiving = received
        if let e = senderError ?? receiverError { throw e }
    }

    /// `spin` pacing: one thread that never sleeps. It sends every request that is due, then
    /// looks (without waiting) for responses, and again: a send leaves within one turn of the
    /// loop (a clock read and an epoll_wait, about a microsecond) of its intended time and a
    /// response is timestamped within one turn of its arrival, with no wake-up of the
    /// generator in either. Meant for a generator with a CPU of its own (it uses all of it).
    private func spinningOpenLoop(_ arrivals: ServerSchedule, _ table: ConnectionTable,
                                  _ sending: inout SenderTally, _ receiving: inout ReceiverTally) throws {
        var schedule = arrivals
        var n = 0
        var due = schedule.next()
        if due != nil { beforeArrival?(0) }
        var turns: UInt64 = 0
        while true {
            if let arrival = due {
                if MonotonicClock.now() >= sending.start + arrival.offset {
                    try send(arrival, table, &sending)
                    due = schedule.next()
                    n += 1
                    if due != nil { beforeArrival?(n) }
                    continue  // every due request leaves before the next look for responses
                }
            } else if !table.sendingFinished {
                table.finishSending(at: MonotonicClock.now())
            } else if table.receivingFinished(timeout: spec.timeoutNanoseconds) {
                break
            }
            try receiveResponses(table, &receiving, waitingUpTo: 0)
            turns &+= 1
            if turns % 65_536 == 0 { seeCurrentCPU() }
        }
        seeCurrentCPU()
    }

    /// Sends `arrival` on a free connection (or counts it dropped: never delayed).
    private func send(_ arrival: ServerArrival, _ table: ConnectionTable, _ tally: inout SenderTally) throws {
        let intended = tally.start + arrival.offset
        let measured = intended >= tally.warmupEnd
        tally.id &+= 1
        guard let i = table.acquire(Outstanding(id: tally.id, intended: intended, type: arrival.type, measured: measured)) else {
            if measured { tally.dropped[arrival.type] += 1 }
            return
        }
        try send(on: i, ServerMessage(id: tally.id, type: UInt32(arrival.type),
                                      value: UInt32(spec.types[arrival.type].serviceNanoseconds)))
        let now = MonotonicClock.now()
        if spec.requestLogPath != nil { table.markSent(i, at: now) }
        guard measured else { return }
        tally.sent[arrival.type] += 1
        tally.lag.record(now &- min(intended, now))
        tally.lagMax = max(tally.lagMax, now &- min(intended, now))
    }

    /// Reads every connection with a response ready (waiting up to `waitingUpTo` ns for one)
    /// and records completion − INTENDED send for the measured ones.
    private func receiveResponses(_ table: ConnectionTable, _ tally: inout ReceiverTally, waitingUpTo timeout: Int64) throws {
        for i in try poller.ready(timeoutNanoseconds: timeout) {
            guard let response = try receive(on: i) else { continue }
            let now = MonotonicClock.now()
            let request = table.release(i)
            guard response.id == request.id, response.value == 0 else {
                throw WorkloadFailure("connection \(i): response id \(response.id) status \(response.value) to request \(request.id)")
            }
            guard request.measured else { continue }
            tally.log?.append(RequestLogEntry(intended: request.intended, sent: request.sent, completed: now,
                                              type: UInt8(request.type), connection: UInt16(i)))
            tally.latency[request.type].record(now &- min(request.intended, now))
            tally.completed[request.type] += 1
        }
    }

    // MARK: One connection

    private func send(on i: Int, _ message: ServerMessage) throws {
        var bytes = (UInt64(0), UInt64(0))
        let n = try withUnsafeMutableBytes(of: &bytes) { buffer -> Int in
            message.encode(into: buffer)
            return try SystemCall.retrying("write") { write(sockets[i], buffer.baseAddress, ServerMessage.size) }
        }
        // One request outstanding per connection: the socket's send buffer is empty.
        guard n == ServerMessage.size else { throw WorkloadFailure("connection \(i): short write of \(n) bytes") }
    }

    /// A complete response from connection `i`, or nil while it is incomplete.
    private func receive(on i: Int) throws -> ServerMessage? {
        let base = i * ServerMessage.size
        let n = inbox.withUnsafeMutableBytes { read(sockets[i], $0.baseAddress! + base + filled[i], ServerMessage.size - filled[i]) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return nil }
            throw HostSyscallError(call: "read", errno: errno, detail: "connection \(i)")
        }
        if n == 0 { throw WorkloadFailure("connection \(i): the server closed it") }
        filled[i] += n
        guard filled[i] == ServerMessage.size else { return nil }
        filled[i] = 0
        return inbox.withUnsafeBytes { ServerMessage(decoding: UnsafeRawBufferPointer(rebasing: $0[base..<base + ServerMessage.size])) }
    }

    private func seeCurrentCPU() {
        let cpu = Affinity.currentCPU().cpu
        if cpu >= 0 { cpusSeenLock.withLock { _ = cpusSeen.insert(cpu) } }
    }

    private let cpusSeenLock = NSLock()
}

/// A request in flight on one connection.
struct Outstanding: Sendable {
    var id: UInt64
    var intended: UInt64
    var type: Int
    var measured: Bool
    /// When its write returned (0 until then; ConnectionTable.markSent).
    var sent: UInt64 = 0
}

/// What the sending side counts: measured requests sent and dropped per type, and its lag.
struct SenderTally {
    /// CLOCK_MONOTONIC ns of arrival offset 0, and of the end of the warm-up.
    let start: UInt64
    let warmupEnd: UInt64
    /// The last request id used (ids start at 1).
    var id: UInt64 = 0
    var sent: [UInt64]
    var dropped: [UInt64]
    var lag = LatencyRecorder()
    var lagMax: UInt64 = 0

    init(types: Int, start: UInt64, warmupEnd: UInt64) {
        self.start = start
        self.warmupEnd = warmupEnd
        sent = Array(repeating: 0, count: types)
        dropped = Array(repeating: 0, count: types)
    }
}

/// What the receiving side counts: measured responses and their latencies per type, and
/// (with a request log) each response.
struct ReceiverTally {
    var latency: [LatencyRecorder]
    var completed: [UInt64]
    var log: [RequestLogEntry]?

    init(types: Int, logging: Bool = false) {
        latency = Array(repeating: LatencyRecorder(), count: types)
        completed = Array(repeating: 0, count: types)
        if logging {
            log = []
            log?.reserveCapacity(1 << 20)
        }
    }
}

/// Which connections are free and what each busy one is waiting for. The sender acquires, the
/// receiver releases; both under `lock` (a plain pthread mutex behind NSLock: these are plain
/// threads, no runtime under test).
final class ConnectionTable: @unchecked Sendable {
    // @unchecked: `free` and `inFlight` are only touched with `lock` held; `finished` is atomic.
    private let lock = NSLock()
    private var free: [Int]
    private var inFlight: [Outstanding?]
    /// CLOCK_MONOTONIC ns when the sender stopped; 0 while it is sending.
    private let finished = Atomic<UInt64>(0)

    init(count: Int) {
        free = Array((0..<count).reversed())
        inFlight = Array(repeating: nil, count: count)
    }

    /// A free connection, now carrying `request`; nil when every connection is busy.
    func acquire(_ request: Outstanding) -> Int? {
        lock.withLock {
            guard let i = free.popLast() else { return nil }
            inFlight[i] = request
            return i
        }
    }

    /// The request connection `i` was carrying; the connection is free again.
    func release(_ i: Int) -> Outstanding {
        lock.withLock {
            guard let request = inFlight[i] else { preconditionFailure("a response on idle connection \(i)") }
            inFlight[i] = nil
            free.append(i)
            return request
        }
    }

    var busyCount: Int { lock.withLock { inFlight.count - free.count } }

    /// The request on connection `i` left at `time` (request logs only). Its response cannot
    /// have been read yet, so the request is still there; if it is not, nothing is marked.
    func markSent(_ i: Int, at time: UInt64) {
        lock.withLock { inFlight[i]?.sent = time }
    }

    /// Measured requests still unanswered, per type.
    func unansweredMeasured(types: Int) -> [UInt64] {
        lock.withLock {
            var n = [UInt64](repeating: 0, count: types)
            for case let r? in inFlight where r.measured { n[r.type] += 1 }
            return n
        }
    }

    func finishSending(at now: UInt64) { finished.store(max(now, 1), ordering: .releasing) }
    var finishedAt: UInt64 { finished.load(ordering: .acquiring) }
    var sendingFinished: Bool { finishedAt != 0 }

    /// The sender has finished and every request is answered, or `timeout` has passed since.
    func receivingFinished(timeout: UInt64) -> Bool {
        let finished = finishedAt
        return finished != 0 && (busyCount == 0 || MonotonicClock.now() >= finished + timeout)
    }
}

/// `timeslice _loadgen --spec <json>`: runs the generator, prints its report as one JSON line.
public enum LoadGeneratorMain {
    public static func run(specJSON: String) -> Int32 {
        do {
            let spec = try JSONDecoder().decode(LoadGeneratorSpec.self, from: Data(specJSON.utf8))
            try? TimerSlack.minimizeForCurrentThread()
            let report = try LoadGenerator(spec).run()
            FileHandle.standardOutput.write(try JSONEncoder().encode(report) + Data("\n".utf8))
            return 0
        } catch {
            FileHandle.standardError.write(Data("timeslice _loadgen: \(error)\n".utf8))
            return 1
        }
    }
}
