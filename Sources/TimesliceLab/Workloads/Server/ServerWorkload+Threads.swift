// The server on plain pthreads: an accept thread and a thread per connection doing blocking
// reads and writes, the classic C server. The kernel time-slices the connection threads, so a
// 500 µs request does not hold back the short ones as long as another thread can run. The
// acceptor is confined to the server's CPUs, so every connection thread it starts is too.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension ServerWorkload {
    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        try serve(context) { work, progress, cpus in try Self.startThreads(work: work, progress: progress, cpus: cpus) }
    }

    static func startThreads(work: CPUWork, progress: ProgressBeacon, cpus: ServerCPUs) throws -> RunningServer {
        let (listener, port) = try LoopbackSocket.listen()
        let acceptor: OSThread
        do {
            acceptor = try cpus.startConfinedThread(name: "accept") {
                acceptConnections(listener, work: work, progress: progress)
            }
        } catch {
            close(listener)
            throw error
        }
        return RunningServer(port: port, pid: { getpid() }) {
            shutdown(listener, Int32(SHUT_RDWR))
            acceptor.join()
            close(listener)
        }
    }

    /// Starts a thread per accepted connection until the listener is shut down (accept then
    /// fails with EINVAL), then waits for them.
    private static func acceptConnections(_ listener: Int32, work: CPUWork, progress: ProgressBeacon) {
        var handlers: [OSThread] = []
        while let fd = try? LoopbackSocket.accept(listener) {
            handlers.append(OSThread(name: "conn") {
                serveConnection(fd, work: work, progress: progress)
                close(fd)
            })
        }
        handlers.forEach { $0.join() }
    }

    /// One connection's loop on a blocking socket, until end of stream or an error.
    static func serveConnection(_ fd: Int32, work: CPUWork, progress: ProgressBeacon) {
        var buffer = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &buffer) { bytes in
            while (try? LoopbackSocket.readFully(fd, bytes)) == true {
                let response = handle(ServerMessage(decoding: UnsafeRawBufferPointer(bytes)), work: work)
                response.encode(into: bytes)
                guard (try? LoopbackSocket.writeAll(fd, UnsafeRawBufferPointer(bytes))) != nil else { return }
                progress.beat()
            }
        }
    }
}
