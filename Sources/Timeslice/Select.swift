// select: wait on several channel operations at once (Go's select statement).
//
// API. `select` takes a closure that lists the cases on a builder; each case
// names a channel of any element type and a handler, and the handler of the one
// case that completes runs after the select has left the runtime:
//
//     let v: Int = select {
//         $0.receive(from: numbers) { (n: Int?) in n ?? -1 }   // nil: closed
//         $0.receive(from: names) { (s: String?) in s?.count ?? -1 }
//         $0.send(42, to: out) { 0 }
//         $0.default { -2 }           // optional: makes the select non-blocking
//     }
//
// Handlers return the select's result (Void when it is a statement). The same
// channel may appear in several cases; cases may be added in loops (a dynamic
// select, like reflect.Select). A select with no cases and no default blocks
// forever, as in Go. Sending on a closed channel traps, as `send` does.
//
// Protocol (Go's selectgo, runtime/select.go):
// 1. The values to send are copied into element slots in the select's frame,
//    one per case. Lock order is the cases sorted by channel address, each
//    channel once: every multi-channel locker (only select) takes locks in that
//    global order and every other path holds one channel lock at a time, so
//    there is no cycle to deadlock on.
// 2. With all locks held, the cases are polled in a random order (per-M
//    xorshift): the first that can complete now does, which makes the choice
//    among ready cases uniform. A receive from a closed channel is ready (nil).
// 3. Nothing ready: with a default, unlock and run it. Otherwise queue one
//    Waiter per case, all pointing to one SelectState in this frame, and park;
//    g0 releases all the locks once the G is off its stack.
// 4. A waker (send, receive, close or another select on one of the channels)
//    pops a waiter under that channel's lock and must win the CAS on its
//    state's `done` word (WaitQueue.dequeue) before it touches the waiter's
//    slot; the winner records its waiter in `winner` and readies the G. A loser
//    drops the popped waiter and goes on to the next one. Wakers on different
//    channels hold different locks, so the CAS, not any one lock, is what makes
//    exactly one of them complete the select (Go's g.selectDone).
// 5. Woken, the select locks all channels again and removes its other waiters
//    from their queues (Go's "pass 3"), then unlocks. Re-locking also waits out
//    g0, which may still be releasing the later locks of step 3.
//
// Why no value is lost or duplicated: an element moves only under the lock of
// the channel it passes through, between a slot and a buffer or a partner's
// slot. A select's slot is written or read by at most one party: itself in
// step 2 (locks held, no waiter queued yet), or the single CAS winner of step 4.
// Losing wakers never touch a slot, and the select does not return, freeing
// its frame, before it re-locked every channel, so no waker can still be
// looking at one of its waiters or its state then. Unsent values of the losing
// send cases are destroyed by the select itself, after it unlocked.
import CTimeslice

/// The cases of one select, collected by the closure passed to `select`.
public struct Select<R> {
    /// What a case's closure is asked to do with its element slot.
    enum Step {
        case load                       // a send: initialize the slot with the value
        case deliver(completed: Bool)   // chosen: run the handler (false: channel closed)
    }

    struct Case {
        let channel: any SelectableChannel
        /// The channel's address: the lock order key.
        let address: UInt
        let sending: Bool
        /// Returns the handler's result for `.deliver`, nil for `.load`.
        let run: (UnsafeMutableRawPointer, Step) -> R?

        init(_ channel: any SelectableChannel, sending: Bool, run: @escaping (UnsafeMutableRawPointer, Step) -> R?) {
            self.channel = channel
            address = UInt(bitPattern: ObjectIdentifier(channel))
            self.sending = sending
            self.run = run
        }
    }

    var cases: [Case] = []
    var defaultHandler: (() -> R)?

    init() { cases.reserveCapacity(4) }

    /// A case that receives from `channel`; `handler` gets nil when the channel
    /// is closed and drained.
    public mutating func receive<T>(from channel: Channel<T>, _ handler: @escaping (T?) -> R) {
        cases.append(Case(channel, sending: false) { slot, step in
            guard case .deliver(let completed) = step else { return nil }
            return handler(completed ? slot.assumingMemoryBound(to: T.self).move() : nil)
        })
    }

    /// A case that sends `value` on `channel`; `handler` runs once it was taken.
    /// Chosen on a closed channel, it traps like `Channel.send`.
    public mutating func send<T>(_ value: T, to channel: Channel<T>, _ handler: @escaping () -> R) {
        cases.append(Case(channel, sending: true) { slot, step in
            switch step {
            case .load:
                slot.assumingMemoryBound(to: T.self).initialize(to: value)
                return nil
            case .deliver:
                return handler()
            }
        })
    }

