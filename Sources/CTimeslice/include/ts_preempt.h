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
//   - if the PC is not safe text (safe_text.c: main-executable text minus the
//     ranges of the Swift runtime, stdlib, Foundation, Dispatch, CF and ICU found
//     in its symbol table; every shared object and the vDSO are foreign), or a
//     caller on the frame-pointer chain is not (a callback from foreign code that
//     may hold a foreign lock), or the chain does not reach the goroutine's entry
//     frame (ts_context_trampoline_return), or too little stack is left, leaves
//     the request for sysmon to resend, counting the reason (TS_REFUSE_*), and
//     wakes sysmon if it sleeps past the first re-send (sysmon does not wake to
//     check on a signal that nobody refused: one wake-up per slice, not two);
//   - if the signal is not its own (not SI_TKILL from this process), passes it to
//     the user's SIGURG handler first (signal_interpose.c);
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
/// the running G) lies in main-executable text and the chain reaches the G's entry
/// frame: the handler's rule for callers.
int ts_frame_chain_is_safe(uintptr_t fp, const struct ts_g *g);

/// Calls the registered honour callback (nothing before ts_preempt_install).
void ts_preempt_honour(struct ts_g *g);

/// Sends SIGURG to thread `tid` of this process. Returns 0 or errno.
int ts_preempt_signal(int32_t tid);

/// sysmon's futex word and its "sleeps until" word (Timeslice/Sysmon.swift). Static
/// storage, so the handler may touch them on any thread at any time (even an M an
/// earlier runtime abandoned: at worst a spurious wake-up). One runtime runs at a time.
uint32_t *ts_sysmon_wake_word(void);
uint64_t *ts_sysmon_sleeps_until(void);
/// Wakes sysmon (no wake-up is lost before its futex wait).
void ts_sysmon_wake(void);
/// Wakes sysmon if it sleeps past `deadline` (monotonic ns), taking its sleeps-until word so
/// that one caller of many does. Returns 1 if this call woke it.
int ts_sysmon_wake_if_sleeping_past(uint64_t deadline);
/// The first re-send of a refused request follows the signal by this much (sysmon's
/// back-off then doubles it); the handler wakes sysmon only when it sleeps longer.
#define TS_FIRST_RESEND_NS 20000u

/// Bytes of the xsave area the trampoline reserves (CPUID.(EAX=0DH,ECX=0):EBX); it saves
/// with XSAVEC (compacted, init state skipped) where the CPU has it, else XSAVE.
uint32_t ts_xsave_size(void);

/// Whether `pc` lies in code the handler may interrupt: main-executable text
/// outside the excluded ranges (safe_text.c).
int ts_pc_is_async_safe(uintptr_t pc);

/// Number of executable PT_LOAD ranges of the main program (for diagnostics).
int ts_safe_range_count(void);

// Safe text (safe_text.c). Built once, by ts_preempt_install, before the handler
// exists; read-only afterwards, so the handler's lookups need no lock.
enum { TS_PC_SAFE = 0, TS_PC_EXCLUDED = 1, TS_PC_SHARED = 2, TS_PC_UNKNOWN = 3 };
enum {
    TS_SYMTAB_NOT_READ = 0,     // ts_safe_text_build not called yet
    TS_SYMTAB_FULL = 1,         // .symtab read: every function symbol classified
    TS_SYMTAB_DYNSYM_ONLY = 2,  // stripped: only exported symbols classified
    TS_SYMTAB_NONE = 3,         // no symbol table at all
    TS_SYMTAB_UNREADABLE = 4,   // /proc/self/exe could not be read or parsed
};
/// Reads the executable's text segments, every shared object's, and the excluded
/// ranges from its symbol table. Returns 0 or ENOENT (no main text). Idempotent.
int ts_safe_text_build(void);
/// TS_PC_SAFE (main text, not excluded), TS_PC_EXCLUDED (main text inside a runtime,
/// stdlib, Foundation, Dispatch, CF or ICU symbol), TS_PC_SHARED (a shared object,
/// the vDSO included) or TS_PC_UNKNOWN (no known text).
int ts_pc_class(uintptr_t pc);
/// TS_PC_EXCLUDED or TS_PC_SHARED: code whose callers may hold its locks.
int ts_pc_is_foreign_code(uintptr_t pc);
/// Whether a symbol name belongs to the runtime/stdlib/Foundation/Dispatch/CF/ICU.
int ts_symbol_name_is_foreign(const char *name);
/// Excluded ranges after merging, and how the symbol table was found (TS_SYMTAB_*).
size_t ts_excluded_range_count(void);
int ts_symtab_status(void);
/// Never called; named like a Swift runtime entry point so tests can check that it
/// is classified TS_PC_EXCLUDED (as swift_* code linked statically would be).
int swift_timeslice_selftest_probe(int x);

