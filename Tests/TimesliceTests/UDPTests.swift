// UDPSocket (Sources/Timeslice/Net/UDPSocket.swift): every test runs in each
// NetRuntimeMode (cooperative at 1 and 2 Ps, async at a 50 µs slice).
import Foundation
import Glibc
@testable import Timeslice
import XCTest

final class UDPTests: XCTestCase {
    /// Round trips one datagram at a time (so loopback drops none), of sizes 0 to
    /// 1499: every echo comes back whole, from the echoing socket's address.
    func testPingPongOfManyDatagrams() {
        let roundTrips = 3000
        for mode in NetRuntimeMode.all {
            let failures = Failures()
            let completed = mode.run { () -> Int in
                let client = try! UDPSocket.bind()
                defer { client.close() }
                let server = try! UDPSocket.bind()
                let echoing = serveUDPEcho(server, failures: failures)
                let serverAddress = "127.0.0.1:\(server.localPort)"
                var buffer = [UInt8](repeating: 0, count: 2048)
                var completed = 0
                for i in 0..<roundTrips {
                    let sent = pattern(count: i % 1500, seed: i)
                    do {
                        try sent.withUnsafeBytes { try client.send($0, to: "127.0.0.1", port: server.localPort) }
                        let (count, from) = try buffer.withUnsafeMutableBytes { try client.receive(into: $0) }
                        if from != serverAddress { failures.add("round trip \(i): from \(from)"); break }
                        if Array(buffer[0..<count]) != sent { failures.add("round trip \(i): wrong bytes"); break }
                        completed += 1
                    } catch {
                        failures.add("round trip \(i): \(error)")
                        break
                    }
                }
                server.close()
                echoing.wait()
                return completed
            }
            XCTAssertEqual(failures.all, [], "\(mode)")
            XCTAssertEqual(completed, roundTrips, "\(mode)")
        }
    }

    /// Alternating peers: each datagram names its own sender (receive reuses the
    /// last sender's text only while the sender stays the same), and sends to
    /// alternating destinations reach each (send reuses the last parsed one only
    /// for the same host and port).
    func testAlternatingSendersAndDestinations() {
        for mode in NetRuntimeMode.all {
            let (received, expected) = mode.run { () -> ([String], [String]) in
                let sockets = (0..<3).map { _ in try! UDPSocket.bind() }
                defer { for s in sockets { s.close() } }
                var received: [String] = []
                var expected: [String] = []
                // Senders and receivers in turn: 0→1, 2→1, 0→2, 1→2, 0→1, 1→0, ...
                for round in 0..<12 {
                    let from = [0, 2, 0, 1, 0, 1][round % 6], to = [1, 1, 2, 2, 1, 0][round % 6]
                    try! [UInt8(round)].withUnsafeBytes { try sockets[from].send($0, to: "127.0.0.1", port: sockets[to].localPort) }
                    var byte: [UInt8] = [0]
                    // A bound on a datagram sent elsewhere, not a timing assertion.
                    sockets[to].setReadDeadline(.now + .seconds(5))
                    do {
                        let (_, sender) = try byte.withUnsafeMutableBytes { try sockets[to].receive(into: $0) }
                        received.append("\(byte[0]) from \(sender)")
                    } catch {
                        received.append("\(round): \(error)")
                    }
                    expected.append("\(round) from 127.0.0.1:\(sockets[from].localPort)")
                }
                return (received, expected)
            }
            XCTAssertEqual(received, expected, "\(mode)")
        }
    }

