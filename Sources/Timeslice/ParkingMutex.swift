// A mutex for goroutines: contended lockers park (their M runs other goroutines)
// instead of blocking the OS thread. Unlock hands the mutex directly to the
// longest waiter (FIFO), so no waiter starves.
//
// state: 0 unlocked, 1 locked, 2 locked with waiters. The fast paths are one
// CAS each; state 2 forces unlock through the slow path, which is serialised
// with lockers by waitLock, so "2" and the waiter queue always agree.
import CTimeslice
import Synchronization

public final class ParkingMutex {
    private let state = Atomic<UInt32>(0)
    private let waitLock = RuntimeLock()
    @exclusivity(unchecked) private var waiters = WaitQueue()  // guarded by waitLock

    public init() {}

    public func lock() {
        if state.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged { return }
        lockSlow()
    }

    public func unlock() {
        if state.compareExchange(expected: 1, desired: 0, ordering: .releasing).exchanged { return }
        unlockSlow()
    }

    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    @inline(never)
    private func lockSlow() {
        withRuntimeEntry("ParkingMutex.lock") { g, _ in
            waitLock.lock()
            while true {
                let s = state.load(ordering: .acquiring)
                if s == 0 {
                    if state.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
                        waitLock.unlock()
                        return
                    }
                    continue
                }
                if s == 2 || state.compareExchange(expected: 1, desired: 2, ordering: .acquiring).exchanged { break }
            }
            var waiter = Waiter(goroutine: UInt(bitPattern: g.pointee.owner), element: nil)
            withUnsafeMutablePointer(to: &waiter) { w in
                waiters.append(w)
                parkCurrent(releasing: waitLock)
            }
            // Woken by unlockSlow: the mutex was handed to us.
        }
    }

    @inline(never)
    private func unlockSlow() {
        withPreemptionDisabled { handOffToWaiter() }
    }

    private func handOffToWaiter() {
        waitLock.lock()
        guard let w = waiters.popFirst() else {
            state.store(0, ordering: .releasing)
            waitLock.unlock()
            return
        }
        state.store(waiters.isEmpty ? 1 : 2, ordering: .releasing)
        waitLock.unlock()
        let g = Goroutine.from(opaque: w.pointee.goroutine)
        g.scheduler.ready(g)
    }
}
