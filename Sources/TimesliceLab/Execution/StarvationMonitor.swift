// Runs in the child beside the workload, on its own pthread (never a goroutine, so that a
// starved runtime cannot starve the monitor too). It watches the probe's progress beacon:
//   - first movement: writes the "probe ran" marker on stderr for the parent;
//   - no movement for `timeout`: reports `starved` and ends the process at once. Hogs may be
//     spinning in a cooperative runtime that will never stop them; there is nothing to join.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

final class StarvationMonitor: Sendable {
    private let beacon: ProgressBeacon
    private let timeout: UInt64
    private let stopped = Atomic<Bool>(false)
    private let onStarved: @Sendable (String) -> Void

    init(beacon: ProgressBeacon, timeout: UInt64, onStarved: @escaping @Sendable (String) -> Void) {
        self.beacon = beacon
        self.timeout = timeout
        self.onStarved = onStarved
    }

    func start() -> OSThread {
        OSThread(name: "starve-monitor") { [self] in watch() }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private func watch() {
        let start = MonotonicClock.now()
        var lastCount: UInt64 = 0
        var lastChange = start
        var announced = false
        while !stopped.load(ordering: .relaxed) {
            usleep(20_000)
            let now = MonotonicClock.now()
            let c = beacon.count
            if c != lastCount {
                lastCount = c
                lastChange = now
                if !announced {
                    announced = true
                    ChildIO.stderr("\(ChildOutcome.probeRanMarker) after \((now - start) / 1_000_000) ms\n")
                }
            } else if now - lastChange >= timeout {
                let ms = timeout / 1_000_000
                onStarved(c == 0
                    ? "probe never completed a wake-up within \(ms) ms"
                    : "probe made no progress for \(ms) ms (after \(c) samples)")
                return
            }
        }
    }
}

/// Unbuffered writes for the child: outcome lines must reach the parent even when the child
/// ends with _exit, which skips stdio buffers.
enum ChildIO {
    static func stdout(_ s: String) { write(1, s) }
    static func stderr(_ s: String) { write(2, s) }

    private static func write(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}
