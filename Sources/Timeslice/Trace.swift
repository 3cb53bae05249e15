// Event tracing for Chrome's trace viewer and Perfetto (RuntimeConfiguration.traceFile,
// or TIMESLICE_TRACE=path).
//
// Each M (and sysmon) records into its own bounded ring of fixed-size events:
// only that thread writes it, so recording is a clock read and four stores, no
// lock and no allocation. When a ring is full the oldest events are overwritten
// (the file says how many were lost). At shutdown the rings are merged into one
// JSON file: a track per M, a complete ("X") slice per goroutine run named after
// the goroutine and labelled with why it ended, and instants for preemption
// requests, deliveries and deferred-then-honoured preemptions, steals, parks,
// P handoffs, blocked-thread handoffs (BlockedThread.swift) and netpoll wake-ups
// (NetpollScheduling.swift). Timestamps are CLOCK_MONOTONIC, in microseconds as the format wants.
import CTimeslice
import Foundation

enum TraceEventKind: UInt8 {
    case runStart = 1          // a: goroutine id
    case runEnd = 2            // a: goroutine id, b: SwitchReason
    case preemptRequested = 3  // a: goroutine id (sysmon's track), b: P id
    case preemptDelivered = 4  // a: goroutine id
    case preemptHonoured = 5   // a: goroutine id (a deferred signal honoured on leaving runtime code)
    case steal = 6             // a: goroutines stolen, b: victim P id
    case park = 7              // a: goroutine id
    case handoff = 8           // b: P id (sysmon's track)
    case blockedThread = 9     // a: goroutine id, b: P id (sysmon's track): its thread is blocked
                               // in the kernel outside blockingCall; sysmon took the P
    case handoffBlockedThread = 10 // b: P id (sysmon's track): that P handed to another M
    case blockedThreadReturn = 11  // a: goroutine id: back from the kernel without a P, reacquiring
    case netpollWake = 12      // a: goroutines readied by one poll, b: NetpollWaker (who polled)
}

struct TraceEvent {
    var time: UInt64
    var a: UInt64
    var b: UInt32
    var kind: UInt8
}

/// One thread's ring. A struct over raw storage: appending costs no reference counting.
struct TraceBuffer {
    let capacity: Int
    private let events: UnsafeMutablePointer<TraceEvent>
    /// Events ever recorded (the ring holds the last `capacity`). Owner thread only.
    private let written: UnsafeMutablePointer<Int>

    init(capacity: Int) {
        self.capacity = capacity
        events = .allocate(capacity: capacity)
        written = .allocate(capacity: 1)
        written.initialize(to: 0)
    }

    func deallocate() {
        events.deallocate()
        written.deallocate()
    }

    @inline(__always)
    func record(_ kind: TraceEventKind, a: UInt64 = 0, b: UInt32 = 0) {
        let n = written.pointee
        events[n % capacity] = TraceEvent(time: ts_monotonic_ns(), a: a, b: b, kind: kind.rawValue)
        written.pointee = n + 1
    }

    /// The retained events in order, and how many older ones were overwritten.
    func snapshot() -> (events: [TraceEvent], lost: Int) {
        let n = written.pointee
        let kept = min(n, capacity)
        var out: [TraceEvent] = []
        out.reserveCapacity(kept)
        for i in (n - kept)..<n { out.append(events[i % capacity]) }
        return (out, n - kept)
    }
}

/// Owns every ring of one runtime and writes the file.
final class TraceRecorder {
    let path: String
    let eventsPerThread: Int
    private let lock = RuntimeLock()
    @exclusivity(unchecked) private var buffers: [(name: String, buffer: TraceBuffer)] = []  // guarded by lock

    init(path: String, eventsPerThread: Int = 1 << 16) {
        self.path = path
        self.eventsPerThread = eventsPerThread
    }

    deinit {
        for b in buffers { b.buffer.deallocate() }
    }

    /// A new ring for the thread named `name` ("M0", "sysmon").
    func makeBuffer(name: String) -> TraceBuffer {
        let b = TraceBuffer(capacity: eventsPerThread)
        lock.withLock { buffers.append((name, b)) }
        return b
    }

