// SIGURG belongs to the runtime: user code that blocks it or installs its own
// disposition must not silently turn asynchronous preemption off. Protocol:
// include/ts_preempt.h ("SIGURG ownership"); docs/ARCHITECTURE.md.
//
// As lock_interpose.c does for locks, the executable defines sigprocmask,
// pthread_sigmask, sigaction and signal (so every library's calls reach them too)
// and forwards to libc's (dlsym(RTLD_NEXT)):
//   - masks: on a runtime thread (ts_tls_m set: an M, or sysmon) SIG_BLOCK and
//     SIG_SETMASK have SIGURG removed from the set before libc sees it, counted.
//     Other threads are not preempted, so their masks pass through untouched.
//   - dispositions: once the runtime's handler is installed, sigaction/signal for
//     SIGURG record the user's action (and report the previously recorded one as
//     `old`) without touching the kernel's. The runtime's handler calls the
//     recorded handler for every SIGURG that is not its own preemption signal (a
//     tgkill from this process), as Go's os/signal relays SIGURG. A disposition in
//     place before the runtime started is adopted the same way.
// Not covered: the raw rt_sigprocmask/rt_sigaction system calls, sigsuspend /
// pselect / ppoll / epoll_pwait masks (temporary, inside a blocking call: the thread
// is in the kernel, not preemptible anyway), signalfd, sigwait, and sysv_signal /
// bsd_signal / sigset.
#define _GNU_SOURCE
#include "ts_preempt.h"
#include "ts_runtime.h"
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef int (*sigmask_fn)(int, const sigset_t *, sigset_t *);
typedef sighandler_t (*signal_fn)(int, sighandler_t);

static void *resolve(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char message[] = "timeslice: signal_interpose.c: libc's signal function not found\n";
        (void)!write(2, message, sizeof message - 1);
        abort();
    }
    return f;
}

#define GETTER(type, name)                                                          \
    static type real_##name;                                                        \
    static inline type get_##name(void) {                                           \
        type f = __atomic_load_n(&real_##name, __ATOMIC_RELAXED);                   \
        if (__builtin_expect(f == NULL, 0)) {                                       \
            f = (type)resolve(#name);                                               \
            __atomic_store_n(&real_##name, f, __ATOMIC_RELAXED);                    \
        }                                                                           \
        return f;                                                                   \
    }
GETTER(sigaction_fn, sigaction)
GETTER(sigmask_fn, sigprocmask)
GETTER(sigmask_fn, pthread_sigmask)
GETTER(signal_fn, signal)

static uint64_t block_attempts, handler_replacements, forwarded;
uint64_t ts_sigurg_block_attempts(void) { return __atomic_load_n(&block_attempts, __ATOMIC_RELAXED); }
uint64_t ts_sigurg_handler_replacements(void) { return __atomic_load_n(&handler_replacements, __ATOMIC_RELAXED); }
uint64_t ts_sigurg_forwarded(void) { return __atomic_load_n(&forwarded, __ATOMIC_RELAXED); }

// The user's SIGURG disposition, once the runtime owns the signal. Written under
// user_lock (a plain spin flag: sigaction may be called from anywhere, and the
// handler never takes it); the handler reads a consistent copy by version check.
static int owned;                       // the runtime's handler is installed
static uint32_t user_version;           // odd while a writer updates user_action
static struct sigaction user_action;    // SIG_DFL until the user installs something
static int user_lock;

static void user_write(const struct sigaction *act, struct sigaction *old) {
    while (__atomic_exchange_n(&user_lock, 1, __ATOMIC_ACQUIRE)) {}
    if (old) *old = user_action;
    if (act) {
        __atomic_fetch_add(&user_version, 1, __ATOMIC_ACQ_REL);
        user_action = *act;
        __atomic_fetch_add(&user_version, 1, __ATOMIC_ACQ_REL);
    }
    __atomic_store_n(&user_lock, 0, __ATOMIC_RELEASE);
}

void ts_sigurg_adopt_previous(const struct sigaction *previous) {
    if (previous && previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN) user_write(previous, NULL);
    __atomic_store_n(&owned, 1, __ATOMIC_RELEASE);
}

void ts_sigurg_forward(int sig, void *info, void *context) {
    struct sigaction copy;
    uint32_t v;
    do {
        v = __atomic_load_n(&user_version, __ATOMIC_ACQUIRE);
        if (v & 1) return;   // being replaced right now (possibly by this thread): drop it
        memcpy(&copy, &user_action, sizeof copy);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while (__atomic_load_n(&user_version, __ATOMIC_RELAXED) != v);
    if (copy.sa_flags & SA_SIGINFO) {
        if (!copy.sa_sigaction) return;
        __atomic_fetch_add(&forwarded, 1, __ATOMIC_RELAXED);
        copy.sa_sigaction(sig, info, context);
    } else {
        if (copy.sa_handler == SIG_DFL || copy.sa_handler == SIG_IGN) return;   // SIGURG's default: ignore
        __atomic_fetch_add(&forwarded, 1, __ATOMIC_RELAXED);
        copy.sa_handler(sig);
    }
    if (copy.sa_flags & SA_RESETHAND) {
        // One-shot handler: back to the default (ignore) for the user's view. Not a
        // full sigaction (not async-signal-safe to take user_lock here): a version bump pair.
        __atomic_fetch_add(&user_version, 1, __ATOMIC_ACQ_REL);
        user_action.sa_handler = SIG_DFL;
        user_action.sa_flags &= ~SA_SIGINFO;
        __atomic_fetch_add(&user_version, 1, __ATOMIC_ACQ_REL);
    }
}

int ts_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    return get_sigaction()(sig, act, old);
}

int ts_real_pthread_sigmask(int how, const void *set, void *old) {
    return get_pthread_sigmask()(how, set, old);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (sig == SIGURG && __atomic_load_n(&owned, __ATOMIC_ACQUIRE)) {
        if (act) __atomic_fetch_add(&handler_replacements, 1, __ATOMIC_RELAXED);
        user_write(act, old);
        return 0;
    }
    return get_sigaction()(sig, act, old);
}

sighandler_t signal(int sig, sighandler_t handler) {
    if (sig == SIGURG && __atomic_load_n(&owned, __ATOMIC_ACQUIRE)) {
        // glibc's signal() has BSD semantics: SA_RESTART, the signal blocked in its handler.
        struct sigaction act, old;
        memset(&act, 0, sizeof act);
        act.sa_handler = handler;
        act.sa_flags = SA_RESTART;
        sigemptyset(&act.sa_mask);
        __atomic_fetch_add(&handler_replacements, 1, __ATOMIC_RELAXED);
        user_write(&act, &old);
        return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)old.sa_sigaction : old.sa_handler;
    }
    return get_signal()(sig, handler);
}

// A set without SIGURG when the call would block it on a runtime thread.
static const sigset_t *strip(int how, const sigset_t *set, sigset_t *copy) {
    if (!set || how == SIG_UNBLOCK || !ts_tls_m || !sigismember(set, SIGURG)) return set;
    *copy = *set;
    sigdelset(copy, SIGURG);
    __atomic_fetch_add(&block_attempts, 1, __ATOMIC_RELAXED);
    return copy;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
    sigset_t copy;
    return get_sigprocmask()(how, strip(how, set, &copy), old);
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
    sigset_t copy;
    return get_pthread_sigmask()(how, strip(how, set, &copy), old);
}
