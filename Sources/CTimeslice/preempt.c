// SIGURG handler and safe-point rules for asynchronous preemption.
// Protocol and rules: include/ts_preempt.h.
#define _GNU_SOURCE
#include "ts_preempt.h"
#include "ts_runtime.h"
#include "ts_locks.h"
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

extern void ts_async_preempt_trampoline(void);

// Written once by ts_preempt_install before the handler is installed; read-only after.
ts_preempt_callback_t ts_preempt_callback;
static ts_preempt_honour_t ts_preempt_honour_callback;
uint32_t ts_xsave_bytes;
// 1 when the trampoline uses XSAVEC (CPUID.(EAX=0DH,ECX=1):EAX[1]); same lifetime.
uint8_t ts_xsave_compacted;
// Safe text (what the handler may interrupt) is safe_text.c's: main-executable text
// minus the runtime's, the stdlib's, Foundation's, Dispatch's, CF's and ICU's code
// however they are linked.
extern void ts_context_trampoline_return(void);   // context_x86_64.S: the entry frame's return address

// Room the trampoline needs below the interrupted sp: red zone, return address,
// flags and 15 registers, the xsave area plus alignment, and the frames of the
// callback and the context switch.
#define TRAMPOLINE_FIXED_BYTES (128 + 8 + 16 * 8 + 64 + 4096)

// Whether the code at `ret` (a foreign caller's return address) is a bare epilogue:
// only `add $n, %rsp`, `pop`s, `leave` up to `ret`. Such a caller does nothing after
// the call returns but restore registers from its own frame, so it holds nothing a
// switch could strand: a lock it took would be released after the call, not in its
// epilogue. Typical: Swift protocol witness thunks and forwarding wrappers in shared
// libraries (NSLock's NSLocking.unlock witness in libFoundation). Reads at most 16
// bytes of the caller's own text, which is mapped and readable while it has a frame.
static int is_bare_epilogue(uintptr_t ret) {
    const uint8_t *c = (const uint8_t *)ret;
    for (int i = 0; i < 16;) {
        uint8_t b = c[i];
        if (b == 0xc3) return 1;                                                       // ret
        if (b >= 0x58 && b <= 0x5f) { i += 1; continue; }                              // pop r64
        if (b == 0x41 && c[i + 1] >= 0x58 && c[i + 1] <= 0x5f) { i += 2; continue; }  // pop r8-r15
        if (b == 0xc9) { i += 1; continue; }                                           // leave
        if (b == 0x48 && c[i + 1] == 0x83 && c[i + 2] == 0xc4) { i += 4; continue; }   // add $imm8, %rsp
        if (b == 0x48 && c[i + 1] == 0x81 && c[i + 2] == 0xc4) { i += 7; continue; }   // add $imm32, %rsp
        return 0;
    }
    return 0;
}

// A PC in safe text is not enough: foreign code may have called back into it while
// holding its own lock (ICU, a Swift metadata completion function, a swift_once
// initialiser, a qsort comparator). Stopping the goroutine there would leave that
// lock held by a goroutine no M runs: a deadlock. So walk the frame-pointer chain
// (executable code keeps frame pointers) and refuse if any caller is foreign,
// unless all it has left to run is a bare epilogue (is_bare_epilogue). The
// walk must reach the goroutine's entry frame, whose return address is
// ts_context_trampoline_return (ts_context_make starts every goroutine there with
// rbp = 0): a chain that leaves the stack, goes down, or stops early went through
// code that does not keep frame pointers (a prebuilt C library built with
// -fomit-frame-pointer, calling back through pthread_once), and what called it is
// unknown, so it is refused, not taken as the end. No fixed depth limit: the chain
// climbs strictly, so it ends within the stack; TS_CHAIN_MAX_FRAMES bounds the time.
// Every read stays inside the goroutine's stack.
int ts_frame_chain_check(uintptr_t sp, uintptr_t fp, const ts_g *g) {
    for (uint32_t depth = 0; depth < TS_CHAIN_MAX_FRAMES; depth++) {
        if (fp < sp || fp + 16 > g->stack_hi || (fp & 7)) return TS_REFUSE_BROKEN_CHAIN;
        uintptr_t ret = ((const uintptr_t *)fp)[1];
        if (ret == (uintptr_t)ts_context_trampoline_return) return TS_REFUSE_NONE;   // the entry frame
        if (!ts_pc_is_async_safe(ret) && !is_bare_epilogue(ret)) return TS_REFUSE_FOREIGN_CALLER;
        uintptr_t next = ((const uintptr_t *)fp)[0];
        if (next <= fp) return TS_REFUSE_BROKEN_CHAIN;
        fp = next;
    }
    return TS_REFUSE_DEEP;
}

