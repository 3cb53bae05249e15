// SIGURG handler and safe-point rules for asynchronous preemption.
// Protocol and rules: include/ts_preempt.h.
#define _GNU_SOURCE
#include "ts_preempt.h"
#include "ts_runtime.h"
#include "ts_locks.h"
#include <cpuid.h>
#include <errno.h>
#include <link.h>
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
#define MAX_SAFE_RANGES 32
static struct { uintptr_t lo, hi; } safe_ranges[MAX_SAFE_RANGES];
static int safe_range_count;
// Executable text of every shared object loaded at start (libc, the Swift
// runtime, Foundation, ICU, the vDSO...), to recognise a return address into one.
#define MAX_FOREIGN_RANGES 128
static struct { uintptr_t lo, hi; } foreign_ranges[MAX_FOREIGN_RANGES];
static int foreign_range_count;

// Room the trampoline needs below the interrupted sp: red zone, return address,
// flags and 15 registers, the xsave area plus alignment, and the frames of the
// callback and the context switch.
#define TRAMPOLINE_FIXED_BYTES (128 + 8 + 16 * 8 + 64 + 4096)

static int collect_safe_text(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    int *first = data;
    // The first object dl_iterate_phdr reports is the main program: user code
    // and the runtime live there. Every shared object is foreign, the vDSO
    // included: its own code is reentrant, but its caller may hold a lock (ICU
    // calls clock_gettime while holding its global mutex; stopping a goroutine
    // there deadlocked every M on that mutex in a stress test). Go likewise
    // never preempts in the vDSO. A PC says nothing about the callers.
    if (!*first) {
        for (int i = 0; i < info->dlpi_phnum && foreign_range_count < MAX_FOREIGN_RANGES; i++) {
            const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
            if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
                foreign_ranges[foreign_range_count].lo = info->dlpi_addr + ph->p_vaddr;
                foreign_ranges[foreign_range_count].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
                foreign_range_count++;
            }
        }
        return 0;
    }
    *first = 0;
    for (int i = 0; i < info->dlpi_phnum && safe_range_count < MAX_SAFE_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            safe_ranges[safe_range_count].lo = info->dlpi_addr + ph->p_vaddr;
            safe_ranges[safe_range_count].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            safe_range_count++;
        }
    }
    return 0;
}

static int in_foreign_text(uintptr_t address) {
    for (int i = 0; i < foreign_range_count; i++) {
        if (address >= foreign_ranges[i].lo && address < foreign_ranges[i].hi) return 1;
    }
    return 0;
}

// A PC in the main executable is not enough: foreign code may have called back
// into it while holding its own lock (ICU, a Swift metadata completion function,
// a swift_once initialiser, a qsort comparator). Stopping the goroutine there
// would leave that lock held by a goroutine no M runs, and every M that then
// asks for the lock blocks in the kernel: a deadlock. So walk the frame-pointer
// chain (executable code keeps frame pointers; foreign code that does not still
// preserves rbp, so a callback's own return address points into the foreign
// caller) and refuse if any caller is foreign. The word at sp covers a callee
// interrupted in its prologue. Every read stays inside the goroutine's stack.
static int frame_chain_is_safe(uintptr_t sp, uintptr_t fp, const ts_g *g) {
    for (int depth = 0; depth < 512; depth++) {
        if (fp < sp || fp + 16 > g->stack_hi || (fp & 7)) return 1;  // end of the chain
        uintptr_t ret = ((const uintptr_t *)fp)[1];
        if (ret == 0) return 1;
        if (!ts_pc_is_async_safe(ret)) return 0;
        uintptr_t next = ((const uintptr_t *)fp)[0];
        if (next <= fp) return 1;
        fp = next;
    }
    return 0;   // implausibly deep: do not risk it
}

static int callers_are_safe(uintptr_t sp, uintptr_t fp, const ts_g *g) {
    if (sp + 8 <= g->stack_hi && in_foreign_text(*(const uintptr_t *)sp)) return 0;
    return frame_chain_is_safe(sp, fp, g);
}

int ts_frame_chain_is_safe(uintptr_t fp, const ts_g *g) { return frame_chain_is_safe(fp, fp, g); }

void ts_preempt_honour(ts_g *g) {
    ts_preempt_honour_t honour = ts_preempt_honour_callback;
    if (honour) honour(g);
}

int ts_pc_is_async_safe(uintptr_t pc) {
    for (int i = 0; i < safe_range_count; i++) {
        if (pc >= safe_ranges[i].lo && pc < safe_ranges[i].hi) return 1;
    }
    return 0;
}

int ts_safe_range_count(void) { return safe_range_count; }

uint32_t ts_xsave_size(void) { return ts_xsave_bytes; }

static void sigurg_handler(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)info;
    int saved_errno = errno;
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
        // g0 between setting ts_tls_g and switching (or after switching back).
        m->sig_stale++;
        goto out;
    }
    // A request and a G to act on: the wait for a safe point starts at the first
    // such entry, whatever this one decides. g0 of this same thread clears it.
    if (m->sig_first_entry_ns == 0) m->sig_first_entry_ns = entry_ns;
    // A thread-owned lock held (lock_interpose.c) counts as a runtime section: the
    // last release honours the pending bit.
    if (g->nopreempt || g->in_syscall || ts_tls_locks) {
        __atomic_store_n(&g->preempt_pending, 1, __ATOMIC_RELAXED);
        m->sig_deferred++;
        goto out;
    }
    if (!ts_pc_is_async_safe(pc) || sp - g->stack_lo < TRAMPOLINE_FIXED_BYTES + ts_xsave_bytes ||
        !callers_are_safe(sp, (uintptr_t)uc->uc_mcontext.gregs[REG_RBP], g)) {
        m->sig_foreign++;
        goto out;
    }
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

int ts_preempt_install(ts_preempt_callback_t callback, ts_preempt_honour_t honour) {
    static int installed;
    if (__atomic_load_n(&installed, __ATOMIC_ACQUIRE)) return 0;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(0xD, 0, &eax, &ebx, &ecx, &edx) || ebx == 0) return ENOTSUP;
    ts_xsave_bytes = (ebx + 63) & ~63u;
    int first = 1;
    dl_iterate_phdr(collect_safe_text, &first);
    if (safe_range_count == 0) return ENOENT;
    ts_preempt_callback = callback;
    ts_preempt_honour_callback = honour;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigurg_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGURG, &sa, NULL) != 0) return errno;
    __atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
    return 0;
}

int ts_preempt_signal(int32_t tid) {
    if (syscall(SYS_tgkill, getpid(), tid, SIGURG) != 0) return errno;
    return 0;
}
