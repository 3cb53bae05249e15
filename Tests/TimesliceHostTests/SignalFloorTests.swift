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
}