// The word at sp covers a callee interrupted in its prologue (its return address
// not yet under a frame pointer).
static int callers_check(uintptr_t sp, uintptr_t fp, const ts_g *g) {
    if (sp + 8 <= g->stack_hi && ts_pc_is_foreign_code(*(const uintptr_t *)sp)) return TS_REFUSE_FOREIGN_CALLER;
    return ts_frame_chain_check(sp, fp, g);
}

uintptr_t ts_goroutine_entry_return_address(void) { return (uintptr_t)ts_context_trampoline_return; }

int ts_frame_chain_is_safe(uintptr_t fp, const ts_g *g) { return ts_frame_chain_check(fp, fp, g) == TS_REFUSE_NONE; }

void ts_preempt_honour(ts_g *g) {
    ts_preempt_honour_t honour = ts_preempt_honour_callback;
    if (honour) honour(g);
}

uint32_t ts_xsave_size(void) { return ts_xsave_bytes; }

// This process's pid, for the handler's "is it our own tgkill" test and for sysmon's
// tgkill: getpid() is a system call (glibc no longer caches it), once per signal on each
// side. Set at install, refreshed in a fork child (pthread_atfork). A child cloned without
// the atfork handlers keeps a stale value: its own signals then also reach a user's SIGURG
// handler, nothing worse (the runtime does not run in such a child).
static pid_t self_pid;
static void refresh_self_pid(void) { __atomic_store_n(&self_pid, getpid(), __ATOMIC_RELAXED); }

static uint32_t sysmon_wake_word;
static uint64_t sysmon_sleeps_until;
uint32_t *ts_sysmon_wake_word(void) { return &sysmon_wake_word; }
uint64_t *ts_sysmon_sleeps_until(void) { return &sysmon_sleeps_until; }

// Waking sysmon (every waker, Swift's and the handler's, goes through these two):
// the word's +2 makes a wake-up before sysmon's futex wait count (no lost wake);
// taking sleeps_until by CAS to 0 lets one waker of many call. Async-signal-safe:
// atomics and one futex call.
// The handler left a request for sysmon to re-send: count it (sysmon compares the
// count with the one it saw at the signal) and wake sysmon if it sleeps past the
// first re-send.
void ts_sysmon_wake(void) {
    __atomic_fetch_add(&sysmon_wake_word, 2, __ATOMIC_SEQ_CST);
    ts_futex_wake(&sysmon_wake_word, 1);
}

