// Per-P timer heap (sleeping goroutines and I/O deadlines), after Go's per-P timers.
// A goroutine adds its timer to its own P's heap and parks releasing the heap's
// lock; any M may run a P's expired timers (own P at every schedule, other Ps
// while looking for work), readying the sleepers onto its own P. A poll
// descriptor's deadline is a timer too (PollDescriptor.swift): running it wakes
// the goroutine parked on the descriptor, if any, with "timed out".
import Synchronization

/// What an expired timer does.
enum TimerTarget {
    /// Ready this sleeping goroutine (unretained Goroutine pointer).
    case goroutine(UInt)
    /// Check `mode`'s deadline of this poll descriptor (never freed while its
    /// Netpoller lives) if it still has `generation` (PollDescriptor.deadlineTimerFired).
    case pollDeadline(PollDescriptor, generation: UInt32, mode: PollMode)
}

struct TimerEntry {
    let deadline: UInt64
    let sequence: UInt64     // FIFO among equal deadlines
    let target: TimerTarget
}

final class TimerHeap {
    let lock = RuntimeLock()
    /// Min-heap by (deadline, sequence). Guarded by `lock`.
    @exclusivity(unchecked) private var heap: [TimerEntry] = []
    @exclusivity(unchecked) private var sequence: UInt64 = 0
    /// Deadline of the first timer, UInt64.max when empty. Written under `lock`
    /// with sequential consistency: the timer-sleeper protocol (Scheduler.timerMayNeedAttention, TimerSleeper.swift)
    /// relies on a store-then-load order between a timer adder and a parking M.
    let earliest = Atomic<UInt64>(.max)

    /// Caller holds `lock`.
    func insertLocked(deadline: UInt64, target: TimerTarget) {
        sequence &+= 1
        heap.append(TimerEntry(deadline: deadline, sequence: sequence, target: target))
        siftUp(heap.count - 1)
        earliest.store(heap[0].deadline, ordering: .sequentiallyConsistent)
    }

    var count: Int { lock.withLock { heap.count } }

    /// Removes every timer due at `now` and returns their targets in deadline order.
    func takeExpired(now: UInt64) -> [TimerTarget] {
        if earliest.load(ordering: .acquiring) > now { return [] }
        lock.lock()
        defer { lock.unlock() }
        var due: [TimerTarget] = []
        while let first = heap.first, first.deadline <= now {
            due.append(first.target)
            removeFirst()
        }
        earliest.store(heap.first?.deadline ?? .max, ordering: .sequentiallyConsistent)
        return due
    }

    private func less(_ a: TimerEntry, _ b: TimerEntry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
    }

    private func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            if !less(heap[i], heap[parent]) { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count && less(heap[l], heap[smallest]) { smallest = l }
            if r < heap.count && less(heap[r], heap[smallest]) { smallest = r }
            if smallest == i { break }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
