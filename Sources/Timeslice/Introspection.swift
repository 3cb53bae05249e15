// Introspection: counts and snapshots for Runtime's public API, schedtrace
// (SchedTrace.swift) and tests. Everything here may run on any thread, with or
// without a P; it takes `lock` briefly to copy the M list, never on the
// schedule path.
import CTimeslice

extension Scheduler {
    var idleMachineCount: Int { lock.withLock { idleMachines.count } }
    var machineCount: Int { lock.withLock { machines.count } }

    /// The preemption breakdown so far, with every M's pending delivery samples.
    func preemptionBreakdown() -> PreemptionBreakdown {
        preemptionSamples.snapshot(machines: lock.withLock { machines })
    }

    /// The victims P `thief` visits in one stealWork call, in order, with the NUMA
    /// node each is confined to (nil: not within one node). Uses the real order
    /// (`forEachStealVictim`) with a generator seeded by `seed`, and steals nothing.
    func stealVisitOrder(thief: Int, seed: UInt64) -> [StealVisit] {
        var random = FastRandom(seed: seed)
        var visits: [StealVisit] = []
        let _: Int? = forEachStealVictim(thief: processors[thief], random: &random) { index, _ in
            visits.append(StealVisit(victim: index, node: placement.node(ofWorker: index)))
            return nil
        }
        return visits
    }

    /// Sums the scheduler's, every P's and every M's CounterBlock, plus the
    /// signal handler's per-M counts (deferred, foreign, stale), which have no
    /// CounterBlock slot.
    func snapshotCounters() -> RuntimeCounters {
        var c = RuntimeCounters()
        counters.accumulate(into: &c)
        for p in processors { p.counters.accumulate(into: &c) }
        for m in lock.withLock({ machines }) {
            m.counters.accumulate(into: &c)
            // Written by that M's signal handler; a racy but tear-free read on x86-64.
            c.preemptionsDeferred += ts_load_u64(&m.header.pointee.sig_deferred)
            c.preemptionsForeign += ts_load_u64(&m.header.pointee.sig_foreign)
            c.preemptionsDropped += ts_load_u64(&m.header.pointee.sig_stale)
            c.preemptionsRefusedForeignPC += ts_load_u64(&m.header.pointee.sig_refused_foreign_pc)
            c.preemptionsRefusedForeignCaller += ts_load_u64(&m.header.pointee.sig_refused_foreign_caller)
            c.preemptionsRefusedBrokenChain += ts_load_u64(&m.header.pointee.sig_refused_broken_chain)
            c.preemptionsRefusedDeep += ts_load_u64(&m.header.pointee.sig_refused_deep)
            c.preemptionsRefusedStackSpace += ts_load_u64(&m.header.pointee.sig_refused_stack_space)
            c.preemptionsDeferredLockHeld += ts_load_u64(&m.header.pointee.sig_deferred_lock)
            c.preemptionsDeferredRuntimeSection += ts_load_u64(&m.header.pointee.sig_deferred_section)
        }
        // Process-wide (signal_interpose.c), since the process started.
        c.sigurgBlockAttempts = ts_sigurg_block_attempts()
        c.sigurgHandlerReplacements = ts_sigurg_handler_replacements()
        c.sigurgForwarded = ts_sigurg_forwarded()
        return c
    }
}
