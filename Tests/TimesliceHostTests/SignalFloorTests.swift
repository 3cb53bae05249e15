// The signal floor measurement delivers every signal it sends and leaves the thread as it was
// (SIGUSR2's disposition, the mask). No timing threshold: only that a positive figure comes out.
import Glibc
import XCTest
@testable import TimesliceHost

final class SignalFloorTests: XCTestCase {
    func testEverySignalIsDeliveredAndTheThreadIsRestored() throws {
        var before = sigaction()
        sigaction(SIGUSR2, nil, &before)
        var maskBefore = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &maskBefore)
        let ns = try SignalFloor.measure(iterations: 2_000)
        XCTAssertGreaterThan(ns, 0)
        var after = sigaction()
        sigaction(SIGUSR2, nil, &after)
        XCTAssertEqual(after.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) },
                       before.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) },
                       "SIGUSR2's handler is restored")
        var maskAfter = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &maskAfter)
        XCTAssertEqual(sigismember(&maskAfter, SIGUSR2), sigismember(&maskBefore, SIGUSR2))
        XCTAssertThrowsError(try SignalFloor.measure(iterations: 0))
    }

    /// Both timer-driven floors deliver signals, charge the monitor's CPU only to the monitor
    /// source, leave SIGUSR2's disposition as it was, and reject a zero period.
    func testTimerDrivenFloorsDeliverSignalsAndRestoreTheThread() throws {
        var before = sigaction()
        sigaction(SIGUSR2, nil, &before)
        let monitor = try TimerSignalFloor.measure(.monitorThread, periodNanoseconds: 200_000, spinIterations: 20_000_000)
        XCTAssertGreaterThan(monitor.signals, 0)
        XCTAssertGreaterThan(monitor.senderCPUNanosecondsPerSignal, 0, "the monitor thread's CPU is counted")
        let own = try TimerSignalFloor.measure(.ownTimer, periodNanoseconds: 200_000, spinIterations: 20_000_000)
        XCTAssertGreaterThan(own.signals, 0)
        XCTAssertEqual(own.senderCPUNanosecondsPerSignal, 0, "no other thread takes part")
        XCTAssertEqual(own.cpuNanosecondsPerSignal, own.victimNanosecondsPerSignal)
        var after = sigaction()
        sigaction(SIGUSR2, nil, &after)
        XCTAssertEqual(after.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) },
                       before.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) },
                       "SIGUSR2's handler is restored")
        XCTAssertThrowsError(try TimerSignalFloor.measure(.ownTimer, periodNanoseconds: 0, spinIterations: 1))
    }
}
