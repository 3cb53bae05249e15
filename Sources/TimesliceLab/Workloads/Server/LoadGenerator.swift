// The server workload's load generator, a process of its own (`timeslice _loadgen`) that
// depends on no runtime under test: plain pthreads, nonblocking sockets, poll(2) (Glibc's Swift module has no epoll).
//
//   1. Connects `connections` sockets to the server (TCP_NODELAY, then nonblocking).
//   2. Capacity (only for a rate given as a fraction): a closed-loop probe on the calling
//      thread: every connection sends its next request as soon as the previous one is answered,
//      for `capacity_probe`; completions per second is the capacity. The open-loop rate is the
//      fraction of it.
//   3. Open loop: the sender (calling thread) sleeps to each arrival of ServerSchedule
//      (absolute CLOCK_MONOTONIC deadlines) and writes the request on a FREE connection (one
//      request outstanding per connection). No free connection: the request is dropped and
//      counted, never delayed. The receiver (its own pthread) polls the connections for responses and
//      records completion − INTENDED send per type, so a server that stalls is charged for
//      every request due meanwhile (no coordinated omission); the sender's own lateness shows
//      as lag (actual − intended send) and in the latencies, never in the offered load.
//   4. After the last arrival the receiver waits up to `timeout` for outstanding responses; the
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
    /// One pollfd per connection, index = connection number; each thread polls its own copy.
    private let pollSet: [pollfd]
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
        pollSet = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    }

    deinit {
        sockets.forEach { close($0) }
    }

    /// Waits up to `milliseconds` and returns the connections with something to read (or an
    /// error or hang-up, which the read then reports).
    private func ready(_ fds: inout [pollfd], milliseconds: Int32) throws -> [Int] {
        let n = try SystemCall.retrying("poll") { poll(&fds, nfds_t(fds.count), milliseconds) }
        guard n > 0 else { return [] }
        return fds.indices.filter { fds[$0].revents != 0 }
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
        var fds = pollSet
        while outstanding > 0 {
            let now = MonotonicClock.now()
            if now >= end + spec.timeoutNanoseconds {
                throw WorkloadFailure("capacity probe: \(outstanding) requests unanswered \(DurationText.render(spec.timeoutNanoseconds)) after the probe")
            }
            for i in try ready(&fds, milliseconds: 10) {
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
        let types = spec.types
        var latency = [LatencyRecorder](repeating: LatencyRecorder(), count: types.count)
        var completed = [UInt64](repeating: 0, count: types.count)
        var receiverError: Error?
        // Starts 1 ms from now so the receiver is waiting before the first arrival.
        let start = MonotonicClock.now() + 1_000_000
        let warmupEnd = start + spec.warmupNanoseconds
        let receiver = OSThread(name: "loadgen-recv") { [self] in
            do {
                if let cpu = spec.pinCPU { try Affinity.setCurrentThread([cpu]) }
                try receive(table) { type, latencyNs in
                    latency[type].record(latencyNs)
                    completed[type] += 1
                }
            } catch {
                receiverError = error
                table.finishSending(at: 1)  // the sender stops at its next arrival
            }
        }

        var sent = [UInt64](repeating: 0, count: types.count)
        var dropped = [UInt64](repeating: 0, count: types.count)
        var lag = LatencyRecorder()
        var lagMax: UInt64 = 0
        var senderError: Error?
        var id: UInt64 = 0
        for (n, arrival) in ServerSchedule(types: types, rate: rate, seed: spec.seed,
                                           length: spec.warmupNanoseconds + spec.durationNanoseconds).enumerated() {
            if table.sendingFinished { break }  // the receiver failed
            beforeArrival?(n)
            let intended = start + arrival.offset
            if MonotonicClock.now() < intended { MonotonicClock.sleep(until: intended) }
            let measured = intended >= warmupEnd
            id &+= 1
            guard let i = table.acquire(Outstanding(id: id, intended: intended, type: arrival.type, measured: measured)) else {
                if measured { dropped[arrival.type] += 1 }
                continue
            }
            do {
                try send(on: i, ServerMessage(id: id, type: UInt32(arrival.type),
                                              value: UInt32(types[arrival.type].serviceNanoseconds)))
            } catch {
                senderError = error
                break
            }
            let now = MonotonicClock.now()
            if measured {
                sent[arrival.type] += 1
                lag.record(now &- min(intended, now))
                lagMax = max(lagMax, now &- min(intended, now))
            }
        }
        seeCurrentCPU()
        table.finishSending(at: MonotonicClock.now())
        receiver.join()
        if let e = senderError ?? receiverError { throw e }

        let timeouts = table.unansweredMeasured(types: types.count)
        return LoadGeneratorReport(
            capacityPerSecond: nil, offeredPerSecond: rate, measuredSeconds: Double(spec.durationNanoseconds) / 1e9,
            types: types.indices.map { t in
                LoadGeneratorTypeReport(name: types[t].name, sent: sent[t], completed: completed[t], dropped: dropped[t],
                                        timeouts: timeouts[t], latencyBuckets: latency[t].buckets)
            },
            lagBuckets: lag.buckets, lagMaxNanoseconds: lagMax, pinnedCPU: spec.pinCPU, cpusSeen: cpusSeen.sorted())
    }

    /// The receiver's loop: until the sender has finished and nothing is outstanding, or
    /// `timeout` after it finished. `record(type, latency)` for each measured response.
    private func receive(_ table: ConnectionTable, record: (Int, UInt64) -> Void) throws {
        var fds = pollSet
        while true {
            let finished = table.finishedAt
            if finished != 0 {
                if table.busyCount == 0 || MonotonicClock.now() >= finished + spec.timeoutNanoseconds { break }
            }
            for i in try ready(&fds, milliseconds: 1) {
                guard let response = try receive(on: i) else { continue }
                let now = MonotonicClock.now()
                let request = table.release(i)
                guard response.id == request.id, response.value == 0 else {
                    throw WorkloadFailure("connection \(i): response id \(response.id) status \(response.value) to request \(request.id)")
                }
                if request.measured { record(request.type, now &- min(request.intended, now)) }
            }
            seeCurrentCPU()
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
