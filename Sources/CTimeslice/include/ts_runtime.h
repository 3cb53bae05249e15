// The parts of G and M that code outside Swift must see: the context switch,
// the stack-overflow handler and (later) the SIGURG handler read them from a
// signal handler, so they live in plain C structs with explicit atomics.
#ifndef TS_RUNTIME_H
#define TS_RUNTIME_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "ts_context.h"

/// Per-goroutine state visible to C. Owned by the Swift `Goroutine` object.
typedef struct ts_g {
    void *sp;                 // saved context while not running; written only by the switch
    uintptr_t stack_lo;       // lowest usable byte (just above the guard)
    uintptr_t stack_hi;       // one past the highest usable byte
    uintptr_t guard_lo;       // first byte of the guard region below stack_lo
    uint64_t id;              // goroutine id (1 = main)
    uint32_t nopreempt;       // >0 while the G runs runtime code; written only by the G itself,
                              // read by signal handlers on the same thread
    uint32_t in_syscall;      // 1 inside blockingCall; same ownership as nopreempt
    uint32_t preempt_request; // atomic: sysmon asks the G to give up its P (polling/async)
    uint32_t preempt_pending; // set by the SIGURG handler when it had to defer; honoured by the G
    void *tlc[2];             // Swift exclusivity access-set context carried by this G
    void *owner;              // unretained pointer to the Swift Goroutine object
} ts_g;

/// Delivery samples one M's handler can hold before a reader drains them. Each
/// stamp yields at most one sample and sysmon drains an M before it places a
/// stamp, so at most two are ever waiting (the stamp outstanding at the drain,
/// delivered just before sysmon places the next one, and that next one).
#define TS_DELIVERY_RING 4

/// Per-thread state visible to C.
typedef struct ts_m {
    void *g0_sp;              // scheduler context while a G runs on this M
    ts_g *curg;               // G running on this M, NULL on g0; written by this M only
    int32_t tid;              // kernel thread id (for tgkill)
    uint32_t park_word;       // futex word this M sleeps on while idle
    void *altstack;           // alternate signal stack (mmap'd)
    size_t altstack_size;
    uint32_t *p_preempt;      // the held P's preemption word (NULL without a P); set by this M.
                              // A request on the P outlives switches within one slice (runnext
                              // pairs inherit it), unlike the G's own flag.
    uint32_t switch_reason;   // why the running G switched to g0 (SwitchReason); set by the G
    uint32_t p_lost;          // atomic: blocked-thread handoff (Timeslice/BlockedThread.swift).
                              // 0 this M owns its P; 1 sysmon is claiming it (the G cancels by
                              // CAS 1 -> 0 at its next runtime entry); 2 sysmon took it: the G
                              // must reacquire a P before it runs runtime code again.
    // Signal-handler outcomes, written only by this thread's SIGURG handler.
    uint64_t sig_deferred;    // G in runtime code or blockingCall: pending bit set
    uint64_t sig_foreign;     // PC in libc/ld.so/Swift runtime/...: left for sysmon to resend
    uint64_t sig_stale;       // no G, no request, or not on the G's stack (g0)
    // Per reason (TS_REFUSE_*, ts_preempt.h); sig_foreign and sig_deferred are their sums.
    uint64_t sig_refused_foreign_pc;
    uint64_t sig_refused_foreign_caller;
    uint64_t sig_refused_broken_chain;
    uint64_t sig_refused_deep;
    uint64_t sig_refused_stack_space;
    uint64_t sig_deferred_lock;
    uint64_t sig_deferred_section;
    uint32_t sig_last_refusal; // atomic (relaxed): the last entry's outcome, TS_REFUSE_*; sysmon names it
    uint32_t sig_resend_asks; // atomic: entries that left a request for sysmon to re-send (a refusal,
                              // or the G caught in a switch window); the handler alone increments it.
                              // sysmon re-sends soon only when it changed since the signal (and the
                              // handler woke it, preempt.c); otherwise a delivered signal needs none.
    // Async-preemption timing (Timeslice/PreemptionBreakdown.swift reads it).
    uint64_t sig_sent_ns;     // atomic: sysmon's clock just before a tgkill to this M, 0 when no
                              // stamped signal is outstanding. sysmon sets it by CAS 0 -> t only:
                              // a re-send while the last signal is still pending (standard signals
                              // coalesce) keeps the older stamp. The handler takes it by exchange
                              // with 0, so each stamp yields at most one delivery sample.
    uint64_t sig_first_entry_ns; // handler's clock at its first entry that found a request on a G's
                              // stack (deferred, foreign or redirected), 0 = none yet. Only this
                              // thread touches it: the handler sets it when 0; g0 clears it at
                              // each preemptive slice start and when a preemption completes.
    uint32_t sig_delivery_seq; // atomic: stamped deliveries so far; the handler alone writes it,
                              // after the sample (release), readers acquire it.
    uint32_t pad2;
    uint64_t sig_delivery_ns[TS_DELIVERY_RING]; // send -> handler entry, slot seq % TS_DELIVERY_RING;
                              // written by the handler only, drained under the samples' lock
    void *park_lock;          // lock g0 releases after a G parked (unretained RuntimeLock), or NULL
    void *owner;              // unretained pointer to the Swift Machine object
} ts_m;


