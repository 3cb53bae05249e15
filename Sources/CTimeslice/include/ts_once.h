// Lazy statics (swift_once): a goroutine inside a once-initializer stays on its OS
// thread. Implementation: once_interpose.c; runtime side: Timeslice/OnceInitializers.swift.
//
// Why: every lazy `static let` and global goes through swift_once, which on Linux
// holds a lock owned by the OS thread for the whole initializer (a priority-
// inheritance futex whose word is the owner's TID). An initializer that parks the
// goroutine (sleep, a channel, yield, a ParkingMutex) and lets it resume elsewhere
// breaks that lock both ways: another goroutine later run by the same thread asks
// the kernel for a lock its own thread owns (FUTEX_LOCK_PI fails with EDEADLK and
// the runtime retries forever, 100 % CPU); the initializer, finished on another
// thread, cannot release it (FUTEX_UNLOCK_PI fails with EPERM, retried forever).
//
// How: the main executable defines swift_once, which interposes over the Swift
// runtime's for the executable and every shared library (as lock_interpose.c does
// for pthread locks); with --static-swift-stdlib the definition replaces the
// runtime's own (its object, Once.cpp.o, defines nothing else) and calls the
// runtime's slow path, swift::threading_impl::once_slow, directly. The fast path
// (the static is already initialised: the token's first word is negative, as in
// the runtime's swift_once) costs what the runtime's does; a self-test at the
// first slow call checks that encoding and otherwise always takes the slow path.
// The slow path:
//   - counts the initializer as a thread-owned lock (ts_lock_enter, ts_locks.h):
//     the SIGURG handler and preemption points do not switch the goroutine out
//     inside it; the end honours a request deferred meanwhile;
//   - counts its nesting depth (ts_tls_once_depth);
//   - a goroutine that switches out voluntarily while the depth is nonzero
//     (park, sleep, yield, a blockingCall that lost its P) is first wired to its
//     thread, as lockOSThread does (the runtime's internal count), and the end
//     of the outermost initializer unwires it (ts_once_finished callback);
// Meanwhile other goroutines reading the same static block in the kernel on the
// futex; sysmon's blocked-thread detection hands their Ps to other Ms, so the
// initializer's goroutine gets a P again even at maxProcs 1.
#ifndef TS_ONCE_H
#define TS_ONCE_H
#include <stdint.h>
#include "ts_runtime.h"

/// Nesting depth of swift_once slow paths running on this OS thread.
extern __thread uint32_t ts_tls_once_depth __attribute__((tls_model("initial-exec")));
/// 1 while the runtime has wired this thread's goroutine for an initializer.
extern __thread uint32_t ts_tls_once_wired __attribute__((tls_model("initial-exec")));

/// Called on the goroutine when its outermost initializer ends while it is wired.
typedef void (*ts_once_finished_t)(void);
/// Registers the callback (once, before the first goroutine runs).
void ts_once_install(ts_once_finished_t finished);

/// The current thread's depth: ONE %fs-relative load (see ts_current_g): a goroutine
/// outside any initializer may be preempted and resumed on another thread anywhere.
static inline uint32_t ts_once_depth(void) { return TS_TLS_LOAD_U32(ts_tls_once_depth); }

// Only called while the depth is nonzero, when the goroutine cannot change threads.
static inline uint32_t ts_once_wired(void) { return ts_tls_once_wired; }
static inline void ts_set_once_wired(uint32_t wired) { ts_tls_once_wired = wired; }

#endif
