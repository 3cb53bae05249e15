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

/// Open descriptors of this process (/proc/self/fd), minus the one listing it.
func openDescriptorCount() -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 1) - 1
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
