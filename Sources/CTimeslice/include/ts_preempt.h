// Asynchronous preemption by SIGURG (docs/ARCHITECTURE.md "Preemption protocol", Go's
// signal_unix.go doSigPreempt / preempt.go isAsyncSafePoint).
//
// Protocol: sysmon sets g->preempt_request and tgkill()s the G's M. The handler
//   - ignores the signal unless this thread runs a G with a request (its own, or
//     one on the P it runs on: a slice shared through runnext), and the
//     interrupted stack pointer lies inside that G's stack (so g0 and the
//     switch windows are never touched);
//   - if the G is in runtime code (nopreempt > 0) or in blockingCall, or its
//     thread holds a thread-owned lock (ts_tls_locks > 0, ts_locks.h), sets
//     preempt_pending, which the runtime honours when the count drops to 0 (for
//     locks: at the last release, lock_interpose.c);
//   - if the PC is outside the main executable's text (libc, ld.so,
//     libswiftCore, Foundation, libdispatch, the vDSO...) — or if any caller on
//     the frame-pointer chain is (a callback from foreign code that may hold a
//     foreign lock) — leaves the request for
//     sysmon to resend: those hold locks and thread-local state and have no
//     exit hook;
//   - otherwise disables preemption on the G's behalf and rewrites the context
//     so that, on sigreturn, the G "calls" ts_async_preempt_trampoline from the
//     interrupted PC: below the 128-byte red zone it pushes the PC; the
//     trampoline saves flags, every general register and the full xsave state
//     (size from CPUID leaf 0xD), calls the runtime to switch to g0, and on
//     resumption restores everything and returns with `ret $128`.
// Timing (the Swift side's preemption breakdown): on entry on a runtime thread
// the handler reads CLOCK_MONOTONIC once, takes sysmon's pre-tgkill stamp from
// ts_m.sig_sent_ns by exchange with 0 and, if there was one, appends the
// difference to the M's delivery ring; the first entry that finds a request on
// the G's stack also notes its time in ts_m.sig_first_entry_ns.
// The handler is async-signal-safe: no allocation, no locks, no Swift.
#ifndef TS_PREEMPT_H
#define TS_PREEMPT_H
#include <stdint.h>
#include <stddef.h>

/// Called on the G's stack by the trampoline; switches to the scheduler.
/// Registered once by the Swift runtime.
typedef void (*ts_preempt_callback_t)(void);

/// Called (a plain call, on the G's stack) to honour a preemption the handler
/// deferred, when the G releases its last thread-owned lock. Registered once.
struct ts_g;
typedef void (*ts_preempt_honour_t)(struct ts_g *g);

/// Installs the SIGURG handler, computes the safe text ranges and the xsave
/// size. Returns 0 or an errno value. Idempotent.
int ts_preempt_install(ts_preempt_callback_t callback, ts_preempt_honour_t honour);

/// Whether every return address on the frame-pointer chain from `fp` (a frame of
/// the running G) lies in main-executable text: the handler's rule for callers.
int ts_frame_chain_is_safe(uintptr_t fp, const struct ts_g *g);

/// Calls the registered honour callback (nothing before ts_preempt_install).
void ts_preempt_honour(struct ts_g *g);

/// Sends SIGURG to thread `tid` of this process. Returns 0 or errno.
int ts_preempt_signal(int32_t tid);

/// Bytes of the xsave area the trampoline reserves (CPUID.(EAX=0DH,ECX=0):EBX).
uint32_t ts_xsave_size(void);

/// Whether `pc` lies in code the handler may interrupt (main executable text).
int ts_pc_is_async_safe(uintptr_t pc);

/// Number of executable ranges considered safe (for diagnostics).
int ts_safe_range_count(void);
#endif
