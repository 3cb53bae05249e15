// A plain pthread for the `threads` baseline and for the child's starvation monitor.
// Foundation's Thread has no join, and the baselines must be exactly "one pthread per task".
#if canImport(Glibc)
import Glibc
#endif
import Foundation

public final class OSThread {
    private var handle = pthread_t()

    /// Box for the closure handed through pthread_create's void* argument.
    private final class Start {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) { self.name = name; self.body = body }
    }

    /// Starts `body` on a new pthread. Traps if the system refuses a thread: a workload that
    /// cannot start its threads cannot produce a meaningful number, and the parent records the
    /// crash as an error with the child's stderr.
    public init(name: String, _ body: @escaping () -> Void) {
        // passRetained: the new thread owns one reference and releases it when it starts.
        let arg = Unmanaged.passRetained(Start(name, body)).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            // Names show in top and perf, which helps when studying a run. Glibc's module does not
            // export pthread_setname_np; Foundation's setter calls it for us.
            Thread.current.name = String(start.name.prefix(15))
            start.body()
            return nil
        }, arg)
        precondition(rc == 0, "pthread_create failed for \(name): \(String(cString: strerror(rc)))")
    }

    public func join() {
        _ = pthread_join(handle, nil)
    }
}
