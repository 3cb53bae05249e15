// The trace file (RuntimeConfiguration.traceFile) loads as Chrome/Perfetto trace
// JSON and shows what happened: goroutine runs on M tracks, and a preemption
// when one was delivered.
import CTimeslice
import Foundation
@testable import Timeslice
import XCTest

final class TraceTests: XCTestCase {
    private func traceRun(_ path: String, preemption: PreemptionMode, _ body: @escaping () -> Void) throws -> [String: Any] {
        var c = RuntimeConfiguration(maxProcs: 1, preemption: preemption, timeSliceNanoseconds: 200_000)
        c.traceFile = path
        let watchdog = Watchdog(seconds: 60, what: "TraceTests")
        defer { watchdog.cancel() }
        Runtime.run(c, body)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testTraceShowsRunsAndADeliveredPreemption() throws {
        let path = NSTemporaryDirectory() + "timeslice-trace-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let document = try traceRun(path, preemption: .async) {
            let wg = WaitGroup()
            wg.add(2)
            go {   // a hog that only async preemption can stop, mostly in user code
                let end = monotonicNanoseconds() + 30_000_000
                var x: UInt64 = 1
                while monotonicNanoseconds() < end {
                    for i in 0..<10_000 { x = x &* 6364136223846793005 &+ UInt64(i) }
                }
                if x == 42 { print(x) }
                wg.done()
            }
            go {
                for _ in 0..<5 { Timeslice.sleep(nanoseconds: 1_000_000) }
                wg.done()
            }
            wg.wait()
        }
        let events = try XCTUnwrap(document["traceEvents"] as? [[String: Any]])
        XCTAssertTrue(events.contains { $0["ph"] as? String == "M" && ($0["args"] as? [String: Any])?["name"] as? String == "M0" })
        let runs = events.filter { $0["ph"] as? String == "X" }
        XCTAssertFalse(runs.isEmpty)
        for r in runs {
            XCTAssertTrue((r["name"] as? String)?.hasPrefix("G") ?? false)
            XCTAssertNotNil(r["ts"] as? Double)
            XCTAssertGreaterThan(r["dur"] as? Double ?? -1, 0)
        }
        XCTAssertTrue(runs.contains { ($0["args"] as? [String: Any])?["ended"] as? String == "preempted" })
        XCTAssertTrue(events.contains { $0["name"] as? String == "preempt delivered" })
        XCTAssertTrue(events.contains { $0["name"] as? String == "preempt requested" })
        XCTAssertTrue(events.contains { $0["name"] as? String == "park" })
    }

    /// A goroutine parked in read and readied by the netpoller shows as a
    /// "netpoll wake-up" instant naming the poller and the goroutines readied.
    func testTraceShowsNetpollWakeUps() throws {
        let path = NSTemporaryDirectory() + "timeslice-trace-netpoll-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let document = try traceRun(path, preemption: .cooperative) {
            withConnectedPair { _, connection, peer in
                let done = WaitGroup()
                done.add()
                go {
                    var byte: [UInt8] = [0]
                    _ = try? byte.withUnsafeMutableBytes { try connection.readFully(into: $0) }
                    done.done()
                }
                Timeslice.sleep(nanoseconds: 5_000_000)   // the reader parks meanwhile
                try! [UInt8]([1]).withUnsafeBytes { try peer.write($0) }
                done.wait()
            }
        }
        let events = try XCTUnwrap(document["traceEvents"] as? [[String: Any]])
        let wakeUps = events.filter { $0["name"] as? String == "netpoll wake-up" }
        XCTAssertFalse(wakeUps.isEmpty)
        for w in wakeUps {
            let args = try XCTUnwrap(w["args"] as? [String: Any])
            XCTAssertGreaterThanOrEqual(args["goroutines"] as? Int ?? 0, 1)
            XCTAssertTrue(["findRunnable", "sleeper (blocking)", "sysmon"].contains(args["poller"] as? String ?? ""))
        }
    }

    func testRingWrapAroundIsReportedAndTheFileStaysValid() throws {
        let path = NSTemporaryDirectory() + "timeslice-trace-wrap-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let document = try traceRun(path, preemption: .cooperative) {
            let wg = WaitGroup()
            wg.add(2)
            for _ in 0..<2 { go { for _ in 0..<40_000 { yield() }; wg.done() } }
            wg.wait()
        }
        let other = try XCTUnwrap(document["otherData"] as? [String: Any])
        XCTAssertGreaterThan(other["events_lost_to_ring_wraparound"] as? Int ?? 0, 0)
        let events = try XCTUnwrap(document["traceEvents"] as? [[String: Any]])
        XCTAssertGreaterThan(events.filter { $0["ph"] as? String == "X" }.count, 1000)
    }

    /// The text writer's pieces: strings escaped so that any track name parses back as itself,
    /// times in microseconds to the nanosecond.
    func testTraceTextEscapesNamesAndKeepsNanoseconds() throws {
        XCTAssertEqual(TraceJSONText.microseconds(1_234_567), "1234.567")
        XCTAssertEqual(TraceJSONText.microseconds(1_000_005), "1000.005")
        XCTAssertEqual(TraceJSONText.microseconds(40), "0.040")
        let name = "M\"1\\ \n\u{1}é"
        var text = TraceJSONText()
        text.event(#""name":\#(TraceJSONText.quoted(name)),"ts":\#(TraceJSONText.microseconds(7))"#)
        text.event(#""n":2"#)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: text.document(otherData: #""lost":0"#)) as? [String: Any])
        let events = try XCTUnwrap(document["traceEvents"] as? [[String: Any]])
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events[0]["name"] as? String, name)
        XCTAssertEqual(events[0]["ts"] as? Double, 0.007)
        XCTAssertEqual((document["otherData"] as? [String: Any])?["lost"] as? Int, 0)
    }
}