    /// IPv6 loopback: senders read "[::1]:port" (skipped where `lo` has no ::1).
    func testIPv6LoopbackRoundTrip() throws {
        let interfaces = (try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? ""
        guard interfaces.contains("00000000000000000000000000000001") else {
            throw XCTSkip("no IPv6 loopback address on this machine")
        }
        for mode in NetRuntimeMode.all {
            let failures = Failures()
            let (from, echoed, port) = mode.run { () -> (String, Int?, UInt16) in
                let server = try! UDPSocket.bind(host: "::1")
                let echoing = serveUDPEcho(server, failures: failures)
                let client = try! UDPSocket.bind(host: "::1")
                defer { client.close() }
                try! pattern(count: 33, seed: 6).withUnsafeBytes { try client.send($0, to: "::1", port: server.localPort) }
                var buffer = [UInt8](repeating: 0, count: 64)
                let (count, from) = try! buffer.withUnsafeMutableBytes { try client.receive(into: $0) }
                server.close()
                echoing.wait()
                return (from, Array(buffer[0..<count]) == pattern(count: 33, seed: 6) ? count : nil, server.localPort)
            }
            XCTAssertEqual(failures.all, [], "\(mode)")
            XCTAssertEqual(from, "[::1]:\(port)", "\(mode)")
            XCTAssertEqual(echoed, 33, "\(mode)")
        }
    }

    /// 200 goroutines each parked in receive on its own socket: at maxProcs 1 the
    /// main goroutine still runs (it sees all 200 parked and then sends), so none
    /// of them holds the P; each then gets exactly its datagram.
    func testManyReceiversOnManySocketsHoldNoProcessor() {
        let count = 200
        XCTAssertGreaterThanOrEqual(raiseDescriptorLimit(), rlim_t(count + 64), "RLIMIT_NOFILE too low")
        for mode in NetRuntimeMode.all {
            let failures = Failures()
            let (parked, received) = mode.run { () -> (Int, Int) in
                let sockets = (0..<count).map { _ in try! UDPSocket.bind() }
                defer { for s in sockets { s.close() } }
                let sender = try! UDPSocket.bind()
                defer { sender.close() }
                let received = Atomic64()
                let receivers = goEach(count) { i in
                    var buffer = [UInt8](repeating: 0, count: 16)
                    do {
                        let (n, from) = try buffer.withUnsafeMutableBytes { try sockets[i].receive(into: $0) }
                        if n != 8 || Array(buffer[0..<8]) != pattern(count: 8, seed: i) {
                            failures.add("receiver \(i): \(n) wrong bytes")
                        } else if from != "127.0.0.1:\(sender.localPort)" {
                            failures.add("receiver \(i): from \(from)")
                        } else {
                            received.increment()
                        }
                    } catch {
                        failures.add("receiver \(i): \(error)")
                    }
                }
                let netpoller = Runtime.runningScheduler!.netpoller!
                while netpoller.waiters.load(ordering: .sequentiallyConsistent) < count { yield() }
                let parked = netpoller.waiters.load(ordering: .sequentiallyConsistent)
                for (i, socket) in sockets.enumerated() {
                    try! pattern(count: 8, seed: i).withUnsafeBytes { try sender.send($0, to: "127.0.0.1", port: socket.localPort) }
                }
                receivers.wait()
                return (parked, received.value)
            }
            XCTAssertEqual(failures.all.prefix(5), [], "\(mode)")
            XCTAssertEqual(parked, count, "\(mode)")
            XCTAssertEqual(received, count, "\(mode)")
        }
    }

    func testReadDeadlineFiresWithTimedOutNamingCallAndAddress() {
        for mode in NetRuntimeMode.all {
            let (error, port) = mode.run { () -> (NetError?, UInt16) in
                let socket = try! UDPSocket.bind()
                defer { socket.close() }
                socket.setReadDeadline(.now + .milliseconds(30))
                return (netError { _ = try receiveOne(socket) }, socket.localPort)
            }
            assertNetError(error, .timedOut, "recvfrom: i/o timeout (127.0.0.1:\(port))", mode)
        }
    }

    /// Extended while parked, the deadline does not fire at the old time; and
    /// cleared, a receive after it gets data again.
    func testReadDeadlineExtendedWhileParkedThenCleared() {
        for mode in NetRuntimeMode.all {
            let (events, afterClearing) = mode.run { () -> ([String], Int?) in
                let socket = try! UDPSocket.bind()
                defer { socket.close() }
                let events = deadlineExtendedWhileParkedEvents(setDeadline: socket.setReadDeadline) {
                    _ = try receiveOne(socket)
                }
                socket.setReadDeadline(nil)
                let sender = try! UDPSocket.bind()
                defer { sender.close() }
                try! [UInt8]([1, 2, 3]).withUnsafeBytes { try sender.send($0, to: "127.0.0.1", port: socket.localPort) }
                return (events, try? receiveOne(socket))
            }
            XCTAssertEqual(events, ["extended", "marker after the first deadline", "read: timed out"], "\(mode)")
            XCTAssertEqual(afterClearing, 3, "\(mode)")
        }
    }

    func testCloseWakesParkedReceiverWithClosed() {
        for mode in NetRuntimeMode.all {
            let (kind, again) = mode.run { () -> (NetError.Kind?, NetError?) in
                let socket = try! UDPSocket.bind()
                let result = startParked { _ = try receiveOne(socket) }
                socket.close()
                socket.close()   // idempotent
                return (result.receive()!, netError { _ = try receiveOne(socket) })
            }
            XCTAssertEqual(kind, .closed, "\(mode)")
            XCTAssertEqual(again?.kind, .closed, "\(mode): a receive after close")
            XCTAssertEqual(again?.call, "recvfrom", "\(mode)")
        }
    }

    /// close() from a thread the runtime does not own while every M is idle (one
    /// in epoll_wait for the parked receiver): the receiver still wakes.
    func testCloseFromAForeignThreadWakesTheParkedReceiver() {
        for mode in NetRuntimeMode.all {
            let kind = mode.run { () -> NetError.Kind? in
                let socket = try! UDPSocket.bind()
                let result = startParked { _ = try receiveOne(socket) }
                Thread { Thread.sleep(forTimeInterval: 0.05); socket.close() }.start()
                return result.receive()!
            }
            XCTAssertEqual(kind, .closed, "\(mode)")
        }
    }

    /// A datagram longer than the buffer: the buffer holds its start, receive
    /// returns its whole length, and the rest is gone (the next receive gets the
    /// next datagram). An empty datagram is received as count 0.
    func testTruncatedDatagramReturnsItsWholeLength() {
        for mode in NetRuntimeMode.all {
            let (truncated, head, next, empty) = mode.run { () -> (Int, [UInt8], Int, Int) in
                let socket = try! UDPSocket.bind()
                defer { socket.close() }
                let sender = try! UDPSocket.bind()
                defer { sender.close() }
                for size in [100, 7, 0] {
                    try! pattern(count: size, seed: size).withUnsafeBytes { try sender.send($0, to: "127.0.0.1", port: socket.localPort) }
                }
                var small = [UInt8](repeating: 0, count: 10)
                let truncated = try! small.withUnsafeMutableBytes { try socket.receive(into: $0) }.count
                return (truncated, small, try! receiveOne(socket), try! receiveOne(socket))
            }
            XCTAssertEqual(truncated, 100, "\(mode)")
            XCTAssertEqual(head, Array(pattern(count: 100, seed: 100)[0..<10]), "\(mode)")
            XCTAssertEqual(next, 7, "\(mode)")
            XCTAssertEqual(empty, 0, "\(mode)")
        }
    }

    /// A closed port answers with ICMP port unreachable. A connected socket gets
    /// it as ECONNREFUSED from its (parked) receive; an unconnected one never
    /// sees it: its sends succeed and its receive waits on (here, until its
    /// deadline), then still gets the next datagram.
    func testClosedPortRefusesConnectedSocketsOnly() {
        for mode in NetRuntimeMode.all {
            let (connected, unconnectedSends, unconnectedReceive, later, port) =
                mode.run { () -> (NetError?, Int, NetError?, Int?, UInt16) in
                    // The port is free when the datagram goes, but was still held
                    // by the probe when the connected socket took its own local
                    // port, so that cannot be the same one (a socket connected to
                    // its own address receives what it sends: 1 CI run in many).
                    let probe = try! UDPSocket.bind()
                    let port = probe.localPort
                    let connected = try! UDPSocket.connect(host: "127.0.0.1", port: port)
                    defer { connected.close() }
                    probe.close()
                    try! [UInt8]([1]).withUnsafeBytes { try connected.send($0, to: "127.0.0.1", port: port) }
                    let refused = netError { _ = try receiveOne(connected) }

                    let unconnected = try! UDPSocket.bind()
                    defer { unconnected.close() }
                    var sends = 0
                    for _ in 0..<3 {
                        if (try? [UInt8]([1]).withUnsafeBytes { try unconnected.send($0, to: "127.0.0.1", port: port) }) != nil {
                            sends += 1
                        }
                    }
                    unconnected.setReadDeadline(.now + .milliseconds(50))
                    let waited = netError { _ = try receiveOne(unconnected) }
                    unconnected.setReadDeadline(nil)
                    let sender = try! UDPSocket.bind()
                    defer { sender.close() }
                    try! [UInt8]([4, 5]).withUnsafeBytes { try sender.send($0, to: "127.0.0.1", port: unconnected.localPort) }
                    return (refused, sends, waited, try? receiveOne(unconnected), port)
                }
            assertNetError(connected, .refused, "recvfrom: connection refused (127.0.0.1:\(port))", mode)
            XCTAssertEqual(unconnectedSends, 3, "\(mode)")
            XCTAssertEqual(unconnectedReceive?.kind, .timedOut, "\(mode)")
            XCTAssertEqual(later, 2, "\(mode)")
        }
    }

    /// sendto errors name the call and the destination; bind errors the address.
    func testErrorsNameTheCallAndAddress() {
        for mode in NetRuntimeMode.all {
            let (tooLong, late, inUse, notNumeric, port) = mode.run { () -> (NetError?, NetError?, NetError?, NetError?, UInt16) in
                let socket = try! UDPSocket.bind()
                defer { socket.close() }
                let port = socket.localPort
                let huge = [UInt8](repeating: 0, count: 70_000)
                let tooLong = netError { try huge.withUnsafeBytes { try socket.send($0, to: "127.0.0.1", port: 9) } }
                socket.setWriteDeadline(.now - .milliseconds(1))
                let late = netError { try [UInt8]([1]).withUnsafeBytes { try socket.send($0, to: "127.0.0.1", port: 9) } }
                socket.setWriteDeadline(nil)
                let inUse = netError { _ = try UDPSocket.bind(port: port) }
                let notNumeric = netError { try [UInt8]([1]).withUnsafeBytes { try socket.send($0, to: "example.org", port: 9) } }
                return (tooLong, late, inUse, notNumeric, port)
            }
            XCTAssertEqual(tooLong?.errno, EMSGSIZE, "\(mode)")
            assertNetError(tooLong, .other, "sendto: message too long (127.0.0.1:9)", mode)
            assertNetError(late, .timedOut, "sendto: i/o timeout (127.0.0.1:9)", mode)
            assertNetError(inUse, .addressInUse, "bind: address already in use (127.0.0.1:\(port))", mode)
            assertNetError(notNumeric, .other,
                           "sendto: invalid argument (example.org:9 (not a numeric IPv4 or IPv6 address))", mode)
        }
    }

    /// Two runtimes in a row with UDP sockets: bound, connected, one closed under
    /// a parked receive, one bind failing: afterwards the process has exactly its
    /// old descriptors.
    func testNoDescriptorLeaks() {
        for mode in NetRuntimeMode.all {
            let (leaked, failures) = descriptorsLeaked(mode) { failures in
                let server = try! UDPSocket.bind()
                let echoing = serveUDPEcho(server, failures: failures)
                goEach(10) { i in
                    let c = try! UDPSocket.connect(host: "127.0.0.1", port: server.localPort)
                    defer { c.close() }
                    try! pattern(count: 10, seed: i).withUnsafeBytes { try c.send($0, to: "127.0.0.1", port: server.localPort) }
                    if (try? receiveOne(c)) != 10 { failures.add("client \(i): no echo") }
                }.wait()
                if netError({ _ = try UDPSocket.bind(port: server.localPort) })?.kind != .addressInUse {
                    failures.add("a second bind to the same port did not fail")
                }
                server.close()
                echoing.wait()
                let parked = try! UDPSocket.bind()
                let result = startParked { _ = try receiveOne(parked) }
                parked.close()
                if result.receive()! != .closed { failures.add("the parked receive did not end with .closed") }
            }
            XCTAssertEqual(failures, [], "\(mode)")
            XCTAssertEqual(leaked, 0, "\(mode): descriptors leaked")
        }
    }
}

/// Receives one datagram into a 2 KiB buffer; returns its length.
private func receiveOne(_ socket: UDPSocket) throws -> Int {
    var buffer = [UInt8](repeating: 0, count: 2048)
    return try buffer.withUnsafeMutableBytes { try socket.receive(into: $0) }.count
}

/// Echoes every datagram `socket` receives to its sender until the socket is
/// closed; the group is done then.
private func serveUDPEcho(_ socket: UDPSocket, failures: Failures) -> WaitGroup {
    goEach(1) { _ in
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            do {
                let (count, from) = try buffer.withUnsafeMutableBytes { try socket.receive(into: $0) }
                let separator = from.lastIndex(of: ":")!
                let host = String(from[..<separator]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                let port = UInt16(from[from.index(after: separator)...])!
                try buffer.withUnsafeBytes { try socket.send(UnsafeRawBufferPointer(rebasing: $0[0..<count]), to: host, port: port) }
            } catch let error as NetError where error.kind == .closed {
                return
            } catch {
                failures.add("echo: \(error)")
                return
            }
        }
    }
}