// Refusal reasons (ts_m.sig_last_refusal, RuntimeCounters.preemptionsRefused*).
enum {
    TS_REFUSE_NONE = 0,
    TS_REFUSE_FOREIGN_PC = 1,       // the PC is foreign code
    TS_REFUSE_FOREIGN_CALLER = 2,   // a caller on the frame-pointer chain is foreign code
    TS_REFUSE_BROKEN_CHAIN = 3,     // the chain does not reach the goroutine's entry frame
    TS_REFUSE_DEEP = 4,             // more than TS_CHAIN_MAX_FRAMES frames
    TS_REFUSE_STACK_SPACE = 5,      // too little stack left for the trampoline's save area
    TS_REFUSE_LOCK_HELD = 6,        // deferred: a thread-owned lock is held
    TS_REFUSE_RUNTIME_SECTION = 7,  // deferred: runtime code (nopreempt) or blockingCall
};
/// Frames the handler follows at most: bounds its time (one load and one binary
/// search per frame) well under a slice. The chain strictly climbs the goroutine's
/// stack, so it ends within stack_size / 16 frames anyway.
#define TS_CHAIN_MAX_FRAMES (1u << 17)
/// Walks the frame-pointer chain from (sp, fp) of the running G: TS_REFUSE_NONE when
/// it reaches the goroutine's entry frame through main-executable code only, else
/// the reason. (Exposed for tests and lock_interpose.c.)
int ts_frame_chain_check(uintptr_t sp, uintptr_t fp, const struct ts_g *g);
/// The return address of every goroutine's entry frame (ts_context_trampoline_return).
uintptr_t ts_goroutine_entry_return_address(void);

// SIGURG ownership (signal_interpose.c). The executable defines sigaction, signal,
// sigprocmask and pthread_sigmask: on runtime threads (ts_tls_m set) a mask that
// would block SIGURG has it stripped (counted); once the runtime's handler is
// installed, a user's SIGURG disposition is recorded and chained (called by the
// runtime's handler for every SIGURG that is not the runtime's own preemption
// signal) instead of replacing it.
/// Times a runtime thread asked to block SIGURG (stripped).
uint64_t ts_sigurg_block_attempts(void);
/// Times user code installed a SIGURG disposition (recorded and chained instead).
uint64_t ts_sigurg_handler_replacements(void);
/// SIGURG signals passed on to the user's handler.
uint64_t ts_sigurg_forwarded(void);
/// The libc functions, for the runtime's own use (no stripping, no chaining).
struct sigaction;
int ts_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int ts_real_pthread_sigmask(int how, const void *set, void *old);
/// Records the disposition that was in place before the runtime installed its
/// handler (so a handler installed before Runtime.run keeps receiving user SIGURGs),
/// then marks the handler installed: later sigaction/signal calls are chained.
void ts_sigurg_adopt_previous(const struct sigaction *previous);
/// Called by the runtime's handler for a SIGURG that is not a preemption request.
void ts_sigurg_forward(int sig, void *info, void *context);
/// Loads zmm16-31 and k1-k7 with patterns from `seed`, spins `iterations` times in one
/// asm block (preemptible), then counts registers that changed into `mismatches`.
/// Returns -1 (nothing run) when the CPU lacks AVX-512F/BW. vector_state_probe.c.
int ts_vector_state_probe(uint64_t seed, uint64_t iterations, uint64_t *mismatches);
/// Fast-path costs of the interpositions, ns per call (interposition_cost.c): an uncontended
/// pthread mutex lock + unlock through the interposer (through_libc 0) or libc's (1); and
/// swift_once on an initialised token through the interposer (which 0) or the Swift
/// runtime's (1; its slow path alone under --static-swift-stdlib: *runtime_is_slow_path).
double ts_cost_mutex_pair(uint64_t iterations, int through_libc);
double ts_cost_once_initialised(uint64_t iterations, int which, int *runtime_is_slow_path);
/// What the async-preemption trampoline's register-state save costs, ns per XSAVEC (or
/// XSAVE) + XRSTOR pair of every enabled component, as preempt_x86_64.S does once per
/// delivered preemption (trampoline_cost.c); *area_bytes gets the area's size. -1 before
/// ts_preempt_install sized the area.
double ts_cost_trampoline_state(uint64_t iterations, uint32_t *area_bytes);
#endif