int ts_sysmon_wake_if_sleeping_past(uint64_t deadline) {
    uint64_t until = __atomic_load_n(&sysmon_sleeps_until, __ATOMIC_ACQUIRE);
    do {
        if (until == 0 || until <= deadline) return 0;   // awake, or up by then anyway
    } while (!__atomic_compare_exchange_n(&sysmon_sleeps_until, &until, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    ts_sysmon_wake();
    return 1;
}

static void ask_for_resend(ts_m *m, uint64_t now) {
    __atomic_fetch_add(&m->sig_resend_asks, 1, __ATOMIC_RELEASE);
    ts_sysmon_wake_if_sleeping_past(now + TS_FIRST_RESEND_NS);
}

static void refuse(ts_m *m, uint32_t reason, uint64_t now) {
    switch (reason) {
    case TS_REFUSE_FOREIGN_PC: m->sig_refused_foreign_pc++; break;
    case TS_REFUSE_FOREIGN_CALLER: m->sig_refused_foreign_caller++; break;
    case TS_REFUSE_BROKEN_CHAIN: m->sig_refused_broken_chain++; break;
    case TS_REFUSE_DEEP: m->sig_refused_deep++; break;
    case TS_REFUSE_STACK_SPACE: m->sig_refused_stack_space++; break;
    default: break;
    }
    __atomic_store_n(&m->sig_last_refusal, reason, __ATOMIC_RELAXED);
    m->sig_foreign++;
    ask_for_resend(m, now);
}

static void sigurg_handler(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno;
    // The runtime's own signal is a tgkill from this process (AsyncPreemption.signal);
    // anything else (kill, a user's tgkill to another process...) is passed on to a
    // SIGURG handler the user installed (signal_interpose.c), as Go's os/signal does.
    int ours = info && info->si_code == SI_TKILL && info->si_pid == __atomic_load_n(&self_pid, __ATOMIC_RELAXED);
    if (!ours) ts_sigurg_forward(sig, info, context);
    ts_m *m = ts_tls_m;
    ts_g *g = ts_tls_g;
    if (!m) goto out;   // not a runtime thread (a stray SIGURG): nothing to do
    // Timing for the preemption breakdown: one clock read (clock_gettime is
    // async-signal-safe), an exchange and two stores. Taking sysmon's stamp by
    // exchange pairs each stamp with exactly one delivery; a signal that finds
    // no stamp (stray, or coalesced with one already measured) adds no sample.
    struct timespec entry_ts;
    clock_gettime(CLOCK_MONOTONIC, &entry_ts);
    uint64_t entry_ns = (uint64_t)entry_ts.tv_sec * 1000000000u + (uint64_t)entry_ts.tv_nsec;
    uint64_t sent_ns = __atomic_exchange_n(&m->sig_sent_ns, 0, __ATOMIC_ACQ_REL);
    if (sent_ns != 0) {
        uint32_t seq = m->sig_delivery_seq;           // this handler is its only writer
        __atomic_store_n(&m->sig_delivery_ns[seq % TS_DELIVERY_RING],
                         entry_ns > sent_ns ? entry_ns - sent_ns : 0, __ATOMIC_RELAXED);
        __atomic_store_n(&m->sig_delivery_seq, seq + 1, __ATOMIC_RELEASE);   // publishes the slot
    }
    uint32_t *p_preempt = m->p_preempt;
    if (!g || !(__atomic_load_n(&g->preempt_request, __ATOMIC_ACQUIRE) ||
                (p_preempt && __atomic_load_n(p_preempt, __ATOMIC_ACQUIRE)))) {
        m->sig_stale++;
        goto out;
    }
    ucontext_t *uc = context;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    if (sp <= g->stack_lo || sp > g->stack_hi) {
        // g0 between setting ts_tls_g and switching (or after switching back). The
        // request may still be for the G about to run: ask for a re-send.
        m->sig_stale++;
        ask_for_resend(m, entry_ns);
        goto out;
    }
    // A request and a G to act on: the wait for a safe point starts at the first
    // such entry, whatever this one decides. g0 of this same thread clears it.
    if (m->sig_first_entry_ns == 0) m->sig_first_entry_ns = entry_ns;
    // A thread-owned lock held (lock_interpose.c) counts as a runtime section: the
    // last release honours the pending bit.
    if (g->nopreempt || g->in_syscall || ts_tls_locks) {
        __atomic_store_n(&g->preempt_pending, 1, __ATOMIC_RELAXED);
        if (g->nopreempt || g->in_syscall) {
            m->sig_deferred_section++;
            __atomic_store_n(&m->sig_last_refusal, TS_REFUSE_RUNTIME_SECTION, __ATOMIC_RELAXED);
        } else {
            m->sig_deferred_lock++;
            __atomic_store_n(&m->sig_last_refusal, TS_REFUSE_LOCK_HELD, __ATOMIC_RELAXED);
        }
        m->sig_deferred++;
        goto out;
    }
    if (!ts_pc_is_async_safe(pc)) { refuse(m, TS_REFUSE_FOREIGN_PC, entry_ns); goto out; }
    // The trampoline saves the registers and the xsave area on the goroutine's own
    // stack (they must travel with the G to whichever M resumes it). Too little room
    // left: refuse, counted; a goroutine this close to its guard overflows at its
    // next call anyway.
    if (sp - g->stack_lo < TRAMPOLINE_FIXED_BYTES + ts_xsave_bytes) { refuse(m, TS_REFUSE_STACK_SPACE, entry_ns); goto out; }
    uint32_t reason = (uint32_t)callers_check(sp, (uintptr_t)uc->uc_mcontext.gregs[REG_RBP], g);
    if (reason != TS_REFUSE_NONE) { refuse(m, reason, entry_ns); goto out; }
    __atomic_store_n(&m->sig_last_refusal, TS_REFUSE_NONE, __ATOMIC_RELAXED);
    // Safe point: make the G call the trampoline from `pc` on sigreturn.
    g->nopreempt++;                                   // the trampoline runs runtime code
    __atomic_store_n(&g->preempt_request, 0, __ATOMIC_RELAXED);
    if (p_preempt) __atomic_store_n(p_preempt, 0, __ATOMIC_RELAXED);
    sp -= 128;                                        // keep the red zone intact
    sp -= 8;
    *(uint64_t *)sp = (uint64_t)pc;                   // return address for `ret $128`
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)ts_async_preempt_trampoline;
out:
    errno = saved_errno;
}

// Whether the Swift runtime is part of the main executable (--static-swift-stdlib):
// swift_retain's address lies in main text.
static int runtime_in_executable(void) {
    void *f = dlsym(RTLD_DEFAULT, "swift_retain");
    return f && ts_pc_class((uintptr_t)f) != TS_PC_SHARED;
}

int ts_preempt_install(ts_preempt_callback_t callback, ts_preempt_honour_t honour) {
    static int installed;
    if (__atomic_load_n(&installed, __ATOMIC_ACQUIRE)) return 0;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(0xD, 0, &eax, &ebx, &ecx, &edx) || ebx == 0) return ENOTSUP;
    ts_xsave_bytes = (ebx + 63) & ~63u;   // the standard form's size bounds the compacted one
    if (__get_cpuid_count(0xD, 1, &eax, &ebx, &ecx, &edx) && (eax & 2u)) ts_xsave_compacted = 1;
    if (ts_safe_text_build() != 0) return ENOENT;
    // A statically linked Swift runtime with no symbol table to tell it apart from user
    // code: every "safe" PC might be runtime code holding a runtime lock. Refuse.
    if (ts_symtab_status() != TS_SYMTAB_FULL && ts_symtab_status() != TS_SYMTAB_DYNSYM_ONLY &&
        runtime_in_executable())
        return ENOEXEC;
    ts_preempt_callback = callback;
    ts_preempt_honour_callback = honour;
    refresh_self_pid();
    pthread_atfork(NULL, NULL, refresh_self_pid);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigurg_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    struct sigaction previous;
    if (ts_real_sigaction(SIGURG, &sa, &previous) != 0) return errno;
    ts_sigurg_adopt_previous(&previous);
    __atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
    return 0;
}

int ts_preempt_signal(int32_t tid) {
    pid_t pid = __atomic_load_n(&self_pid, __ATOMIC_RELAXED);
    if (syscall(SYS_tgkill, pid ? pid : getpid(), tid, SIGURG) != 0) return errno;
    return 0;
}