// Thread-local pointers to the running M and G. Only the owning thread writes them.
// initial-exec: a direct %fs-relative load instead of a __tls_get_addr call on
// every access (the runtime is linked into the executable or a library loaded
// at start-up, never dlopen'ed later).
extern __thread ts_m *ts_tls_m __attribute__((tls_model("initial-exec")));
extern __thread ts_g *ts_tls_g __attribute__((tls_model("initial-exec")));

// Reads of the running M and G must be ONE instruction relative to %fs. A
// goroutine can be preempted between any two instructions and resumed on another
// thread; the compiler's usual sequence (load the thread base, then the slot)
// would then read the old thread's slot: nil, or another goroutine. The first
// instruction here loads the slot's offset, which is the same on every thread;
// the second is the single %fs-relative load. volatile: the value is never cached
// across a call, since a context switch may move the caller to another thread.
static inline ts_m *ts_current_m(void) {
    ts_m *m;
    __asm__ volatile("movq ts_tls_m@gottpoff(%%rip), %0\n\tmovq %%fs:(%0), %0" : "=r"(m));
    return m;
}
static inline ts_g *ts_current_g(void) {
    ts_g *g;
    __asm__ volatile("movq ts_tls_g@gottpoff(%%rip), %0\n\tmovq %%fs:(%0), %0" : "=r"(g));
    return g;
}
/// ONE %fs-relative load of a 32-bit initial-exec thread-local `var` (same reason).
#define TS_TLS_LOAD_U32(var) __extension__({                                          \
    uint32_t value_;                                                                  \
    uint64_t offset_;                                                                 \
    __asm__ volatile("movq " #var "@gottpoff(%%rip), %1\n\tmovl %%fs:(%1), %0"       \
                     : "=r"(value_), "=&r"(offset_) : : "memory");                    \
    value_;                                                                           \
})
static inline void ts_set_current_m(ts_m *m) { ts_tls_m = m; }
static inline void ts_set_current_g(ts_g *g) { ts_tls_g = g; }

/// Switches from the running G to its M's scheduler context with `reason`.
/// Uses raw pointers only, so no Swift reference is held across a switch that
/// never returns (goroutine exit).
static inline void ts_switch_to_g0(uint32_t reason, void *park_lock) {
    ts_m *m = ts_current_m();
    ts_g *g = ts_current_g();
    m->switch_reason = reason;
    m->park_lock = park_lock;
    ts_context_switch(&g->sp, m->g0_sp);
}