    /// Runs `handler` instead of blocking when no case is ready.
    public mutating func `default`(_ handler: @escaping () -> R) {
        precondition(defaultHandler == nil, "select has more than one default case")
        defaultHandler = handler
    }
}

extension Select where R == Void {
    /// A receive case whose value is dropped (e.g. a "done" channel).
    public mutating func receive<T>(from channel: Channel<T>) {
        receive(from: channel) { _ in }
    }

    /// A send case with nothing to do afterwards.
    public mutating func send<T>(_ value: T, to channel: Channel<T>) {
        send(value, to: channel) {}
    }
}

/// Waits until one of the cases listed by `build` can complete, completes it
/// (choosing uniformly at random among several ready ones) and returns its
/// handler's result; with a default case, runs that instead of waiting.
@discardableResult
public func select<R>(_ build: (inout Select<R>) -> Void) -> R {
    var cases = Select<R>()
    build(&cases)
    return cases.execute()
}

/// Type-erased view of a Channel for select (implemented in Channel.swift).
/// Every method but `selectDiscard` runs with `selectLock` held.
protocol SelectableChannel: AnyObject {
    var selectLock: RuntimeLock { get }
    var elementSize: Int { get }
    var elementAlignment: Int { get }
    /// Sends the element at `slot` (moving it out) if a receiver waits or the
    /// buffer has room.
    func selectTrySend(from slot: UnsafeMutableRawPointer) -> SelectAttempt
    /// Receives into the uninitialized `slot` if a sender waits or the buffer
    /// holds an element; `.closed` once closed and drained.
    func selectTryReceive(into slot: UnsafeMutableRawPointer) -> SelectAttempt
    func selectEnqueue(_ w: UnsafeMutablePointer<Waiter>, sending: Bool)
    /// Removes `w` from its queue unless a waker already popped it.
    func selectDequeue(_ w: UnsafeMutablePointer<Waiter>, sending: Bool)
    /// Destroys an element that was never sent.
    func selectDiscard(_ slot: UnsafeMutableRawPointer)
}

enum SelectAttempt {
    case notReady
    /// Done; `wake` is a partner goroutine to ready after unlocking, or 0.
    case completed(wake: UInt)
    case closed
}

/// One blocked select, shared by its waiters; lives in the select's frame.
struct SelectState {
    /// 0 until a waker claims the select with a CAS to 1 (Go's selectDone).
    var done: UInt32 = 0
    /// The waiter whose case completed. Written by the claimer only, before it
    /// readies the G, which reads it after waking.
    var winner: UnsafeMutablePointer<Waiter>?

    /// Called by a waker that popped `w` (holding w's channel lock): whether
    /// it may complete w's case. At most one call per select returns true.
    @inline(never)
    static func claim(_ state: UnsafeMutablePointer<SelectState>, for w: UnsafeMutablePointer<Waiter>) -> Bool {
        guard ts_cas_u32(&state.pointee.done, 0, 1) else { return false }
        state.pointee.winner = w
        return true
    }
}

