// The parent's watchdog and the interpretation of every way a child can end. The children here
// are /bin/sleep and /bin/sh, through the same ConfigRunner the CLI uses.
import XCTest
@testable import TimesliceLab

final class WatchdogTests: XCTestCase {
    private func config(starvation: String = "1s") throws -> RunConfiguration {
        let spec = try Fixtures.spec(Fixtures.minimal(#""starvation_timeout": "\#(starvation)""#))
        return RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
    }

    func testHangingChildIsKilledAndRecordedAsTimeout() throws {
        let launcher = ScriptLauncher { _ in ("exec /bin/sleep 100", nil) }
        let start = Date()
        let run = ConfigRunner.run(try config(), launcher: launcher, deadlineNanoseconds: 1_500_000_000)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(run.result.status, .timeout)
        XCTAssertEqual(run.result.reason, "killed by the watchdog after 1.5 s")
        XCTAssertNil(run.result.latencyNs)
        // Generous bound: the point is "killed, not waited for 100 s".
        XCTAssertLessThan(elapsed, 30)
    }

    func testGrandchildrenAreKilledWithTheChild() throws {
        // The shell's own child keeps the stdout pipe open; only killing the group ends it.
        let launcher = ScriptLauncher { _ in ("/bin/sleep 100; echo never", nil) }
        let run = ConfigRunner.run(try config(), launcher: launcher, deadlineNanoseconds: 1_000_000_000)
        XCTAssertEqual(run.result.status, .timeout)
        XCTAssertLessThan(run.result.elapsedSeconds, 30)
    }

    func testChildThatStartedButWhoseProbeNeverRanIsStarved() throws {
        let launcher = ScriptLauncher { _ in ("echo '\(ChildOutcome.startedMarker) x' >&2; exec /bin/sleep 100", nil) }
        let run = ConfigRunner.run(try config(starvation: "1s"), launcher: launcher, deadlineNanoseconds: 1_500_000_000)
        XCTAssertEqual(run.result.status, .starved)
        XCTAssertEqual(run.result.reason, "probe never ran; the child was killed by the watchdog after 1.5 s")
    }

    func testChildWhoseProbeRanThenHungIsATimeout() throws {
        let launcher = ScriptLauncher { _ in
            ("echo '\(ChildOutcome.startedMarker) x' >&2; echo '\(ChildOutcome.probeRanMarker) after 1 ms' >&2; exec /bin/sleep 100", nil)
        }
        let run = ConfigRunner.run(try config(), launcher: launcher, deadlineNanoseconds: 1_500_000_000)
        XCTAssertEqual(run.result.status, .timeout)
    }

    func testCrashIsAnErrorWithExitCodeAndStderr() throws {
        let launcher = ScriptLauncher { _ in ("echo 'fatal: boom' >&2; exit 3", nil) }
        let run = ConfigRunner.run(try config(), launcher: launcher, deadlineNanoseconds: 10_000_000_000)
        XCTAssertEqual(run.result.status, .error)
        XCTAssertEqual(run.result.reason, "child exited with code 3 without an outcome: fatal: boom")
    }

    func testKilledBySignalIsAnError() throws {
        let launcher = ScriptLauncher { _ in ("kill -SEGV $$", nil) }
        let run = ConfigRunner.run(try config(), launcher: launcher, deadlineNanoseconds: 10_000_000_000)
        XCTAssertEqual(run.result.status, .error)
        XCTAssertTrue(run.result.reason?.hasPrefix("child killed by signal 11") == true, run.result.reason ?? "nil")
    }

    func testOutcomeLineIsFoundAmongOtherOutput() throws {
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder(), counters: ["x": 7])
        let launcher = ScriptLauncher { _ in (#"echo noise; printf '%s\n' "$OUTCOME"; echo more noise"#, outcome) }
        let run = ConfigRunner.run(try config(), launcher: launcher, deadlineNanoseconds: 10_000_000_000)
        XCTAssertEqual(run.result.status, .ok, run.result.reason ?? "")
        XCTAssertEqual(run.result.counters["x"], 7)
        XCTAssertEqual(run.result.latencyNs, PercentileSummary(Fixtures.knownRecorder().histogram))
    }

    func testUnavailableVariantIsReportedWithItsReason() throws {
        let outcome = ChildOutcome(status: .unavailable, reason: "go not installed")
        let launcher = ScriptLauncher { _ in (#"printf '%s\n' "$OUTCOME""#, outcome) }
        let run = ConfigRunner.run(try config(), launcher: launcher, deadlineNanoseconds: 10_000_000_000)
        XCTAssertEqual(run.result.status, .unavailable)
        XCTAssertEqual(run.result.reason, "go not installed")
        XCTAssertNil(run.result.latencyNs)
    }
}