// Atomics on C fields (Swift cannot import _Atomic members portably).
static inline uint32_t ts_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t ts_load_u32_relaxed(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void ts_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void ts_store_u32_relaxed(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline uint32_t ts_exchange_u32(uint32_t *p, uint32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
static inline bool ts_cas_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline uint64_t ts_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ts_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t ts_exchange_u64(uint64_t *p, uint64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
static inline bool ts_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline uint32_t ts_fetch_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
static inline uint32_t ts_fetch_sub_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_sub(p, v, __ATOMIC_ACQ_REL); }
// m->curg is written by the M and read by sysmon to pick the G to preempt.
static inline ts_g *ts_load_curg(ts_m *m) { return __atomic_load_n(&m->curg, __ATOMIC_ACQUIRE); }
static inline void ts_store_curg(ts_m *m, ts_g *g) { __atomic_store_n(&m->curg, g, __ATOMIC_RELEASE); }
// The SIGURG handler's delivery ring of an M (see sig_delivery_seq).
static inline uint32_t ts_delivery_count(const ts_m *m) { return __atomic_load_n(&m->sig_delivery_seq, __ATOMIC_ACQUIRE); }
static inline uint64_t ts_delivery_sample(const ts_m *m, uint32_t index) {
    return __atomic_load_n(&m->sig_delivery_ns[index % TS_DELIVERY_RING], __ATOMIC_RELAXED);
}
/// Orders the G's own writes to nopreempt/in_syscall against its own signal handler.
static inline void ts_signal_fence(void) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

// Futex on a 32-bit word (private). Wait returns 0 when woken or the value differed,
// ETIMEDOUT on timeout; EINTR is retried inside. timeout_ns < 0 waits forever.
// Wake returns 0 or a positive errno. Every shim of the machine layer follows that one
// convention (0 or a positive errno; values come back through out-parameters).
int ts_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns);
int ts_futex_wake(uint32_t *addr, int count);

int32_t ts_gettid(void);
/// Names the calling thread (prctl PR_SET_NAME, at most 15 bytes kept), so perf, top -H and
/// /proc/<pid>/task/<tid>/comm tell the runtime's threads apart. Returns 0 or errno.
int ts_thread_set_name(const char *name);

// Blocked-thread detection (sysmon; Timeslice/BlockedThread.swift).
/// CPU time consumed so far by thread `tid` of this process (its CPUCLOCK_SCHED
/// clock, ((~tid) << 3) | 6), in ns. Returns 0 or a positive errno.
int ts_thread_cpu_ns(int32_t tid, uint64_t *ns);
/// Whether thread `tid` of this process sleeps in the kernel (state S or D in
/// /proc/self/task/<tid>/stat): *sleeping = 1, else 0. Returns 0 or a positive errno.
int ts_thread_sleeping(int32_t tid, int32_t *sleeping);
/// Registers the process for MEMBARRIER_CMD_PRIVATE_EXPEDITED. Returns 0 or a positive errno.
int ts_membarrier_register(void);
/// A full memory barrier on every running thread of this process (asymmetric
/// fence: the other side needs only a compiler barrier). Returns 0 or a positive errno.
int ts_membarrier(void);
uint64_t ts_monotonic_ns(void);
void ts_cpu_relax(void);

/// Called by every M (and sysmon) on its own thread before it runs anything:
/// installs an alternate signal stack, unblocks SIGURG, sets the timer slack to 1 ns.
/// Returns 0 or an errno value.
int ts_thread_setup(ts_m *m, size_t altstack_size);
void ts_thread_teardown(ts_m *m);

/// Installs (once per process) the SIGSEGV/SIGBUS handler that turns a hit on a
/// goroutine's guard region into "goroutine N overflowed its S-byte stack".
void ts_install_overflow_handler(void);

/// Reserves `count` stacks of `stack_size` bytes, each preceded by a `guard_size`
/// guard, in one mapping. Guards use MADV_GUARD_INSTALL where the kernel has it
/// (one VMA for the whole arena), mprotect otherwise. Returns the base or NULL
/// with errno set; *used_madvise tells which guard kind was used.
void *ts_stack_arena_map(size_t count, size_t stack_size, size_t guard_size, bool *used_madvise);
/// Releases the committed pages of [addr, addr+len) (MADV_DONTNEED).
int ts_stack_release(void *addr, size_t len);

/// Swift's exclusivity checker keeps its access set per thread; these move it
/// with a goroutine (libswiftCore exports them for Swift's own tasks).
void swift_task_enterThreadLocalContext(char *state);
void swift_task_exitThreadLocalContext(char *state);
static inline void ts_enter_thread_local_context(ts_g *g) { swift_task_enterThreadLocalContext((char *)g->tlc); }
static inline void ts_exit_thread_local_context(ts_g *g) { swift_task_exitThreadLocalContext((char *)g->tlc); }

#endif
