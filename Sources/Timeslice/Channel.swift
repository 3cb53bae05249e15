// Go channels: unbuffered (rendezvous) and buffered, with close.
//
// A channel is a lock, a ring buffer and two wait queues (Go's hchan). When a
// receiver waits, a sender hands its element straight into the receiver's frame
// and readies it (and vice versa), so an unbuffered handoff is one lock, one
// copy and one ready. Waiter nodes live in the parked goroutines' frames.
// Closing wakes every waiter: receivers get nil, senders trap (Go panics).
//
// Wait queues may also hold waiters of a blocked `select` (Select.swift); every
// pop goes through WaitQueue.dequeue, which claims such a waiter's select or
// skips it when another channel already completed that select. A plain waiter
// costs one extra nil check.
import CTimeslice

public final class Channel<Element> {
    public let capacity: Int
    private let lock = RuntimeLock()
    // Everything below is guarded by `lock`.
    @exclusivity(unchecked) private var buffer: UnsafeMutablePointer<Element>
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private var count = 0
    @exclusivity(unchecked) private var closed = false
    @exclusivity(unchecked) private var receivers = WaitQueue()
    @exclusivity(unchecked) private var senders = WaitQueue()

    /// A channel holding up to `capacity` elements; 0 makes it unbuffered.
    public init(capacity: Int = 0) {
        precondition(capacity >= 0, "channel capacity must be >= 0")
        self.capacity = capacity
        buffer = .allocate(capacity: Swift.max(capacity, 1))
    }

    deinit {
        for i in 0..<count { (buffer + (head + i) % capacity).deinitialize(count: 1) }
        buffer.deallocate()
    }

    // send and receive avoid generic helpers instantiated with Optional<Element>
    // (withRuntimeEntry<R>, closures returning Element?): unspecialized, each
    // would look up generic metadata on every call.

    /// Sends `value`, waiting until a receiver takes it (unbuffered) or there is
    /// room (buffered). Sending on a closed channel traps.
    public func send(_ value: Element) {
        let g = enterRuntime("Channel.send")
        defer { enablePreemption(g) }
        lock.lock()
        if closed {
            lock.unlock()
            fatalError("timeslice: send on closed channel")
        }
        if let w = receivers.dequeue() {
            w.pointee.element!.assumingMemoryBound(to: Element.self).initialize(to: value)
            let receiver = w.pointee.goroutine
            lock.unlock()
            markWoken(receiver, succeeded: true)
            readyFromCurrentMachine(receiver)
            return
        }
        if count < capacity {
            (buffer + (head + count) % capacity).initialize(to: value)
            count += 1
            lock.unlock()
            return
        }
        let slot = ElementSlot<Element>(for: g)
        slot.pointer.initialize(to: value)
        let handedOver = parkAsWaiter(g, element: slot.pointer, in: &senders)
        if !handedOver { slot.pointer.deinitialize(count: 1) }
        slot.release()
        if !handedOver { fatalError("timeslice: send on closed channel") }
    }

    /// Receives the next element, waiting for one; nil once the channel is
    /// closed and drained.
    public func receive() -> Element? {
        let g = enterRuntime("Channel.receive")
        defer { enablePreemption(g) }
        lock.lock()
        if let w = senders.dequeue() {
            let senderSlot = w.pointee.element!.assumingMemoryBound(to: Element.self)
            let value: Element
            if capacity == 0 {
                value = senderSlot.move()
            } else {
                // Buffer full: take its head, move the sender's element to the tail.
                value = (buffer + head).move()
                (buffer + head).moveInitialize(from: senderSlot, count: 1)
                head = (head + 1) % capacity
            }
            let sender = w.pointee.goroutine
            lock.unlock()
            markWoken(sender, succeeded: true)
            readyFromCurrentMachine(sender)
            return value
        }
        if count > 0 {
            let value = (buffer + head).move()
            head = (head + 1) % capacity
            count -= 1
            lock.unlock()
            return value
        }
        if closed {
            lock.unlock()
            return nil
        }
        let slot = ElementSlot<Element>(for: g)
        defer { slot.release() }
        guard parkAsWaiter(g, element: slot.pointer, in: &receivers) else { return nil }
        return slot.pointer.move()
    }

    /// Parks the running goroutine (channel lock held) as a waiter whose element
    /// lives at `element`; returns whether the operation completed (false: closed).
    @inline(__always)
    private func parkAsWaiter(_ g: UnsafeMutablePointer<ts_g>, element: UnsafeMutablePointer<Element>,
                              in queue: inout WaitQueue) -> Bool {
        Unmanaged<Goroutine>.fromOpaque(g.pointee.owner)._withUnsafeGuaranteedRef { me in
            me.wakeSucceeded = false
            var waiter = Waiter(goroutine: me.opaque, element: UnsafeMutableRawPointer(element))
            withUnsafeMutablePointer(to: &waiter) { w in
                queue.append(w)
                parkCurrent(releasing: lock)
            }
            return me.wakeSucceeded
        }
    }