    /// Writes the Chrome trace JSON, atomically. Call after the Ms stopped (a
    /// still-running M's last events may be torn; they are only read here).
    func write(origin: UInt64) throws {
        var out = TraceJSONText()
        var lostTotal = 0
        let tracks = lock.withLock { buffers }
        for (tid, track) in tracks.enumerated() {
            out.event(#""name":"thread_name","ph":"M","pid":1,"tid":\#(tid),"args":{"name":\#(TraceJSONText.quoted(track.name))}"#)
            let (recorded, lost) = track.buffer.snapshot()
            lostTotal += lost
            var openRun: TraceEvent?
            for e in recorded {
                func instant(_ name: String, _ args: String) {
                    out.event(#""name":"\#(name)","cat":"scheduler","ph":"i","s":"t","pid":1,"tid":\#(tid),"ts":\#(TraceJSONText.microseconds(e.time &- origin)),"args":{\#(args)}"#)
                }
                switch TraceEventKind(rawValue: e.kind) {
                case .runStart:
                    openRun = e
                case .runEnd:
                    guard let start = openRun, start.a == e.a else { continue }
                    openRun = nil
                    // At least 1 ns, so that the viewer draws it.
                    let duration = max(e.time &- start.time, 1)
                    out.event(#""name":"G\#(e.a)","cat":"goroutine","ph":"X","pid":1,"tid":\#(tid),"ts":\#(TraceJSONText.microseconds(start.time &- origin)),"dur":\#(TraceJSONText.microseconds(duration)),"args":{"goroutine":\#(e.a),"ended":\#(TraceJSONText.quoted(Self.reasonName(e.b)))}"#)
                case .preemptRequested:
                    instant("preempt requested", #""goroutine":\#(e.a),"p":\#(e.b)"#)
                case .preemptDelivered:
                    instant("preempt delivered", #""goroutine":\#(e.a)"#)
                case .preemptHonoured:
                    instant("preempt deferred, honoured", #""goroutine":\#(e.a)"#)
                case .steal:
                    instant("steal", #""goroutines":\#(e.a),"victim_p":\#(e.b)"#)
                case .park:
                    instant("park", #""goroutine":\#(e.a)"#)
                case .handoff:
                    instant("handoff", #""p":\#(e.b)"#)
                case .blockedThread:
                    instant("blocked thread, P taken", #""goroutine":\#(e.a),"p":\#(e.b)"#)
                case .handoffBlockedThread:
                    instant("handoff (blocked thread)", #""p":\#(e.b)"#)
                case .blockedThreadReturn:
                    instant("blocked thread returned, reacquiring a P", #""goroutine":\#(e.a)"#)
                case .netpollWake:
                    instant("netpoll wake-up", #""goroutines":\#(e.a),"poller":\#(TraceJSONText.quoted(Self.pollerName(e.b)))"#)
                case .none:
                    continue
                }
            }
        }
        // The origin lets other clocks' records be lined up with the trace (CLOCK_MONOTONIC ns).
        let data = out.document(otherData: #""producer":"timeslice","events_lost_to_ring_wraparound":\#(lostTotal),"origin_monotonic_ns":\#(origin)"#)
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try data.write(to: temporary)
        if FileManager.default.fileExists(atPath: url.path) {
            _ = try FileManager.default.replaceItemAt(url, withItemAt: temporary)
        } else {
            try FileManager.default.moveItem(at: temporary, to: url)
        }
    }

    static func pollerName(_ raw: UInt32) -> String {
        switch NetpollWaker(rawValue: raw) {
        case .findRunnable: return "findRunnable"
        case .sleeper: return "sleeper (blocking)"
        case .sysmon: return "sysmon"
        case .preemption: return "preemption"
        case nil: return "unknown"
        }
    }

    static func reasonName(_ raw: UInt32) -> String {
        switch SwitchReason(rawValue: raw) {
        case .yield: return "yield"
        case .park: return "park"
        case .parkReleasingAll: return "park (select)"
        case .exit: return "exit"
        case .preempted: return "preempted"
        case .syscallNoProcessor: return "blocking call, no P on return"
        case .none?, nil: return "unknown"
        }
    }
}
