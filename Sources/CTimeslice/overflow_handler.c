// Turns a fault on a goroutine's guard region into a clear message and exit
// instead of silent corruption (a guard-page fault would otherwise be a bare SIGSEGV). Runs on the M's alternate
// signal stack because the goroutine's own stack is exhausted. Async-signal-safe:
// only write(2) and _exit(2).
#define _GNU_SOURCE
#include "ts_runtime.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>

static struct sigaction previous_segv, previous_bus;

static size_t format_u64(char *out, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

static void append(char *buf, size_t *len, const char *s) {
    size_t n = strlen(s);
    memcpy(buf + *len, s, n);
    *len += n;
}

static void chain(int sig, siginfo_t *info, void *uctx) {
    struct sigaction *prev = sig == SIGSEGV ? &previous_segv : &previous_bus;
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction) { prev->sa_sigaction(sig, info, uctx); return; }
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
        return;
    }
    // Re-raise with the default action so the crash is reported as usual.
    signal(sig, SIG_DFL);
    raise(sig);
}

static void overflow_handler(int sig, siginfo_t *info, void *uctx) {
    ts_g *g = ts_tls_g;
    uintptr_t addr = (uintptr_t)info->si_addr;
    if (g && addr >= g->guard_lo && addr < g->stack_lo) {
        char buf[128];
        size_t len = 0;
        append(buf, &len, "goroutine ");
        len += format_u64(buf + len, g->id);
        append(buf, &len, " overflowed its ");
        len += format_u64(buf + len, g->stack_hi - g->stack_lo);
        append(buf, &len, "-byte stack\n");
        ssize_t ignored = write(2, buf, len);
        (void)ignored;
        _exit(2);
    }
    chain(sig, info, uctx);
}

void ts_install_overflow_handler(void) {
    static int installed;
    if (__atomic_exchange_n(&installed, 1, __ATOMIC_ACQ_REL)) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = overflow_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
    sigaction(SIGBUS, &sa, &previous_bus);
}
