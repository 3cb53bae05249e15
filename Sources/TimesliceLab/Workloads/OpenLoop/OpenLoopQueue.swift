// The request queue of the `threads` open-loop server: a FIFO under a pthread mutex, with a
// condition variable that worker threads sleep on while it is empty. This is the classic
// thread-pool queue a C server would use, so the baseline pays what such a server pays for a
// wake-up (futex wake inside pthread_cond_signal, the kernel scheduler placing the worker).
#if canImport(Glibc)
import Glibc
#endif

final class OpenLoopQueue: @unchecked Sendable {
    // @unchecked: `items`, `head` and `closed` are only touched with `mutex` held. The pthread
    // objects live in heap cells because they must not move once initialized.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let nonEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Pending requests are `items[head...]`; the consumed prefix is dropped now and then.
    private var items: [OpenLoopRequest] = []
    private var head = 0
    private var closed = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(nonEmpty, nil)
        items.reserveCapacity(4096)
    }

    deinit {
        pthread_cond_destroy(nonEmpty)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        nonEmpty.deallocate()
    }

    /// Appends `r` and wakes one waiting worker. Unbounded: the generator never blocks.
    func push(_ r: OpenLoopRequest) {
        pthread_mutex_lock(mutex)
        precondition(!closed, "push on a closed OpenLoopQueue")
        items.append(r)
        pthread_cond_signal(nonEmpty)
        pthread_mutex_unlock(mutex)
    }

    /// The oldest request, waiting for one; nil once the queue is closed and drained.
    func pop() -> OpenLoopRequest? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == items.count && !closed { pthread_cond_wait(nonEmpty, mutex) }
        if head == items.count { return nil }
        let r = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096 && head * 2 >= items.count {
            // Amortized O(1): at most once per `head` pops, moving fewer than `head` elements.
            items.removeFirst(head)
            head = 0
        }
        return r
    }

    /// No more requests: workers drain what is left, then `pop` returns nil.
    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(nonEmpty)
        pthread_mutex_unlock(mutex)
    }
}
