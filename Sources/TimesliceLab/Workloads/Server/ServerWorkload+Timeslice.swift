// The server on the Timeslice runtime, as a Go programmer would write it: the runtime's
// goroutine sockets (TCPListener, TCPConnection: the netpoller parks a goroutine on a socket
// that is not ready), a goroutine per connection. Preemption mode and slice come from the
// matrix point (RuntimeBridge): whether a short request's goroutine gets a P while another
// burns 500 µs is exactly what the configuration measures.
//
// Runtime.run blocks its thread, so the runtime runs on a thread of its own while `serve`
// measures from this one; that thread is confined to the server's CPUs, so every M and sysmon
// inherit the mask (placement none: the runtime itself pins nothing), and maxProcs is the
// matrix point's max_procs (RuntimeBridge), ServerCPUs' n. The main goroutine listens, hands the port over, starts the accept
// loop and, when told to stop (a StopFlag it checks every 10 ms: a goroutine cannot be woken
// from a plain thread), closes the listener and waits for the connection goroutines.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Timeslice

extension ServerWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        let counters = RuntimeCountersBox()
        var result = try serve(context) { work, progress, cpus in
            try Self.startTimeslice(context, work: work, progress: progress, cpus: cpus, counters: counters)
        }
        result.addCounters(counters.value)
        return result
    }

    /// Starts the runtime with the server as its main goroutine; `stop` ends it and rethrows
    /// what the runtime or the server threw. `counters` receives the runtime's counters.
    static func startTimeslice(_ context: WorkloadContext, work: CPUWork, progress: ProgressBeacon, cpus: ServerCPUs,
                               counters: RuntimeCountersBox, netpollSpinNanoseconds: UInt64? = nil) throws -> RunningServer {
        let handoff = PortHandoff()
        let stop = StopFlag()
        var outcome: Result<Void, Error> = .success(())
        let thread = try cpus.startConfinedThread(name: "timeslice-rt") {
            outcome = Result {
                let ((), runtimeCounters) = try RuntimeBridge.run(context, netpollSpinNanoseconds: netpollSpinNanoseconds,
                                                                  cpus: cpus.sysmonLayout) { () throws -> Void in
                    let listener: TCPListener
                    do { listener = try TCPListener.listen() } catch {
                        handoff.publish(.failure(error))
                        throw error
                    }
                    handoff.publish(.success(listener.port))
                    // The acceptor counts itself in, so every add(1) happens while the count is > 0.
                    let connections = WaitGroup()
                    connections.add(1)
                    go {
                        while let connection = try? listener.accept() {
                            connections.add(1)
                            go {
                                serveConnection(connection, work: work, progress: progress)
                                connection.close()
                                connections.done()
                            }
                        }
                        connections.done()
                    }
                    while !stop.isSet { Timeslice.sleep(nanoseconds: 10_000_000) }
                    listener.close()
                    connections.wait()
                }
                counters.set(runtimeCounters)
            }
            // The runtime refused to start (placement, configuration): no port will come.
            if case .failure(let e) = outcome { handoff.publish(.failure(e)) }
        }
        let port: UInt16
        do { port = try handoff.wait() } catch {
            thread.join()
            throw error
        }
        return RunningServer(port: port, pid: { getpid() }) {
            stop.set()
            thread.join()
            try outcome.get()
        }
    }

    /// One connection's loop on goroutine sockets, until end of stream or an error.
    static func serveConnection(_ connection: TCPConnection, work: CPUWork, progress: ProgressBeacon) {
        var buffer = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &buffer) { bytes in
            while (try? connection.readFully(into: bytes)) != nil {
                let response = handle(ServerMessage(decoding: UnsafeRawBufferPointer(bytes)), work: work)
                response.encode(into: bytes)
                guard (try? connection.write(UnsafeRawBufferPointer(bytes))) != nil else { return }
                progress.beat()
            }
        }
    }
}

/// The listener's port (or why there is none), from the runtime's thread to the starter. The
/// first `publish` wins.
private final class PortHandoff: @unchecked Sendable {
    // @unchecked: `value` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var value: Result<UInt16, Error>?

    func publish(_ v: Result<UInt16, Error>) {
        condition.lock()
        if value == nil { value = v }
        condition.broadcast()
        condition.unlock()
    }

    func wait() throws -> UInt16 {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return try value!.get()
    }
}

/// The runtime's counters, set by the runtime's thread before it is joined.
final class RuntimeCountersBox: @unchecked Sendable {
    // @unchecked: written once before `stop` joins the writer, read after.
    private(set) var value: [String: UInt64] = [:]
    func set(_ v: [String: UInt64]) { value = v }
}
