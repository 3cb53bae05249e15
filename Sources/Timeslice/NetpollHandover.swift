// Whether a poller that leaves epoll_wait to run what it readied hands the right to
// block there to an idle M (NetpollScheduling.swift, netpollerLeftToRun).
//
// A handover costs a futex wake-up of another M and moves the next request to that
// M's CPU. It pays only when readiness arrives while the leaving M is still busy with
// what it readied: then the other M sees it at once instead of at this M's next look
// for work, the next slice end or sysmon's 10 ms poll (a long request in a
// cooperative server at two Ps: the tail this handover exists for). It is wasted
// when the leaving M comes back first and would have blocked in epoll_wait itself:
// a ping-pong connection beside a parked acceptor wasted one per round trip, which
// made the echo round trip 1.5-2.9 x Go's (Go never hands over; its poller M keeps
// its CPU and its caches).
//
// So the runtime keeps score, as adaptive spinning does: each outcome is observed,
// not guessed. A handover is useful if the M that took the role returns from a
// blocking epoll_wait with goroutines while the handover is still outstanding (the
// leaving M has not come back to stopMachine); wasted if the leaving M comes back
// first. Useful ones add `usefulCredit`, wasted ones take 1; handovers are made
// while the score is positive, and one in `probeInterval` otherwise, so a change of
// load is noticed (the floor is -usefulCredit: two useful probes turn it back on).
// Breaks even at a useful rate of 1 / (usefulCredit + 1).
import Synchronization

final class NetpollHandover {
    static let maximumScore = 16
    static let usefulCredit = 4
    static let probeInterval = 32

    /// The id + 1 of the M whose handover is outstanding (it handed the role over and
    /// has not come back to stopMachine), 0 when none. Any M writes it; an outcome
    /// clears it by an exchange, so each handover is scored at most once.
    private let outstanding = Atomic<Int>(0)
    /// Starts at the top: until the runtime has seen its load, hand over.
    private let score = Atomic<Int>(NetpollHandover.maximumScore)
    /// Leaves that found the score not positive, for the probe's one-in-N.
    private let declined = Atomic<Int>(0)

    /// The M `id` leaves epoll_wait to run goroutines while others still wait on sockets
    /// and nobody else blocks there: whether it should hand the role over. If so, the
    /// handover is outstanding from now on.
    func shouldHandOver(from id: Int) -> Bool {
        if score.load(ordering: .relaxed) <= 0,
           declined.wrappingAdd(1, ordering: .relaxed).newValue % NetpollHandover.probeInterval != 0 {
            return false
        }
        outstanding.store(id + 1, ordering: .relaxed)
        return true
    }

    /// An M returned from a blocking epoll_wait with goroutines: if a handover is
    /// outstanding, readiness came while the M that made it was still busy.
    func readinessArrived() {
        guard outstanding.load(ordering: .relaxed) != 0,
              outstanding.exchange(0, ordering: .relaxed) != 0 else { return }
        adjust(by: NetpollHandover.usefulCredit)
    }

    /// The M `id` came back to stopMachine: its own outstanding handover, if any, was
    /// wasted (it would have blocked in epoll_wait itself).
    func cameBack(_ id: Int) {
        guard outstanding.load(ordering: .relaxed) == id + 1,
              outstanding.compareExchange(expected: id + 1, desired: 0, ordering: .relaxed).exchanged else { return }
        adjust(by: -1)
    }

    /// Relaxed: the score steers a heuristic, a lost update only delays a switch.
    private func adjust(by delta: Int) {
        let current = score.load(ordering: .relaxed)
        score.store(min(NetpollHandover.maximumScore, max(-NetpollHandover.usefulCredit, current + delta)),
                    ordering: .relaxed)
    }
}
