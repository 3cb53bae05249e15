// LockOSThread (Go's semantics, runtime/proc.go LockOSThread/dolockOSThread):
//   - lockOSThread() wires the calling goroutine to its current M; calls nest
//     (an external count, plus an internal count reserved for the runtime).
//   - A locked goroutine runs only on its M, and that M runs nothing else: when
//     the goroutine switches out (yield, park, preemption, blockingCall without
//     a P) the M hands its P to another M and sleeps until its goroutine is
//     runnable again; whichever M then finds the goroutine hands its own P to the
//     locked M and goes idle (Go's stoplockedm / startlockedm). That scheduler
//     side is in MachineLoop.swift (waitForLockedGoroutine, handOffToLockedMachine).
//   - If a goroutine exits still locked, its M is retired (the thread exits)
//     instead of being reused: whatever thread state the goroutine changed dies
//     with it.
import CTimeslice

/// Wires the calling goroutine to its OS thread until a matching unlockOSThread.
public func lockOSThread() {
    withRuntimeEntry("lockOSThread") { g, m in
        let goroutine = Goroutine.from(header: g)
        precondition(goroutine.lockedExternal < UInt32.max, "timeslice: lockOSThread nested too deeply")
        goroutine.lockedExternal += 1
        goroutine.lockedMachine = m
        m.lockedGoroutine = goroutine
    }
}

/// Undoes one lockOSThread; the goroutine is free to move once every lock is undone.
/// Without a matching lock it does nothing, as in Go.
public func unlockOSThread() {
    withRuntimeEntry("unlockOSThread") { g, m in
        let goroutine = Goroutine.from(header: g)
        guard goroutine.lockedExternal > 0 else { return }
        goroutine.lockedExternal -= 1
        releaseLockIfUnused(goroutine, m)
    }
}

/// Runtime-internal lock (counted apart from the user's, as Go's lockOSThread).
func lockOSThreadInternal(_ goroutine: Goroutine, _ m: Machine) {
    goroutine.lockedInternal += 1
    goroutine.lockedMachine = m
    m.lockedGoroutine = goroutine
}

func unlockOSThreadInternal(_ goroutine: Goroutine, _ m: Machine) {
    precondition(goroutine.lockedInternal > 0, "timeslice: internal unlockOSThread without lock")
    goroutine.lockedInternal -= 1
    releaseLockIfUnused(goroutine, m)
}

private func releaseLockIfUnused(_ goroutine: Goroutine, _ m: Machine) {
    if goroutine.lockedExternal == 0 && goroutine.lockedInternal == 0 {
        goroutine.lockedMachine = nil
        m.lockedGoroutine = nil
    }
}

/// Whether the running goroutine is locked to its thread.
public var isLockedToOSThread: Bool {
    withRuntimeEntry("isLockedToOSThread") { g, _ in Goroutine.from(header: g).lockedMachine != nil }
}
