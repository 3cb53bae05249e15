// Runs in the child beside the workload, on its own pthread (never a goroutine, so that a
// starved runtime cannot starve the monitor too). It watches the probe's progress beacon:
//   - first movement: writes the "probe ran" marker on stderr for the parent;
//   - no movement for `timeout`: reports `starved` and ends the process at once. Hogs may be
//     spinning in a cooperative runtime that will never stop them; there is nothing to join.
//   - still running at `giveUpAfter` (a little before the parent's watchdog would kill the
//     child): reports `timeout` itself, so that the samples taken so far are kept.
// Both reports carry the probe's censored samples (ProbeRecording), see ChildMain.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TimesliceHost

final class StarvationMonitor: Sendable {
    enum Stall { case starved, outOfTime }

    private let beacon: ProgressBeacon
    private let timeout: UInt64
    private let giveUpAfter: UInt64?
    private let stopped = Atomic<Bool>(false)
    private let onStall: @Sendable (Stall, String) -> Void

    init(beacon: ProgressBeacon, timeout: UInt64, giveUpAfter: UInt64?,
         onStall: @escaping @Sendable (Stall, String) -> Void) {
        self.beacon = beacon
        self.timeout = timeout
        self.giveUpAfter = giveUpAfter
        self.onStall = onStall
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
                onStall(.starved, c == 0
                    ? "probe never completed a wake-up within \(ms) ms"
                    : "probe made no progress for \(ms) ms (after \(c) samples)")
                return
            }
            if let giveUpAfter, now - start >= giveUpAfter {
                onStall(.outOfTime, "the workload was still running after \(giveUpAfter / 1_000_000) ms (the child's own deadline, ahead of the parent's watchdog)")
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
        let bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            // A closed pipe (the parent died) leaves nobody to tell: stop quietly.
            guard let n = try? bytes.withUnsafeBytes({ raw in
                try SystemCall.retrying("write") { Glibc.write(fd, raw.baseAddress! + off, raw.count - off) }
            }), n > 0 else { return }
            off += n
        }
    }
}
