// The server in Go (baselines/go/server.go): net.Listen and a goroutine per connection, the
// runtime's netpoller underneath, GOMAXPROCS (ServerCPUs' n) and asyncpreemptoff from the
// matrix point (GoInvocation). The Go program runs as this child's own child, on a thread of
// its own (the death signal follows the spawning thread) confined to the server's CPUs: the
// program inherits the mask at fork, as `taskset -c <cpus>` would give it, and reports it
// back (cpus_allowed). It exits when the generator's `connections` connections have closed,
// and is killed if it has not 5 s after `stop`.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

extension ServerParameters: GoReferenceWorkload {
    func goWorkload(_ c: RunConfiguration) throws -> (name: String, arguments: [String], workers: Int) {
        ("server", [], c.point.maxProcs ?? UsableCPUs.count())
    }
}

extension ServerWorkload {
    func runGo(_ context: WorkloadContext) throws -> WorkloadResult {
        let c = context.configuration
        guard c.placement == .none else {
            throw WorkloadUnavailable("the go server runs only with placement none (it shares the host with the generator)")
        }
        let invocation = try GoInvocation.make(c)
        let binary = try GoReferenceProgram.binary(progress: context.progress)
        let scratch = try ScratchDirectory("timeslice-go-server")
        let beacon = try SharedCounterFile(path: scratch.file("beacon"))
        // Its own deadline: everything the generator may take, plus start-up.
        let deadline = GoVariant.deadline(c) + p.capacityProbeNanoseconds + p.timeoutNanoseconds
        let reported = GoServerOutput()
        var commandLine = ""
        let result = try ProgressRelay.whileRunning(context.progress, mirroring: beacon) {
            try serve(context) { _, _, cpus in
                let server = try Self.startGo(binary: binary, invocation: invocation, connections: p.connections, cpus: cpus,
                                              beacon: beacon.path, deadline: deadline, output: reported)
                commandLine = invocation.commandLine(binary: binary, cpus: cpus.cpus.listString)
                    + " -port \(server.port) -conns \(p.connections)"
                return server
            }
        }
        context.placementNote = "go: \(commandLine) (\(reported.text)); " + (context.placementNote ?? "")
        return result
    }

    /// Starts the Go program's `server` on a free port; `stop` waits for it to exit (it does once
    /// `connections` connections were accepted and closed), kills it after 5 s, and throws
    /// when it failed.
    static func startGo(binary: String, invocation: GoInvocation, connections: Int, cpus: ServerCPUs,
                        beacon: String?, deadline: UInt64, output: GoServerOutput? = nil) throws -> RunningServer {
        let port = try LoopbackSocket.freePort()
        let arguments = [invocation.workload] + invocation.arguments + ["-port", String(port), "-conns", String(connections)]
            + (beacon.map { ["-beacon", $0] } ?? [])
        let environment = invocation.processEnvironment(from: ProcessInfo.processInfo.environment)
        let finished = DispatchSemaphore(value: 0)
        let pid = ServerPID()
        var outcome: Result<ChildProcessResult, Error>?
        let thread = try cpus.startConfinedThread(name: "go-server") {
            outcome = Result {
                try ChildProcess.run(executable: binary, arguments: arguments, environment: environment,
                                     deadlineNanoseconds: deadline, onStart: { pid.set($0) })
            }
            finished.signal()
        }
        return RunningServer(port: port, pid: { pid.value }) {
            if finished.wait(timeout: .now() + 5) == .timedOut, let p = pid.value { kill(-p, SIGKILL) }
            thread.join()
            let child = try outcome!.get()
            output?.stdout = child.stdout
            guard child.termination == .exited(0) else {
                let tail = String(decoding: child.stderr, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
                throw WorkloadFailure("the Go server ended with \(child.termination)\(child.timedOut ? " (killed at its deadline)" : ""): \(tail)")
            }
        }
    }
}

/// What the Go server reported about itself on exit (GOMAXPROCS, its affinity mask), written
/// by `stop` and read after it on the same thread.
final class GoServerOutput {
    var stdout = Data()

    var text: String {
        guard let out = try? JSONDecoder().decode(GoOutput.self, from: stdout) else { return "its report unreadable" }
        return "it reported GOMAXPROCS=\(out.gomaxprocs), cpus_allowed "
            + (out.cpusAllowed.map { CPUSet($0).listString } ?? "?")
    }
}

/// The Go server's process id, set by the thread that spawned it, read by the one that may kill it.
private final class ServerPID: @unchecked Sendable {
    // @unchecked: `pid` is only touched with `lock` held.
    private let lock = NSLock()
    private var pid: pid_t?
    func set(_ p: pid_t) { lock.withLock { pid = p } }
    var value: pid_t? { lock.withLock { pid } }
}