extension Select {
    func execute() -> R {
        let n = cases.count
        if n == 0 {
            if let defaultHandler { return defaultHandler() }
            blockForever()
        }
        // Element slots, one per case, packed by alignment into one block.
        var bytes = 0
        var alignment = 1
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * n) { ints in
            let offsets = ints.baseAddress!
            for i in 0..<n {
                let a = cases[i].channel.elementAlignment
                bytes = (bytes + a - 1) & ~(a - 1)
                offsets[i] = bytes
                bytes += cases[i].channel.elementSize
                alignment = Swift.max(alignment, a)
            }
            // Constant allocation alignment (so it can be on the stack); the
            // base is aligned by hand for over-aligned elements.
            return withUnsafeTemporaryAllocation(byteCount: bytes + alignment, alignment: 16) { raw in
                let base = raw.baseAddress!.alignedUp(toMultipleOf: alignment)
                return withUnsafeTemporaryAllocation(of: Waiter.self, capacity: n) { waiters in
                    withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: n) { locks in
                        execute(slots: base, offsets: offsets, pollOrder: offsets + n, lockOrder: offsets + 2 * n,
                                waiters: waiters.baseAddress!, locks: locks.baseAddress!)
                    }
                }
            }
        }
    }

    private func execute(slots: UnsafeMutableRawPointer, offsets: UnsafeMutablePointer<Int>,
                         pollOrder: UnsafeMutablePointer<Int>, lockOrder: UnsafeMutablePointer<Int>,
                         waiters: UnsafeMutablePointer<Waiter>,
                         locks: UnsafeMutablePointer<UnsafeMutableRawPointer>) -> R {
        let n = cases.count
        // Copy the values to send in (user copies may retain or allocate: done
        // before entering the runtime).
        for i in 0..<n where cases[i].sending { _ = cases[i].run(slots + offsets[i], .load) }

        // Lock order: by channel address (insertion sort; selects are small),
        // each channel's lock once.
        for i in 0..<n {
            var j = i
            while j > 0 && cases[lockOrder[j - 1]].address > cases[i].address {
                lockOrder[j] = lockOrder[j - 1]
                j -= 1
            }
            lockOrder[j] = i
        }
        var lockCount = 0
        for k in 0..<n where k == 0 || cases[lockOrder[k]].address != cases[lockOrder[k - 1]].address {
            locks[lockCount] = Unmanaged.passUnretained(cases[lockOrder[k]].channel.selectLock).toOpaque()
            lockCount += 1
        }

        let g = enterRuntime("select")
        // Poll order: a uniform random permutation (inside-out Fisher-Yates)
        // from this M's generator, which needs preemption disabled.
        Unmanaged<Machine>.fromOpaque(ts_current_m().unsafelyUnwrapped.pointee.owner)._withUnsafeGuaranteedRef { m in
            for i in 0..<n {
                let j = Int(m.random.next() % UInt32(i + 1))
                pollOrder[i] = pollOrder[j]
                pollOrder[j] = i
            }
        }

        lockAll(locks, lockCount)
        var chosen = -1
        var completed = false
        var wake: UInt = 0
        poll: for k in 0..<n {
            let i = pollOrder[k]
            let c = cases[i]
            let attempt = c.sending ? c.channel.selectTrySend(from: slots + offsets[i])
                                    : c.channel.selectTryReceive(into: slots + offsets[i])
            switch attempt {
            case .notReady:
                continue poll
            case .completed(let partner):
                (chosen, completed, wake) = (i, true, partner)
            case .closed:
                (chosen, completed) = (i, false)
            }
            break poll
        }

        if chosen < 0 && defaultHandler == nil {
            var state = SelectState()
            withUnsafeMutablePointer(to: &state) { state in
                Unmanaged<Goroutine>.fromOpaque(g.pointee.owner)._withUnsafeGuaranteedRef { me in
                    me.wakeSucceeded = false
                    for k in 0..<n {
                        let i = lockOrder[k]
                        (waiters + i).initialize(to: Waiter(goroutine: me.opaque, element: slots + offsets[i], select: state))
                        cases[i].channel.selectEnqueue(waiters + i, sending: cases[i].sending)
                    }
                    var list = ParkLockList(locks: locks, count: lockCount)
                    withUnsafePointer(to: &list) { parkCurrent(releasingAll: $0) }

                    // Readied by the waker that claimed `state`.
                    lockAll(locks, lockCount)
                    chosen = state.pointee.winner.unsafelyUnwrapped - waiters
                    completed = me.wakeSucceeded
                    for i in 0..<n where i != chosen {
                        cases[i].channel.selectDequeue(waiters + i, sending: cases[i].sending)
                    }
                }
            }
        }
        unlockAll(locks, lockCount)
        if wake != 0 {
            markWoken(wake, succeeded: true)
            readyFromCurrentMachine(wake)
        }
        enablePreemption(g)

        for i in 0..<n where i != chosen && cases[i].sending { cases[i].channel.selectDiscard(slots + offsets[i]) }
        if chosen < 0 { return defaultHandler.unsafelyUnwrapped() }
        if cases[chosen].sending && !completed { fatalError("timeslice: send on closed channel") }
        return cases[chosen].run(slots + offsets[chosen], .deliver(completed: completed)).unsafelyUnwrapped
    }
}

@inline(__always)
private func lockAll(_ locks: UnsafeMutablePointer<UnsafeMutableRawPointer>, _ count: Int) {
    for i in 0..<count { Unmanaged<RuntimeLock>.fromOpaque(locks[i])._withUnsafeGuaranteedRef { $0.lock() } }
}

@inline(__always)
private func unlockAll(_ locks: UnsafeMutablePointer<UnsafeMutableRawPointer>, _ count: Int) {
    for i in (0..<count).reversed() { Unmanaged<RuntimeLock>.fromOpaque(locks[i])._withUnsafeGuaranteedRef { $0.unlock() } }
}

/// `select {}`: parks for good; nothing can ready the goroutine.
private func blockForever() -> Never {
    _ = enterRuntime("select")
    switchToScheduler(.park)
    fatalError("timeslice: a goroutine blocked in an empty select was resumed")
}
