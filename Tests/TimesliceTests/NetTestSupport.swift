// What the socket tests share: the runtime modes every socket test runs in,
// an echo server, byte patterns and fd accounting.
import Foundation
import Glibc
@testable import Timeslice
import XCTest

/// One runtime configuration the socket suite runs under.
struct NetRuntimeMode: CustomStringConvertible {
    let maxProcs: Int
    let preemption: PreemptionMode
    let timeSliceNanoseconds: UInt64

    var description: String { "maxProcs \(maxProcs), \(preemption), slice \(timeSliceNanoseconds / 1000) us" }

    /// Cooperative at 1 and 2 Ps, and async preemption at a 50 µs slice (when
    /// this machine supports it): every socket test runs in each.
    static var all: [NetRuntimeMode] {
        var modes = [NetRuntimeMode(maxProcs: 1, preemption: .cooperative, timeSliceNanoseconds: 10_000_000),
                     NetRuntimeMode(maxProcs: 2, preemption: .cooperative, timeSliceNanoseconds: 10_000_000)]
        if Runtime.asyncPreemptionUnavailable == nil {
            modes.append(NetRuntimeMode(maxProcs: 2, preemption: .async, timeSliceNanoseconds: 50_000))
        }
        return modes
    }

    /// Runs `body` as the main goroutine under this mode and a deadline.
    func run<T>(_ seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line,
                _ body: @escaping () -> T) -> T {
        runWithDeadline(seconds, maxProcs: maxProcs, preemption: preemption,
                        timeSliceNanoseconds: timeSliceNanoseconds, file: file, line: line, body)
    }
}

/// A thread-safe list of what happened, in order (for ordering assertions).
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []
    func record(_ event: String) { lock.lock(); events.append(event); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return events }
}

/// A thread-safe error collector: goroutines cannot call XCTFail safely in a loop.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
}

/// Accepts connections on `listener` until it is closed, echoing each one in its
/// own goroutine until the peer's end of file.
func serveEcho(_ listener: TCPListener, failures: Failures) {
    go {
        while true {
            let connection: TCPConnection
            do {
                connection = try listener.accept()
            } catch let error as NetError where error.kind == .closed {
                return
            } catch {
                failures.add("accept: \(error)")
                return
            }
            go { echo(connection, failures: failures) }
        }
    }
}

