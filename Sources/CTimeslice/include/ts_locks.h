// Lock awareness (Go's m.locks): a goroutine inside the critical section of a
// thread-owned lock is not preemptible. Implementation: lock_interpose.c.
//
// Why: pthread mutexes, rwlocks and spinlocks (and NSLock, NSRecursiveLock,
// NSCondition, swift-nio's and swift-log's locks, which are built on them) belong
// to the OS thread. Switching a goroutine out inside one leaves the lock owned by
// a thread that now runs other goroutines: the next locker on any M blocks in the
// kernel while the holder waits in a run queue for an M (a deadlock, at any
// maxProcs), a recursive lock lets a second goroutine on the same thread "own" it
// too (mutual exclusion silently broken), an error-checking one fails.
//
// How: the main executable defines pthread_mutex_{lock,trylock,timedlock,
// clocklock,unlock}, pthread_rwlock_{rd,wr,tryrd,trywr,timedrd,timedwr,clockrd,
// clockwr}lock / _unlock and pthread_spin_{lock,trylock,unlock}. An executable's
// definitions interpose over libc's for the executable and every shared library
// (libFoundation, libdispatch, libswiftCore...). Each forwards to libc's, found once
// with dlsym(RTLD_NEXT), and keeps a per-OS-thread count, ts_tls_locks:
//   - acquire: count + 1 BEFORE the call, - 1 again if it fails. Counting first
//     closes the window between libc's return and the increment, whose PC lies in
//     main-executable text (a safe point for the handler) while the lock is already
//     held. While a contended acquire blocks, the thread sits in the kernel (libc
//     code, never a safe point) so the early count changes nothing there.
//   - release: libc's unlock first, then count - 1 (a count briefly too high is
//     harmless; one too low is the bug). The release that brings the count to zero
//     honours a preemption the SIGURG handler deferred meanwhile (ts_g.
//     preempt_pending), exactly as the end of a runtime section does, provided the
//     goroutine is outside runtime code and blockingCall and every caller on its
//     frame-pointer chain is main-executable code (the handler's own rule). An
//     unlock called from a shared library (NSLock.unlock in libFoundation) does not
//     switch there; sysmon's re-sent signal (20 µs back-off doubling to 1 ms) then
//     finds the count at zero and preempts at the next safe point.
//   - the SIGURG handler (preempt.c) treats a nonzero count like a runtime section:
//     it does not switch, it sets preempt_pending.
// The count is per OS thread and counted on every thread (one %fs-relative add is
// cheaper than asking whether the thread is an M); only Ms ever look at it.
// Condition variables: pthread_cond_wait/timedwait/clockwait release and re-acquire
// the mutex inside libc (glibc's internal __pthread_mutex_cond_lock), never through
// these functions, so the count simply stays held across the wait: right, since the
// caller holds the mutex before and after, and meanwhile the thread is blocked in
// the kernel (not preemptible anyway). No interposition is needed for them.
// Robust mutexes: EOWNERDEAD from a lock call means the lock WAS acquired; counted.
// What the runtime does with a count left at a switch (MachineLoop.swift): parking,
// yielding or exiting while holding a thread-owned lock is a user bug (the goroutine
// may resume on another thread; the lock stays owned by this one): fatal error naming
// the goroutine, as Go throws "schedule: holding locks". A goroutine locked to its
// thread (lockOSThread) may park holding one. blockingCall returning to find no free
// P while holding one waits for a P on its own thread instead of migrating.
// Not covered: locks whose fast path is inlined into the caller and never calls
// libc (Synchronization.Mutex, os_unfair_lock-style atomics, hand-rolled spinlocks):
// mark those critical sections with withNoPreemption (Timeslice), which uses this
// same count.
#ifndef TS_LOCKS_H
#define TS_LOCKS_H
#include <stdint.h>
#include "ts_runtime.h"

/// Thread-owned locks (and withNoPreemption sections) the current OS thread holds.
extern __thread uint32_t ts_tls_locks __attribute__((tls_model("initial-exec")));

/// Called by the release that brought the count to zero when the handler left a
/// preemption pending on the running goroutine `g`; honours it when safe. Cold.
void ts_locks_released(ts_g *g);

// Every access is ONE %fs-relative instruction (see ts_current_g): a goroutine may
// be preempted between any two instructions while the count is zero and resume on
// another thread, so a separately computed thread base would name the old thread.

/// The current thread's count.
static inline uint32_t ts_lock_count(void) { return TS_TLS_LOAD_U32(ts_tls_locks); }

/// Count + 1 (entering a critical section). After it, the handler defers.
static inline void ts_lock_enter(void) {
    uint64_t offset;
    __asm__ volatile("movq ts_tls_locks@gottpoff(%%rip), %0\n\taddl $1, %%fs:(%0)"
                     : "=&r"(offset) : : "memory", "cc");
}

/// Count - 1 (leaving a critical section); at zero, honours a deferred preemption.
/// Ignores a release the thread never counted (an unlock from another thread than
/// the locker's, undefined for these locks but tolerated by the default mutex):
/// the count must never wrap.
static inline void ts_lock_exit(void) {
    uint64_t offset;
    uint8_t zero;
    // While the count is nonzero the handler never switches, so the load and the
    // decrement run on one thread.
    if (__builtin_expect(ts_lock_count() == 0, 0)) return;
    __asm__ volatile("movq ts_tls_locks@gottpoff(%%rip), %1\n\tsubl $1, %%fs:(%1)\n\tsetz %0"
                     : "=q"(zero), "=&r"(offset) : : "memory", "cc");
    if (zero) {
        ts_g *g = ts_current_g();
        if (g && __builtin_expect(__atomic_load_n(&g->preempt_pending, __ATOMIC_RELAXED) != 0, 0)) {
            ts_locks_released(g);
        }
    }
}
#endif
