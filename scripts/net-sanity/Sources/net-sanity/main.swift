// Three sanity figures for the netpoller (release build):
//   1. loopback echo round trip, 1 connection, 64-byte messages, 20 000 round trips,
//      for timeslice goroutines and, in the same run, two plain threads with
//      blocking sockets (the floor: two context switches through the kernel);
//   2. the same with UDP datagrams (UDPSocket against two threads with blocking
//      UDP sockets);
//   3. resident memory per idle connection: 10 000 accepted connections, each with
//      a goroutine parked in read; the clients live in a child process (this same
//      program, "clients" mode) so the server's descriptor limit holds only its side.
// Prints one line per figure; `net-sanity rtt`, `net-sanity udp` or `net-sanity rss` runs one.
import Foundation
import Glibc
import Timeslice

let roundTrips = 20_000
let messageBytes = 64
let idleConnections = 10_000

func residentBytes() -> Int {
    let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
    return (Int(statm.split(separator: " ")[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func raiseDescriptorLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

// MARK: Round trip

/// ns per call of `exchange` (one round trip), after 1000 calls of warm-up.
func timeRoundTrips(_ exchange: () -> Void) -> Double {
    for _ in 0..<1000 { exchange() }
    let start = monotonicNanoseconds()
    for _ in 0..<roundTrips { exchange() }
    return Double(monotonicNanoseconds() - start) / Double(roundTrips)
}

/// 127.0.0.1:`port` as a sockaddr for `body`.
func withLoopbackAddress<R>(port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    return withUnsafePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// The port a socket is bound to.
func boundPort(_ fd: Int32) -> UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
}

func goroutineRoundTrip() -> Double {
    Runtime.run(RuntimeConfiguration(maxProcs: 2)) { () -> Double in
        let listener = try! TCPListener.listen()
        go {
            let c = try! listener.accept()
            var buffer = [UInt8](repeating: 0, count: messageBytes)
            while (try? buffer.withUnsafeMutableBytes({ try c.readFully(into: $0) })) != nil {
                try! buffer.withUnsafeBytes { try c.write($0) }
            }
            c.close()
        }
        let c = try! TCPConnection.connect(host: "127.0.0.1", port: listener.port)
        var message = [UInt8](repeating: 7, count: messageBytes)
        let perRoundTrip = timeRoundTrips {
            try! message.withUnsafeBytes { try c.write($0) }
            try! message.withUnsafeMutableBytes { try c.readFully(into: $0) }
        }
        c.close()
        listener.close()
        return perRoundTrip
    }
}

/// The same exchange on two OS threads with blocking sockets.
func threadRoundTrip() -> Double {
    // Loopback TCP, as above.
    let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    _ = withLoopbackAddress(port: 0) { bind(server, $0, $1) }
    let port = boundPort(server)
    listen(server, 16)
    let echoThread = Thread {
        let c = accept(server, nil, nil)
        var one: Int32 = 1
        setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var buffer = [UInt8](repeating: 0, count: messageBytes)
        while true {
            var got = 0
            while got < messageBytes {
                let n = buffer.withUnsafeMutableBytes { recv(c, $0.baseAddress! + got, messageBytes - got, 0) }
                if n <= 0 { close(c); return }
                got += n
            }
            _ = buffer.withUnsafeBytes { send(c, $0.baseAddress, messageBytes, 0) }
        }
    }
    echoThread.start()
    let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    _ = withLoopbackAddress(port: port) { connect(c, $0, $1) }
    var message = [UInt8](repeating: 7, count: messageBytes)
    let perRoundTrip = timeRoundTrips {
        _ = message.withUnsafeBytes { send(c, $0.baseAddress, messageBytes, 0) }
        var got = 0
        while got < messageBytes {
            got += message.withUnsafeMutableBytes { recv(c, $0.baseAddress! + got, messageBytes - got, 0) }
        }
    }
    close(c)
    close(server)
    return perRoundTrip
}

// MARK: UDP round trip

/// Datagram ping-pong between two UDPSockets, the echo in its own goroutine.
func goroutineUDPRoundTrip() -> Double {
    Runtime.run(RuntimeConfiguration(maxProcs: 2)) { () -> Double in
        let server = try! UDPSocket.bind()
        let client = try! UDPSocket.bind()
        go {
            var buffer = [UInt8](repeating: 0, count: messageBytes)
            while case let (count, _)? = try? buffer.withUnsafeMutableBytes({ try server.receive(into: $0) }) {
                try! buffer.withUnsafeBytes { try server.send(UnsafeRawBufferPointer(rebasing: $0[..<count]), to: "127.0.0.1", port: client.localPort) }
            }
        }
        var message = [UInt8](repeating: 7, count: messageBytes)
        let perRoundTrip = timeRoundTrips {
            try! message.withUnsafeBytes { try client.send($0, to: "127.0.0.1", port: server.localPort) }
            _ = try! message.withUnsafeMutableBytes { try client.receive(into: $0) }
        }
        server.close()   // ends the echo goroutine with .closed
        client.close()
        return perRoundTrip
    }
}

/// The same exchange on two OS threads with blocking, connected UDP sockets.
func threadUDPRoundTrip() -> Double {
    let server = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    let c = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    _ = withLoopbackAddress(port: 0) { bind(server, $0, $1) }
    _ = withLoopbackAddress(port: 0) { bind(c, $0, $1) }
    _ = withLoopbackAddress(port: boundPort(c)) { connect(server, $0, $1) }
    _ = withLoopbackAddress(port: boundPort(server)) { connect(c, $0, $1) }
    let echoThread = Thread {
        var buffer = [UInt8](repeating: 0, count: messageBytes)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(server, $0.baseAddress, messageBytes, 0) }
            if n <= 0 { return }   // the empty datagram that ends the run
            _ = buffer.withUnsafeBytes { send(server, $0.baseAddress, n, 0) }
        }
    }
    echoThread.start()
    var message = [UInt8](repeating: 7, count: messageBytes)
    let perRoundTrip = timeRoundTrips {
        _ = message.withUnsafeBytes { send(c, $0.baseAddress, messageBytes, 0) }
        _ = message.withUnsafeMutableBytes { recv(c, $0.baseAddress, messageBytes, 0) }
    }
    _ = send(c, nil, 0, 0)
    while !echoThread.isFinished { usleep(1000) }
    close(c)
    close(server)
    return perRoundTrip
}

// MARK: Idle connections

/// Child mode: connect `count` sockets to `port`, then wait for stdin to close.
func runClients(port: UInt16, count: Int) {
    raiseDescriptorLimit()
    for _ in 0..<count {
        let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let rc = withLoopbackAddress(port: port) { connect(c, $0, $1) }
        if rc != 0 { perror("client connect"); exit(1) }
    }
    var byte: UInt8 = 0
    _ = read(0, &byte, 1)   // until the parent closes our stdin
}

func residentPerIdleConnection() -> (total: Double, goroutines: Double) {
    raiseDescriptorLimit()
    return Runtime.run(RuntimeConfiguration(maxProcs: 2)) { () -> (Double, Double) in
        let listener = try! TCPListener.listen()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["clients", String(listener.port), String(idleConnections)]
        let stdin = Pipe()
        child.standardInput = stdin
        let before = residentBytes()
        try! child.run()
        var connections: [TCPConnection] = []
        connections.reserveCapacity(idleConnections)
        for _ in 0..<idleConnections { connections.append(try! listener.accept()) }
        let accepted = residentBytes()
        let parked = WaitGroup()
        for c in connections {
            parked.add()
            go {
                var buffer = [UInt8](repeating: 0, count: 64)
                _ = try? buffer.withUnsafeMutableBytes { try c.read(into: $0) }
                parked.done()
            }
        }
        while Runtime.counters.netpollPolls == 0 || Runtime.liveGoroutines < idleConnections + 1 { sleep(for: .milliseconds(10)) }
        sleep(for: .milliseconds(200))
        let idle = residentBytes()
        for c in connections { c.close() }
        parked.wait()
        try! stdin.fileHandleForWriting.close()
        blockingCall { child.waitUntilExit() }
        listener.close()
        return (Double(idle - before) / Double(idleConnections), Double(idle - accepted) / Double(idleConnections))
    }
}

let arguments = CommandLine.arguments
if arguments.count == 4 && arguments[1] == "clients" {
    runClients(port: UInt16(arguments[2])!, count: Int(arguments[3])!)
    exit(0)
}
let only = arguments.count > 1 ? arguments[1] : "all"
if only == "all" || only == "rtt" {
    let threads = threadRoundTrip()
    let goroutines = goroutineRoundTrip()
    print(String(format: "echo round trip, 1 connection, %d-byte messages, %d round trips: timeslice %.1f us, threads %.1f us (ratio %.2f)",
                 messageBytes, roundTrips, goroutines / 1000, threads / 1000, goroutines / threads))
}
if only == "all" || only == "udp" {
    let threads = threadUDPRoundTrip()
    let goroutines = goroutineUDPRoundTrip()
    print(String(format: "UDP round trip, %d-byte datagrams, %d round trips: timeslice %.1f us, threads %.1f us (ratio %.2f)",
                 messageBytes, roundTrips, goroutines / 1000, threads / 1000, goroutines / threads))
}
if only == "all" || only == "rss" {
    let (total, goroutines) = residentPerIdleConnection()
    print(String(format: "resident memory per idle connection (%d accepted, each with a goroutine parked in read): %.0f B (of which goroutine + its parked read %.0f B)",
                 idleConnections, total, goroutines))
}