    /// Closes the channel: pending and future receives drain the buffer and then
    /// return nil; waiting senders trap. Closing twice traps.
    public func close() {
        withRuntimeEntry("Channel.close") { _, _ in
            lock.lock()
            if closed {
                lock.unlock()
                fatalError("timeslice: close of closed channel")
            }
            closed = true
            var woken: [UInt] = []
            while let w = receivers.dequeue() { woken.append(w.pointee.goroutine) }
            while let w = senders.dequeue() { woken.append(w.pointee.goroutine) }
            lock.unlock()
            for g in woken {
                markWoken(g, succeeded: false)
                readyFromCurrentMachine(g, next: false)
            }
        }
    }

    /// Elements buffered now (racy snapshot).
    public var bufferedCount: Int { lock.withLock { count } }
}

// The operations `select` performs on a channel it has locked (Select.swift):
// the same steps as send and receive, on element slots the select owns.
extension Channel: SelectableChannel {
    var selectLock: RuntimeLock { lock }
    var elementSize: Int { MemoryLayout<Element>.size }
    var elementAlignment: Int { MemoryLayout<Element>.alignment }

    func selectTrySend(from slot: UnsafeMutableRawPointer) -> SelectAttempt {
        if closed { return .closed }
        let value = slot.assumingMemoryBound(to: Element.self)
        if let w = receivers.dequeue() {
            w.pointee.element!.assumingMemoryBound(to: Element.self).moveInitialize(from: value, count: 1)
            return .completed(wake: w.pointee.goroutine)
        }
        if count < capacity {
            (buffer + (head + count) % capacity).moveInitialize(from: value, count: 1)
            count += 1
            return .completed(wake: 0)
        }
        return .notReady
    }

    func selectTryReceive(into slot: UnsafeMutableRawPointer) -> SelectAttempt {
        let out = slot.assumingMemoryBound(to: Element.self)
        if let w = senders.dequeue() {
            let senderSlot = w.pointee.element!.assumingMemoryBound(to: Element.self)
            if capacity == 0 {
                out.moveInitialize(from: senderSlot, count: 1)
            } else {
                // Buffer full: take its head, move the sender's element to the tail.
                out.moveInitialize(from: buffer + head, count: 1)
                (buffer + head).moveInitialize(from: senderSlot, count: 1)
                head = (head + 1) % capacity
            }
            return .completed(wake: w.pointee.goroutine)
        }
        if count > 0 {
            out.moveInitialize(from: buffer + head, count: 1)
            head = (head + 1) % capacity
            count -= 1
            return .completed(wake: 0)
        }
        return closed ? .closed : .notReady
    }

    func selectEnqueue(_ w: UnsafeMutablePointer<Waiter>, sending: Bool) {
        if sending { senders.append(w) } else { receivers.append(w) }
    }

    func selectDequeue(_ w: UnsafeMutablePointer<Waiter>, sending: Bool) {
        if sending { senders.removeIfQueued(w) } else { receivers.removeIfQueued(w) }
    }

    func selectDiscard(_ slot: UnsafeMutableRawPointer) {
        slot.assumingMemoryBound(to: Element.self).deinitialize(count: 1)
    }
}

/// Where a parked channel operation keeps its element: the goroutine's scratch
/// bytes when the element fits, else a heap cell.
struct ElementSlot<Element> {
    let pointer: UnsafeMutablePointer<Element>
    private let onHeap: Bool

    @inline(__always)
    init(for g: UnsafeMutablePointer<ts_g>) {
        if MemoryLayout<Element>.size <= Goroutine.scratchBytes && MemoryLayout<Element>.alignment <= 16 {
            let scratch = Unmanaged<Goroutine>.fromOpaque(g.pointee.owner)._withUnsafeGuaranteedRef { $0.scratch }
            pointer = scratch.bindMemory(to: Element.self, capacity: 1)
            onHeap = false
        } else {
            pointer = .allocate(capacity: 1)
            onHeap = true
        }
    }

    /// Frees a heap cell; the element must already be moved out or deinitialized.
    @inline(__always)
    func release() {
        if onHeap { pointer.deallocate() }
    }
}

/// Records a parked goroutine's outcome before it is readied. Runs after the
/// waiter left the queue under the lock, so only this waker touches it.
@inline(__always)
func markWoken(_ goroutine: UInt, succeeded: Bool) {
    Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: goroutine)!)._withUnsafeGuaranteedRef {
        $0.wakeSucceeded = succeeded
    }
}

extension Channel: Sequence {
    /// Iterates until the channel is closed and drained.
    public func makeIterator() -> AnyIterator<Element> { AnyIterator { self.receive() } }
}
