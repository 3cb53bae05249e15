// Progress of a sweep on stderr, in the style of hyperfine.
//
// - Every finished configuration prints one permanent line: `[3/40] <id>  ok  p99=… max=…
//   elapsed 1m 02s, ETA 12m 30s` (terminal or not; logs and CI keep these).
// - On a terminal (isatty(2)) a status line below them is redrawn about 4 times a second by
//   `LiveStatusLine`'s own thread while the child runs: the configuration running, its elapsed
//   and expected time (warm-up + duration; unknown for `iterations`), a bar of the whole sweep,
//   the ETA and the last finished configuration's p99. It is cleared before any other line is
//   written, so the two never interleave.
//
// Times are always h/m/s (`2h 05m 03s`, `4m 07s`, `12s`), never raw seconds.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum DurationFormat {
    /// Whole seconds as `12s`, `4m 07s`, `2h 05m 03s` (hours are not folded into days).
    public static func hms(_ seconds: Double) -> String {
        let total = seconds.isFinite ? Int(max(0, seconds).rounded()) : 0
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        if h > 0 { return String(format: "%dh %02dm %02ds", h, m, s) }
        if m > 0 { return String(format: "%dm %02ds", m, s) }
        return "\(s)s"
    }

    /// A running time: one decimal below 10 s (`1.3s`), else h/m/s.
    public static func short(_ seconds: Double) -> String {
        seconds < 10 ? String(format: "%.1fs", max(0, seconds)) : hms(seconds)
    }
}

/// The numbers behind the progress lines; pure, so it is tested without a terminal.
public struct ProgressMeter: Sendable {
    public let total: Int
    /// Warm-up + duration of one configuration; nil for `iterations` runs.
    public let expectedPerConfig: Double?
    public let repetitions: Int
    /// Finished configurations and the wall time they took (child + writing results).
    public private(set) var done = 0
    public private(set) var finishedSeconds = 0.0
    /// p99 of the last finished configuration, as the table prints it (`≥` when censored).
    public private(set) var lastP99: String?

    public init(total: Int, expectedPerConfig: Double?, repetitions: Int = 1) {
        self.total = total
        self.expectedPerConfig = expectedPerConfig
        self.repetitions = repetitions
    }

    /// The expected total: configurations × (warm-up + duration), without process start-up.
    public static func expectedTotal(runs: Int, spec: ExperimentSpec) -> Double? {
        perConfig(spec).map { Double(runs) * $0 }
    }

    public static func perConfig(_ spec: ExperimentSpec) -> Double? {
        switch spec.length {
        case .duration(let ns): return Double(spec.warmupNanoseconds + ns) / 1e9
        case .iterations: return nil
        }
    }

    public mutating func finished(_ result: ConfigResult, seconds: Double) {
        done += 1
        finishedSeconds += seconds
        if let l = result.latencyNs { lastP99 = SummaryTable.cell(l.p99, censored: l.censored) }
    }

    /// Seconds left, given how long the running configuration has run; nil when unknown (no
    /// configuration finished yet and no expected length).
    public func eta(currentSeconds: Double = 0) -> Double? {
        let perConfig: Double
        if done > 0 { perConfig = finishedSeconds / Double(done) }
        else if let expectedPerConfig { perConfig = expectedPerConfig }
        else { return nil }
        return max(0, Double(total - done) * perConfig - currentSeconds)
    }

    static func etaText(_ eta: Double?) -> String { eta.map { "ETA " + DurationFormat.hms($0) } ?? "ETA unknown" }

    /// The permanent line for a finished configuration (also the only line off a terminal).
    public func finishedLine(_ result: ConfigResult, sweepSeconds: Double) -> String {
        var line = "[\(done)/\(total)] \(result.id)"
        if repetitions > 1 { line += " rep \(result.repetition)" }
        line += "  \(result.status.rawValue)"
        if let l = result.latencyNs {
            line += "  p99=\(SummaryTable.cell(l.p99, censored: l.censored)) max=\(SummaryTable.cell(l.max, censored: l.censored))"
        }
        if let r = result.reason, result.status != .ok { line += "  (\(r.prefix(80)))" }
        line += "  elapsed \(DurationFormat.hms(sweepSeconds)), \(Self.etaText(eta()))"
        return line
    }

    /// The terminal's status line while `id` runs.
    public func liveLine(id: String, repetition: Int, currentSeconds: Double, barWidth: Int = 20) -> String {
        var line = "[\(done + 1)/\(total)] "
        let current: String
        if let expectedPerConfig {
            current = "\(DurationFormat.short(currentSeconds))/\(DurationFormat.short(expectedPerConfig))"
        } else {
            current = "\(DurationFormat.short(currentSeconds))/?"
        }
        let fraction = expectedPerConfig.map { min(1, currentSeconds / max($0, 0.001)) } ?? 0
        let sweepFraction = total > 0 ? (Double(done) + fraction) / Double(total) : 1
        let filled = min(barWidth, Int((sweepFraction * Double(barWidth)).rounded(.down)))
        let bar = "▕" + String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled) + "▏"
        var tail = "  \(current)  \(bar) \(Self.etaText(eta(currentSeconds: currentSeconds)))"
        if let lastP99 { tail += "  last p99 \(lastP99)" }
        line += id + (repetitions > 1 ? " rep \(repetition)" : "")
        return line + tail
    }
}

/// A status line on a terminal, redrawn by its own thread about 4 times a second until
/// `stop()`, which clears it. Only `start`/`stop` are called from the sweep's thread; between
/// them nothing else writes to stderr.
public final class LiveStatusLine: @unchecked Sendable {
    private let fd: Int32
    private let interval: Double
    private let lock = NSLock()
    private var stopped = true
    private var done: DispatchSemaphore?
    private var wake: DispatchSemaphore?

    /// nil unless `fd` is a terminal.
    public static func forStderr() -> LiveStatusLine? {
        isatty(2) == 1 ? LiveStatusLine(fd: 2) : nil
    }

    public init(fd: Int32, interval: Double = 0.25) {
        self.fd = fd
        self.interval = interval
    }

    /// The terminal's width (TIOCGWINSZ), 100 when unknown.
    var columns: Int {
        var ws = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 10 { return Int(ws.ws_col) }
        return 100
    }

    public func start(render: @escaping @Sendable () -> String) {
        lock.lock()
        guard stopped else { lock.unlock(); return }
        stopped = false
        let done = DispatchSemaphore(value: 0), wake = DispatchSemaphore(value: 0)
        self.done = done
        self.wake = wake
        lock.unlock()
        let thread = Thread { [self] in
            while true {
                lock.lock()
                let stop = stopped
                lock.unlock()
                if stop { break }
                draw(render())
                _ = wake.wait(timeout: .now() + interval)
            }
            done.signal()
        }
        thread.name = "timeslice-progress"
        thread.start()
    }

    /// Stops the redraws, waits for the thread and clears the line.
    public func stop() {
        lock.lock()
        guard !stopped else { lock.unlock(); return }
        stopped = true
        let done = self.done, wake = self.wake
        lock.unlock()
        wake?.signal()
        done?.wait()
        write("\r\u{1B}[K")
    }

    private func draw(_ text: String) {
        // A line wider than the terminal would wrap, and \r would then redraw only its last row.
        let width = columns - 1
        let clipped = text.count > width ? String(text.prefix(max(0, width - 1))) + "…" : text
        write("\r\u{1B}[K" + clipped)
    }

    private func write(_ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }
}
