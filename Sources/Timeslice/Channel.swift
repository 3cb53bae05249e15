// Go channels: unbuffered (rendezvous) and buffered, with close.
//
// A channel is a lock, a ring buffer and two wait queues (Go's hchan). When a
// receiver waits, a sender hands its element straight into the receiver's frame
// and readies it (and vice versa), so an unbuffered handoff is one lock, one
// copy and one ready. Waiter nodes live in the parked goroutines' frames.
// Closing wakes every waiter: receivers get nil, senders trap (Go panics).
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

    /// Sends `value`, waiting until a receiver takes it (unbuffered) or there is
    /// room (buffered). Sending on a closed channel traps.
    public func send(_ value: Element) {
        withRuntimeEntry("Channel.send") { g, m in
            lock.lock()
            if closed {
                lock.unlock()
                fatalError("timeslice: send on closed channel")
            }
            if let w = receivers.popFirst() {
                w.pointee.element!.assumingMemoryBound(to: Element?.self).pointee = value
                let receiver = Goroutine.from(opaque: w.pointee.goroutine)
                receiver.wakeSucceeded = true
                lock.unlock()
                m.scheduler.ready(receiver)
                return
            }
            if count < capacity {
                (buffer + (head + count) % capacity).initialize(to: value)
                count += 1
                lock.unlock()
                return
            }
            var slot: Element? = value
            let me = Goroutine.from(header: g)
            me.wakeSucceeded = false
            withUnsafeMutablePointer(to: &slot) { slotPointer in
                var waiter = Waiter(goroutine: me.opaque, element: UnsafeMutableRawPointer(slotPointer))
                withUnsafeMutablePointer(to: &waiter) { w in
                    senders.append(w)
                    parkCurrent(releasing: lock)
                }
            }
            if !me.wakeSucceeded { fatalError("timeslice: send on closed channel") }
        }
    }

    /// Receives the next element, waiting for one; nil once the channel is
    /// closed and drained.
    public func receive() -> Element? {
        withRuntimeEntry("Channel.receive") { g, m in
            lock.lock()
            if let w = senders.popFirst() {
                let sender = Goroutine.from(opaque: w.pointee.goroutine)
                let senderSlot = w.pointee.element!.assumingMemoryBound(to: Element?.self)
                let value: Element
                if capacity == 0 {
                    value = senderSlot.pointee.take()!
                } else {
                    // Buffer full: take its head, move the sender's element to the tail.
                    value = (buffer + head).move()
                    (buffer + head).initialize(to: senderSlot.pointee.take()!)
                    head = (head + 1) % capacity
                }
                sender.wakeSucceeded = true
                lock.unlock()
                m.scheduler.ready(sender)
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
            var slot: Element? = nil
            let me = Goroutine.from(header: g)
            me.wakeSucceeded = false
            withUnsafeMutablePointer(to: &slot) { slotPointer in
                var waiter = Waiter(goroutine: me.opaque, element: UnsafeMutableRawPointer(slotPointer))
                withUnsafeMutablePointer(to: &waiter) { w in
                    receivers.append(w)
                    parkCurrent(releasing: lock)
                }
            }
            return me.wakeSucceeded ? slot : nil
        }
    }

    /// Closes the channel: pending and future receives drain the buffer and then
    /// return nil; waiting senders trap. Closing twice traps.
    public func close() {
        withRuntimeEntry("Channel.close") { _, m in
            lock.lock()
            if closed {
                lock.unlock()
                fatalError("timeslice: close of closed channel")
            }
            closed = true
            var woken: [Goroutine] = []
            while let w = receivers.popFirst() { woken.append(Goroutine.from(opaque: w.pointee.goroutine)) }
            while let w = senders.popFirst() { woken.append(Goroutine.from(opaque: w.pointee.goroutine)) }
            for g in woken { g.wakeSucceeded = false }
            lock.unlock()
            for g in woken { m.scheduler.ready(g, next: false) }
        }
    }

    /// Elements buffered now (racy snapshot).
    public var bufferedCount: Int { lock.withLock { count } }
}

extension Channel: Sequence {
    /// Iterates until the channel is closed and drained.
    public func makeIterator() -> AnyIterator<Element> { AnyIterator { self.receive() } }
}