func echo(_ connection: TCPConnection, failures: Failures) {
    defer { connection.close() }
    var buffer = [UInt8](repeating: 0, count: 4096)
    do {
        while true {
            let n = try buffer.withUnsafeMutableBytes { try connection.read(into: $0) }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try connection.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    } catch {
        failures.add("echo: \(error)")
    }
}

/// Deterministic bytes that differ per `seed` and position.
func pattern(count: Int, seed: Int) -> [UInt8] {
    var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

/// Open descriptors of this process (/proc/self/fd), not counting those open on
/// /proc itself: the one listing the directory, and the ones sysmon opens for an
/// instant to read a thread's state (ts_thread_sleeping, blocked-thread
/// detection), which a count taken at the wrong moment would call a leak. A
/// descriptor closed between the listing and its readlink is not counted either.
func openDescriptorCount() -> Int {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return entries.filter { entry in
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/self/fd/\(entry)", &target, target.count - 1)
        guard length >= 0 else { return false }
        return !String(cString: target).hasPrefix("/proc/")
    }.count
}

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the soft limit now.
@discardableResult
func raiseDescriptorLimit() -> rlim_t {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return limit.rlim_cur
}

func setSocketBuffers(_ fd: Int32, bytes: Int32) {
    var size = bytes
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
}

/// TCP_MAXSEG: on a listener, the segment size of the connections it accepts.
func setMaximumSegment(_ fd: Int32, bytes: Int32) {
    var size = bytes
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_MAXSEG, &size, socklen_t(MemoryLayout<Int32>.size))
}

/// Runs `body` with a listener and one connection to it, both ends accepted;
/// closes all three afterwards. Call from a goroutine.
func withConnectedPair<T>(_ body: (_ listener: TCPListener, _ connection: TCPConnection, _ peer: TCPConnection) throws -> T) rethrows -> T {
    let listener = try! TCPListener.listen()
    defer { listener.close() }
    let connection = try! TCPConnection.connect(host: "127.0.0.1", port: listener.port)
    defer { connection.close() }
    let peer = try! listener.accept()
    defer { peer.close() }
    return try body(listener, connection, peer)
}

/// Starts `count` goroutines running `body(i)`; the returned group is done when all are.
func goEach(_ count: Int, _ body: @escaping (Int) -> Void) -> WaitGroup {
    let group = WaitGroup()
    for i in 0..<count {
        group.add()
        go {
            defer { group.done() }
            body(i)
        }
    }
    return group
}

/// The NetError `body` throws (nil when it returns). Sockets throw nothing else:
/// another error stops the test process (goroutines cannot call XCTFail safely).
func netError(_ body: () throws -> Void) -> NetError? {
    do {
        try body()
        return nil
    } catch let error as NetError {
        return error
    } catch {
        fatalError("not a NetError: \(error)")
    }
}

/// Starts a goroutine running `operation` (a read, receive or accept that parks)
/// and returns once it is parked on its descriptor (no other goroutine may wait
/// on a socket meanwhile); the channel gets the kind of error the operation
/// ended with (nil: it returned).
func startParked(_ operation: @escaping () throws -> Void) -> Channel<NetError.Kind?> {
    let result = Channel<NetError.Kind?>(capacity: 1)
    go { result.send(netError(operation)?.kind) }
    let netpoller = Runtime.runningScheduler!.netpoller!
    while netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { yield() }
    return result
}

/// The reader's first deadline passes while it is parked with a later one: the
/// events show whether it timed out only after a marker that runs after the first
/// deadline (["extended", "marker after the first deadline", "read: timed out"]).
/// `read` parks until the deadline `setDeadline` sets. Call from a goroutine.
func deadlineExtendedWhileParkedEvents(setDeadline: (ContinuousClock.Instant) -> Void,
                                       read: @escaping () throws -> Void) -> [String] {
    let events = EventLog()
    let firstDeadline = ContinuousClock.now + .milliseconds(40)
    setDeadline(firstDeadline)
    let done = WaitGroup()
    done.add()
    go {
        defer { done.done() }
        switch netError(read) {
        case nil: events.record("read returned data")
        case let error? where error.kind == .timedOut: events.record("read: timed out")
        case let error?: events.record("read: \(error)")
        }
    }
    let netpoller = Runtime.runningScheduler!.netpoller!
    while netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { yield() }
    setDeadline(firstDeadline + .milliseconds(300))
    events.record("extended")
    // Well past the first deadline, well before the second.
    sleep(for: .milliseconds(120))
    events.record("marker after the first deadline")
    done.wait()
    return events.all
}

/// Asserts that `error` is of `kind` and reads `description` (which names the
/// call and the address).
func assertNetError(_ error: NetError?, _ kind: NetError.Kind, _ description: String, _ mode: NetRuntimeMode,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(error?.kind, kind, "\(mode): \(String(describing: error))", file: file, line: line)
    XCTAssertEqual(error?.description, description, "\(mode)", file: file, line: line)
}

/// Runs `scenario` in two runtimes in a row under `mode`; returns how many more
/// descriptors the process has afterwards than before (0 when the sockets, the
/// epoll fd and the eventfd were all closed) and the failures the scenario added.
func descriptorsLeaked(_ mode: NetRuntimeMode, file: StaticString = #filePath, line: UInt = #line,
                       _ scenario: @escaping (Failures) -> Void) -> (leaked: Int, failures: [String]) {
    let before = openDescriptorCount()
    let failures = Failures()
    for _ in 0..<2 {
        mode.run(file: file, line: line) { scenario(failures) }
    }
    return (openDescriptorCount() - before, failures.all)
}

/// What pingPongFromAThread measured: round trips completed, and the runtime's counters
/// after the warm-up and at the end (read by the client thread).
struct PingPongRun {
    var completed: Int
    var before: RuntimeCounters
    var after: RuntimeCounters
}

/// Call from a goroutine: serves one echo connection in a goroutine, and drives it from a
/// plain thread with blocking 16-byte write + read (the bench's client), `warmUp` round trips
/// and then `roundTrips` counted ones; waits for the thread by sleeping.
/// With `acceptorParked`, a goroutine waits in accept for a second client that never
/// comes (as a server's acceptor does), so goroutines wait on sockets while the echo
/// goroutine runs: the case the netpoller's handover decision is about.
/// `thinkMicroseconds`: the client pauses this long before each request (usleep), so the
/// server's goroutine has parked and its M gone idle by the time the request comes.
func pingPongFromAThread(roundTrips: Int, warmUp: Int = 100, acceptorParked: Bool = false, thinkMicroseconds: UInt32 = 0,
                         failures: Failures) -> PingPongRun {
    let listener = try! TCPListener.listen()
    defer { listener.close() }
    go {
        guard let connection = try? listener.accept() else { return failures.add("accept failed") }
        if acceptorParked { go { _ = try? listener.accept() } }   // ends when the listener closes
        echo(connection, failures: failures)
    }
    let done = Atomic64()
    let box = UnsafeMutablePointer<PingPongRun>.allocate(capacity: 1)
    box.initialize(to: PingPongRun(completed: 0, before: RuntimeCounters(), after: RuntimeCounters()))
    defer { box.deinitialize(count: 1); box.deallocate() }
    let port = listener.port
    Thread {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var buffer = [UInt8](repeating: 7, count: 16)
        var run = PingPongRun(completed: 0, before: Runtime.counters, after: RuntimeCounters())
        if connected == 0 {
            for i in 0..<(warmUp + roundTrips) {
                if i == warmUp { run.before = Runtime.counters }
                if thinkMicroseconds > 0 { usleep(thinkMicroseconds) }
                guard write(fd, buffer, 16) == 16 else { break }
                var got = 0
                while got < 16 {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, 16 - got) }
                    if n <= 0 { break }
                    got += n
                }
                if got < 16 { break }
                if i >= warmUp { run.completed += 1 }
            }
        }
        run.after = Runtime.counters
        close(fd)
        box.pointee = run
        done.increment()   // after the store above (the lock orders them)
    }.start()
    while done.value == 0 { Timeslice.sleep(nanoseconds: 20_000_000) }
    return box.pointee
}

/// A loopback TCP port that refuses connections and that no connect can take as
/// its own local port: a socket bound to it that never listens (so a SYN gets a
/// RST), held until `release`. A listener closed just before the connect would
/// free the port for the connecting socket's ephemeral choice, and a socket
/// connected to its own address succeeds (TCP simultaneous open).
struct RefusingTCPPort {
    let port: UInt16
    private let descriptor: Int32

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: \(String(cString: strerror(errno)))")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        precondition(bound, "bind: \(String(cString: strerror(errno)))")
        descriptor = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    func release() { close(descriptor) }
}
